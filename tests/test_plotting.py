"""Figures: log axes labelled between powers of ten, and every series of a figure told apart."""

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import pytest

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
    fixed by hand (the GPU axes, ticked at the flavors' GPU counts). The helper itself is the one
    place that sets a LogLocator."""
    sources = [*(ROOT / "notebooks").glob("*.md"), *(ROOT / "_ext").glob("*.py"), *(ROOT / "ftguide").rglob("*.py")]
    hand_made = []
    for path in sources:
        text = path.read_text()
        if path.name == "plotting.py":  # leave out the helper's own body
            start = text.index("def log_axis(")
            text = text[:start] + text[text.index("\ndef ", start + 1):]
        lines = text.splitlines()
        for number, line in enumerate(lines):
            fixed_ticks = re.search(r"FixedLocator|set_[xy]ticks", "\n".join(lines[number:number + 4]))
            hand_locator = "LogLocator" in line and not line.startswith("from ")
            if hand_locator or (re.search(r"set_[xy]scale\(\s*[\"']log", line) and not fixed_ticks):
                hand_made.append(f"{path.name}:{number + 1}")
    assert hand_made == []
    uses = [path.name for path in sources if "log_axis(" in path.read_text()]
    assert {"planner.md", "publishing.py", "plotting.py"} <= set(uses)


def test_each_series_of_the_guide_has_its_own_look(tables):
    keys = list(zip(tables.guide["model"], tables.guide["sequence_length"]))
    looks = plotting.series_styles(keys)
    assert len(looks) == 7  # six models, Cerebras GPT 13B at two sequence lengths
    combos = {(look["color"], look["marker"], str(look["linestyle"])) for look in looks.values()}
    assert len(combos) == len(looks)
    # No two series share a colour or a marker either: each can be told apart by one of them alone.
    assert len({look["color"] for look in looks.values()}) == len({look["marker"] for look in looks.values()}) == 7


def test_more_sources_than_colours_keep_a_marker_each():
    """The evidence figures draw one series per source: past eight the colours repeat, never the
    markers; past twelve the figure would not tell them apart, and says so."""
    looks = plotting.series_styles([f"source {i}" for i in range(12)])
    assert len({look["marker"] for look in looks.values()}) == 12
    assert len({(look["color"], look["marker"]) for look in looks.values()}) == 12
    with pytest.raises(ValueError, match="13 series"):
        plotting.series_styles([f"source {i}" for i in range(13)])


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


# --- the pages' figures --------------------------------------------------------------------------

def texts(fig) -> list[str]:
    return [text.get_text() for ax in fig.axes for text in ax.texts]


def test_scaling_panels_draw_a_panel_per_model_with_each_efficiency(tables):
    from ftguide.scaling import scaling_table

    scaling = scaling_table(tables.guide)
    fig = plotting.scaling_panels(scaling, "training_time_min", "ideal_time_min", "time_efficiency", "Time (min)",
                                  "ideal")
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == list(tables.guide["model"].unique())
    assert len(fig.axes) == 6  # three rows of two: no empty panel left visible
    llama = shown[0]
    measured, ideal = llama.lines[:2]
    assert list(measured.get_xdata()) == [8, 16, 32] and ideal.get_linestyle() == "--"
    # Llama3 8B: 220 min on 8 GPUs, so ideal on 32 is 55 min; each larger flavor labelled.
    assert ideal.get_ydata()[-1] == pytest.approx(220 / 4)
    efficiencies = scaling[scaling["model"] == "Llama3 8B"]["time_efficiency"][1:]
    assert [text.get_text() for text in llama.texts] == [f"{value:.0%}" for value in efficiencies]
    cerebras = shown[-1]
    assert "2,048 tokens" in [text.get_text() for text in cerebras.texts]  # the row with no baseline
    plt.close(fig)


def test_memory_against_capacity_draws_the_flavors_capacity(tables):
    from ftguide.scaling import flavors_used, memory_table

    fig = plotting.memory_against_capacity(memory_table(tables.guide), flavors_used(tables))
    total, per_gpu = fig.axes
    capacity = total.lines[0]
    assert list(capacity.get_xdata()) == [8, 16, 32]
    assert list(capacity.get_ydata()) == [1_048_320 / 1024, 2_096_640 / 1024, 4_193_280 / 1024]
    assert list(per_gpu.lines[0].get_ydata()) == [1_048_320 / 8 / 1024] * 3  # one MI250: 2 GCDs of 65,520 MiB
    assert len(total.lines) == 1 + 7  # the capacity, then one line per model and sequence length
    plt.close(fig)


def test_model_figures_put_a_perfect_prediction_on_the_diagonal(tables):
    from ftguide import model

    memory = model.memory_table(tables)
    fig = plotting.memory_prediction(memory)
    ax = fig.axes[0]
    diagonal = next(line for line in ax.lines if line.get_label() == "Prediction = report")
    assert list(diagonal.get_xdata()) == list(diagonal.get_ydata())
    assert ax.get_xlim() == ax.get_ylim() == (0, pytest.approx(65_520 / 1024 * 1.05))
    plt.close(fig)
    times = {epochs: model.time_table(tables, epochs) for epochs in (1, 3)}
    fig = plotting.time_prediction(times)
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    labels = [line.get_label() for line in ax.lines]
    assert labels[0].startswith("1 epoch(s): MFU 33%") and labels[1].startswith("3 epoch(s): MFU 87%")
    plt.close(fig)


def test_audit_figures_show_every_guide_row(tables):
    from ftguide import audit

    result = audit.audit(tables)
    fig = plotting.utilisation_dots(result)
    ax = fig.axes[0]
    reported, from_time = ax.lines[:2]
    assert list(reported.get_xdata()) == list(result["mfu_reported"] * 100)
    assert list(reported.get_ydata()) == list(range(18))[::-1]  # the first guide row on top
    names = [label.get_text() for label in ax.get_yticklabels()]
    assert names[0] == "Llama3 8B, 2xlarge" and "Cerebras GPT 13B, 8xlarge, T=2048" in names
    assert ax.get_xlim()[1] == pytest.approx(result["mfu_reported"].max() * 100 * 1.08)
    plt.close(fig)
    steps = audit.log_step_times(tables.vendor_measurements)
    fig = plotting.step_times(result, steps)
    ax = fig.axes[0]
    implied, logged, floor = ax.lines
    assert list(implied.get_ydata()) == list(result["implied_step_s"]) and len(logged.get_xdata()) == len(steps)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    plt.close(fig)


def test_cost_figures(tables):
    from ftguide import cost

    prices = cost.prices_in_use(tables)
    costs = cost.cost_table(tables, price=prices.mi250)
    front = cost.pareto_front(costs)
    with matplotlib.rc_context({"figure.constrained_layout.use": True}):  # as plotting.setup() sets it
        fig = plotting.tradeoff_panels(costs, front, "USD")
    assert [ax.get_title() for ax in fig.axes] == list(costs["model"].unique())
    hollow = [line for ax in fig.axes for line in ax.lines if line.get_markerfacecolor() == "white"]
    assert sum(len(line.get_xdata()) for line in hollow) == (~front).sum()  # every beaten configuration
    plotting.price_basis(fig, "MI250: 1.50 USD per GPU-hour")
    assert fig.get_layout_engine().get()["rect"][1] > 0  # room made under the panels
    assert "MI250: 1.50 USD per GPU-hour" in [text.get_text() for text in fig.texts]
    plt.close(fig)
    fig = plotting.price_lines(costs, 1.0, 1.5, 2.5, "USD")
    line = fig.axes[0].lines[0]
    assert (line.get_xdata()[0], line.get_xdata()[-1]) == (1.0, 2.5)
    # Proportional to the price: the cost at 2.50 is 2.50 ÷ 1.00 times the cost at 1.00.
    assert line.get_ydata()[-1] == pytest.approx(line.get_ydata()[0] * 2.5)
    plt.close(fig)
    bars = cost.comparison_ranges(tables, costs, prices)
    fig = plotting.cost_ranges(bars, "USD")
    ax = fig.axes[0]
    assert [label.get_text() for label in ax.get_yticklabels()] == list(bars["label"][::-1])
    assert [text.get_text() for text in ax.get_legend().get_texts()] == [
        "H100", "A100 80GB", "MI250, reported", "MI250, training time"]
    plt.close(fig)
    break_even = cost.break_even_table(tables, costs, prices.references)
    fig = plotting.break_even_dots(break_even, list(prices.references), 1.0, 1.5, 2.5, "USD")
    assert len(fig.axes[0].lines) == 1 + 4  # the price in use, then each GPU under each reading
    plt.close(fig)


def test_the_mfu_curve_figure_draws_every_run_and_the_curve_within_its_range():
    runs = pd.DataFrame({"source": ["a", "a", "b"], "hardware_work": [1e12, 1e14, 1e15],
                         "compute_utilisation": [0.05, 0.4, 0.5], "method": ["full", "lora", "qlora"]})
    curve = {"ceiling": 0.5, "half_work": 1e13, "qlora": 0.1, "low": -0.5, "high": 0.4}
    fig, ax = plt.subplots()
    plotting.mfu_against_work(ax, runs, curve)
    points = sorted(tuple(xy) for collection in ax.collections[1:] for xy in collection.get_offsets())
    # every run at the arithmetic its GPU did, in % of peak
    assert points == [(1e12, 5.0), (1e14, pytest.approx(40.0)), (1e15, 50.0)]
    centre = ax.lines[0].get_ydata()
    assert centre.max() <= 50 and centre[-1] == pytest.approx(50 * 1.5e15 / (1.5e15 + 1e13))
    assert ax.get_xscale() == "log" and "TFLOP" in ax.get_xlabel() and "%" in ax.get_ylabel()
    plt.close(fig)
