"""Shared fixtures: the validated tables, a private copy of data/, one gate build of the site per
test session, running a page, and one browser. The helpers tests import are in tests/helpers.py."""

import fcntl
import os
import shutil
from pathlib import Path

import pytest

from ftguide import DATA_DIR, cli, load
from tests.helpers import ROOT, execute_page, start_build_in_background

CHROMIUM = Path("/usr/bin/chromium")
# Headless flags for Debian's Chromium (see the toolchain notes): no sandbox as root, no GPU, none
# of the browser's own background traffic, which would count as requests leaving the site, and no
# host name resolves but the loopback's, so a page's request for the network fails, as offline.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"]


@pytest.fixture(scope="session")
def tables():
    """The validated tables of data/, loaded once (tests must not change them)."""
    return load()


@pytest.fixture
def cli_reuses_tables(monkeypatch, tables):
    """The command line run in this process takes the session's validated tables for data/ rather
    than validating data/ again (a second a call); a --data-dir elsewhere is loaded as usual."""
    load_data = cli.load
    monkeypatch.setattr(cli, "load", lambda data_dir: tables if Path(data_dir) == DATA_DIR else load_data(data_dir))


@pytest.fixture
def data_copy(tmp_path):
    """A private copy of data/ that a test may change or break."""
    return shutil.copytree(DATA_DIR, tmp_path / "data")


NEEDS_SITE = pytest.StashKey[bool]()


def reads_the_site(item) -> bool:
    return "built_site" in getattr(item, "fixturenames", ())


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected
def pytest_collection_modifyitems(config, items):
    """The tests that read the built site run last (a stable sort keeps the others in order), so
    the gate build, started in the background before the first test, runs beside the tests that
    need no site instead of holding a worker idle."""
    items.sort(key=reads_the_site)
    config.stash[NEEDS_SITE] = any(map(reads_the_site, items))


def shared_folder(tmp_path_factory) -> Path:
    """The run's temporary folder, one for every pytest-xdist worker."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session", autouse=True)
def gate_build(request, tmp_path_factory):
    """Where the gate build goes, started in the background by the first worker to get here when
    any selected test reads the site (None when no test does, or FTGUIDE_BUILT_SITE names one)."""
    if os.environ.get("FTGUIDE_BUILT_SITE") or not request.config.stash.get(NEEDS_SITE, False):
        return None
    shared = shared_folder(tmp_path_factory)
    output = shared / "built-site"
    with open(shared / "built-site.start", "w") as start:
        fcntl.flock(start, fcntl.LOCK_EX)
        if not output.exists():
            with open(shared / "built-site.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                start_build_in_background(output, lock)  # the build holds the lock from here
    return output


@pytest.fixture(scope="session")
def built_site(gate_build) -> Path:
    """The site built once per test session into a temporary folder; returns its html folder.

    With FTGUIDE_BUILT_SITE set to an html folder that a gate build has just made (CI: `make site`
    on a clean clone, then `make test`), the tests read that build instead of building the site
    a second time."""
    given = os.environ.get("FTGUIDE_BUILT_SITE")
    if given:
        html = (ROOT / given).resolve()
        assert (html / "index.html").is_file(), f"FTGUIDE_BUILT_SITE={given}: no built site at {html}"
        return html
    with open(gate_build.parent / "built-site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # granted once the build has ended
    status_file, log = gate_build / "build.rc", gate_build / "build.log"
    status = status_file.read_text().strip() if status_file.is_file() else "unknown: it wrote no status"
    assert status == "0", f"site build failed (exit {status}):\n{log.read_text()[-12000:] if log.is_file() else ''}"
    return gate_build / "_build" / "html"


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

