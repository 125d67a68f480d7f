"""_ext/sphinx_site.py and its helper theme_icons.py (issue 16, light pages): the pass after the
build on a small output folder of its own, the stylesheet read with tinycss2, the theme's
templates it overrides, and the built site."""

import re
import types
from pathlib import Path

import yaml
from bs4 import BeautifulSoup
from docutils import nodes

import sphinx_site  # _ext/, on the path via pyproject.toml
import theme_icons
from tests.helpers import ROOT, toc_files

THEME = theme_icons.THEME_STATIC.parent


def kept(css: str, names: set[str]) -> str:
    return sphinx_site.rules_kept(css, lambda selector_list: sphinx_site.rule_needed(selector_list, names))


# --- the stylesheet -----------------------------------------------------------------------------

def test_unused_rules_go_and_rules_that_may_apply_stay():
    css = (".used{a:1}.absent{b:2}.used,.absent{c:3}.used:not(.absent){d:4}@media (x){.absent .used{e:5}}"
           ".bs-tooltip-auto{f:6}p{g:7}:is(.absent,.used) p{h:8}:where(.absent) p{i:9}")
    assert kept(css, {"used"}) == (".used{a:1}.used,.absent{c:3}.used:not(.absent){d:4}@media (x){}"
                                   ".bs-tooltip-auto{f:6}p{g:7}:is(.absent,.used) p{h:8}")


def test_kept_rules_stay_exactly_as_written():
    """What tinycss2 would write differently (an escape, An+B) is kept as the source wrote it."""
    css = ('@charset "UTF-8";\n/* note */ .used:nth-child(n+3) > a{content:"\\f019"}\n'
           "@media (min-width: 2px) {\n  .used { x: 1 }\n  .absent { y: 2 }\n}\n@font-face{src:url(a.woff)}\n"
           "@keyframes spin{0%{t:0}to{t:1}}")
    assert kept(css, {"used"}) == ('@charset "UTF-8";\n/* note */ .used:nth-child(n+3) > a{content:"\\f019"}\n'
                                   "@media (min-width: 2px) {\n  .used { x: 1 }\n  \n}\n@font-face{src:url(a.woff)}\n"
                                   "@keyframes spin{0%{t:0}to{t:1}}")


def test_icon_class_rules_go_and_the_strings_other_rules_draw_are_kept():
    css = (':root{--pst-icon-download:"\\f019"}.fa-bars:before{content:"\\f0c9"}.fa-sun::after,.fa-moon:before'
           '{content:"\\f185"}a.x:after{content:"\\f107"}.fa-lg:before .y{content:"\\f108"}')
    drawn = theme_icons.icon_characters(sphinx_site.drawn_strings(css))
    assert drawn == {0xF019, 0xF107, 0xF108}  # not .fa-bars's, .fa-sun's or .fa-moon's: SVG now
    assert kept(css, {"x", "y", "fa-lg"}) == ':root{--pst-icon-download:"\\f019"}a.x:after{content:"\\f107"}' \
                                             '.fa-lg:before .y{content:"\\f108"}'


# --- the icons ----------------------------------------------------------------------------------

def test_icons_become_the_svg_font_awesome_would_draw():
    html = ('<button><i class="theme-switch fa-solid fa-sun fa-lg" data-mode="light"></i></button>'
            '<span class="fab fa-github"></span>')
    svg = BeautifulSoup(theme_icons.inline_icons(html), "html.parser")
    sun, github = svg.find_all("svg")
    assert sun["class"] == ["svg-inline--fa", "theme-switch", "fa-solid", "fa-sun", "fa-lg"]
    assert sun["data-mode"] == "light" and sun["aria-hidden"] == "true"
    width, height, path = theme_icons.icons()["fas", "sun"]
    assert sun["viewbox"] == f"0 0 {width} {height}" and sun.path["d"] == path
    assert github.path["d"] == theme_icons.icons()["fab", "github"][2]
    assert theme_icons.icons()["fas", "pencil-alt"] == theme_icons.icons()["fas", "pencil"]  # an alias


# --- the pass after the build, on an output folder of its own ------------------------------------

def test_one_pass_draws_icons_cuts_the_stylesheet_and_fonts_and_writes_the_root(tmp_path):
    static = tmp_path / "_static"
    (static / "styles").mkdir(parents=True)
    (static / "styles" / "pydata-sphinx-theme.css").write_text(
        '.used{a:1}.absent{b:2}.fa-sun:before{content:"\\f185"}.added-later{c:3}a.used:after{content:"\\f019"}')
    (static / "page.js").write_text('element.classList.add("added-later");')
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "intro.html").write_text(
        '<meta name="description" content="The guide &amp; its data" />'
        '<div class="used"><i class="fa-solid fa-sun"></i></div>')
    config = types.SimpleNamespace(root_doc="book/intro", html_title="A title", html_favicon="_static/favicon.svg",
                                   html_baseurl="https://example.org/guide/")
    app = types.SimpleNamespace(outdir=str(tmp_path), builder=types.SimpleNamespace(format="html"), config=config)
    sphinx_site.finish_site(app, None)
    page = (tmp_path / "book" / "intro.html").read_text()
    assert "<i " not in page and 'class="svg-inline--fa fa-solid fa-sun"' in page
    assert (static / "styles" / "pydata-sphinx-theme.css").read_text() == (
        '.used{a:1}.added-later{c:3}a.used:after{content:"\\f019"}')
    solid = theme_icons.TTFont(static / "ftguide-fa-solid.woff")
    assert set(solid.getBestCmap()) == {0xF019}  # what the stylesheet still draws, nothing else
    root = BeautifulSoup((tmp_path / "index.html").read_text(), "html.parser")
    assert root.find("meta", attrs={"name": "description"})["content"] == "The guide & its data"
    assert root.find("link", rel="canonical")["href"] == "https://example.org/guide/book/intro.html"


def test_the_extension_hooks_once_into_each_event():
    """One handler while pages are resolved, one while they are written and one pass after the
    build; the helper hooks nothing."""
    connected = []
    app = types.SimpleNamespace(connect=lambda event, handler, priority=500: connected.append(event))
    sphinx_site.setup(app)
    assert sorted(connected) == ["build-finished", "config-inited", "doctree-resolved", "html-page-context"]
    assert not hasattr(theme_icons, "setup")
    local = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["local_extensions"]
    assert "sphinx_site" in local and "theme_icons" not in local


def test_glued_sentences_lose_the_bold_and_glued_numbers_keep_it():
    values = ["145% to 305% of peak", "$2.00", "12", "Mistral 7B on 4xlarge",
              "It cannot be taken at face value: 15 of 18 rows imply more than peak.",
              "4.2 to 40.2 times the run's tokens, whatever the flavor"]
    page = nodes.paragraph("", "", *[nodes.inline(value, value, classes=["pasted-text"]) for value in values],
                           nodes.inline("plain", "plain"))
    sphinx_site.mark_glued_sentences(None, page, "page")
    marked = [node.astext() for node in page.findall(nodes.inline) if "ftguide-sentence" in node["classes"]]
    assert marked == values[3:]
    css = (ROOT / "_static" / "ftguide.css").read_text()
    assert re.search(r"span\.pasted-text\.ftguide-sentence \{ font-weight: inherit; \}", css)


# --- the theme's templates ----------------------------------------------------------------------

def block(path: Path, name: str) -> str:
    text = path.read_text()
    return text[text.index(f"{{%- block {name} %}}"):text.index(f"{{%- endblock {name} %}}")]


def test_the_head_is_the_themes_without_its_search_scripts():
    """The overridden extrahead copies the theme's; a theme that changes its own fails here."""
    theme = block(THEME / "layout.html", "extrahead")
    search = theme.index("{% if pagename == 'search' %}")
    assert re.findall(r"<(\w+)[^>]*src=\"\{\{ pathto\('([^']+)'", theme[search:]) == [
        ("script", "_static/searchtools.js"), ("script", "_static/language_data.js"), ("script", "searchindex.js")]
    ours = block(sphinx_site.TEMPLATES / "layout.html", "extrahead")
    copied = ours[ours.index("{% else %}") + len("{% else %}"):ours.rindex("{%- endif %}")]
    assert [line.strip() for line in copied.splitlines() if line.strip()] == [
        line.strip() for line in theme[:search].splitlines()[1:] if line.strip()]


def test_the_asset_macros_are_the_themes_but_the_script_loader():
    def macros(path):
        return re.findall(r"{% macro (\w+)\(\) %}(.*?){% endmacro %}", path.read_text(), re.S)

    theme = dict(macros(THEME / "static" / "webpack-macros.html"))
    ours = dict(macros(sphinx_site.TEMPLATES / "static" / "webpack-macros.html"))
    assert set(ours) == set(theme) and "fontawesome.js" in theme["head_js_preload"]
    assert ours == {name: "" if name == "head_js_preload" else f"{{{{ theme.{name}() }}}}" for name in theme}


# --- the built site -----------------------------------------------------------------------------

def test_site_root_is_a_page_that_sends_readers_on(built_site):
    root = BeautifulSoup((built_site / "index.html").read_text(), "html.parser")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    start = BeautifulSoup((built_site / "book" / "intro.html").read_text(), "html.parser")
    assert root.title.get_text() == config["title"]
    description = root.find("meta", attrs={"name": "description"})["content"]
    assert description == start.find("meta", attrs={"name": "description"})["content"] and len(description) > 50
    assert root.find("link", rel="canonical")["href"] == config["html"]["baseurl"] + "book/intro.html"
    assert root.find("meta", attrs={"http-equiv": "refresh"})["content"] == "0; url=book/intro.html"
    assert (built_site / root.find("link", rel="icon")["href"]).read_bytes().startswith(b"<svg")


def test_pages_load_no_font_awesome_no_preload_and_search_scripts_only_on_search(built_site):
    for page in [f"{name}.html" for name in toc_files()] + ["search.html", "404.html"]:
        html = (built_site / page).read_text()
        assert "fontawesome.js" not in html and '<i class="fa' not in html, page
        assert 'rel="preload" as="script"' not in html, page
        assert ("searchindex.js" in html) == (page == "search.html"), page
        assert "sphinx-thebe" not in html and "togglebutton.js" not in html, page
        # The theme's head is whole but for what the templates leave out.
        assert '<meta name="docsearch:language"' in html and "pydata-sphinx-theme.css" in html, page
        assert "_static/scripts/pydata-sphinx-theme.js" in html, page


def test_the_stylesheet_keeps_what_the_pages_use_and_nothing_of_the_icon_classes(built_site):
    css = (built_site / sphinx_site.THEME_STYLESHEET).read_text()
    assert ".bd-sidebar-primary" in css and ".fa-bars:before" not in css
    assert len(css) < (THEME / "static" / "styles" / "pydata-sphinx-theme.css").stat().st_size / 2
