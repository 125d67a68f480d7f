"""Figures: log axes labelled between powers of ten, and every series of a figure told apart."""

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from ftguide import plotting
from tests.helpers import ROOT


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


def test_ranges_draw_each_option_from_low_to_high_and_grey_what_does_not_fit():
    options = pd.DataFrame({"low": [1.0, 4.0], "high": [2.0, 8.0], "fits": [True, False]}, index=["a", "b"])
    fig, ax = plt.subplots()
    plotting.ranges(ax, options, "low", "high", limit=3, limit_label="deadline")
    bars = ax.patches
    assert [(bar.get_x(), bar.get_x() + bar.get_width()) for bar in bars] == [(1.0, 2.0), (4.0, 8.0)]
    assert bars[0].get_hatch() is None and bars[1].get_hatch() == "//"
    assert [label.get_text() for label in ax.get_yticklabels()] == ["a", "b (no fit)"]
    left, right = ax.get_xlim()
    assert left < 1.0 and right > 8.0  # no bar ends on the frame
    plt.close(fig)


def test_tornado_bars_run_from_the_base_to_each_value_and_no_tick_is_negative():
    table = pd.DataFrame({"assumption": ["MFU", "Price"], "low_label": ["16%", "2"], "high_label": ["60%", "1"],
                          "cost_a": [30.0, 12.0], "cost_b": [8.0, 10.0]})
    fig, ax = plt.subplots()
    plotting.tornado(ax, table, "cost", 10.0)
    spans = sorted((bar.get_x(), bar.get_x() + bar.get_width()) for bar in ax.patches)
    assert spans == sorted([(10.0, 30.0), (10.0, 12.0), (10.0, 8.0), (10.0, 10.0)])
    assert min(ax.get_xticks()) >= 0  # no negative cost on the axis, only room for the labels
    plt.close(fig)


def test_a_dollar_in_a_label_from_data_is_a_dollar_sign():
    """A model named with '$' must print as written: an unbalanced '$' would otherwise stop the
    build (matplotlib reads $...$ as TeX)."""
    import io

    import matplotlib as mpl

    with mpl.rc_context({"text.parse_math": False}):
        fig, ax = plt.subplots()
        ax.set_yticks([0, 1], ["Model $5", "x$^2$ $ y"])
        ax.set_title("a $\\frac{")
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg")
    plt.close(fig)
    assert "Model $5" in buffer.getvalue() and "x$^2$ $ y" in buffer.getvalue()
    source = (ROOT / "ftguide" / "plotting.py").read_text()
    assert '"text.parse_math": False' in source  # what setup() gives every page's figures
