"""Reproducible builds: two clean builds of the same commit give byte-identical sites.

What is compared: every file under _build/html (HTML, SVG/PNG images, search index, the executed
notebooks offered for download, static assets, .buildinfo). Nothing there is excluded. What is not
compared: the rest of _build (.doctrees pickles, .jupyter_cache, jupyter_execute), which is build
state, not the published site, and holds timestamps by design.
"""

import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import jupytext
import matplotlib
import matplotlib.pyplot as plt
import nbformat
import pytest
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn

import reproducible  # _ext/, on the path via pyproject.toml
from ftguide import plotting
from tests.helpers import ROOT, build_site

FIGURE_SCRIPT = """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from IPython.core.interactiveshell import InteractiveShell
from ftguide import plotting

plotting.setup()
fig, ax = plt.subplots()
ax.plot([1, 2, 3], [2, 1, 3], label="a series")
ax.set_xlabel("x (units)")
ax.legend()
# The notebook's own route to an SVG: the inline backend's display formatter.
print(InteractiveShell.instance().display_formatter.formatters["image/svg+xml"](fig))
"""


def site_files(html: Path) -> dict[str, bytes]:
    return {str(path.relative_to(html)): path.read_bytes() for path in html.rglob("*") if path.is_file()}


@pytest.mark.e2e
def test_two_clean_builds_are_byte_identical(built_site, tmp_path):
    second = build_site(tmp_path)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    first_files, second_files = site_files(built_site), site_files(tmp_path / "_build" / "html")
    assert first_files.keys() == second_files.keys()
    differing = sorted(name for name in first_files if first_files[name] != second_files[name])
    assert differing == []
    # The comparison covers what matters: pages, the downloadable notebooks, and any figures.
    names = list(first_files)
    assert any(name.endswith(".html") for name in names)
    assert any(name.startswith("_sources/") and name.endswith(".ipynb") for name in names)


def head_commit_epoch() -> str:
    return subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%ct"],
                          capture_output=True, text=True, check=True).stdout.strip()


class FakeApp:
    """What reproducible.setup touches of a Sphinx application."""

    srcdir = ROOT

    def __init__(self):
        self.handlers = []

    def connect(self, event, handler, priority=500):
        self.handlers.append((event, handler))


def test_extension_takes_the_date_from_the_commit(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "placeholder")  # so monkeypatch restores the original
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    app = FakeApp()
    reproducible.setup(app)
    assert os.environ["SOURCE_DATE_EPOCH"] == head_commit_epoch()
    assert ("build-finished", reproducible.normalise_notebooks) in app.handlers


def test_an_epoch_given_by_the_caller_wins(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1717459200")  # 2024-06-04, the guide's date
    reproducible.setup(FakeApp())
    assert os.environ["SOURCE_DATE_EPOCH"] == "1717459200"


def test_pages_show_the_commit_date_as_last_updated(built_site):
    committed = datetime.fromtimestamp(int(head_commit_epoch()), tz=UTC)
    html = (built_site / "notebooks" / "parameter-guide.html").read_text()
    assert f"Last updated on {committed:%b %d, %Y}." in html


def test_notebooks_read_twice_normalise_to_the_same_file():
    source = ROOT / "notebooks" / "parameter-guide.md"
    first, second = jupytext.read(source), jupytext.read(source)
    assert [c.id for c in first.cells] != [c.id for c in second.cells]  # random ids from the reader
    code = next(i for i, cell in enumerate(first.cells) if cell.cell_type == "code")
    for notebook, address in (first, "0x7faa906b73d0"), (second, "0x7f8e681b7610"):
        notebook.cells[code].outputs = [nbformat.v4.new_output(
            "execute_result", {"text/plain": f"<pandas.io.formats.style.Styler at {address}>"},
            execution_count=1)]
    for notebook in first, second:
        reproducible.normalise_notebook(notebook)
    assert jupytext.writes(first, "ipynb") == jupytext.writes(second, "ipynb")
    assert first.cells[code].outputs[0]["data"]["text/plain"] == "<pandas.io.formats.style.Styler>"
    assert len({c.id for c in first.cells}) == len(first.cells)


def render_figure() -> str:
    env = {key: value for key, value in os.environ.items() if key != "SOURCE_DATE_EPOCH"}
    result = subprocess.run([sys.executable, "-c", FIGURE_SCRIPT], capture_output=True, text=True,
                            env=env, check=True)
    return result.stdout


def test_plotting_setup_gives_identical_svg_without_a_date():
    """Two processes, no SOURCE_DATE_EPOCH: only plotting.setup() keeps the SVG fixed."""
    first, second = render_figure(), render_figure()
    assert first.lstrip().startswith("<?xml") and "clipPath" in first  # ids that the salt fixes
    assert "<dc:date>" not in first
    assert first == second


def svg_of(nudge: float) -> str:
    """A figure whose axes sit `nudge` inches off: far below what the file writes, not below
    what matplotlib's clip-path names hash."""
    matplotlib.use("Agg")
    with matplotlib.rc_context({"svg.hashsalt": "ftguide"}):  # as plotting.setup() sets it
        figure = plt.figure()
        axes = figure.add_axes((0.1234567 + nudge, 0.1111111, 0.7654321, 0.7777777))
        axes.plot([1, 2, 3], [2, 1, 3])
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
        plt.close(figure)
    return buffer.getvalue()


def test_clip_path_names_follow_the_written_geometry_not_the_last_bit():
    """The flaky cost figure: its clip rectangles differed in the last bit between two builds."""
    first, second = svg_of(0.0), svg_of(1e-15)
    assert first != second  # matplotlib names the clip path after the unrounded float
    assert plotting.stable_clip_ids(first) == plotting.stable_clip_ids(second)
    assert 'clip-path="url(#p' in plotting.stable_clip_ids(first)


def page_read_from_the_cache(tmp_path, cached: bool):
    """A page's executed notebook as myst-nb 1.4 writes it when it takes the outputs from the
    execution cache (none), beside a cache that holds the run notebook (or not); returns
    (app as restore_cached_outputs reads it, the path of the written notebook, the run notebook)."""
    prefix = "application/papermill.record/"  # how glue() records a value
    glued = nbformat.v4.new_output("display_data", {prefix + "text/plain": "'2'"},
                                   metadata={"scrapbook": {"name": "two", "mime_prefix": prefix}})
    shown = nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)
    run = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A page"),
                                          nbformat.v4.new_code_cell("glue('two', 2)\n1 + 1", execution_count=1,
                                                                    outputs=[glued, shown])])
    run.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if cached:
        bundle = CacheBundleIn(run, "notebooks/page.md")
        get_cache(tmp_path / "cache").cache_notebook_bundle(bundle, check_validity=False)
    written = nbformat.from_dict(run)
    for cell in written.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    path = tmp_path / "jupyter_execute" / "notebooks" / "page.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(written, path)
    config = SimpleNamespace(execution_mode="cache", output_folder=str(tmp_path / "jupyter_execute"),
                             execution_cache_path=str(tmp_path / "cache"))
    return SimpleNamespace(env=SimpleNamespace(mystnb_config=config, docname="notebooks/page")), path, run


def test_a_page_read_from_the_execution_cache_offers_its_outputs(tmp_path):
    app, path, run = page_read_from_the_cache(tmp_path, cached=True)
    reproducible.restore_cached_outputs(app, doctree=None)
    # What the page shows, without the glued value (myst-nb takes those out of a run notebook too).
    assert nbformat.read(path, as_version=4).cells[1].outputs == [run.cells[1].outputs[1]]


def test_a_page_not_in_the_cache_is_left_as_written(tmp_path):
    app, path, _ = page_read_from_the_cache(tmp_path, cached=False)
    before = path.read_bytes()
    reproducible.restore_cached_outputs(app, doctree=None)
    assert path.read_bytes() == before
