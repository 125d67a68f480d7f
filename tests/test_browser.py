"""The built site in a real browser (Debian's Chromium driven by Playwright), as a reader meets it.

One browser for the session; each page is visited once at desktop width and once at phone width
(390 px), and every test reads what those visits recorded. Requests that would leave the local
server are blocked and recorded, so the tests also show the site works with the network off.
"""

import functools
import gzip
import json
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pandas as pd
import pytest
from bs4 import BeautifulSoup, SoupStrainer

pytest.importorskip("playwright.sync_api")
from axe_playwright_python.sync_playwright import Axe

from tests.helpers import DESKTOP, PHONE, ROOT, at_a_phone, serve, toc_files

# label-content-name-mismatch is an "experimental" axe rule, off by default: the theme's header
# buttons broke it, so it is switched on here to keep them fixed.
AXE_OPTIONS = {"rules": {"label-content-name-mismatch": {"enabled": True}}}
BLOCKING = {"serious", "critical"}
# Issue 16: what a phone downloads per page, text gzip-compressed as GitHub Pages serves it.
PAGE_BUDGET_BYTES = 400_000
COMPRESSED_TYPES = ("text/", "application/javascript", "application/json", "application/xml", "image/svg+xml")


PAGES = [f"{name}.html" for name in toc_files()] + ["search.html"]
# Pages that send the reader on at once (a meta refresh), and where to.
REDIRECTS = {"index.html": "book/intro.html"}
NOTEBOOK_PAGES = [page for page in PAGES if page.startswith("notebooks/")]


# The phone-width visit of every page is `make test-all`'s (helpers.at_a_phone): a second visit of
# each page would double the browser's share of `make test`.
VIEWPORTS = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone", marks=at_a_phone)]


def on_one_worker(pages: list[str]) -> list:
    """Each page's tests in one xdist group (`make test` runs --dist loadgroup), so a page is
    visited once per viewport in the whole run, not once on each worker."""
    return [pytest.param(page, marks=pytest.mark.xdist_group(page)) for page in pages]


@pytest.fixture(scope="session")
def site_url(built_site):
    """The built site served on a free loopback port for the session."""
    with serve(built_site) as url:
        yield url


class Visit:
    """What one page showed in one viewport: console errors, requests, images, links, axe."""

    def __init__(self, browser, site_url: str, page_path: str, viewport: dict):
        self.requests, self.left_site, self.failed, self.console_errors = [], [], [], []
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        # Watched, not intercepted (a route would hold every request for Python to let through):
        # the browser cannot resolve any host but the loopback (conftest.CHROMIUM_ARGS).
        page.on("request", functools.partial(self._record, site_url))
        page.set_default_timeout(20_000)
        page.on("console", lambda message: message.type == "error" and self.console_errors.append(message.text))
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        page.on("requestfailed", lambda request: self.failed.append(f"{request.url}: {request.failure}"))
        page.on("response", lambda response: response.status >= 400
                and self.failed.append(f"{response.url}: HTTP {response.status}"))
        page.goto(urljoin(site_url, page_path), wait_until="load")
        if page_path in REDIRECTS:  # wait for the page it sends the reader to, not race its navigation
            page.wait_for_url(urljoin(site_url, REDIRECTS[page_path]), wait_until="load")
        page.wait_for_load_state("networkidle")
        self.page, self.context = page, context
        self.scroll_width, self.window_width = page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]")
        self.images = page.evaluate("""[...document.images].map(image => ({
            src: image.currentSrc || image.src, alt: (image.getAttribute('alt') || '').trim(),
            loaded: image.complete && image.naturalWidth > 0}))""")
        self.links = page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.href)")
        # Stop recording before axe: it fetches stylesheets itself (a 404 of its own making).
        self.recorded_errors, self.recorded_failed = list(self.console_errors), list(self.failed)
        self.loaded = list(self.requests)

    @functools.cached_property
    def axe_blocking(self) -> list:
        """axe's serious and critical violations, run on first use (seconds on a page of tables)."""
        violations = Axe().run(self.page, options=AXE_OPTIONS).response["violations"]
        return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['html'][:200]}"
                for v in violations if v["impact"] in BLOCKING]

    def _record(self, site_url, request):
        self.requests.append(request.url)
        if not request.url.startswith((site_url, "data:", "blob:", "about:")):
            self.left_site.append(request.url)

    def close(self):
        self.context.close()


@pytest.fixture(scope="session")
def visits(browser, site_url):
    """Each page visited once per viewport, on first use; closed at the end of the session."""
    made = {}

    def visit(page_path, viewport=DESKTOP):
        key = (page_path, viewport["width"])
        if key not in made:
            made[key] = Visit(browser, site_url, page_path, viewport)
        return made[key]

    yield visit
    for made_visit in made.values():
        made_visit.close()


@pytest.mark.xdist_group("a group of its own")  # in a page's group, it would run that page's group first
def test_a_pages_browser_tests_share_one_worker(request):
    """`make test` (--dist loadgroup) sends a group's tests to one worker, known by the group's name
    after an @ in each test's id. pytest 9.2 ignores how xdist 3.8 writes it (requirements.in):
    then each worker visited every page, twice the browser's work, and nothing failed."""
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("runs where tests are grouped: `make test` (--dist loadgroup)")
    assert request.node.nodeid.endswith("@a group of its own"), request.node.nodeid


def test_the_toc_names_every_page():
    assert "book/intro.html" in PAGES and "notebooks/parameter-guide.html" in PAGES
    assert len(NOTEBOOK_PAGES) == len(list((ROOT / "notebooks").glob("*.md")))


@pytest.mark.parametrize("page_path", on_one_worker(PAGES))
def test_page_loads_cleanly(visits, page_path):
    visit = visits(page_path)
    assert visit.recorded_errors == [], "console errors"
    assert visit.recorded_failed == [], "failed requests"


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("page_path", on_one_worker(PAGES))
def test_page_is_self_contained(visits, page_path, viewport):
    """No request leaves the local server: no CDN fonts, scripts or MathJax from the network."""
    visit = visits(page_path, viewport)
    assert visit.requests, "no request was recorded"
    assert visit.left_site == [], "requests that leave the site"


@pytest.mark.parametrize("page_path", on_one_worker(PAGES))
def test_every_image_loads_with_alt_text(visits, page_path):
    for image in visits(page_path).images:
        assert image["loaded"], f"image did not load: {image['src']}"
        assert image["alt"], f"image without alt text: {image['src']}"


@pytest.mark.e2e  # axe takes seconds a page (about 80 s for the site): make test-all runs it, at both widths
@pytest.mark.parametrize("page_path", on_one_worker(PAGES))
def test_no_serious_accessibility_violation(visits, page_path):
    assert visits(page_path, DESKTOP).axe_blocking == [], f"axe at {DESKTOP['width']} px"


@pytest.mark.e2e  # axe takes seconds a page
@pytest.mark.parametrize("page_path", on_one_worker(PAGES))
def test_no_serious_accessibility_violation_on_a_phone(visits, page_path):
    assert visits(page_path, PHONE).axe_blocking == [], f"axe at {PHONE['width']} px"


@at_a_phone
@pytest.mark.parametrize("page_path", on_one_worker(PAGES))
def test_no_horizontal_scrolling_on_a_phone(visits, page_path):
    visit = visits(page_path, PHONE)
    assert visit.window_width == PHONE["width"]
    assert visit.scroll_width <= visit.window_width


@pytest.mark.parametrize("page_path", on_one_worker(PAGES))
def test_every_local_link_resolves(visits, site_url, page_path):
    visit = visits(page_path)
    targets = {link.split("#")[0] for link in visit.links if link.startswith(site_url)}
    assert targets
    for target in sorted(targets):
        assert visit.page.request.get(target).status == 200, target


@pytest.mark.xdist_group("notebooks/parameter-guide.html")
def test_guide_table_has_a_row_per_csv_row(visits):
    rows = len(pd.read_csv(ROOT / "data" / "parameter_guide.csv"))
    page = visits("notebooks/parameter-guide.html").page
    assert page.locator("table[id*='parameter-guide'] tbody tr").count() == rows


@pytest.mark.xdist_group("search.html")
def test_search_finds_llama3(visits):
    page = visits("search.html").page
    page.goto(page.url.split("?")[0] + "?q=Llama3")
    results = page.locator("#search-results ul.search li")
    results.first.wait_for()
    titles = " ".join(results.all_inner_texts())
    assert "parameter guide" in titles.lower()


def download_links(visit, site_url) -> dict[str, list[str]]:
    local = [link.split("#")[0] for link in visit.links if link.startswith(site_url)]
    return {
        "ipynb": [link for link in local if link.endswith(".ipynb")],
        "md": [link for link in local if "/_sources/" in link and link.endswith(".md")],
        "data": [link for link in local if "/_downloads/" in link],
    }


@pytest.mark.parametrize("page_path", on_one_worker(NOTEBOOK_PAGES))
def test_notebook_page_offers_source_and_executed_notebook(visits, site_url, page_path):
    visit = visits(page_path)
    links = download_links(visit, site_url)
    stem = Path(page_path).stem
    source = ROOT / "notebooks" / f"{stem}.md"
    md = [link for link in links["md"] if link.endswith(f"/{stem}.md")]
    assert md, "no .md source download"
    assert visit.page.request.get(md[0]).body() == source.read_bytes()
    ipynb = [link for link in links["ipynb"] if link.endswith(f"/{stem}.ipynb")]
    assert ipynb, "no .ipynb download"
    notebook = json.loads(visit.page.request.get(ipynb[0]).body())
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code_cells and any(cell["outputs"] for cell in code_cells), "the .ipynb is not executed"
    assert not (ROOT / "notebooks" / f"{stem}.ipynb").exists(), "the .ipynb must be made by the build"


@pytest.mark.parametrize("page_path", on_one_worker(NOTEBOOK_PAGES))
def test_notebook_page_offers_data_files(visits, site_url, page_path):
    visit = visits(page_path)
    data_links = download_links(visit, site_url)["data"]
    assert data_links, "no data file to download"
    for link in data_links:
        name = urlsplit(link).path.rsplit("/", 1)[-1]
        assert visit.page.request.get(link).body() == (ROOT / "data" / name).read_bytes(), name


def built_links(built_site: Path, page_path: str) -> list[str]:
    """Every link of a built page, as a path from the site's root ("book/glossary.html#term-MFU"):
    for checks of the whole site, read from the files, since each page's visit is on one worker."""
    anchors = BeautifulSoup((built_site / page_path).read_text(), "html.parser", parse_only=SoupStrainer("a"))
    site = "http://site/"
    return [urljoin(f"{site}{page_path}", anchor["href"]).removeprefix(site)
            for anchor in anchors.find_all("a", href=True)]


# Issue 16: light pages for phones. Bytes are counted from the files the browser fetched, so the
# budget is deterministic; `make bench` measures the same over a gzip server, with Lighthouse.

@functools.cache
def file_bytes(file: Path) -> tuple[int, int]:
    """(bytes sent, gzip-compressed as GitHub Pages sends text, bytes uncompressed) of one file;
    once per file, as most are shared by every page."""
    body = file.read_bytes()
    compressed = (mimetypes.guess_type(file.name)[0] or "").startswith(COMPRESSED_TYPES)
    return len(gzip.compress(body, compresslevel=6, mtime=0)) if compressed else len(body), len(body)


def served_bytes(built_site: Path, site_url: str, urls: list[str]) -> tuple[int, int]:
    """(bytes sent, bytes uncompressed) of these URLs (file_bytes)."""
    sent = raw = 0
    for url in dict.fromkeys(url.split("#")[0] for url in urls if url.startswith(site_url)):
        path = unquote(urlsplit(url).path)[len(urlsplit(site_url).path):]
        file_sent, file_raw = file_bytes(built_site / (path + "index.html" if path.endswith("/") or not path else path))
        sent, raw = sent + file_sent, raw + file_raw
    return sent, raw


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("page_path", on_one_worker(["index.html"] + PAGES))
def test_page_fits_the_phone_budget(built_site, visits, site_url, page_path, viewport):
    sent, raw = served_bytes(built_site, site_url, visits(page_path, viewport).loaded)
    assert 10_000 < sent <= PAGE_BUDGET_BYTES, f"{sent:,} B transferred ({raw:,} B uncompressed)"


@pytest.mark.parametrize("page_path", on_one_worker(PAGES))
def test_no_font_awesome_script_or_full_icon_font(visits, page_path):
    names = [urlsplit(url).path.rsplit("/", 1)[-1] for url in visits(page_path).loaded]
    assert "fontawesome.js" not in names
    assert not [name for name in names if name.startswith("fa-")], "a full Font Awesome font"


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("page_path", on_one_worker(PAGES))
def test_header_icons_still_show(visits, page_path, viewport):
    """The icons Font Awesome's script drew are inline SVG drawn at their size, none left empty."""
    icons = [".theme-switch-button svg", "button.primary-toggle svg", "button.search-button__button svg"]
    if page_path != "search.html":  # the search page has no source to download
        icons.append("button[aria-label='Download this page'] svg")
    page = visits(page_path, viewport).page
    assert page.locator("i[class*='fa-'], span[class*='fa-']").count() == 0, "an icon left to a script"
    for selector in icons:
        icon = page.locator(f"{selector}.svg-inline--fa:visible").first
        box = icon.bounding_box()
        assert box and box["width"] > 8 and box["height"] > 8, selector
        assert icon.locator("path").get_attribute("d")


@pytest.mark.parametrize("page_path", on_one_worker(["index.html"] + PAGES))
def test_favicon_is_served(visits, site_url, page_path):
    page = visits(page_path).page
    href = page.evaluate("document.querySelector('link[rel=icon]').href")
    response = page.request.get(href)
    assert response.status == 200 and response.body().startswith(b"<svg")


@pytest.mark.xdist_group("index.html")
def test_site_root_sends_readers_to_the_start_page(visits):
    assert visits("index.html").page.url.endswith("/book/intro.html")


def test_dark_mode_switches_the_colours(browser, site_url):
    context = browser.new_context(viewport=DESKTOP)  # its own: the mode is kept in localStorage
    page = context.new_page()
    page.goto(urljoin(site_url, "notebooks/parameter-guide.html"))
    for _ in range(3):  # the button cycles light, dark and the system's mode
        if page.evaluate("document.documentElement.dataset.theme") == "dark":
            break
        page.locator("button.theme-switch-button:visible").first.click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    context.close()
    red, green, blue = (int(part) for part in background[background.index("(") + 1:-1].split(",")[:3])
    assert red + green + blue < 150, background


# Issue 24: figures and tables that fit the reader's screen, and a glossary one click away.

@at_a_phone
@pytest.mark.parametrize("page_path", on_one_worker(PAGES))
def test_no_figure_is_wider_than_a_phone(visits, page_path):
    """At 390 px every figure, image and SVG lies within the viewport, and no figure's box scrolls
    sideways (a figure shrinks with its text rather than being panned)."""
    page = visits(page_path, PHONE).page
    too_wide = page.evaluate("""() => [...document.querySelectorAll('article figure, article img, article svg')]
        .filter(e => e.getClientRects().length)
        .filter(e => { const box = e.getBoundingClientRect();
                       return box.left < -1 || box.right > window.innerWidth + 1
                              || (e.tagName === 'FIGURE' && e.scrollWidth > e.clientWidth + 1); })
        .map(e => `${e.tagName} ${e.id || e.getAttribute('src') || ''}: ${e.getBoundingClientRect().width} px`)""")
    assert too_wide == []


# Each visible table of the site that is wider than its box: its box scrolled to the far right, where
# the first cell of its first body row then stands, against the box's left edge, and how it is positioned.
SCROLLED_TABLES = """() => [...document.querySelectorAll('article table.ftguide-table')]
    .filter(table => table.getClientRects().length)
    .map(table => ({table, box: table.closest('.output, .planner-table') || table.parentElement}))
    .filter(({box}) => box.scrollWidth > box.clientWidth + 1)
    .map(({table, box}) => {
        box.scrollLeft = box.scrollWidth;
        const cell = table.querySelector('tbody tr > :first-child');
        return {id: table.id || table.closest('[id]').id, cellLeft: cell.getBoundingClientRect().left,
                boxLeft: box.getBoundingClientRect().left, position: getComputedStyle(cell).position};
    })"""


# Pages with tables wider than a phone: there the check must find tables to check.
WIDE_ON_A_PHONE = ["notebooks/parameter-guide.html", "notebooks/audit.html", "notebooks/data-dictionary.html"]


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("page_path", on_one_worker(PAGES))
def test_a_table_that_scrolls_sideways_keeps_its_first_column_in_view(visits, page_path, viewport):
    scrolled = visits(page_path, viewport).page.evaluate(SCROLLED_TABLES)
    if viewport is PHONE and page_path in WIDE_ON_A_PHONE:
        assert scrolled, "no table scrolls on a phone: the check checks nothing"
    for table in scrolled:
        assert table["position"] == "sticky", table
        assert abs(table["cellLeft"] - table["boxLeft"]) <= 2, f"first column scrolled out of view: {table}"


@pytest.mark.xdist_group("notebooks/planner.html")
def test_the_planner_result_needs_no_sideways_scroll_on_a_desktop(visits):
    page = visits("notebooks/planner.html", DESKTOP).page
    boxes = page.evaluate("""[...document.querySelectorAll('#planner-result .planner-table')]
        .filter(box => box.getClientRects().length).map(box => [box.scrollWidth, box.clientWidth])""")
    assert boxes, "no result table shown"
    for scroll_width, client_width in boxes:
        assert scroll_width <= client_width


def test_glossary_links_resolve_to_their_term(built_site):
    """Every page's {term} links land on a term of the glossary, and the pages do link to it."""
    glossary = BeautifulSoup((built_site / "book/glossary.html").read_text(), "html.parser")
    terms = {term["id"] for term in glossary.select("dl.glossary dt[id]")}
    assert {"term-GCD", "term-MFU", "term-LoRA", "term-Micro-batch"} <= terms
    linked = {}
    for page_path in PAGES:
        for link in built_links(built_site, page_path):
            if link.startswith("book/glossary.html#term-"):
                linked.setdefault(link.split("#")[1], set()).add(page_path)
    assert len({page for pages in linked.values() for page in pages}) >= 6
    assert set(linked) <= terms, f"links to no term: {set(linked) - terms}"


@at_a_phone
def test_a_phone_shows_the_first_options_until_the_reader_asks_for_all(browser, site_url):
    context = browser.new_context(viewport=PHONE)  # its own: the test opens the disclosure
    page = context.new_page()
    page.goto(urljoin(site_url, "notebooks/planner.html"))
    rows = page.locator("#planner-result .planner-table").first.locator("tbody tr")
    rows.first.wait_for()
    total = rows.count()
    assert total > 9 and visible_rows(rows) <= 9
    page.locator("#planner-result .planner-all > summary").click()
    assert visible_rows(rows) == total
    context.close()


def visible_rows(rows) -> int:
    return sum(rows.nth(n).is_visible() for n in range(rows.count()))


@pytest.mark.xdist_group("notebooks/cost.html")
def test_a_wide_tables_caption_wraps_within_its_box(visits):
    """The cost table is wider than the column at 1280 px: its caption wraps to the box's width
    instead of running past the edge, and stays in view while the table scrolls."""
    page = visits("notebooks/cost.html", DESKTOP).page
    box, caption = page.evaluate("""(() => { const table = document.getElementById('T_cost-per-row');
        const box = table.closest('.output'); box.scrollLeft = box.scrollWidth;
        const frame = box.getBoundingClientRect(), caption = table.querySelector('caption').getBoundingClientRect();
        return [[frame.left, frame.right], [caption.left, caption.right]]; })()""")
    assert box[0] - 1 <= caption[0] and caption[1] <= box[1] + 1


def test_a_request_for_the_network_is_caught_and_fails(browser, tmp_path):
    """The self-containment check can fail: a page asking a CDN for a script and an image has both
    requests recorded as leaving the site, and neither reaches the network."""
    (tmp_path / "page.html").write_text('<!DOCTYPE html><title>t</title><script src="https://cdn.example.org/x.js">'
                                        '</script><img src="https://example.org/a.png" alt="a">')
    with serve(tmp_path) as url:
        visit = Visit(browser, url, "page.html", DESKTOP)
        try:
            assert sorted(visit.left_site) == ["https://cdn.example.org/x.js", "https://example.org/a.png"]
            assert len(visit.recorded_failed) == 2 and all("ERR_NAME_NOT_RESOLVED" in f for f in visit.recorded_failed)
        finally:
            visit.close()
