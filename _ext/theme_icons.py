"""The theme's icons without Font Awesome's script and full icon fonts, for sphinx_site's pass.

pydata-sphinx-theme draws a score of header icons (menu, search, dark mode, download, launch,
GitHub) with Font Awesome's script, 1.5 MB uncompressed on every page, which turns each
`<i class="fa-solid fa-bars">` into an SVG after the page has loaded; its stylesheets draw a few
more icons (download links, admonitions) with Font Awesome's fonts, 270 kB. Instead:

- no page loads the script (_ext/templates/static/webpack-macros.html);
- each icon element becomes the SVG the script would have drawn (`inline_icons`), its path taken
  from the theme's own copy of Font Awesome; an icon with no SVG is a warning, so the gate build
  (-W) fails rather than show an empty square;
- the stylesheet loses Font Awesome's icon-class rules (`.fa-bars:before{content:...}`), dead now
  that those icons are SVG (`is_icon_rule`);
- the fonts are cut to the characters the remaining stylesheets draw (`cut_fonts`), served by
  _static/ftguide-icons.css in place of the theme's full fonts.

A workaround: the theme means to replace the script itself (issue
https://github.com/pydata/pydata-sphinx-theme/issues/2379, pull request
https://github.com/pydata/pydata-sphinx-theme/pull/2494). Once a release ships that, delete this
module, _ext/templates/static/webpack-macros.html, _static/ftguide-icons.css and their use in
sphinx_site.py.
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
# "unicode","path"]`, passed on to be registered under its prefix ("fas", "far" or "fab"). The bundle
# is the only copy of the icons' paths with their aliases; it goes with the workaround.
PACK = re.compile(r'var \w+=\{(?="?[\w-]+"?:\[\d+,\d+,\[)(.*?)\]\};.{0,1000}?"(fa[srb])"', re.S)
ICON_ENTRY = re.compile(r'(?:"([\w-]+)"|(\w+)):\[(\d+),(\d+),\[([^\]]*)\],"[0-9a-f]+","([^"]+)"')
STYLE_CLASSES = {"fab": "fab", "fa-brands": "fab", "far": "far", "fa-regular": "far"}  # else solid
# An icon element as the theme writes it: <i class="fa-solid fa-bars"></i>, also as <span>.
ICON_ELEMENT = re.compile(r'<(i|span) class="([^"]*\bfa(?:[srb]|-solid|-regular|-brands)?\b[^"]*)"([^>]*)>\s*</\1>')

# The fonts the theme's stylesheets draw icons with, and the cut-down copies that
# _static/ftguide-icons.css declares under the same family names.
FONTS = {"fa-solid-900.ttf": "ftguide-fa-solid.woff", "fa-brands-400.ttf": "ftguide-fa-brands.woff"}
FONT_FOLDER = THEME_STATIC / "vendor" / "fontawesome" / "webfonts"
PRIVATE_USE = range(0xE000, 0xF900)  # where icon fonts keep their characters


@cache
def icons(source: Path = FONT_AWESOME) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(prefix, name or alias) -> (width, height, SVG path) of every icon in the bundle."""
    found = {}
    for body, prefix in PACK.findall(source.read_text(encoding="utf-8")):
        for quoted, bare, width, height, aliases, path in ICON_ENTRY.findall(body):
            for name in [quoted or bare, *re.findall(r'"([\w-]+)"', aliases)]:
                found[prefix, name] = (width, height, path)
    if not found:
        logger.warning("theme_icons: no icon found in %s; has the theme's bundle changed?", source)
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
    """The page with every Font Awesome icon element drawn as inline SVG."""
    return ICON_ELEMENT.sub(icon_svg, html)


def is_icon_rule(selector_list: list) -> bool:
    """Whether every selector of a rule (tinycss2 tokens, no spaces around) is one of Font
    Awesome's icon classes with the pseudo-element that draws it: `.fa-bars:before`, `.fa-sun::after`."""
    def icon_class(selector):
        parts = [token.value if token.type == "literal" else token.lower_value if token.type == "ident" else None
                 for token in selector]
        return (len(parts) in (4, 5) and parts[0] == "." and str(parts[1]).startswith("fa-")
                and set(parts[2:-1]) == {":"} and parts[-1] in ("before", "after"))

    return all(map(icon_class, selector_list))


def icon_characters(strings) -> set[int]:
    """The icon-font characters among the strings of a stylesheet (its `content:` values)."""
    return {ord(character) for text in strings for character in text if ord(character) in PRIVATE_USE}


def cut_fonts(characters: set[int], static: Path) -> None:
    """WOFF copies of the theme's icon fonts holding only these characters, into the output's
    _static (the same bytes every build)."""
    for source, target in FONTS.items():
        font = TTFont(FONT_FOLDER / source, recalcTimestamp=False)
        subsetter = subset.Subsetter(subset.Options(layout_features=[], name_IDs=["*"]))
        subsetter.populate(unicodes=characters)
        subsetter.subset(font)
        font.flavor = "woff"
        font.save(static / target)
