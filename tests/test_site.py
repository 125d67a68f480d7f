"""The built site: it builds from scratch under the gate, and shows exactly the data."""

import subprocess
import sys

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from ftguide import DATA_DIR
from ftguide.data import column_labels
from tests.helpers import ROOT, toc_files


def test_every_notebook_is_in_the_toc():
    listed = set(toc_files())
    notebooks = {f"notebooks/{path.stem}" for path in (ROOT / "notebooks").glob("*.md")}
    assert notebooks and notebooks <= listed


def test_every_toc_page_is_built(built_site):
    for page in toc_files():
        assert (built_site / f"{page}.html").stat().st_size > 1000, page


def guide_table(built_site):
    html = (built_site / "notebooks" / "parameter-guide.html").read_text()
    table = BeautifulSoup(html, "html.parser").find("table", id="T_parameter-guide")
    assert table is not None, "the guide table is missing from the page"
    return table


def table_rows(table) -> list[dict]:
    """Body rows as {header label: cell text}, with the model carried down its rowspan."""
    header_rows = table.find("thead").find_all("tr")
    labels = [th.get_text(strip=True) for th in header_rows[0].find_all("th")[2:]]
    index_names = [th.get_text(strip=True) for th in header_rows[1].find_all("th")[:2]]
    rows, model = [], None
    for tr in table.find("tbody").find_all("tr"):
        headers = tr.find_all("th")
        if len(headers) == 2:
            model = headers[0].get_text(strip=True)
        cells = [td.get_text(strip=True) for td in tr.find_all("td")]
        rows.append(dict(zip(index_names + labels, [model, headers[-1].get_text(strip=True)] + cells)))
    return rows


def test_guide_table_holds_exactly_the_csv(built_site):
    """Parse the rendered table and compare it cell by cell with data/parameter_guide.csv."""
    csv = pd.read_csv(DATA_DIR / "parameter_guide.csv", dtype=str, keep_default_na=False)
    labels = column_labels()
    shown = table_rows(guide_table(built_site))
    assert len(shown) == len(csv)
    assert set(shown[0]) == {labels[column] for column in csv.columns}
    as_csv = {"yes": "true", "no": "false"}
    for line, (expected, cells) in enumerate(zip(csv.to_dict("records"), shown), start=2):
        for column, value in expected.items():
            cell = cells[labels[column]].replace(",", "")
            assert as_csv.get(cell, cell) == value, f"parameter_guide.csv line {line}, column {column}"


def test_guide_table_is_readable(built_site):
    table = guide_table(built_site)
    headers = [th.get_text(strip=True) for th in table.find_all("th")]
    assert "VRAM usage (MiB)" in headers and "Throughput (tokens/s)" in headers
    assert "867,021" in table.get_text()  # thousands separators


def test_guide_page_links_the_csv_download(built_site):
    page = BeautifulSoup((built_site / "notebooks" / "parameter-guide.html").read_text(), "html.parser")
    link = page.find("a", href=lambda href: href and href.endswith("parameter_guide.csv"))
    assert link is not None
    target = (built_site / "notebooks" / link["href"]).resolve()
    assert target.read_bytes() == (DATA_DIR / "parameter_guide.csv").read_bytes()


# `make test-all` converts the notebooks with jupytext into this folder and runs nbval on it.
NBVAL_NOTEBOOKS = "_build/nbval/notebooks"


def collect_nbval(*args) -> subprocess.CompletedProcess:
    if not (ROOT / NBVAL_NOTEBOOKS).is_dir():
        pytest.fail(f"no {NBVAL_NOTEBOOKS}: run `make test-all`, which converts the notebooks there first")
    return subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--collect-only", "-q",
                           NBVAL_NOTEBOOKS, *args], capture_output=True, text=True, cwd=ROOT)


@pytest.mark.e2e  # guards `make test-all`'s nbval run, which CI makes
def test_nbval_collects_every_notebook():
    """`pytest --nbval-lax` must run each notebook, not silently collect nothing."""
    result = collect_nbval()
    assert result.returncode == 0, result.stdout + result.stderr
    for notebook in (ROOT / "notebooks").glob("*.md"):
        assert f"{NBVAL_NOTEBOOKS}/{notebook.stem}.ipynb::Cell 0" in result.stdout


@pytest.mark.e2e
def test_nbval_run_that_leaves_a_notebook_out_fails():
    """The root conftest.py's guard: a notebook left out of the run is an error, not a pass."""
    result = collect_nbval("-k", "not changelog")
    assert result.returncode != 0
    assert "nbval did not collect these notebooks: ['changelog.md']" in result.stdout + result.stderr


def test_every_reference_links_to_its_source(built_site):
    """Each entry of the references page leads to its source: a paper's arXiv page, a repository,
    a file at a commit, a datasheet or a price list."""
    html = BeautifulSoup((built_site / "book" / "references.html").read_text(), "html.parser")
    entries = html.find("article").find_all("li")
    assert len(entries) >= 15
    for entry in entries:
        links = [a["href"] for a in entry.find_all("a", class_="external")]
        assert links and all(link.startswith("https://") for link in links), entry.get_text()[:80]


def test_glued_sentences_are_plain_and_glued_numbers_bold(built_site):
    """The audit's summary glues sentences (plain, as the prose around them) and numbers (bold)."""
    html = BeautifulSoup((built_site / "notebooks" / "audit.html").read_text(), "html.parser")
    glued = html.find_all("span", class_="pasted-text")
    sentences = [span for span in glued if "ftguide-sentence" in span["class"]]
    numbers = [span for span in glued if "ftguide-sentence" not in span["class"]]
    assert sentences and numbers
    assert all(len(span.get_text().split()) > 5 or span.get_text()[0].isalpha() for span in sentences)
    assert any(span.get_text().startswith("It cannot be taken at face value") for span in sentences)


def test_every_notebook_figure_links_to_its_svg(built_site):
    """On a phone a figure is scaled to the screen; a tap opens the SVG at full size."""
    figures = 0
    for page in toc_files():
        if not page.startswith("notebooks/"):
            continue
        soup = BeautifulSoup((built_site / f"{page}.html").read_text(), "html.parser")
        for image in soup.select("article img[src$='.svg']"):
            figures += 1
            link = image.find_parent("a")
            assert link is not None and link["href"] == image["src"], f"{page}: {image['src']}"
            assert (built_site / "notebooks" / image["src"]).is_file()
    assert figures >= 10


def test_the_data_dictionary_offers_every_data_file(built_site):
    soup = BeautifulSoup((built_site / "notebooks" / "data-dictionary.html").read_text(), "html.parser")
    offered = {link["href"].rsplit("/", 1)[-1] for link in soup.select("a[href*='_downloads/']")}
    assert {path.name for path in DATA_DIR.iterdir() if path.is_file()} <= offered
