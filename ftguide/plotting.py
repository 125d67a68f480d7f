"""One look for every figure: SVG output, reproducible files, a colour-blind-safe palette; and the
pages' figures, each drawn by one function that returns it (the page shows it with plt.show())."""

import hashlib
import re
import textwrap

import matplotlib as mpl
import matplotlib.pyplot as plt
import matplotlib_inline.backend_inline
import numpy as np
from IPython import get_ipython
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator

from ftguide.cost import cheapest_per_model
from ftguide.planner import kernel
from ftguide.throughput import READING_NAMES, READINGS

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision
# deficiency. Pair colours with distinct markers/line styles so figures also read in grey.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
# Past eight series the colours repeat; the markers go on, so every series keeps a look of its own
# (a hexagon reads as a circle when small: it comes last, never beside the first colour's circle).
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "d", "h"]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1))]


def setup() -> None:
    """Call once at the top of a notebook, before plotting."""
    # No creation date in the file: two builds of the same data give byte-identical figures.
    matplotlib_inline.backend_inline.set_matplotlib_formats("svg", metadata={"Date": None})
    svg = get_ipython().display_formatter.formatters["image/svg+xml"]
    plain = svg.lookup_by_type(Figure)
    svg.for_type(Figure, lambda figure: stable_clip_ids(plain(figure)))
    mpl.rcParams.update({
        "svg.hashsalt": "ftguide",  # fixed ids inside the SVG, so two builds give the same file
        "svg.fonttype": "none",  # text stays text: smaller files, selectable, scales on phones
        "figure.figsize": (6.4, 4.0),  # about phone width at 100% once the theme scales it down
        "figure.dpi": 100,
        "savefig.dpi": 200,
        "font.size": 11,
        "axes.prop_cycle": mpl.cycler(color=OKABE_ITO[:6], linestyle=LINESTYLES),
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "figure.constrained_layout.use": True,
        # Labels carry names from data/: a '$' must print as a dollar sign, never start TeX (an
        # unbalanced one would stop the build). Every axis formats its own plain numbers.
        "text.parse_math": False,
    })


CLIP_PATH = re.compile(r'<clipPath id="([^"]+)">(.*?)</clipPath>', re.S)


def stable_clip_ids(svg: str) -> str:
    """Name each clip path after its geometry as written in the file.

    Matplotlib names a clip rectangle after a hash of its full-precision floats, which can differ
    in the last bit between two runs of the same notebook (constrained layout's solver, kiwisolver,
    orders its work by memory address). The file itself writes the rounded numbers, so a name
    taken from them is the same whenever the figure looks the same.
    """
    for old, geometry in CLIP_PATH.findall(svg):
        new = "p" + hashlib.sha256(geometry.encode()).hexdigest()[:10]
        svg = svg.replace(f'id="{old}"', f'id="{new}"').replace(f"url(#{old})", f"url(#{new})")
    return svg


def style(index: int) -> dict:
    """Colour, marker and line style of the index-th series, for explicit per-series plots."""
    return {
        "color": OKABE_ITO[index % len(OKABE_ITO)],
        "marker": MARKERS[index % len(MARKERS)],
        "linestyle": LINESTYLES[index % len(LINESTYLES)],
    }


def ranges(ax, options, low: str, high: str, limit=None, limit_label="") -> None:
    """One horizontal bar per option from `low` to `high` (an MFU range), options that do not fit
    in memory drawn hatched and grey, and an optional dashed limit (a deadline or a budget)."""
    rows = range(len(options))
    fits = options["fits"].to_numpy(bool)
    ax.barh(rows, options[high] - options[low], left=options[low], height=0.6,
            color=[OKABE_ITO[0] if ok else "0.85" for ok in fits],
            hatch=[None if ok else "//" for ok in fits], edgecolor="0.3", linewidth=0.5)
    if limit is not None:
        ax.axvline(limit, color="black", linestyle="--", linewidth=1)
        ax.annotate(limit_label, (limit, 1.0), xycoords=("data", "axes fraction"), ha="left",
                    va="bottom", fontsize=9)
    labels = [f"{name}{'' if ok else ' (no fit)'}" for name, ok in zip(options.index, fits, strict=True)]
    ax.set_yticks(list(rows), labels)
    ax.set_ylim(len(options) - 0.5, -0.5)
    shown = [options[low].min(), options[high].max()] + ([limit] if limit is not None else [])
    ax.set_xlim(min(shown) / 1.3, max(shown) * 1.3)  # no bar ends on the frame


def tornado(ax, table, metric: str, base: float) -> None:
    """A tornado chart: for each assumption (a row of ftguide.planner.sensitivity) a bar from its
    one value's result to its other's, around the central result; widest swing on top."""
    rows = range(len(table))
    first, second = table[f"{metric}_a"].to_numpy(float), table[f"{metric}_b"].to_numpy(float)
    ax.barh(rows, first - base, left=base, height=0.6, color=OKABE_ITO[1], edgecolor="0.3",
            linewidth=0.5, label="first value")
    ax.barh(rows, second - base, left=base, height=0.6, color=OKABE_ITO[0], edgecolor="0.3",
            linewidth=0.5, hatch="//", label="second value")
    ax.axvline(base, color="black", linewidth=1)
    bars = zip(first, second, table["low_label"], table["high_label"], strict=True)
    for row, (a, b, label_a, label_b) in enumerate(bars):
        if np.isclose(a, base) and np.isclose(b, base):
            ax.annotate("no effect", (base, row), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
            continue
        for value, text in ((a, label_a), (b, label_b)):
            ax.annotate(text, (value, row), xytext=(3 if value >= base else -3, 0), textcoords="offset points",
                        ha="left" if value >= base else "right", va="center", fontsize=8)
    ax.set_yticks(list(rows), table["assumption"])
    ax.set_ylim(len(table) - 0.5, -0.5)
    values = np.r_[first, second, base]
    low, high = np.nanmin(values), np.nanmax(values)
    pad = 0.6 * max(high - low, abs(base) * 0.1, 1e-9)  # room for the value labels
    ax.set_xlim(low - pad, high + pad)
    if low >= 0:  # hours and money are never negative: no tick there, only room for the labels
        ax.set_xticks([tick for tick in ax.get_xticks() if 0 <= tick <= high + pad])


def series_styles(keys) -> dict:
    """A distinct look (colour, marker, line style) for each series key, in the order given: up to
    eight by colour and marker alike, up to twelve by marker (the measured runs' sources grow)."""
    keys = list(dict.fromkeys(keys))
    if len(keys) > len(MARKERS):
        raise ValueError(f"{len(keys)} series; the palette and markers tell {len(MARKERS)} apart")
    return {key: style(index) for index, key in enumerate(keys)}


def staggered_markers(index: int, count: int, points_per_series: int = 4):
    """Points along the x axis and the `markevery` that puts series `index` of `count` on its own
    points, so that lines lying on top of each other still show every series' markers."""
    return count * points_per_series + 1, slice(index, None, count)


def log_axis(ax, which: str = "y", subs=(1, 2, 5), scale: float = 1, base: float = 10) -> None:
    """Put an axis on a log scale labelled in plain numbers at 1, 2 and 5 times each power of ten
    (0.05, 0.1, 0.2 ... 1,000, 2,000), not only at powers of ten: on a range narrower than a decade
    the default labels one tick or none, and 10⁻¹ reads badly. `scale` divides the labels (1000 for
    thousands, said in the axis label)."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log", base=base)
    axis.set_major_locator(LogLocator(base=base, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda value, _: plain_number(value / scale)))
    axis.set_minor_locator(NullLocator())


def plain_number(value: float) -> str:
    """20000 -> '20,000', 0.05 -> '0.05', 1.5 -> '1.5': no exponent, no trailing zeros."""
    return f"{value:,.10f}".rstrip("0").rstrip(".")


def predicted_vs_measured(ax, table, measured: str, predicted: str, tolerance: float, group="source",
                          keys=None) -> None:
    """Prediction against measurement on log axes, one colour and marker per group, with the line of
    equality inside a band of ±tolerance. `keys`: every group in the order that sets its look, so that
    a source looks the same in each figure of a page (default: the table's order)."""
    low = min(table[measured].min(), table[predicted].min()) / 1.3
    high = max(table[measured].max(), table[predicted].max()) * 1.3
    line = np.geomspace(low, high, 50)
    ax.fill_between(line, line * (1 - tolerance), line * (1 + tolerance), color="0.88", linewidth=0,
                    label=f"±{tolerance:.0%}")
    ax.plot(line, line, color="black", linewidth=0.8)
    for key, look in series_styles(table[group] if keys is None else keys).items():
        rows = table[table[group] == key]
        if rows.empty:
            continue
        ax.scatter(rows[measured], rows[predicted], color=look["color"], marker=look["marker"], s=22,
                   edgecolor="0.2", linewidth=0.3, label=key)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    log_axis(ax, "x")
    log_axis(ax, "y")
    ax.legend(fontsize=7, loc="upper left")


def measured_in_ranges(ax, table, measured: str, low: str, high: str, group="source", keys=None) -> None:
    """One vertical bar per row from `low` to `high` (a predicted range) with the measured value as a
    point in its group's colour and marker (`keys` as in predicted_vs_measured); rows sorted by the
    measured value."""
    rows = table.sort_values(measured, kind="stable").reset_index(drop=True)
    styles = series_styles(rows[group] if keys is None else keys)
    ax.vlines(rows.index, rows[low], rows[high], color="0.6", linewidth=2)
    for key, look in styles.items():
        chosen = rows[rows[group] == key]
        if chosen.empty:
            continue
        ax.scatter(chosen.index, chosen[measured], color=look["color"], marker=look["marker"], s=20,
                   edgecolor="0.2", linewidth=0.3, zorder=3, label=key)
    ax.set_xticks([])
    log_axis(ax, "y")
    ax.set_ylim(min(rows[low].min(), rows[measured].min()) / 1.3, max(rows[high].max(), rows[measured].max()) * 1.3)
    ax.legend(fontsize=7, loc="upper left")


def mfu_against_work(ax, runs, curve: dict, keys=None) -> None:
    """Measured utilisation of the arithmetic the GPU did (recomputation included, the causal half of
    the attention) against that arithmetic per micro-batch (ftguide.evidence.utilisation_runs'
    compute_utilisation and hardware_work), one colour and marker per source (`keys` as in
    predicted_vs_measured), with the planner's curve (mfu_curve, through kernel.mfu_range): its
    centre for most runs and for QLoRA, and its range shaded."""
    work = runs["hardware_work"]
    grid = np.geomspace(work.min() / 1.5, work.max() * 1.5, 200)
    full = np.array([kernel.mfu_range({"mfu_curve": curve}, w) for w in grid]) * 100
    qlora = np.array([kernel.mfu_range({"mfu_curve": curve}, w, "qlora")[2] for w in grid]) * 100
    ax.fill_between(grid, full[:, 0], full[:, 1], color="0.88", label="Predicted range (not QLoRA)")
    ax.plot(grid, full[:, 2], color="black", linewidth=1.2, label="Curve")
    ax.plot(grid, qlora, color="black", linewidth=1.2, linestyle="--", label="Curve, QLoRA")
    for key, look in series_styles(runs["source"] if keys is None else keys).items():
        chosen = runs["source"] == key
        if not chosen.any():
            continue
        ax.scatter(work[chosen], runs.loc[chosen, "compute_utilisation"] * 100,
                   color=look["color"], marker=look["marker"], s=18, edgecolor="0.2", linewidth=0.3, zorder=3,
                   label=key)
    log_axis(ax, "x", subs=(1,), scale=1e12)
    ax.set_ylim(0, 100)
    ax.set_xlabel("Arithmetic the GPU does per micro-batch (TFLOP, log scale)")
    ax.set_ylabel("Utilisation of that arithmetic (% of peak)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=3)


# --- the model page ------------------------------------------------------------------------------

def memory_prediction(memory) -> Figure:
    """Reported against predicted memory per GCD (ftguide.model.memory_table), one marker per
    source, with the diagonal of a perfect prediction and the memory of one GCD."""
    fig, ax = plt.subplots(figsize=(5.6, 4.6))
    for i, (source, rows) in enumerate(memory.groupby("source", sort=False)):
        ax.plot(rows["predicted_per_gcd_mib"] / 1024, rows["reported_per_gcd_mib"] / 1024,
                **{**style(i), "linestyle": "none"}, label=f"Reported by {source}")
    gcd_gib = memory["gcd_memory_mib"].max() / 1024
    limit = gcd_gib * 1.05
    ax.plot([0, limit], [0, limit], color="black", linestyle="--", linewidth=1, label="Prediction = report")
    ax.axhline(gcd_gib, color="black", linestyle=":", linewidth=1, label="One GCD")
    ax.set_xlim(0, limit)
    ax.set_ylim(0, limit)
    ax.set_xlabel("Predicted memory per GCD (GiB)")
    ax.set_ylabel("Reported memory per GCD (GiB)")
    ax.legend(loc="lower right", fontsize=9)
    return fig


def time_prediction(times: dict) -> Figure:
    """Reported against predicted training time, one marker per reading of the epochs (`times`:
    epochs -> ftguide.model.time_table), on log axes, with the diagonal of a perfect prediction."""
    fig, ax = plt.subplots(figsize=(5.6, 4.6))
    for i, (epochs, table) in enumerate(times.items()):
        mfu, overhead = table["mfu"].iloc[0], table["overhead_min"].iloc[0]
        ax.plot(table["predicted_min"], table["training_time_min"], **{**style(i), "linestyle": "none"},
                label=f"{epochs} epoch(s): MFU {mfu:.0%}, start-up {overhead:.1f} min")
    low = min(t["predicted_min"].min() for t in times.values()) * 0.8
    high = max(max(t["predicted_min"].max(), t["training_time_min"].max()) for t in times.values()) * 1.2
    ax.plot([low, high], [low, high], color="black", linestyle="--", linewidth=1, label="Prediction = report")
    log_axis(ax, "x")
    log_axis(ax, "y")
    ax.set_xlabel("Predicted training time (min, log scale)")
    ax.set_ylabel("Reported training time (min, log scale)")
    ax.legend(loc="upper left", fontsize=8)
    return fig


# --- the scaling page ----------------------------------------------------------------------------

def gpu_axis(ax, gpu_counts) -> None:
    """A log-scaled GPU axis ticked at the flavors' GPU counts only."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(gpu_counts))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(min(gpu_counts) / 1.3, max(gpu_counts) * 1.3)


def scaling_panels(scaling, measured: str, ideal: str, efficiency: str, ylabel: str, ideal_label: str,
                   scale: float = 1) -> Figure:
    """Small multiples of ftguide.scaling.scaling_table, one panel per model (in the guide's order,
    which fixes its colour): `measured` against the GPUs, the `ideal` line from the model's smallest
    flavor, each larger flavor's `efficiency` above its point; a row with no baseline (another
    sequence length) is a lone open marker."""
    models = list(scaling["model"].unique())
    gpu_counts = sorted(scaling["gpus"].unique())
    rows_of_panels = -(-len(models) // 2)  # two panels a row stay legible at phone width
    fig, axes = plt.subplots(rows_of_panels, 2, figsize=(6.4, 2.5 * rows_of_panels + 0.7), sharex=True, squeeze=False)
    for ax in axes.flat[len(models):]:
        ax.set_visible(False)
    for index, (ax, model) in enumerate(zip(axes.flat, models, strict=False)):
        for sequence_length, group in scaling[scaling["model"] == model].groupby("sequence_length"):
            group = group.sort_values("gpus")
            if group["has_baseline"].all():
                _scaling_line(ax, group, index, measured, ideal, efficiency)
            else:
                # Nothing of its kind to compare with: a lone open marker, no line, no efficiency.
                ax.plot(group["gpus"], group[measured], linestyle="none", marker="o", markersize=8,
                        markerfacecolor="white", markeredgecolor="black", markeredgewidth=1.5)
                for r in group.itertuples():
                    ax.annotate(f"{sequence_length:,} tokens", (r.gpus, getattr(r, measured)),
                                textcoords="offset points", xytext=(-8, 0), ha="right", va="center", fontsize=10)
        ax.set_title(model, fontsize=11)
        gpu_axis(ax, gpu_counts)
        log_axis(ax, "y", subs=(1, 1.5, 2, 3, 5, 7), scale=scale)
        ax.margins(y=0.25)  # room for the efficiency labels above and below the points
    for ax in axes[-1]:
        ax.set_xlabel("MI250 GPUs (log scale)")
    fig.supylabel(ylabel, fontsize=11)  # one label: a label per panel would not fit its height
    handles = [
        Line2D([], [], color="dimgray", marker="o", linewidth=2, label="measured (colour per model)"),
        Line2D([], [], color="black", linestyle="--", label=ideal_label),
        Line2D([], [], color="black", marker="o", markerfacecolor="white", linestyle="none",
               label="other sequence length, no baseline"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=1, fontsize=10, frameon=False)
    return fig


def _scaling_line(ax, group, index: int, measured: str, ideal: str, efficiency: str) -> None:
    """Solid measured line (the panel title names the model), dashed ideal line on top, and each
    point after the baseline labelled with its efficiency."""
    ax.plot(group["gpus"], group[measured], **{**style(index), "linestyle": "-"}, linewidth=2, markersize=7)
    ax.plot(group["gpus"], group[ideal], color="black", linestyle="--", linewidth=1.2)
    for r in group.iloc[1:].itertuples():
        ax.annotate(f"{getattr(r, efficiency):.0%}", (r.gpus, getattr(r, measured)), textcoords="offset points",
                    xytext=(0, 10), ha="center", fontsize=10,
                    bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})


def memory_against_capacity(memory, flavors) -> Figure:
    """VRAM of each model (ftguide.scaling.memory_table) against the capacity of the flavors used
    (ftguide.scaling.flavors_used), for the whole flavor (top, log scale) and per MI250 (bottom), in GiB."""
    mib_per_gib = 1024
    capacity = flavors.assign(total_gib=flavors["memory_mib"] / mib_per_gib,
                              per_gpu_gib=flavors["memory_mib"] / flavors["mi250_gpus"] / mib_per_gib)
    gpu_counts = sorted(memory["gpus"].unique())
    common_length = memory["sequence_length"].mode()[0]
    fig, (total_ax, per_gpu_ax) = plt.subplots(2, 1, figsize=(6.4, 8.0), sharex=True)
    for ax, column, capacity_column in [(total_ax, "vram_mib", "total_gib"),
                                        (per_gpu_ax, "vram_per_gpu_mib", "per_gpu_gib")]:
        ax.plot(capacity["mi250_gpus"], capacity[capacity_column], color="black", linewidth=2.5,
                label="flavor capacity")
        for index, model in enumerate(memory["model"].unique()):
            for sequence_length, group in memory[memory["model"] == model].groupby("sequence_length"):
                group = group.sort_values("gpus")
                suffix = "" if sequence_length == common_length else f", {sequence_length:,} tokens"
                ax.plot(group["gpus"], group[column] / mib_per_gib, **style(index), markersize=7,
                        label=f"{model}{suffix}", markerfacecolor="white" if suffix else style(index)["color"])
        gpu_axis(ax, gpu_counts)
    log_axis(total_ax, "y", subs=(1,), base=2)
    total_ax.set_ylabel("VRAM, whole flavor (GiB, log scale)")
    per_gpu_ax.set_ylim(0, capacity["per_gpu_gib"].max() * 1.1)
    per_gpu_ax.set_ylabel("VRAM per GPU (GiB)")
    per_gpu_ax.set_xlabel("MI250 GPUs (log scale)")
    handles, names = total_ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=2, fontsize=10, frameon=False)
    return fig


# --- the audit page ------------------------------------------------------------------------------

def step_times(result, steps) -> Figure:
    """Seconds per step against tokens per step, both on log axes: the step times the guide's
    throughput implies and the floor at 100% of peak (ftguide.audit.audit), beside the steady steps
    of the vendor's logs (ftguide.audit.log_step_times)."""
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    tokens = result["batch_size"] * result["sequence_length"]
    ax.plot(tokens, result["implied_step_s"], **{**style(0), "linestyle": "none"}, label="Guide: implied by throughput")
    ax.plot(steps["batch_size"] * steps["sequence_length"], steps["seconds"], **{**style(1), "linestyle": "none"},
            label="Vendor logs: printed", alpha=0.7)
    ax.plot(tokens, result["floor_step_s"], **{**style(2), "linestyle": "none"}, label="Guide rows at 100% of peak")
    log_axis(ax, "x", scale=1000)
    log_axis(ax, "y")
    ax.set_xlabel("Tokens per step (thousands, log scale)")
    ax.set_ylabel("Seconds per step (log scale)")
    ax.legend(loc="upper left", fontsize=9)
    return fig


def utilisation_dots(result) -> Figure:
    """One line per guide row (the first on top): the MFU of its reported throughput and of its
    training time (ftguide.audit.audit), against a dashed line at 100% of peak."""
    common_length = result["sequence_length"].mode().iloc[0]
    names = [f"{m}, {a}" + ("" if t == common_length else f", T={t}")
             for m, a, t in zip(result["model"], result["accelerator"], result["sequence_length"], strict=True)]
    positions = range(len(result))[::-1]  # first guide row at the top
    fig, ax = plt.subplots(figsize=(5.2, 7.2))
    ax.plot(result["mfu_reported"] * 100, positions, **{**style(0), "linestyle": "none"},
            label="From the throughput column")
    ax.plot(result["mfu_from_time"] * 100, positions, **{**style(1), "linestyle": "none"},
            label="From the training time")
    ax.axvline(100, color="black", linestyle="--", linewidth=1.2)
    ax.text(102, len(result) - 0.5, "100% of peak", va="top", fontsize=10)
    ax.set_yticks(list(positions), names, fontsize=9)
    ax.set_xlim(0, max(110, result["mfu_reported"].max() * 100 * 1.08))
    ax.set_ylim(-0.7, len(result) - 0.3)
    ax.set_xlabel("MFU (% of MI250 peak BF16)")
    ax.legend(loc="lower right", fontsize=9)
    ax.grid(axis="y", alpha=0.15)
    return fig


# --- the cost page ---------------------------------------------------------------------------------

def price_basis(fig, text: str) -> None:
    """Print the prices a figure rests on, with their dates, under the figure itself."""
    lines = [line for part in text.split("\n") for line in textwrap.wrap(part, 95)]
    height = 0.14 * len(lines) / fig.get_figheight()  # about 0.14 inch per 8-point line
    fig.get_layout_engine().set(rect=(0, height, 1, 1 - height))
    fig.text(0.01, 0.0, "\n".join(lines), fontsize=8, ha="left", va="bottom", color="0.3")


def tradeoff_panels(costs, front, currency: str) -> Figure:
    """Time against cost per run, one panel per model of ftguide.cost.cost_table: the configurations
    on the trade-off front (`front`, ftguide.cost.pareto_front) filled and joined, the others hollow;
    each sequence length has its own front and a point at another than 1,024 tokens is a square."""
    fig, axes = plt.subplots(3, 2, figsize=(6.4, 8.0))
    for i, (ax, model) in enumerate(zip(axes.flat, costs["model"].unique(), strict=False)):
        rows = costs[costs["model"] == model].assign(hours=lambda r: r["training_time_min"] / 60)
        look = style(i)
        # Each sequence length has its own front: a 2,048-token run is not weighed against 1,024-token runs.
        for length, group in rows.groupby("sequence_length"):
            on = group[front[group.index]].sort_values("hours")
            off = group[~front[group.index]]
            marker = look["marker"] if length == 1024 else "s"
            ax.plot(on["hours"], on["run_cost"], color=look["color"], marker=marker,
                    linestyle=look["linestyle"], label="on the front")
            ax.plot(off["hours"], off["run_cost"], color=look["color"], marker=marker, linestyle="none",
                    markerfacecolor="white", label="beaten")
        for _, row in rows.iterrows():
            label = row["accelerator"].replace("xlarge", "x")
            label = label if row["sequence_length"] == 1024 else f"{label}, {row['sequence_length']:,}"
            ax.annotate(label, (row["hours"], row["run_cost"]), textcoords="offset points", xytext=(4, 4), fontsize=9)
        ax.set_title(model, fontsize=11)
        ax.margins(x=0.25, y=0.25)
        ax.set_ylim(bottom=0)
        ax.set_xlim(left=0)
    for ax in axes[-1]:
        ax.set_xlabel("Training time (h)")
    for ax in axes[:, 0]:
        ax.set_ylabel(f"Cost per run ({currency})")
    return fig


def price_lines(costs, low: float, price: float, high: float, currency: str) -> Figure:
    """Cost per 1M tokens of each model's cheapest configuration (ftguide.cost.cheapest_per_model)
    against the MI250 price from `low` to `high`, one panel per reading, the price in use dotted.
    Lines that lie on each other keep their markers apart (staggered_markers)."""
    looks = series_styles(zip(costs["model"], costs["sequence_length"], strict=True))  # guide order fixes each look
    fig, axes = plt.subplots(2, 1, figsize=(6.4, 7.0), sharex=True, sharey=True)
    for ax, reading in zip(axes, READINGS, strict=True):
        column = f"cost_per_m_{reading}"
        for best in cheapest_per_model(costs, column).itertuples():
            key = (best.model, best.sequence_length)
            points, markevery = staggered_markers(list(looks).index(key), len(looks))
            grid = np.linspace(low, high, points)
            length = "" if best.sequence_length == 1024 else f", {best.sequence_length:,} tokens"
            ax.plot(grid, getattr(best, column) * grid / price, **looks[key], markevery=markevery,
                    label=f"{best.model}{length}")
        ax.axvline(price, color="black", linestyle=":", linewidth=1)
        log_axis(ax, "y")
        ax.set_title(READING_NAMES[reading].capitalize(), fontsize=11)
        ax.set_ylabel(f"Cost per 1M tokens ({currency})")
    axes[-1].set_xlabel(f"MI250 price ({currency} per GPU-hour)")
    # One legend for both panels: a model keeps its colour and marker in each.
    axes[0].legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.12), ncols=3, frameon=False)
    return fig


def break_even_dots(break_even, gpus, low: float, price: float, high: float, currency: str) -> Figure:
    """Break-even MI250 price of each configuration (ftguide.cost.break_even_table) against each
    reference GPU under each reading, on a log axis, over the assumed MI250 price range."""
    fig, ax = plt.subplots(figsize=(6.4, 7.5))
    rows = break_even.iloc[::-1].reset_index(drop=True)
    names = [f"{r.model} {r.accelerator.replace('xlarge', 'x')}" + ("" if r.sequence_length == 1024
             else f" {r.sequence_length:,}") for r in rows.itertuples()]
    ax.axvspan(low, high, color="0.85", label="assumed MI250 range")
    ax.axvline(price, color="black", linestyle=":", linewidth=1)
    for i, (gpu, reading) in enumerate((g, r) for g in gpus for r in READINGS):
        look = style(i)
        ax.plot(rows[f"{gpu} break-even ({reading})"], range(len(rows)), color=look["color"],
                marker=look["marker"], linestyle="none", label=f"{gpu}, {READING_NAMES[reading]}")
    ax.set_yticks(range(len(rows)), names, fontsize=9)
    log_axis(ax, "x")  # plain dollar ticks: the default labels (2×10⁻¹ ...) overlap at phone width
    ax.set_xlabel(f"Break-even MI250 price ({currency} per GPU-hour)")
    ax.grid(axis="y", alpha=0)
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.4, 1.0), ncols=2, frameon=False)
    return fig


def cost_ranges(bars, currency: str) -> Figure:
    """A range chart of ftguide.cost.comparison_ranges: one row per bar from low to high cost per
    1M tokens with a dot at the middle, first bar on top, on a log axis; a look and a legend entry
    per group (reference GPU, or the MI250 reading)."""
    groups = {"H100": "H100", "A100 80GB": "A100 80GB", "reported": "MI250, reported",
              "from_time": "MI250, training time"}
    fig, ax = plt.subplots(figsize=(6.4, 7.5))
    seen = set()
    for y, bar in enumerate(bars[::-1].itertuples()):
        look = style(list(groups).index(bar.group))
        ax.plot([bar.low, bar.high], [y, y], color=look["color"], linestyle=look["linestyle"], linewidth=2)
        ax.plot(bar.middle, y, color=look["color"], marker=look["marker"], linestyle="none",
                label=None if bar.group in seen else groups[bar.group])
        seen.add(bar.group)
    ax.set_yticks(range(len(bars)), list(bars["label"][::-1]), fontsize=8)
    log_axis(ax, "x")
    ax.set_xlabel(f"Cost per 1M tokens ({currency})")
    ax.grid(axis="y", alpha=0)
    handles, names = ax.get_legend_handles_labels()
    order = sorted(range(len(names)), key=lambda k: list(groups.values()).index(names[k]))
    ax.legend([handles[k] for k in order], [names[k] for k in order], fontsize=8, loc="lower center",
              bbox_to_anchor=(0.4, 1.0), ncols=2, frameon=False)
    return fig


def option_bars(by_option, currency: str) -> Figure:
    """Cost per 1M tokens of the same run on every option (ftguide.planner.scenarios.costs_by_option),
    one bar per model and option over its MFU range, grouped by model, on a log axis."""
    kinds = list(dict.fromkeys(by_option["hardware"]))
    looks = series_styles(kinds)
    fig, ax = plt.subplots(figsize=(6.4, 0.16 * len(by_option) + 1.6))
    for y, row in enumerate(by_option.itertuples()):
        look = looks[row.hardware]
        ax.plot([row.cost_per_m_tokens_low, row.cost_per_m_tokens_high], [y, y], color=look["color"],
                linewidth=4, solid_capstyle="butt", label=row.hardware if y < len(kinds) else None)
    models = list(dict.fromkeys(by_option["model"]))
    ax.set_yticks([by_option.index[by_option["model"] == m].to_numpy().mean() for m in models], models)
    ax.set_ylim(len(by_option) - 0.5, -0.5)
    log_axis(ax, "x")
    ax.set_xlabel(f"Cost per 1M tokens ({currency}, log scale)")
    ax.grid(axis="y", alpha=0)
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.45, 1.0), ncols=4, frameon=False)
    return fig
