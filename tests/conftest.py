"""Shared test helpers and fixtures: the repository's paths, the validated tables, a private copy
of data/, the pages of the toc, and one gate build of the site per test session."""

import contextlib
import functools
import http.server
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import jupytext
import pytest
import yaml
from nbclient import NotebookClient

from ftguide import DATA_DIR, load

ROOT = DATA_DIR.parent
JB = Path(sys.executable).parent / "jb"
CHROMIUM = Path("/usr/bin/chromium")
# Headless flags for Debian's Chromium (see the toolchain notes): no sandbox as root, no GPU, and
# none of the browser's own background traffic, which would count as requests leaving the site.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def toc_files(entry=None) -> list[str]:
    """Every page named in _toc.yml, in order, whatever its nesting (parts, chapters, sections)."""
    if entry is None:
        entry = yaml.safe_load((ROOT / "_toc.yml").read_text())
        return [entry["root"]] + toc_files({k: v for k, v in entry.items() if k != "root"})
    files = []
    if isinstance(entry, dict):
        if "file" in entry:
            files.append(entry["file"])
        for value in entry.values():
            if isinstance(value, (list, dict)):
                files += toc_files(value)
    elif isinstance(entry, list):
        for item in entry:
            files += toc_files(item)
    return files


def rewrite(path: Path, change) -> None:
    """Edit a text file in place: `change` maps its text to the new text."""
    path.write_text(change(path.read_text()))


def rewrite_bytes(path: Path, change) -> None:
    """Edit a file's bytes in place, for encodings, byte-order marks and line ends."""
    path.write_bytes(change(path.read_bytes()))


def guide_row(frame, model, accelerator, sequence_length=1024):
    """The one row of a per-configuration table for a model, flavor and sequence length."""
    match = frame[(frame["model"] == model) & (frame["accelerator"] == accelerator)
                  & (frame["sequence_length"] == sequence_length)]
    assert len(match) == 1, (model, accelerator, sequence_length)
    return match.iloc[0]


@pytest.fixture(scope="session")
def tables():
    """The validated tables of data/, loaded once (tests must not change them)."""
    return load()


@pytest.fixture
def data_copy(tmp_path):
    """A private copy of data/ that a test may change or break."""
    return shutil.copytree(DATA_DIR, tmp_path / "data")


def build_site(output: Path) -> subprocess.CompletedProcess:
    """The gate build: every page from scratch, nitpicky, warnings are errors, all reported."""
    return subprocess.run(
        [str(JB), "build", str(ROOT), "--path-output", str(output), "--all", "-n", "-W", "--keep-going"],
        capture_output=True, text=True, cwd=ROOT,
    )


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The site built once per test session into a temporary folder; returns its html folder."""
    output = tmp_path_factory.mktemp("site")
    result = build_site(output)
    assert result.returncode == 0, f"site build failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    return output / "_build" / "html"


def execute_page(name: str, root: Path, parameters: str = "") -> list:
    """Run notebooks/<name>.md as if it lived under `root` (which holds a data/ folder), with
    `parameters` appended to its parameters cell if given; return every cell output."""
    notebook = jupytext.read(ROOT / "notebooks" / f"{name}.md")
    if parameters:
        cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
        cell.source += "\n" + parameters
    (root / "notebooks").mkdir(exist_ok=True)  # the page reads ../data from its own folder
    NotebookClient(notebook, timeout=300, resources={"metadata": {"path": str(root / "notebooks")}}).execute()
    return [output for cell in notebook.cells for output in cell.get("outputs", [])]


@pytest.fixture
def run_page():
    """`execute_page` for tests that check a page follows its data or parameters."""
    return execute_page


@contextlib.contextmanager
def serve(folder: Path):
    """Serve a built site on a free loopback port; yields its address."""
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (Playwright allows one sync instance at a time)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: `apt-get install -y chromium` (make test does it as root)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
