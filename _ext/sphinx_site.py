"""Small Sphinx fixes for the site as a reader's browser meets it (enabled in _config.yml).

Jupyter Book 1 registers sphinx-thebe's inline configuration script twice on every page; the
second `const THEBE_JS_URL` is a console error ("Identifier has already been declared"). Pages
keep only the first of identical scripts.
"""


def _script_key(script) -> tuple:
    # The repeat is registered with filename "" where the first has None: compare them as equal.
    attributes = getattr(script, "attributes", {})
    return str(getattr(script, "filename", script) or ""), tuple(sorted(attributes.items()))


def drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts, seen = [], set()
    for script in context.get("script_files", []):
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            scripts.append(script)
    context["script_files"] = scripts


def setup(app):
    # Run late, after the theme and the extensions have added their scripts to the page.
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
