"""Sphinx extension: the theme's icons without Font Awesome's script and full icon fonts.

pydata-sphinx-theme draws a score of header icons (menu, search, dark mode, download, launch,
GitHub) with Font Awesome's script, 1.5 MB uncompressed on every page, which turns each
`<i class="fa-solid fa-bars">` into an SVG after the page has loaded; its stylesheets draw a few
more icons (download links, admonitions) with Font Awesome's fonts, 270 kB. After the build:

- each icon element in the HTML becomes the SVG the script would have drawn, its path taken from
  the theme's own copy of Font Awesome, and no page loads the script. An icon with no SVG is a
  warning, so the gate build (-W) fails rather than show an empty square;
- the theme's stylesheet loses Font Awesome's icon-class rules (`.fa-bars:before{content:...}`),
  a third of it, dead now that those icons are SVG (an icon the theme's script would add later,
  such as an announcement banner's close button, would have none);
- the fonts are cut to the characters the remaining stylesheets draw (a few kB), served by
  _static/ftguide-icons.css in place of the theme's full fonts.
"""

import re
from functools import cache
from pathlib import Path

import pydata_sphinx_theme
from fontTools import subset
from fontTools.ttLib import TTFont
from sphinx.util import logging

logger = logging.getLogger(__name__)

THEME_STATIC = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
FONT_AWESOME = THEME_STATIC / "scripts" / "fontawesome.js"
# In the minified bundle each style is an object literal of icons, `name:[width,height,[aliases],
# "unicode","path"]`, passed on to be registered under its prefix ("fas", "far" or "fab").
PACK = re.compile(r'var \w+=\{(?="?[\w-]+"?:\[\d+,\d+,\[)(.*?)\]\};.{0,1000}?"(fa[srb])"', re.S)
ICON_ENTRY = re.compile(r'(?:"([\w-]+)"|(\w+)):\[(\d+),(\d+),\[([^\]]*)\],"[0-9a-f]+","([^"]+)"')
STYLE_CLASSES = {"fab": "fab", "fa-brands": "fab", "far": "far", "fa-regular": "far"}  # else solid
# An icon element as the theme writes it: <i class="fa-solid fa-bars"></i>, also as <span>.
ICON_ELEMENT = re.compile(r'<(i|span) class="([^"]*\bfa(?:[srb]|-solid|-regular|-brands)?\b[^"]*)"([^>]*)>\s*</\1>')
ICON_SCRIPT = re.compile(r'\s*<script[^>]*src="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*></script>')

# The fonts the theme's stylesheets draw icons with, and the cut-down copies that
# _static/ftguide-icons.css declares under the same family names.
FONTS = {"fa-solid-900.ttf": "ftguide-fa-solid.woff", "fa-brands-400.ttf": "ftguide-fa-brands.woff"}
FONT_FOLDER = THEME_STATIC / "vendor" / "fontawesome" / "webfonts"
THEME_STYLESHEET = Path("_static") / "styles" / "pydata-sphinx-theme.css"  # in the HTML output
PRIVATE_USE = range(0xE000, 0xF900)  # where icon fonts keep their characters
CSS_RULE = re.compile(r"([^{}]*)\{([^{}]*)\}")
ICON_CLASS_SELECTOR = re.compile(r"\.fa-[\w-]+::?(?:before|after)")
CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6}) ?")


@cache
def icons(source: Path = FONT_AWESOME) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(prefix, name or alias) -> (width, height, SVG path) of every icon in the bundle."""
    found = {}
    for body, prefix in PACK.findall(source.read_text(encoding="utf-8")):
        for quoted, bare, width, height, aliases, path in ICON_ENTRY.findall(body):
            for name in [quoted or bare, *re.findall(r'"([\w-]+)"', aliases)]:
                found[prefix, name] = (width, height, path)
    return found


def icon_svg(match: re.Match) -> str:
    """The SVG Font Awesome's script would draw for one icon element; the element if none."""
    classes, attributes = match[2].split(), match[3]
    prefix = next((STYLE_CLASSES[c] for c in classes if c in STYLE_CLASSES), "fas")
    drawn = next((icons()[prefix, c[3:]] for c in classes
                  if c.startswith("fa-") and (prefix, c[3:]) in icons()), None)
    if drawn is None:
        logger.warning("theme_icons: no SVG for the icon %r in Font Awesome's bundle", match[0])
        return match[0]
    width, height, path = drawn
    # Decorative, as the script makes them: the buttons around the icons carry the names.
    return (f'<svg class="svg-inline--fa {" ".join(classes)}"{attributes} aria-hidden="true" '
            f'focusable="false" viewBox="0 0 {width} {height}"><path fill="currentColor" d="{path}"></path></svg>')


def inline_icons(html: str) -> str:
    return ICON_ELEMENT.sub(icon_svg, ICON_SCRIPT.sub("", html))


def is_icon_class_rule(selectors: str) -> bool:
    return all(ICON_CLASS_SELECTOR.fullmatch(s.strip()) for s in selectors.split(","))


def without_icon_classes(css: str) -> str:
    return CSS_RULE.sub(lambda rule: "" if is_icon_class_rule(rule[1]) else rule[0], css)


def css_icon_characters(css: str) -> set[int]:
    """Icon-font characters a stylesheet draws itself (download links, admonitions), leaving out
    Font Awesome's icon classes (.fa-bars:before), whose elements are SVG now."""
    characters = set()
    for selectors, declarations in CSS_RULE.findall(css):
        if is_icon_class_rule(selectors):
            continue
        text = CSS_ESCAPE.sub(lambda escape: chr(int(escape[1], 16)), declarations)
        characters |= {ord(c) for c in text if ord(c) in PRIVATE_USE}
    return characters


def cut_font(source: Path, characters: set[int], target: Path) -> None:
    """A WOFF copy of the font holding only these characters (the same bytes every build)."""
    font = TTFont(source, recalcTimestamp=False)
    subsetter = subset.Subsetter(subset.Options(layout_features=[], name_IDs=["*"]))
    subsetter.populate(unicodes=characters)
    subsetter.subset(font)
    font.flavor = "woff"
    font.save(target)


def rewrite_pages(app, exception) -> None:
    """After the build: icons inline in every page, their CSS rules dropped, the icon fonts cut to
    what the stylesheets draw."""
    if exception is not None or app.builder.format != "html":
        return
    if not icons():
        logger.warning("theme_icons: no icon found in %s; has the theme's bundle changed?", FONT_AWESOME)
        return
    outdir = Path(app.outdir)
    for page in sorted(outdir.rglob("*.html")):
        html = page.read_text(encoding="utf-8")
        lighter = inline_icons(html)
        if lighter != html:
            page.write_text(lighter, encoding="utf-8")
    stylesheet = outdir / THEME_STYLESHEET
    stylesheet.write_text(without_icon_classes(stylesheet.read_text(encoding="utf-8")), encoding="utf-8")
    characters = set()
    for stylesheet in sorted((outdir / "_static").rglob("*.css")):
        characters |= css_icon_characters(stylesheet.read_text(encoding="utf-8"))
    for source, target in FONTS.items():
        cut_font(FONT_FOLDER / source, characters, outdir / "_static" / target)


def setup(app):
    app.connect("build-finished", rewrite_pages, priority=300)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
