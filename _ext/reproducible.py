"""Sphinx extension: two builds of the same commit give byte-identical files in _build/html.

Registered in _config.yml (`sphinx: extra_extensions`), so it applies to every build: `make site`,
the tests and a plain `jb build`. Two things vary between builds without it:

- the "Last updated" date at the foot of each page, which Sphinx takes from the clock unless
  SOURCE_DATE_EPOCH is set (https://reproducible-builds.org/specs/source-date-epoch/). We set it to
  the time of the commit being built, so the date says when the content last changed;
- the executed notebooks offered for download (`_sources/**/*.ipynb`): the Markdown reader gives
  every cell a random id, and outputs such as a pandas Styler's text form carry a memory address;
- whether a page was executed or taken from the execution cache: myst-nb 1.4 merges a cached
  page's outputs into a copy of its notebook but writes the original, without outputs, as the
  notebook offered for download (myst_nb/sphinx_.py, myst_nb/core/execute/cache.py), so a page
  whose prose changed, or every page after a configuration change, would offer a notebook never
  run. Such a notebook takes its outputs from the same cache again as soon as its page is read.

Figures are made reproducible in the notebooks themselves by `ftguide.plotting.setup()`.
"""

import hashlib
import os
import re
import subprocess
from pathlib import Path

import nbformat
from jupyter_cache import get_cache
from myst_nb.ext.glue import extract_glue_data_cell
from sphinx.util import logging

logger = logging.getLogger(__name__)

# "<pandas.io.formats.style.Styler at 0x7faa906b73d0>": the default repr of an object.
MEMORY_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")


def commit_epoch(folder: Path) -> str | None:
    """Seconds since 1970 of the last commit of the repository holding folder, if it is one."""
    try:
        result = subprocess.run(
            ["git", "-C", str(folder), "log", "-1", "--format=%ct"],
            capture_output=True, text=True, check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return result.stdout.strip() or None


def normalise_notebook(notebook: nbformat.NotebookNode) -> None:
    """Give cells ids derived from their position and source, drop memory addresses from outputs."""
    for index, cell in enumerate(notebook.cells):
        digest = hashlib.sha256(f"{index}\n{cell.source}".encode()).hexdigest()
        cell["id"] = digest[:8]
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/plain")
            if isinstance(text, str):
                output["data"]["text/plain"] = MEMORY_ADDRESS.sub(">", text)


def restore_cached_outputs(app, doctree) -> None:
    """The page's executed notebook (jupyter_execute/<page>.ipynb) with its outputs, when myst-nb
    took them from the execution cache and wrote the notebook without them."""
    config = app.env.mystnb_config
    path = Path(config.output_folder, app.env.docname + ".ipynb")
    if config.execution_mode != "cache" or not path.is_file():
        return
    notebook = nbformat.read(path, as_version=4)
    if any(cell.get("outputs") for cell in notebook.cells):
        return
    try:
        _, notebook = get_cache(config.execution_cache_path).merge_match_into_notebook(notebook)
    except KeyError:  # not in the cache: a page with no code, or one that was never run
        return
    for cell in notebook.cells:  # glued values leave the notebook, as myst-nb takes them from a run one
        if cell.cell_type == "code":
            extract_glue_data_cell(cell)
    nbformat.write(notebook, path)


def normalise_notebooks(app, exception) -> None:
    """After the build, rewrite every .ipynb in the output in its reproducible form."""
    if exception is not None or app.builder.format != "html":
        return
    for path in sorted(Path(app.outdir).rglob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        normalise_notebook(notebook)
        nbformat.write(notebook, path)


def setup(app):
    # An epoch given by whoever runs the build (a packager, a test) wins over the commit time.
    epoch = os.environ.get("SOURCE_DATE_EPOCH") or commit_epoch(Path(app.srcdir))
    if epoch is None:
        logger.info("reproducible: not a git checkout; 'Last updated' uses today's date")
    else:
        # Read by Sphinx for "Last updated", and inherited by the notebook kernels (matplotlib).
        os.environ["SOURCE_DATE_EPOCH"] = epoch
    app.connect("doctree-read", restore_cached_outputs)
    # Late, so that notebooks copied into the output by the theme or other extensions are covered.
    app.connect("build-finished", normalise_notebooks, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
