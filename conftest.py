"""nbval over the Jupytext notebooks: nbval by itself collects only .ipynb files.

This lives at the repository root so that it applies to notebooks/ as well as tests/.
"""

from pathlib import Path
from unittest import mock

import jupytext
import nbval.plugin
import pytest

ROOT = Path(__file__).resolve().parent
NOTEBOOKS = ROOT / "notebooks"


class JupytextNotebook(nbval.plugin.IPyNbFile):
    """nbval collects only .ipynb: hand it the .md notebook as read by jupytext.

    The kernel still starts in notebooks/, so relative paths such as ../data work as in the build.
    """

    def collect(self):
        read = lambda path, as_version: jupytext.read(path)  # noqa: E731
        with mock.patch.object(nbval.plugin.nbformat, "read", read):
            yield from super().collect()


def pytest_collect_file(file_path, parent):
    option = parent.config.option
    if (option.nbval or option.nbval_lax) and file_path.suffix == ".md" and file_path.parent == NOTEBOOKS:
        return JupytextNotebook.from_parent(parent, path=file_path)


def pytest_collection_finish(session):
    """`pytest --nbval` over the notebooks that finds no notebook is a broken set-up, not a pass."""
    option = session.config.option
    targets = {(ROOT / arg.split("::")[0]).resolve() for arg in session.config.args}
    if not (option.nbval or option.nbval_lax) or not targets & {ROOT, NOTEBOOKS}:
        return
    collected = {item.parent.path for item in session.items if isinstance(item.parent, JupytextNotebook)}
    missing = sorted(p.name for p in set(NOTEBOOKS.glob("*.md")) - collected)
    if missing:
        raise pytest.UsageError(f"nbval did not collect these notebooks: {missing}")
