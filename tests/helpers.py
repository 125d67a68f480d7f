"""Helpers the tests import: the repository's paths, the pages of the toc, editing a file in place,
one row of a table, the gate build, running a page, serving a built site.

Fixtures live in tests/conftest.py; import these from here (`from tests.helpers import ROOT`)."""

import contextlib
import fcntl
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

from ftguide import DATA_DIR

ROOT = DATA_DIR.parent
JB = Path(sys.executable).parent / "jb"


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


def gate_build_command(output: Path) -> list[str]:
    """The gate build: every page rebuilt, nitpicky, warnings are errors, all reported. Its notebooks
    run unless `make site` ran them on the same inputs (reuse_execution_cache)."""
    return [str(JB), "build", str(ROOT), "--path-output", str(output), "--all", "-n", "-W", "--keep-going"]


def build_site(output: Path) -> subprocess.CompletedProcess:
    """Run the gate build into `output`, every notebook executed, and wait for it."""
    return subprocess.run(gate_build_command(output), capture_output=True, text=True, cwd=ROOT)


def inputs_hash(repo: Path = ROOT) -> str:
    """What `make site` in `repo` writes to its stage as the hash of the notebooks' inputs
    (tools/inputs-hash.sh)."""
    return subprocess.run(["bash", str(repo / "tools" / "inputs-hash.sh")], capture_output=True, text=True,
                          check=True).stdout.strip()


def copy_repository(copy: Path) -> Path:
    """A copy of the repository's files at `copy`, without its environment, builds or history."""
    return shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", "_build", ".git", ".pytest_cache",
                                                                     "__pycache__", "*.egg-info"))


def stage_from_gate_build(repo: Path, built_site: Path) -> None:
    """Give a copy of the repository the session's gate build as the stage of a `make site` made
    from the inputs the copy has now: a `make site` on the same inputs then rebuilds only what
    changed (seconds, not a minute), and one after an edit of data/ must drop it."""
    gate = built_site.parent.parent
    assert (gate / "_build" / ".doctrees").is_dir(), f"{built_site} is not a gate build of this session"
    shutil.copytree(gate, repo / "_build" / "stage", symlinks=True)
    (repo / "_build" / "stage" / "inputs.sha").write_text(inputs_hash(repo) + "\n")


def reuse_execution_cache(output: Path, build: Path = ROOT / "_build") -> bool:
    """Give the gate build into `output` the execution cache of the last `make site` (in `build`),
    when that build read the same data/, package, extensions and requirements (its stage's
    inputs.sha): a notebook is then executed again only if its code changed, as in `make site`,
    while every page is still rebuilt and every warning reported. Taken under `make site`'s lock,
    so a build in progress is waited for, not copied half-written. Returns whether it was given."""
    cache = build / "stage" / "_build" / ".jupyter_cache"
    if not cache.is_dir():
        return False
    with open(build / "make-site.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = build / "stage" / "inputs.sha"
        if not stamp.is_file() or stamp.read_text().strip() != inputs_hash():
            return False
        shutil.copytree(cache, output / "_build" / ".jupyter_cache")
    return True


def start_build_in_background(output: Path, lock) -> None:
    """Start the gate build into `output` and return at once. The build inherits `lock` (a file
    the caller holds an exclusive flock on) and keeps it until it has written its exit status to
    output/build.rc and its output to output/build.log, so whoever takes that lock next knows the
    build has ended."""
    output.mkdir(parents=True, exist_ok=True)
    reuse_execution_cache(output)
    script = '"$@" > "$0/build.log" 2>&1; echo $? > "$0/build.rc"'
    subprocess.Popen(["sh", "-c", script, str(output), *gate_build_command(output)], cwd=ROOT,
                     pass_fds=[lock.fileno()],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# What `make test` leaves to `make test-all` (and CI), to take at most twice a fresh `make site`
# (issue 22): a whole page run (a kernel, data/, every figure), whose functions `make test` checks;
# and the phone's width, where `make test` sees each page and the planner at a desktop's.
runs_a_page = pytest.mark.e2e
at_a_phone = pytest.mark.e2e
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


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
