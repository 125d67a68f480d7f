"""Figures: log axes labelled between powers of ten, and every series of a figure told apart."""

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ftguide import plotting  # noqa: E402
from tests.conftest import ROOT  # noqa: E402


def major_labels(axis) -> list[str]:
    axis.axes.figure.canvas.draw()
    low, high = sorted(axis.get_view_interval())
    return [tick.get_text() for tick, value in zip(axis.get_ticklabels(), axis.get_ticklocs())
            if low <= value <= high]


def test_log_axis_labels_one_two_five_in_plain_numbers():
    fig, ax = plt.subplots()
    ax.plot([1, 2], [0.04, 0.3])
    plotting.log_axis(ax, "y")
    assert major_labels(ax.yaxis) == ["0.05", "0.1", "0.2"]  # the default labels only 10⁻¹ here
    ax.plot([1, 2], [900, 25000])
    assert major_labels(ax.yaxis)[-3:] == ["5,000", "10,000", "20,000"]
    plt.close(fig)


def test_log_axis_scales_its_labels():
    fig, ax = plt.subplots()
    ax.plot([150_000, 900_000], [1, 2])
    plotting.log_axis(ax, "x", scale=1000)
    assert major_labels(ax.xaxis) == ["200", "500"]
    plt.close(fig)


def test_every_log_axis_uses_the_helper():
    """A log axis set by hand gets matplotlib's labels at powers of ten only, unless its ticks are
    fixed by hand (the GPU axes, ticked at the flavors' GPU counts)."""
    sources = list((ROOT / "notebooks").glob("*.md")) + list((ROOT / "_ext").glob("*.py"))
    hand_made = []
    for path in sources:
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            fixed_ticks = re.search(r"FixedLocator|set_[xy]ticks", "\n".join(lines[number:number + 4]))
            if "LogLocator" in line or (re.search(r"set_[xy]scale\(\s*[\"']log", line) and not fixed_ticks):
                hand_made.append(f"{path.name}:{number + 1}")
    assert hand_made == []
    uses = [path.name for path in sources if "log_axis(" in path.read_text()]
    assert {"cost.md", "audit.md", "model.md", "scaling.md", "planner.md", "publishing.py"} <= set(uses)


def test_each_series_of_the_guide_has_its_own_look(tables):
    keys = list(zip(tables.guide["model"], tables.guide["sequence_length"]))
    looks = plotting.series_styles(keys)
    assert len(looks) == 7  # six models, Cerebras GPT 13B at two sequence lengths
    combos = {(look["color"], look["marker"], str(look["linestyle"])) for look in looks.values()}
    assert len(combos) == len(looks)
    # No two series share a colour or a marker either: each can be told apart by one of them alone.
    assert len({look["color"] for look in looks.values()}) == len({look["marker"] for look in looks.values()}) == 7


def test_staggered_markers_never_put_two_series_on_the_same_point():
    count = 7
    marked = []
    for index in range(count):
        points, markevery = plotting.staggered_markers(index, count)
        assert points == 29
        marked.append(set(range(points)[markevery]))
        assert len(marked[-1]) >= 4  # every series shows several markers
    assert all(not (a & b) for i, a in enumerate(marked) for b in marked[i + 1:])
