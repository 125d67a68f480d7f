# `make site` sets up .venv from the pinned requirements and builds the book into _build/html.
# `make test` runs the fast tests (under 3 minutes); `make test-all` runs every test, the slow
# end-to-end checks included (what CI runs). All need only Python 3.11+, make and flock (util-linux).
PYTHON ?= python3
VENV ?= .venv
BUILD ?= _build
PY := $(VENV)/bin/python
JB := $(VENV)/bin/jb
# Notebooks read data/ and ftguide/, which the execution cache does not track: when they change,
# the cache and the incremental state are dropped so no page keeps an old figure.
INPUTS_HASH = $(shell bash tools/inputs-hash.sh)

BINDER_VENV := $(BUILD)/binder-venv
NBVAL := $(BUILD)/nbval
# Where time goes, in every test run's output.
PYTEST := $(PY) -m pytest --durations=15

.PHONY: setup site test test-all nbval-notebooks serve clean lock chromium bench lab

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@echo "Installing the pinned requirements into $(VENV) (about 2 minutes on a fresh machine)"
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --progress-bar on -r requirements.txt
	touch $@

# JupyterLab from .venv, opening the .md notebooks as notebooks (Jupytext), as Binder does: the
# same overrides.json that .binder/postBuild installs, in the settings folder JupyterLab reads
# under the environment's prefix.
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json

# As root (a container, CI), JupyterLab needs --allow-root: given, and said.
lab: setup $(LAB_SETTINGS)
	@if [ "$$(id -u)" = 0 ]; then echo "Running as root: starting JupyterLab with --allow-root"; fi
	$(VENV)/bin/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

$(LAB_SETTINGS): .binder/overrides.json
	mkdir -p $(dir $@)
	cp $< $@

# Validate, then build and publish (tools/site.sh) under a lock: a second `make site` in this
# checkout waits for the first. The build goes into $(BUILD)/stage and replaces the site only when
# it succeeded, so a failed build never leaves a half-built site that looks valid. $(BUILD)/html
# is a symlink to a complete copy ($(BUILD)/site.XXXXXX), swapped by one rename; the copy it
# replaced ($(BUILD)/html.previous) is kept until the next publish, for readers still loading it.
site: setup
	$(PY) -m ftguide validate
	BUILD=$(BUILD) JB=$(JB) INPUTS_HASH=$(INPUTS_HASH) bash tools/site.sh
	@echo
	@echo "The site is in $(BUILD)/html/index.html (open it as a file, or serve it: make serve, then"
	@echo "http://localhost:8000)."

# Fast: unit tests, the gate build and the built site in a browser; no network needed. Two workers
# (pytest-xdist) share one gate build, started in the background while the tests that need no site
# run first (tests/conftest.py); --dist loadgroup keeps each page's browser tests on one worker, and
# --no-loadscope-reorder keeps that order (xdist would run the largest groups, the pages, first and
# leave both workers waiting for the build).
# No nbval here (only test-all runs notebooks through it): its plugin would import jsonschema
# before ftguide can keep rfc3987-syntax's grammar out (ftguide/data.py), a second per worker.
test: setup chromium
	$(PYTEST) -m "not e2e" -n 2 --dist loadgroup --no-loadscope-reorder -p no:nbval

# Everything: the fast tests plus the slow end-to-end checks (the Binder environment runs every
# notebook, nbval runs every notebook, the gate build and a clean build are identical, `make site` end to end).
# What the tests need is made two jobs at a time (-j2): each pip install keeps one core busy, so
# the Binder environment's packages go in beside .venv's (see below). --dist loadfile keeps each
# notebook's nbval cells on one worker; --no-loadscope-reorder keeps the files in the order the
# tests sort them (tests/conftest.py: the ones that need no site first, beside the gate build),
# where xdist would run the files with the most tests first and the few slow builds at the end, on
# one worker while the other has finished.
test-all:
	$(MAKE) --no-print-directory -j2 --output-sync=target setup chromium $(BINDER_VENV)/.installed nbval-notebooks
	$(PYTEST) --nbval-lax -n 2 --dist loadfile --no-loadscope-reorder tests $(NBVAL)/notebooks

# nbval reads only .ipynb: the pages converted by jupytext into $(NBVAL)/notebooks, afresh each run
# (no page left over from a renamed one). The kernel starts in the notebook's folder, and
# $(NBVAL)/data links to data/, so a page's ../data is data/ as in the build and in Binder.
# (jupytext's `--to DIR//ipynb` takes DIR relative to each notebook's folder.)
nbval-notebooks: setup
	rm -rf $(NBVAL)
	mkdir -p $(NBVAL)
	ln -s "$$(realpath -m --relative-to=$(NBVAL) data)" $(NBVAL)/data
	$(VENV)/bin/jupytext --quiet --to "$$(realpath -m --relative-to=notebooks $(NBVAL)/notebooks)//ipynb" notebooks/*.md

# The reader's Binder environment, as repo2docker makes it: .binder/requirements.txt alone, then
# postBuild. Made here, so that the tests themselves never need the network. In two steps, so that
# the first can run beside .venv's install: the packages the file names, under its constraints
# (pip leaves the current folder off its path, so it reads nothing .venv's install writes); then,
# once .venv is made, the file itself, which adds this repository's package: both installs of it
# write ftguide.egg-info into the repository. Any change to the inputs starts a fresh environment.
$(BINDER_VENV)/.packages: .binder/requirements.txt .binder/postBuild constraints.txt pyproject.toml
	rm -rf $(BINDER_VENV)
	$(PYTHON) -m venv $(BINDER_VENV)
	$(BINDER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt \
	  $$(sed -n 's/#.*//; /^[A-Za-z]/p' .binder/requirements.txt)
	touch $@

$(BINDER_VENV)/.installed: $(BINDER_VENV)/.packages | $(VENV)/.installed
	$(BINDER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r .binder/requirements.txt
	NB_PYTHON_PREFIX=$(abspath $(BINDER_VENV)) .binder/postBuild
	touch $@

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

# After changing requirements.in: compile it into requirements.txt (every package pinned, with the
# packages that need it), keeping the versions requirements.txt already pins; move one with
# `make lock LOCK_ARGS="--upgrade-package NAME"`, all with LOCK_ARGS=--upgrade. constraints.txt is
# the same pins alone (a constraints file takes no -e), the form .binder/requirements.txt reads.
lock: setup
	$(VENV)/bin/uv pip compile requirements.in --output-file requirements.txt --python $(PY) \
	  --annotation-style line --custom-compile-command "make lock" --quiet $(LOCK_ARGS)
	{ echo "# The pins of requirements.txt alone, for .binder/requirements.txt (-c): written by make lock."; \
	  sed -n 's/^\([A-Za-z0-9][^ ]*==[^ ]*\).*/\1/p' requirements.txt; } > constraints.txt
