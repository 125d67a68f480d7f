"""Two `make site` at once in one checkout (issue 23): the second waits for the first (the lock in
tools/site.sh), and no publish removes a site another one published.

On copies of the repository: ten rounds of two `make site` started together, alternately two
builds (the stage out of date, so that both start by clearing it, as two full builds do; `jb build`
replaced by a stand-in that copies the session's gate build into the stage and fails if another
build writes the stage at the same time) and two publishes alone of the stage built (JB=true); a
`make site` held at the lock; and one round of two `make site` with the real build. After every
round the published site, and the copy kept for readers mid-visit, are whole. No round depends on
timing: with the lock every interleaving must pass, and without it most rounds fail."""

import fcntl
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers import ROOT, toc_files

pytestmark = pytest.mark.e2e

# What a published site holds besides one page per entry of _toc.yml. The planner's two files are
# named by _ext/planner_data.py: when they are renamed there, rename them here.
REQUIRED = ["searchindex.js", "_static/planner.js", "_static/planner.css"]  # the coefficients are in the page
PAGES = [f"{name}.html" for name in toc_files()]
ROUNDS = 10
WAITING = "Another make site is running in this checkout"
LOCK = Path("_build") / "make-site.lock"
# `make site` with the data check replaced by `true`: it takes seconds a run and touches no file;
# the round of real builds keeps it.
NO_VALIDATION = ("PY=true",)
VENV = Path(sys.prefix)


def copy_repository(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("repo") / "book"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", "_build", ".git", ".pytest_cache",
                                                              "__pycache__", "*.egg-info"))
    return copy


def start_make_site(repo: Path, *options: str) -> subprocess.Popen:
    # Reuse this test run's virtual environment: -o tells make it is up to date.
    return subprocess.Popen(["make", "-o", f"{VENV}/.installed", "site", f"VENV={VENV}", *options],
                            cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def make_site_twice_at_once(repo: Path, *options: str) -> None:
    runs = [start_make_site(repo, *options) for _ in range(2)]
    for run in runs:
        output = run.communicate()[0]
        assert run.returncode == 0, output[-4000:]
        assert output.count(WAITING) <= 1, "a waiting make site says so once"


def files(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if not path.is_dir()}


def whole_site(build: Path, link: str, expected: set[str] | None = None) -> str:
    """Check that the symlink build/link resolves to a whole copy of the site; return its name."""
    assert (build / link).is_symlink(), f"{link} is not a symlink"
    site = (build / link).resolve()
    assert site.parent == build.resolve() and site.is_dir(), f"{link} points at {site}, which is gone"
    missing = [name for name in PAGES + REQUIRED if not (site / name).is_file()]
    assert not missing, f"{link} -> {site.name} lacks {missing}"
    if expected is not None:
        assert files(site) == expected, f"{link} -> {site.name} is not the whole site"
    return site.name


def published_and_kept(build: Path, expected: set[str] | None = None) -> None:
    """The published site is whole, and so is the one other copy: the one it replaced, kept for
    readers mid-visit (_build/html.previous, not named here so the old recipe is held to it too)."""
    published = whole_site(build, "html", expected)
    copies = sorted(path.name for path in build.glob("site.*"))
    assert len(copies) == 2 and published in copies, f"html -> {published}, copies: {copies}"
    for copy in copies:
        missing = [name for name in PAGES + REQUIRED if not (build / copy / name).is_file()]
        assert not missing, f"{copy} lacks {missing}"
        assert expected is None or files(build / copy) == expected, f"{copy} is not the whole site"


@pytest.fixture(scope="module")
def stand_in_jb(built_site, tmp_path_factory) -> Path:
    """`jb build . --path-output STAGE ...` that puts the gate build in STAGE/_build/html, and
    fails if another build is writing STAGE (it makes a folder there while it writes)."""
    jb = tmp_path_factory.mktemp("jb") / "jb"
    jb.write_text(f"""#!/bin/sh
set -eu
while [ "$1" != --path-output ]; do shift; done
stage=$2
mkdir -p "$stage/_build"
mkdir "$stage/_build/writing" || {{ echo "jb stand-in: another build is writing $stage" >&2; exit 1; }}
rm -rf "$stage/_build/html"
cp -a '{built_site}' "$stage/_build/html"
rmdir "$stage/_build/writing"
""")
    jb.chmod(0o755)
    return jb


def test_two_make_site_at_once_never_lose_the_site(built_site, stand_in_jb, tmp_path_factory):
    repo = copy_repository(tmp_path_factory)
    build = repo / "_build"
    expected = files(built_site)
    for number in range(ROUNDS):
        if number % 2:  # the publish alone, of the stage built in the round before (JB=true)
            make_site_twice_at_once(repo, *NO_VALIDATION, "JB=true")
        else:  # two builds: the stage out of date, as after a change to data/, so each would clear it
            if (build / "stage").is_dir():
                (build / "stage" / "inputs.sha").write_text("out of date\n")
            make_site_twice_at_once(repo, *NO_VALIDATION, f"JB={stand_in_jb}")
        published_and_kept(build, expected)


def read_until(run: subprocess.Popen, text: str) -> tuple[bool, str]:
    """Read the output of `run` up to the line holding `text`, or to its end; (found, output).
    The deadline only turns a hang into a failure."""
    lines, done = [], threading.Event()

    def read():
        for line in run.stdout:
            lines.append(line)
            if text in line:
                break
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    finished = done.wait(timeout=300)
    return finished and text in "".join(lines), "".join(lines)


def test_a_second_make_site_waits_for_the_first_and_says_so_once(stand_in_jb, tmp_path_factory):
    repo = copy_repository(tmp_path_factory)
    first = start_make_site(repo, *NO_VALIDATION, f"JB={stand_in_jb}")
    output = first.communicate()[0]
    assert first.returncode == 0, output[-4000:]
    published = os.readlink(repo / "_build" / "html")

    with open(repo / LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a make site in progress holds it
        second = start_make_site(repo, *NO_VALIDATION, f"JB={stand_in_jb}")
        waiting, output = read_until(second, WAITING)
        during = os.readlink(repo / "_build" / "html")
    output += second.communicate()[0]  # the lock is released: it goes on

    assert waiting, f"make site went on while another held {LOCK}:\n{output[-4000:]}"
    assert during == published, "nothing is published while another make site holds the lock"
    assert second.returncode == 0, output[-4000:]
    assert output.count(WAITING) == 1
    assert whole_site(repo / "_build", "html") != published


def inputs_hash(repo: Path) -> str:
    """The Makefile's hash of the build's inputs, as `make site` writes it to the stage."""
    return subprocess.run(["make", "-s", "--eval", "inputs-hash: ; @echo $(INPUTS_HASH)", "inputs-hash"],
                          cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def test_two_real_builds_at_once(built_site, tmp_path_factory):
    repo = copy_repository(tmp_path_factory)
    # The gate build's output is a stage: both builds are then incremental (seconds, not a minute).
    stage = repo / "_build" / "stage"
    shutil.copytree(built_site.parent.parent, stage, symlinks=True)
    (stage / "inputs.sha").write_text(inputs_hash(repo) + "\n")
    make_site_twice_at_once(repo)
    published_and_kept(repo / "_build")
