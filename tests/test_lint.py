"""ruff over the code and the pages, with the rules and exclusions of pyproject.toml's [tool.ruff].

`.venv/bin/ruff check --fix .` fixes what it can (import order, unused noqa) in the code; the pages
are fixed in their .md by hand.
"""

import subprocess
import sys

import jupytext
import pytest

from tests.helpers import ROOT

RUFF = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise"]
CODE = ["ftguide", "tests", "_ext", "benchmarks", "conftest.py"]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.md"))


def test_ruff_passes_on_the_code():
    result = subprocess.run([*RUFF, *CODE], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"ruff check {' '.join(CODE)}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_ruff_passes_on_the_page(notebook):
    """ruff cannot read MyST: the page goes in as the Jupytext py:percent script of its code cells
    (markdown cells become comments), named notebooks/<name>.py so the notebooks' per-file ignores
    and exclusions apply; reported lines are lines of that script (`jupytext --to py:percent`)."""
    script = jupytext.writes(jupytext.read(notebook), "py:percent")
    name = f"notebooks/{notebook.stem}.py"
    result = subprocess.run([*RUFF, "--stdin-filename", name, "-"], input=script, cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, (f"ruff on {notebook.name} as {name} "
                                    f"(`jupytext --to py:percent {notebook.relative_to(ROOT)}`):\n"
                                    f"{result.stdout}{result.stderr}")
