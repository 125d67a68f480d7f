"""Small Sphinx fixes for the site as a reader's browser meets it (enabled in _config.yml).

- Jupyter Book 1 registers sphinx-thebe's inline configuration script twice on every page; the
  second `const THEBE_JS_URL` is a console error ("Identifier has already been declared"). Pages
  keep only the first of identical scripts.
- Light pages for a phone (issue 16): a page loads the scripts and stylesheets of an optional
  feature (toggles, sphinx-design, code copy buttons, thebe) only if it uses it, and its scripts
  do not hold up the first paint (`defer`, and not preloaded). Sphinx's search scripts, with the whole search index,
  load on the search page only: the theme loads them everywhere for search-as-you-type, which is off.
- The theme's stylesheet, Bootstrap and all, is cut to the rules that can apply to this site: a
  rule goes if a class it needs is neither in any page nor in any script (which may add it later).
- The search page gets a description, and the site root, which Jupyter Book leaves a bare
  redirect, becomes a small page with a title, a description and a canonical link.
"""

import html
import re
from pathlib import Path

from docutils import nodes

# What a page must contain to need each optional feature's assets.
FEATURES = {
    "toggle": lambda node: bool({"toggle", "dropdown"} & set(node.get("classes", []))),
    "design": lambda node: any(name.startswith("sd-") for name in node.get("classes", [])),
    "code": lambda node: isinstance(node, nodes.literal_block),
}
# The files of each optional feature, or a word of its inline configuration script.
FEATURE_ASSETS = {
    "toggle": ("togglebutton.js", "togglebutton.css", "toggleHint", "toggleOpenOnPrint", "togglebuttonSelector"),
    "design": ("design-tabs.js", "sphinx-design.min.css"),
    "code": ("clipboard.min.js", "copybutton.js", "copybutton.css"),
    "thebe": ("sphinx-thebe.js", "sphinx-thebe.css", "THEBE_JS_URL"),
}
# Inline scripts of the theme set DOCUMENTATION_OPTIONS as the page is read: its file stays blocking.
BLOCKING_SCRIPTS = {"documentation_options.js"}
SEARCH_SCRIPTS = re.compile(
    r'\s*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)"></script>')
SEARCH_PAGE = "search"
# The theme preloads its two deferred scripts (bootstrap, pydata-sphinx-theme): on a phone's slow
# connection they then share the bandwidth with the stylesheets the first paint waits for.
SCRIPT_PRELOADS = re.compile(r'\s*<link rel="preload" as="script" href="[^"]*" />')
THEME_STYLESHEET = Path("_static") / "styles" / "pydata-sphinx-theme.css"  # in the HTML output
CSS_RULE = re.compile(r"([^{}@]*)\{([^{}]*)\}")  # innermost rules; @media and the like stay
SELECTOR_LIST = re.compile(r",(?![^()]*\))")  # commas outside :is(...), :not(...)
NEGATION = re.compile(r":not\([^()]*\)")  # .a:not(.b) matches whether or not .b exists
CSS_CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
# Classes Bootstrap composes at run time (`bs-${name}-auto`), found whole in no script.
COMPOSED_CLASSES = ("bs-",)


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


def features_used(app, doctree) -> set[str]:
    used = {name for name, needs in FEATURES.items()
            if doctree is not None and any(needs(node) for node in doctree.findall(nodes.Element))}
    launch_buttons = app.config.html_theme_options.get("launch_buttons", {})
    return used | ({"thebe"} if launch_buttons.get("thebe") else set())


def serves_unused_feature(asset, used: set[str]) -> bool:
    name = Path(str(getattr(asset, "filename", "") or "")).name
    body = getattr(asset, "attributes", {}).get("body", "")
    return any(name in assets or any(word in body for word in assets)
               for feature, assets in FEATURE_ASSETS.items() if feature not in used)


def deferred(script):
    """The script with `defer`, unless it is inline, blocking on purpose or already async."""
    attributes = script.attributes
    name = Path(str(script.filename or "")).name
    if not script.filename or name in BLOCKING_SCRIPTS or {"async", "defer"} & set(attributes):
        return script
    return type(script)(script.filename, priority=script.priority, **attributes, defer="defer")


def lighten_page(app, pagename, templatename, context, doctree) -> None:
    used = features_used(app, doctree)
    context["css_files"] = [css for css in context.get("css_files", []) if not serves_unused_feature(css, used)]
    scripts = [script for script in context.get("script_files", []) if not serves_unused_feature(script, used)]
    # The search page's template loads searchtools.js, which needs doctools.js already run.
    context["script_files"] = scripts if pagename == SEARCH_PAGE else [deferred(script) for script in scripts]
    if pagename == SEARCH_PAGE and 'name="description"' not in context.get("metatags", ""):
        description = f"Search every page of {app.config.html_title}."
        context["metatags"] = context.get("metatags", "") + (
            f'<meta name="description" content="{html.escape(description)}" />\n')


def root_page(title: str, description: str, start: str, canonical: str, favicon: str) -> str:
    """The site root: a page of its own for search engines and link previews, which sends the
    reader on to the start page at once (as the redirect it replaces did)."""
    title, description, start = html.escape(title), html.escape(description), html.escape(start)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>{title}</title>
<meta name="description" content="{description}" />
<link rel="canonical" href="{html.escape(canonical)}" />
{f'<link rel="icon" href="{html.escape(favicon)}" />' if favicon else ""}
<meta http-equiv="refresh" content="0; url={start}" />
</head>
<body>
<p><a href="{start}">{title}</a>: {description}</p>
</body>
</html>
"""


def meta_description(page_html: str) -> str:
    found = re.search(r'<meta name="description" content="([^"]*)"', page_html)
    return html.unescape(found[1]) if found else ""


def class_names(outdir: Path) -> set[str]:
    """Every class in the site's pages, and every word of its scripts (classes they may add)."""
    names = set()
    for page in outdir.rglob("*.html"):
        for classes in re.findall(r'class="([^"]*)"', page.read_text(encoding="utf-8")):
            names.update(classes.split())
    for script in outdir.rglob("*.js"):
        names.update(re.findall(r"[\w-]+", script.read_text(encoding="utf-8", errors="replace")))
    return names


def may_apply(selectors: str, names: set[str]) -> bool:
    """Whether any selector of the list needs only classes that the site has."""
    return any(all(name in names or name.startswith(COMPOSED_CLASSES)
                   for name in CSS_CLASS.findall(NEGATION.sub("", selector)))
               for selector in SELECTOR_LIST.split(selectors))


def without_unused_rules(css: str, names: set[str]) -> str:
    return CSS_RULE.sub(lambda rule: rule[0] if may_apply(rule[1], names) else "", css)


def rewrite_pages(app, exception) -> None:
    """After the build: no script preloads, search scripts on the search page only, the theme's
    stylesheet without rules for classes the site does not have; the site root, a page of its own."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for page in sorted(outdir.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        lighter = SCRIPT_PRELOADS.sub("", text)
        if page != outdir / f"{SEARCH_PAGE}.html":
            lighter = SEARCH_SCRIPTS.sub("", lighter)
        if lighter != text:
            page.write_text(lighter, encoding="utf-8")
    stylesheet = outdir / THEME_STYLESHEET
    stylesheet.write_text(without_unused_rules(stylesheet.read_text(encoding="utf-8"), class_names(outdir)),
                          encoding="utf-8")
    start = f"{app.config.root_doc}.html"
    start_html = (outdir / start).read_text(encoding="utf-8")
    favicon = Path(app.config.html_favicon or "").name
    (outdir / "index.html").write_text(root_page(
        app.config.html_title, meta_description(start_html), start,
        app.config.html_baseurl + start, f"_static/{favicon}" if favicon else ""), encoding="utf-8")


def setup(app):
    # Run late, after the theme and the extensions have added their scripts to the page.
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    app.connect("html-page-context", lighten_page, priority=910)
    # Before sphinx-external-toc's build-finished step, which writes a bare redirect if index.html is missing.
    app.connect("build-finished", rewrite_pages, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
