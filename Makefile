# `make site` sets up .venv from the pinned requirements and builds the book into _build/html.
# `make test` sets up the same .venv and runs every test. Both need only Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
BUILD ?= _build
PY := $(VENV)/bin/python
JB := $(VENV)/bin/jb
STAGE := $(BUILD)/stage
# Notebooks read data/ and ftguide/, which the execution cache does not track: when they change,
# the cache and the incremental state are dropped so no page keeps an old figure.
INPUTS_HASH = $(shell cat data/* ftguide/*.py _ext/*.py | sha256sum | cut -c1-16)

.PHONY: setup site test serve clean lock chromium bench

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# Build into $(STAGE) and replace $(BUILD)/html only when the build succeeded, so a failed build
# never leaves a half-built site that looks valid.
site: setup
	$(PY) -m ftguide validate
	@if [ "$$(cat $(STAGE)/inputs.sha 2>/dev/null)" != "$(INPUTS_HASH)" ]; then \
	  echo "data/ or ftguide/ changed: clearing the execution cache"; rm -rf $(STAGE); fi
	$(JB) build . --path-output $(STAGE) -n -W --keep-going $(if $(wildcard $(STAGE)),,--all)
	echo "$(INPUTS_HASH)" > $(STAGE)/inputs.sha
	rm -rf $(BUILD)/html.new && cp -a $(STAGE)/_build/html $(BUILD)/html.new
	rm -rf $(BUILD)/html && mv $(BUILD)/html.new $(BUILD)/html
	@echo
	@echo "The site is in $(BUILD)/html/index.html."
	@echo "Serve it with:  $(PY) -m http.server --directory $(BUILD)/html 8000"
	@echo "then open http://localhost:8000"

test: setup chromium
	$(PY) -m pytest --nbval-lax

# The browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "The browser tests need /usr/bin/chromium: run 'sudo apt-get install -y chromium'"; exit 1; fi

# Timings, page weights and (if installed) Lighthouse scores on this machine (not a test): see
# benchmarks/bench.py; BENCH_ARGS=--pages-only or BENCH_ARGS="--html _build/html" for the pages only.
bench: setup
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

serve: site
	$(PY) -m http.server --directory $(BUILD)/html 8000

clean:
	rm -rf $(BUILD)

# Regenerate constraints.txt from the current .venv after changing requirements.txt.
lock: setup
	$(PY) -m pip freeze --exclude-editable | grep -v '^ftguide' > constraints.txt
