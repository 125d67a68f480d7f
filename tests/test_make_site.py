"""`make site` end to end on a copy of the repository: data changes reach the page, bad data stops
the build and leaves the last good site in place."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, inputs_hash, reuse_execution_cache

VENV = Path(sys.prefix)


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("repo") / "book"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", "_build", ".git", ".pytest_cache",
                                                              "__pycache__", "*.egg-info"))
    return copy


def make_site(repo: Path) -> subprocess.CompletedProcess:
    # Reuse this test run's virtual environment: -o tells make it is up to date.
    return subprocess.run(["make", "-o", f"{VENV}/.installed", "site", f"VENV={VENV}"],
                          cwd=repo, capture_output=True, text=True)


def guide_page(repo: Path) -> str:
    return (repo / "_build" / "html" / "notebooks" / "parameter-guide.html").read_text()


def edit_guide(repo: Path, old: str, new: str) -> None:
    csv = repo / "data" / "parameter_guide.csv"
    text = csv.read_text()
    assert old in text
    csv.write_text(text.replace(old, new, 1))


@pytest.mark.e2e
def test_data_change_reaches_the_page_and_bad_data_keeps_the_last_good_site(repo_copy):
    first = make_site(repo_copy)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "93,291" in guide_page(repo_copy)
    assert "_build/html/index.html" in first.stdout  # it says where the site is

    edit_guide(repo_copy, ",93291\n", ",93292\n")
    second = make_site(repo_copy)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "93,292" in guide_page(repo_copy) and "93,291" not in guide_page(repo_copy)

    edit_guide(repo_copy, ",93292\n", ",93292 TPS\n")
    broken = make_site(repo_copy)
    assert broken.returncode != 0
    assert ("parameter_guide.csv, line 2 (data row 1), column 'throughput_tokens_per_s': "
            "found '93292 TPS'") in broken.stderr
    assert "93,292" in guide_page(repo_copy), "the last good site must stay in place"


@pytest.mark.e2e  # a second build of the site, beside the gate build
def test_notebooks_refuse_bad_data_even_without_the_make_check(repo_copy, tmp_path):
    """The build itself fails (nb_execution_raise_on_error), not only the pre-check in make."""
    csv = repo_copy / "data" / "parameter_guide.csv"
    good = (ROOT / "data" / "parameter_guide.csv").read_text()
    csv.write_text(good.replace(",1366564,", ',"1,366,564",', 1))
    jb = VENV / "bin" / "jb"
    result = subprocess.run([str(jb), "build", str(repo_copy), "--path-output", str(tmp_path), "--all"],
                            cwd=repo_copy, capture_output=True, text=True)
    assert result.returncode != 0
    assert "DataError" in result.stdout + result.stderr


def test_the_inputs_hash_changes_with_data_code_and_static_files(tmp_path):
    """What the hash reads: a changed data file, module or stylesheet changes it (Sphinx copies
    _static only when a page is rewritten, so a stylesheet edit alone must drop the stage)."""
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "inputs-hash.sh", tmp_path / "tools")
    files = ["data/a.csv", "ftguide/a.py", "ftguide/planner/a.py", "_ext/a.py", "_ext/planner/a.mjs",
             "_static/ftguide.css", "requirements.txt"]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n")

    def digest():
        return subprocess.run(["bash", "tools/inputs-hash.sh"], cwd=tmp_path, capture_output=True, text=True,
                              check=True).stdout.strip()

    seen = {digest()}
    for name in files:
        (tmp_path / name).write_text("y\n")
        seen.add(digest())
    assert len(seen) == len(files) + 1


@pytest.mark.parametrize("stamp, reused", [("current", True), ("stale", False), (None, False)])
def test_the_gate_build_reuses_the_execution_cache_only_of_the_same_inputs(tmp_path, stamp, reused):
    """A cache made from other data/ or code would show pages of the old inputs: it stays unused."""
    build = tmp_path / "_build"
    cache = build / "stage" / "_build" / ".jupyter_cache"
    cache.mkdir(parents=True)
    (cache / "global.db").write_text("a cache")
    if stamp:
        (build / "stage" / "inputs.sha").write_text(inputs_hash() + "\n" if stamp == "current" else "0123abcd\n")
    output = tmp_path / "gate"
    assert reuse_execution_cache(output, build) is reused
    assert (output / "_build" / ".jupyter_cache" / "global.db").is_file() is reused
