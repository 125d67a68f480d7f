"""The site built by `make site` from data full of markup, read in Debian's Chromium: no script from
the data runs and the markup shows as the text it is. The same build checks how the site is
published: `_build/html` is swapped by one rename, and a refused edit leaves it whole.

One extra site build for the module (a copy of the repository with hostile data/)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urljoin

import pytest

from tests.helpers import ROOT, serve, toc_files

# A second full build (`make site` on a copy): an end-to-end check, run by `make test-all`.
pytestmark = pytest.mark.e2e
PAGES = [f"{name}.html" for name in toc_files()] + ["search.html"]
VENV = Path(sys.prefix)
# With a pair of '$' around broken TeX: matplotlib would read it as mathtext and stop the build.
SCRIPT = "<script>alert('model')</script> $\\frac{$"
IMG = "<img src=x onerror=alert('source')>"
IMG_CHANGE = "<img src=y onerror=alert('changelog')>"
# Qwen1.5 7B becomes a script tag in every file; a price source and a changelog line carry images
# that would raise a dialog the moment they were parsed as HTML.
HOSTILE = {
    "all": [("Qwen1.5 7B", SCRIPT)],
    "prices.csv": [("RunPod GPU pricing page", IMG)],
    "changes.csv": [("First import of the MoAI Accelerator flavors", IMG_CHANGE + " First import of the flavors")],
}
# Where each hostile string must show, as text, once the page is read.
SHOWN_ON = {
    "notebooks/parameter-guide.html": [SCRIPT],
    "notebooks/cost.html": [SCRIPT, IMG],
    "notebooks/changelog.html": [IMG_CHANGE],
}


def make_site(repo: Path, *options: str, env=None) -> subprocess.CompletedProcess:
    # Reuse this test run's virtual environment: -o tells make it is up to date.
    return subprocess.run(["make", "-o", f"{VENV}/.installed", "site", f"VENV={VENV}", *options],
                          cwd=repo, capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def hostile_repo(tmp_path_factory) -> Path:
    """A copy of the repository whose data/ is full of markup, built once with `make site`."""
    repo = tmp_path_factory.mktemp("hostile") / "book"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(".venv", "_build", ".git", ".pytest_cache",
                                                              "__pycache__", "*.egg-info"))
    edited = []
    for name, edits in HOSTILE.items():
        for path in (repo / "data").glob("*.csv" if name == "all" else name):
            text = path.read_text()
            for old, new in edits:
                if old in text:
                    edited.append(path.name)
                    text = text.replace(old, new)
            path.write_text(text)
    assert {"parameter_guide.csv", "models.csv", "datasets.csv", "prices.csv", "changes.csv"} <= set(edited)
    result = make_site(repo)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return repo


@pytest.fixture(scope="module")
def hostile_url(hostile_repo):
    with serve(hostile_repo / "_build" / "html") as url:
        yield url


@pytest.fixture(scope="module")
def page(browser, hostile_url):
    page = browser.new_page()
    page.set_default_timeout(20_000)
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    page.close()


# The audit summary renders model names through Markdown(...) in notebooks/audit.md, which another
# change escapes; Qwen is in none of its sentences, so this build does not reach it.
@pytest.mark.parametrize("page_path", PAGES)
def test_no_script_from_the_data_runs(page, hostile_url, page_path):
    page.dialogs.clear()
    page.goto(urljoin(hostile_url, page_path), wait_until="load")
    page.wait_for_load_state("networkidle")
    assert page.dialogs == [], f"script from data/ ran on {page_path}"
    assert page.locator("img[src='x'], img[src='y']").count() == 0, "markup from data/ became an element"
    page.evaluate("document.querySelectorAll('details').forEach(folded => folded.open = true)")  # long tables fold
    text = page.locator("body").inner_text()
    for hostile in SHOWN_ON.get(page_path, []):
        assert hostile in text, f"{hostile} does not show as text on {page_path}"


def test_site_is_published_by_one_rename_and_a_refused_edit_keeps_it(hostile_repo):
    html = hostile_repo / "_build" / "html"
    assert html.is_symlink() and (html / "index.html").is_file()
    first = os.readlink(html)

    # Publish again without rebuilding (JB=true): the swap alone, as `make site` runs it.
    again = make_site(hostile_repo, "JB=true")
    assert again.returncode == 0, again.stderr
    second = os.readlink(html)
    assert second != first and (html / "notebooks" / "parameter-guide.html").is_file()
    assert (hostile_repo / "_build" / first).is_dir(), "the copy just replaced stays for readers mid-visit"
    third = make_site(hostile_repo, "JB=true")
    assert third.returncode == 0, third.stderr
    assert not (hostile_repo / "_build" / first).exists(), "older copies are removed"
    assert sorted(p.name for p in (hostile_repo / "_build").glob("site.*")) == sorted([second, os.readlink(html)])
    assert os.readlink(hostile_repo / "_build" / "html.previous") == second

    # A publish that fails before its rename (here `ln` cannot make the new link) leaves the reader
    # the site they had: nothing is removed before its replacement is in place.
    published = os.readlink(html)
    failing = hostile_repo.parent / "failing-ln"
    failing.mkdir()
    (failing / "ln").write_text("#!/bin/sh\nexit 1\n")
    (failing / "ln").chmod(0o755)
    broken = make_site(hostile_repo, "JB=true", env={**os.environ, "PATH": f"{failing}:{os.environ['PATH']}"})
    assert broken.returncode != 0
    assert os.readlink(html) == published and (html / "notebooks" / "parameter-guide.html").is_file()

    guide = hostile_repo / "data" / "parameter_guide.csv"
    guide.write_text(guide.read_text().replace(",93291\n", ",93291000\n"))
    refused = make_site(hostile_repo)
    assert refused.returncode != 0
    assert "parameter_guide.csv, line 2 (data row 1), column 'throughput_tokens_per_s'" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert os.readlink(html) == published and (html / "index.html").is_file()
