"""Sphinx extension: the planner in the reader's browser (issue 15), with no server.

- After the build, `_static/planner-coefficients.json` is written from the book's data/: every
  constant of `ftguide.planner.coefficients` (what does not depend on the reader's inputs), the
  command line's ranges and messages for each input (ftguide.cli), and the worked example the
  form starts from. It is made at build time, never committed, so a changed CSV changes it.
- `_static/planner.js` (the planner's input-dependent arithmetic, kept equal to
  ftguide/planner.py by tests/test_planner_form.py) and `_static/planner.css` are copied from
  _ext/planner/ and loaded only on pages that hold the form (`id="planner-form"`, included with
  a raw-HTML directive from book/planner-form.html).
"""

import json
from pathlib import Path

from docutils import nodes

from ftguide import cli, planner
from ftguide.data import load

ASSETS = Path(__file__).parent / "planner"
DATA_FILE = Path("_static") / "planner-coefficients.json"  # in the HTML output
FORM_ID = 'id="planner-form"'
# The command line's type for each input (ftguide.cli), under the names of `plan --json`.
NUMBERS = {"samples": cli.SAMPLES, "tokens": cli.TOKENS, "sequence_length": cli.SEQUENCE_LENGTH,
           "epochs": cli.EPOCHS, "batch": cli.BATCH, "price": cli.PRICE, "deadline": cli.DEADLINE,
           "budget": cli.BUDGET}


def command_line(hardware_names: list) -> dict:
    """The command line's range and message for each input, so the form refuses what it refuses,
    in the same words."""
    numbers = {name: {"option": "--" + name.replace("_", "-"), "low": number.low, "high": number.high,
                      "whole": number.whole, "expected": number.expected()}
               for name, number in NUMBERS.items()}
    required = (f"one of the arguments --samples --tokens is required (--samples: {cli.SAMPLES.expected()}; "
                f"--tokens: {cli.TOKENS.expected()})")
    return {"numbers": numbers, "size_required": required,
            "hardware_groups": planner.HARDWARE_GROUPS, "hardware_choices": list(planner.HARDWARE_GROUPS) + hardware_names}


def example(tables) -> dict:
    """The form's starting point: the first tutorial dataset of known size (data/datasets.csv)."""
    known = tables.datasets.dropna(subset=["train_samples"])
    row = known.iloc[0]
    return {"model": row["model"], "samples": int(row["train_samples"])}


def planner_data(data_dir: Path) -> dict:
    tables = load(data_dir)
    coefficients = planner.coefficients(tables)
    return {**coefficients, "cli": command_line(list(coefficients["hardware"])), "example": example(tables)}


def write_data(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    # The book's own data/ (app.srcdir), which may be a copy of this package's repository.
    text = json.dumps(planner_data(Path(app.srcdir) / "data"), allow_nan=False, separators=(",", ":"))
    (Path(app.outdir) / DATA_FILE).write_text(text, encoding="utf-8")


def has_form(doctree) -> bool:
    return doctree is not None and any(
        FORM_ID in node.astext() for node in doctree.findall(nodes.raw) if "html" in node.get("format", ""))


def add_assets(app, pagename, templatename, context, doctree) -> None:
    """The planner's script and style on the pages that hold its form only (Sphinx adds a file
    given here to this page alone); sphinx_site defers the script."""
    if has_form(doctree):
        app.add_css_file("planner.css")
        app.add_js_file("planner.js")


def add_static_path(app) -> None:
    app.config.html_static_path = [*app.config.html_static_path, str(ASSETS)]


def setup(app):
    app.connect("builder-inited", add_static_path)
    # Before sphinx_site's lighten_page (priority 910), which makes page scripts deferred.
    app.connect("html-page-context", add_assets, priority=500)
    app.connect("build-finished", write_data)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
