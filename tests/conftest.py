"""Shared test fixtures: one gate build of the site per session."""

import subprocess
import sys
from pathlib import Path

import pytest

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
