"""Shared test fixtures: one gate build of the site per session."""

import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
JB = Path(sys.executable).parent / "jb"


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
