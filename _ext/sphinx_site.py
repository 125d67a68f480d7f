"""Sphinx extension: the site as a reader's browser, on a phone too, meets it (enabled in _config.yml).

While each page is written (html-page-context, one handler):
- Jupyter Book 1 registers sphinx-thebe's inline configuration script twice on every page; the
  second `const THEBE_JS_URL` is a console error ("Identifier has already been declared"). Pages
  keep only the first of identical scripts.
- Light pages for a phone (issue 16): a page loads the scripts and stylesheets of an optional
  feature (toggles, sphinx-design, code copy buttons, thebe) only if it uses it, and its scripts
  do not hold up the first paint (`defer`). The search page gets a description.
- The theme's templates, overridden in _ext/templates: Sphinx's search scripts, with the whole
  search index, load on the search page only (the theme loads them everywhere for
  search-as-you-type, which is off), and no page loads Font Awesome's script or preloads scripts.

As each page is resolved (doctree-resolved): a glued value that is words, not a number, gets
the class ftguide-sentence, which _static/ftguide.css sets in the prose's weight (myst-nb makes
every glued value bold, so whole sentences read as shouting); a notebook's figure links to its
SVG, to open at full size on a phone.

After the build (build-finished, one pass):
- every page once: its icons drawn as inline SVG (theme_icons), its classes noted;
- the theme's stylesheet once, parsed with tinycss2: a rule goes if it is one of Font Awesome's
  icon classes, or if a class it needs is neither in any page nor in any script (which may add
  it later), Bootstrap and all; then the icon fonts are cut to what the stylesheets still draw;
- the site root, which Jupyter Book leaves a bare redirect, becomes a small page with a title, a
  description and a canonical link.
"""

import html
import re
from pathlib import Path

import tinycss2
from docutils import nodes
from sphinx.util.osutil import relative_uri

import theme_icons

TEMPLATES = Path(__file__).parent / "templates"
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
SEARCH_PAGE = "search"
THEME_STYLESHEET = Path("_static") / "styles" / "pydata-sphinx-theme.css"  # in the HTML output
# At-rules whose block holds rules (each kept or dropped on its own); any other is kept whole.
GROUPING_RULES = {"media", "supports", "layer", "container", "document", "scope"}
# Pseudo-classes that match when one selector of their list does; `:not(.x)` needs no class.
MATCHES_ANY = {"is", "where", "has", "matches", "-webkit-any", "-moz-any"}
# Classes Bootstrap composes at run time (`bs-${name}-auto`), found whole in no script.
COMPOSED_CLASSES = ("bs-",)


# --- while each page is written -------------------------------------------------------------------

def add_templates(app, config) -> None:
    config.templates_path = [*config.templates_path, str(TEMPLATES)]


def _script_key(script) -> tuple:
    # The repeat is registered with filename "" where the first has None: compare them as equal.
    attributes = getattr(script, "attributes", {})
    return str(getattr(script, "filename", script) or ""), tuple(sorted(attributes.items()))


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
    """Each script once, no asset of a feature the page does not use, scripts deferred."""
    used = features_used(app, doctree)
    scripts, seen = [], set()
    for script in context.get("script_files", []):
        if _script_key(script) not in seen and not serves_unused_feature(script, used):
            seen.add(_script_key(script))
            scripts.append(script)
    # The search page's template loads searchtools.js, which needs doctools.js already run.
    context["script_files"] = scripts if pagename == SEARCH_PAGE else [deferred(script) for script in scripts]
    context["css_files"] = [css for css in context.get("css_files", []) if not serves_unused_feature(css, used)]
    if pagename == SEARCH_PAGE and 'name="description"' not in context.get("metatags", ""):
        description = f"Search every page of {app.config.html_title}."
        context["metatags"] = context.get("metatags", "") + (
            f'<meta name="description" content="{html.escape(description)}" />\n')


# --- glued values ---------------------------------------------------------------------------------

MAX_NUMBER_WORDS = 5  # "145% to 305% of peak" is a number, bold; a longer value is a sentence


def is_number(text: str) -> bool:
    """A glued value reads as a number when it starts with one (or a sign) and is a few words."""
    text = text.strip()
    return bool(text) and not text[0].isalpha() and len(text.split()) <= MAX_NUMBER_WORDS


def mark_glued_sentences(app, doctree, docname) -> None:
    for node in doctree.findall(nodes.inline):
        if "pasted-text" in node["classes"] and not is_number(node.astext()):
            node["classes"].append("ftguide-sentence")


def link_figures_to_full_size(app, doctree, docname) -> None:
    """A notebook's figure links to its own SVG: on a phone it is scaled to the screen (about half
    the size it is drawn at, its labels small), and a tap opens it at full size to read and zoom."""
    if app.builder.format != "html" or not docname.startswith("notebooks/"):
        return
    images = relative_uri(app.builder.get_target_uri(docname), "_images")
    for image in list(doctree.findall(nodes.image)):
        uri = image["uri"]
        if uri.endswith(".svg") and "://" not in uri and not isinstance(image.parent, nodes.reference):
            # Sphinx copies the image to _images/ under its own name (a hash: unique).
            link = nodes.reference("", "", refuri=f"{images}/{Path(uri).name}", classes=["ftguide-full-size"])
            image.replace_self(link)
            link.append(image)


def resolve_page(app, doctree, docname) -> None:
    mark_glued_sentences(app, doctree, docname)
    link_figures_to_full_size(app, doctree, docname)


# --- stylesheets, parsed with tinycss2 -------------------------------------------------------------

def selectors(prelude: list) -> list[list]:
    """A rule's selector list split at its top-level commas, each without spaces at its ends."""
    found = [[]]
    for token in prelude:
        if token.type == "literal" and token.value == ",":
            found.append([])
        else:
            found[-1].append(token)
    return [_trimmed(selector) for selector in found]


def _trimmed(tokens: list) -> list:
    while tokens and tokens[0].type in ("whitespace", "comment"):
        tokens = tokens[1:]
    while tokens and tokens[-1].type in ("whitespace", "comment"):
        tokens = tokens[:-1]
    return tokens


def may_apply(selector: list, names: set[str]) -> bool:
    """Whether every class the selector needs is one the site has (or Bootstrap composes)."""
    for before, token in zip([None, *selector], selector, strict=False):
        if token.type == "ident" and before is not None and before.type == "literal" and before.value == ".":
            if token.value not in names and not token.value.startswith(COMPOSED_CLASSES):
                return False
        elif token.type == "function" and token.lower_name in MATCHES_ANY:
            if not any(may_apply(inner, names) for inner in selectors(token.arguments)):
                return False
    return True


def rules_kept(css: str, keep) -> str:
    """The stylesheet without the rules (at top level or inside @media and the like) for whose
    selector list keep(selectors) is false; everything else exactly as written."""
    line_starts = [0] + [match.end() for match in re.finditer("\n", css)]

    def start(node) -> int:
        return line_starts[node.source_line - 1] + node.source_column - 1

    def kept(rules, end: int) -> str:
        text = []
        for rule, following in zip(rules, [*rules[1:], None], strict=True):
            stop = start(following) if following else end
            if rule.type == "qualified-rule" and not keep(selectors(rule.prelude)):
                continue
            inner = (tinycss2.parse_rule_list(rule.content) if rule.type == "at-rule" and rule.content
                     and rule.lower_at_keyword in GROUPING_RULES else [])
            if inner:  # "@media (x){" + the rules kept + "}"
                close = css.rindex("}", start(rule), stop)
                text.append(css[start(rule):start(inner[0])] + kept(inner, close) + css[close:stop])
            else:
                text.append(css[start(rule):stop])
        return "".join(text)

    return kept(tinycss2.parse_stylesheet(css), len(css))


def rule_needed(selector_list: list, names: set[str]) -> bool:
    """Whether a rule of the theme's stylesheet stays: it is not one of Font Awesome's icon
    classes (those icons are SVG now), and one of its selectors may apply to the site."""
    return not theme_icons.is_icon_rule(selector_list) and any(may_apply(s, names) for s in selector_list)


def strings(nodes) -> list[str]:
    """Every string in these tinycss2 nodes and the blocks and functions within, escapes decoded."""
    found = []
    for node in nodes or []:
        if node.type == "string":
            found.append(node.value)
        for part in ("prelude", "content", "arguments"):
            if isinstance(getattr(node, part, None), list):
                found += strings(getattr(node, part))
    return found


def drawn_strings(css: str) -> list[str]:
    """The strings a stylesheet draws with (`content:` values and the variables that hold them),
    leaving out Font Awesome's icon classes: their elements are SVG now."""
    rules = tinycss2.parse_stylesheet(css)
    return strings([rule for rule in rules
                    if rule.type != "qualified-rule" or not theme_icons.is_icon_rule(selectors(rule.prelude))])


# --- after the build: one pass ---------------------------------------------------------------------

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


def finish_site(app, exception) -> None:
    """After the build, once over the output: icons inline and classes noted in every page; the
    theme's stylesheet without icon-class rules and rules for classes the site does not have; the
    icon fonts cut to what the stylesheets draw; the site root, a page of its own."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    names = set()
    for page in sorted(outdir.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        drawn = theme_icons.inline_icons(text)
        if drawn != text:
            page.write_text(drawn, encoding="utf-8")
        for classes in re.findall(r'class="([^"]*)"', drawn):
            names.update(classes.split())
    for script in outdir.rglob("*.js"):  # a script may add any word of it as a class
        names.update(re.findall(r"[\w-]+", script.read_text(encoding="utf-8", errors="replace")))
    stylesheet = outdir / THEME_STYLESHEET
    css = rules_kept(stylesheet.read_text(encoding="utf-8"), lambda selector_list: rule_needed(selector_list, names))
    stylesheet.write_text(css, encoding="utf-8")
    drawn = [text for path in sorted((outdir / "_static").rglob("*.css"))
             for text in drawn_strings(path.read_text(encoding="utf-8"))]
    theme_icons.cut_fonts(theme_icons.icon_characters(drawn), outdir / "_static")
    start = f"{app.config.root_doc}.html"
    favicon = Path(app.config.html_favicon or "").name
    (outdir / "index.html").write_text(root_page(
        app.config.html_title, meta_description((outdir / start).read_text(encoding="utf-8")), start,
        app.config.html_baseurl + start, f"_static/{favicon}" if favicon else ""), encoding="utf-8")


def setup(app):
    app.connect("config-inited", add_templates)
    app.connect("doctree-resolved", resolve_page)
    # Late, after the theme and the other extensions (planner_data at 500) have added their scripts.
    app.connect("html-page-context", lighten_page, priority=910)
    # Before sphinx-external-toc's build-finished step, which writes a bare redirect if index.html is missing.
    app.connect("build-finished", finish_site, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
