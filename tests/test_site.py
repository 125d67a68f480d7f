"""The built site: it builds from scratch under the gate, and shows exactly the data."""

import subprocess
import sys

import pandas as pd
import yaml
from bs4 import BeautifulSoup

from ftguide import DATA_DIR

ROOT = DATA_DIR.parent


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [chapter["file"] for chapter in toc["chapters"]]


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


def table_rows(table):
    """Body rows as lists of cell texts, with the model carried down its rowspan."""
    rows, model = [], None
    for tr in table.find("tbody").find_all("tr"):
        headers = tr.find_all("th")
        if len(headers) == 2:
            model = headers[0].get_text(strip=True)
        rows.append([model, headers[-1].get_text(strip=True)] + [td.get_text(strip=True) for td in tr.find_all("td")])
    return rows


def test_guide_table_holds_exactly_the_csv(built_site):
    """Parse the rendered table and compare it cell by cell with data/parameter_guide.csv."""
    csv = pd.read_csv(DATA_DIR / "parameter_guide.csv", dtype=str, keep_default_na=False)
    shown = table_rows(guide_table(built_site))
    assert len(shown) == len(csv)
    order = ["model", "accelerator"] + [c for c in csv.columns if c not in ("model", "accelerator")]
    for line, (expected, cells) in enumerate(zip(csv[order].itertuples(index=False), shown), start=2):
        unformatted = [cell.replace(",", "") for cell in cells]
        unformatted[3] = unformatted[3].lower()  # the table shows the boolean as True/False
        assert unformatted == list(expected), f"parameter_guide.csv line {line}"


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


def test_nbval_collects_every_notebook():
    """`pytest --nbval-lax` must run each notebook, not silently collect nothing."""
    result = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--collect-only", "-q",
                             "notebooks"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    for notebook in (ROOT / "notebooks").glob("*.md"):
        assert f"notebooks/{notebook.name}::Cell 0" in result.stdout
