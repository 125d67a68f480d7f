"""The guard on nbval's run over the notebooks (`make test-all`).

nbval reads only .ipynb: `make test-all` converts notebooks/*.md with jupytext into
_build/nbval/notebooks/ (beside a link _build/nbval/data to data/, so a page's ../data is data/) and
runs `pytest --nbval-lax` on that folder. A run that misses a page, or runs an old conversion of
one, is a broken set-up, not a pass. This lives at the repository root so that it applies to every
path pytest is given.
"""

from pathlib import Path

import pytest

# Before anything imports jsonschema (jupytext and nbval do, through nbformat): the package keeps
# rfc3987-syntax, whose import compiles a grammar for over a second, out of every test process.
import ftguide  # noqa: F401

ROOT = Path(__file__).resolve().parent
NOTEBOOKS = ROOT / "notebooks"


def runs_the_notebooks(config) -> bool:
    """nbval is on, and pytest was given no path (the testpaths) or a folder outside tests/: a run
    meant to cover the notebooks, not one file or the tests alone."""
    if not (config.getoption("nbval", False) or config.getoption("nbval_lax", False)):  # no:nbval: neither
        return False
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        return True
    targets = [(config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args]
    tests = ROOT / "tests"
    return any(target.is_dir() and target != tests and tests not in target.parents for target in targets)


def pytest_collection_finish(session):
    """`pytest --nbval-lax` over the notebooks that leaves one out is a broken set-up, not a pass."""
    if not runs_the_notebooks(session.config):
        return
    import nbval.plugin  # only where nbval runs: `make test` leaves it out (-p no:nbval)

    collected = {item.parent.path for item in session.items if isinstance(item.parent, nbval.plugin.IPyNbFile)}
    pages = {path.stem: path for path in NOTEBOOKS.glob("*.md")}
    missing = sorted(f"{stem}.md" for stem in set(pages) - {path.stem for path in collected})
    if missing:
        raise pytest.UsageError(
            f"nbval did not collect these notebooks: {missing} (nbval reads .ipynb: `make test-all` "
            "converts notebooks/*.md into _build/nbval/notebooks and runs nbval there)")
    stale = sorted(path.name for path in collected
                   if path.stem in pages and pages[path.stem].stat().st_mtime > path.stat().st_mtime)
    if stale:
        raise pytest.UsageError(f"nbval would run an old conversion of these notebooks: {stale} (their .md "
                                "changed since; `make test-all` converts them again)")
