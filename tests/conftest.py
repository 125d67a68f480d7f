"""Shared fixtures: the validated tables, a private copy of data/, one gate build of the site per
test session, running a page, and one browser. The helpers tests import are in tests/helpers.py."""

import fcntl
import os
import shutil
from pathlib import Path

import pytest

from ftguide import DATA_DIR, load
from tests.helpers import ROOT, build_site, execute_page

CHROMIUM = Path("/usr/bin/chromium")
# Headless flags for Debian's Chromium (see the toolchain notes): no sandbox as root, no GPU, and
# none of the browser's own background traffic, which would count as requests leaving the site.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def tables():
    """The validated tables of data/, loaded once (tests must not change them)."""
    return load()


@pytest.fixture
def data_copy(tmp_path):
    """A private copy of data/ that a test may change or break."""
    return shutil.copytree(DATA_DIR, tmp_path / "data")


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The site built once per test session into a temporary folder; returns its html folder.

    With FTGUIDE_BUILT_SITE set to an html folder that a gate build has just made (CI: `make site`
    on a clean clone, then `make test`), the tests read that build instead of building the site
    a second time."""
    given = os.environ.get("FTGUIDE_BUILT_SITE")
    if given:
        html = (ROOT / given).resolve()
        assert (html / "index.html").is_file(), f"FTGUIDE_BUILT_SITE={given}: no built site at {html}"
        return html
    # Under pytest-xdist every worker asks for it: the first builds into the run's shared temporary
    # folder under a lock, the others wait for it and read the same build.
    shared = tmp_path_factory.getbasetemp()
    shared = shared.parent if os.environ.get("PYTEST_XDIST_WORKER") else shared
    output = shared / "built-site"
    with open(shared / "built-site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (output / "built.ok").is_file():
            result = build_site(output)
            assert result.returncode == 0, f"site build failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
            (output / "built.ok").touch()
    return output / "_build" / "html"


@pytest.fixture
def run_page():
    """`execute_page` for tests that check a page follows its data or parameters."""
    return execute_page


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

