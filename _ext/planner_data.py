"""Sphinx extension: the planner in the reader's browser, with no server and no fetch.

- `_static/planner.js` is written when the build starts: `_ext/planner/kernel.mjs` (the mirror of
  ftguide/planner/kernel.py) followed by `page.js` (the form and the result), in one classic
  script, because a browser loads no module from a file:// address.
- The coefficients (`ftguide.planner.coefficients.coefficients`: models, hardware, the declared
  inputs, every sentence) are computed from the book's data/ and written into the page that holds
  the form, as a JSON script element: a changed CSV changes them, and nothing is fetched.
- Script, style and data load only on that page (`id="planner-form"`, from book/planner-form.html).
"""

import json
import re
from pathlib import Path

from docutils import nodes

from ftguide.data import load
from ftguide.planner.coefficients import coefficients

ASSETS = Path(__file__).parent / "planner"
FORM_ID = 'id="planner-form"'
DATA_ID = "planner-coefficients"


def bundle() -> str:
    """kernel.mjs and page.js as one classic script: `export` dropped, both inside one function."""
    kernel = re.sub(r"^export ", "", (ASSETS / "kernel.mjs").read_text(encoding="utf-8"), flags=re.MULTILINE)
    page = (ASSETS / "page.js").read_text(encoding="utf-8")
    return f'(function () {{\n"use strict";\n{kernel}\n{page}\n}})();\n'


def page_data(data_dir: Path) -> str:
    """The coefficients as JSON safe inside a script element (no '<', so no '</script>')."""
    text = json.dumps(coefficients(load(data_dir)), allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def write_assets(app) -> None:
    """The bundle and the style into a folder of this build's own, served as _static."""
    static = Path(app.doctreedir) / "planner-static"
    static.mkdir(parents=True, exist_ok=True)
    (static / "planner.js").write_text(bundle(), encoding="utf-8")
    (static / "planner.css").write_text((ASSETS / "planner.css").read_text(encoding="utf-8"), encoding="utf-8")
    app.config.html_static_path = [*app.config.html_static_path, str(static)]


def has_form(doctree) -> bool:
    return doctree is not None and any(
        FORM_ID in node.astext() for node in doctree.findall(nodes.raw) if "html" in node.get("format", ""))


def add_assets(app, pagename, templatename, context, doctree) -> None:
    """Script, style and data on the pages that hold the form (Sphinx adds what is given here to
    this page alone); sphinx_site defers the script. The data is computed once per build."""
    if not has_form(doctree):
        return
    if not hasattr(app, "planner_data"):
        # The book's own data/ (app.srcdir), which may be a copy of this package's repository.
        app.planner_data = page_data(Path(app.srcdir) / "data")
    app.add_js_file(None, body=app.planner_data, type="application/json", id=DATA_ID)
    app.add_css_file("planner.css")
    app.add_js_file("planner.js")


def setup(app):
    app.connect("builder-inited", write_assets)
    # Before sphinx_site's lighten_page (priority 910), which makes page scripts deferred.
    app.connect("html-page-context", add_assets, priority=500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
