"""How throughput, training time and memory change with the accelerator flavor.

Baseline: each row of the guide is compared with the row of the same model *and* sequence length
that runs on the fewest MI250 GPUs (on a tie, the smaller batch). Grouping by sequence length too
keeps a 2048-token run from being compared with a 1024-token one: Cerebras GPT 13B has two groups,
and its one 2048-token row has nothing of its own kind to be compared with, so its speed-up and
efficiency are NaN rather than a made-up 1.

- speed-up = throughput ÷ baseline throughput; GPU ratio = GPUs ÷ baseline GPUs;
  scaling efficiency = speed-up ÷ GPU ratio (1 = linear scaling, above 1 = better than linear).
- the same on training time: time speed-up = baseline time ÷ time.
- ideal lines: the baseline scaled in proportion to the GPUs (throughput) or inversely (time).

GPU counts come from the ``gpus`` column that ``ftguide.data.add_derived`` reads from
``data/accelerators.csv``.
"""

import itertools

import pandas as pd

from ftguide.cost import cost_table

GROUP = ["model", "sequence_length"]
MIB_PER_GIB = 1024


def _baseline_rows(guide: pd.DataFrame) -> pd.DataFrame:
    """Each row's baseline row (same model and sequence length, fewest GPUs), on guide's index."""
    ranked = guide.sort_values(["gpus", "batch_size"], kind="stable")
    first = ranked.groupby(GROUP, sort=False).head(1).set_index(GROUP)
    base = first.reindex(pd.MultiIndex.from_frame(guide[GROUP]))
    base.index = guide.index
    return base


def scaling_table(guide: pd.DataFrame) -> pd.DataFrame:
    """The guide with speed-up, efficiency and ideal-scaling columns; NaN where there is no baseline."""
    base = _baseline_rows(guide)
    # A group of one row has no other flavor to compare with: blank its baseline out.
    compared = guide.groupby(GROUP)["gpus"].transform("size") > 1
    base = base.where(compared)
    out = guide.copy()
    out["baseline_accelerator"] = base["accelerator"]
    out["baseline_gpus"] = base["gpus"]
    out["baseline_throughput"] = base["throughput_tokens_per_s"]
    out["baseline_time_min"] = base["training_time_min"]
    out["gpu_ratio"] = out["gpus"] / base["gpus"]
    out["speedup"] = out["throughput_tokens_per_s"] / base["throughput_tokens_per_s"]
    out["efficiency"] = out["speedup"] / out["gpu_ratio"]
    out["ideal_throughput"] = base["throughput_tokens_per_s"] * out["gpu_ratio"]
    out["time_speedup"] = base["training_time_min"] / out["training_time_min"]
    out["time_efficiency"] = out["time_speedup"] / out["gpu_ratio"]
    out["ideal_time_min"] = base["training_time_min"] / out["gpu_ratio"]
    out["has_baseline"] = compared
    return out


def memory_table(guide: pd.DataFrame) -> pd.DataFrame:
    """VRAM against the flavor's capacity, for the whole flavor and per GPU."""
    out = guide.copy()
    out["capacity_per_gpu_mib"] = out["flavor_memory_mib"] / out["gpus"]
    out["vram_share_per_gpu"] = out["vram_per_gpu_mib"] / out["capacity_per_gpu_mib"]
    return out


def flavor_steps(guide: pd.DataFrame, column: str) -> pd.DataFrame:
    """Each step from one flavor to the next larger one within a group, with `column` before and after.

    Columns: model, sequence_length, from_accelerator, to_accelerator, before, after, change
    (after ÷ before − 1). Used to find the steps that go against the trend, e.g. less memory on a
    larger flavor.
    """
    steps = []
    for (model, sequence_length), rows in guide.groupby(GROUP, sort=False):
        rows = rows.sort_values(["gpus", "batch_size"], kind="stable")
        for (_, small), (_, large) in itertools.pairwise(rows.iterrows()):
            steps.append({
                "model": model,
                "sequence_length": sequence_length,
                "from_accelerator": small["accelerator"],
                "to_accelerator": large["accelerator"],
                "before": small[column],
                "after": large[column],
                "change": large[column] / small[column] - 1,
            })
    columns = ["model", "sequence_length", "from_accelerator", "to_accelerator", "before", "after", "change"]
    return pd.DataFrame(steps, columns=columns)


def batch_growth(guide: pd.DataFrame) -> dict:
    """Among groups with more than one flavor: how many grow the global batch with the flavor, and
    how many keep the samples per GPU the same on every flavor (weak scaling)."""
    ranked = guide.sort_values(["gpus", "batch_size"], kind="stable").groupby(GROUP, sort=False)
    compared = ranked.size() > 1
    grows = ranked["batch_size"].last() > ranked["batch_size"].first()
    same_per_gpu = ranked["samples_per_gpu"].nunique() == 1
    return {"compared": int(compared.sum()), "grows": int((grows & compared).sum()),
            "same_per_gpu": int((same_per_gpu & compared).sum())}


def batch_per_gpu_changes(guide: pd.DataFrame) -> pd.DataFrame:
    """Groups whose samples per GPU are not the same on every flavor, with the smallest and largest."""
    ranked = guide.sort_values(["gpus", "batch_size"], kind="stable")
    per_group = ranked.groupby(GROUP, sort=False)["samples_per_gpu"]
    summary = pd.DataFrame({"first": per_group.first(), "last": per_group.last(),
                            "distinct": per_group.nunique()})
    return summary[summary["distinct"] > 1].drop(columns="distinct").reset_index()


# --- what the scaling page shows ---------------------------------------------------------------

def flavors_used(tables) -> pd.DataFrame:
    """The flavors the guide uses (accelerators.csv rows by name), from the fewest GPUs up."""
    flavors = tables.accelerators.set_index("accelerator")
    return flavors.loc[flavors.index.isin(tables.guide["accelerator"])].sort_values("mi250_gpus")


def efficiency_view(scaling: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """scaling_table's speed-up and efficiency per row, by model (in the guide's order), sequence
    length and GPUs, with the baseline each row is compared with ('none' where there is none). The
    efficiency and speed-up a reader decides on come first, then what they are computed from."""
    columns = {
        "model": labels["model"], "accelerator": labels["accelerator"], "sequence_length": "Sequence (tokens)",
        "gpus": "MI250 GPUs", "efficiency": "Scaling efficiency (%)", "speedup": "Speed-up (×)",
        "baseline_accelerator": "Baseline flavor", "gpu_ratio": "GPUs vs baseline (×)",
        "samples_per_gpu": "Samples per GPU", "throughput_per_gpu": "Throughput per GPU (tokens/s)",
    }
    order = scaling["model"].map({model: i for i, model in enumerate(scaling["model"].unique())})
    view = scaling.assign(model_order=order).sort_values(["model_order", "sequence_length", "gpus"])[list(columns)]
    view["baseline_accelerator"] = view["baseline_accelerator"].fillna("none")
    return view.rename(columns=columns).set_index([labels["model"], labels["accelerator"]])


def page_values(tables) -> dict:
    """The scaling page's numbers in words."""
    scaling = scaling_table(tables.guide)
    compared = scaling[scaling["has_baseline"] & (scaling["gpu_ratio"] > 1)]
    return {**_comparison_values(tables, scaling), **_efficiency_values(tables, scaling, compared),
            **_memory_values(tables)}


def _row(row) -> str:
    return f"{row['model']} on {row['accelerator']}"


def _comparison_values(tables, scaling: pd.DataFrame) -> dict:
    """How rows are compared: the flavors, the groups, the rows without a baseline, the batches."""
    lonely = scaling[~scaling["has_baseline"]]
    lengths = scaling.groupby("model", sort=False)["sequence_length"].nunique()
    # Models whose smallest flavor in the guide is not the smallest flavor any model uses.
    late = scaling[scaling["has_baseline"] & (scaling["baseline_gpus"] > scaling["gpus"].min())]
    late = late.drop_duplicates(["model", "sequence_length"])
    growth, changes = batch_growth(tables.guide), batch_per_gpu_changes(tables.guide)
    return {
        "flavor_gpus": ", ".join(f"{name} = {row.mi250_gpus} MI250 GPUs"
                                 for name, row in flavors_used(tables).iterrows()),
        "n_groups": f"{scaling.groupby(GROUP).ngroups}", "n_models": f"{scaling['model'].nunique()}",
        "multi_length_models": ", ".join(lengths[lengths > 1].index) or "no model",
        "lonely_rows": "; ".join(f"{r.model} on {r.accelerator} at sequence length {r.sequence_length:,}"
                                 for r in lonely.itertuples()) or "none",
        "late_baselines": "; ".join(
            f"{r.model} has no row below {r.baseline_accelerator}, so at sequence length {r.sequence_length:,} "
            f"it is compared with its {r.baseline_accelerator} row" for r in late.itertuples()
        ) or "every model has a row on the smallest flavor",
        "n_batch_grows": f"{growth['grows']}", "n_compared_groups": f"{growth['compared']}",
        "n_batch_constant": f"{growth['same_per_gpu']}",
        "batch_changes": "; ".join(f"{r.model} goes from {r.first:g} to {r.last:g} samples per GPU"
                                   for r in changes.itertuples()) or "no model changes its samples per GPU",
        "lonely_detail": "; ".join(
            f"{r.model} on {r.accelerator} at {r.sequence_length:,} tokens runs {r.throughput_tokens_per_s:,} "
            f"tokens/s ({r.throughput_per_gpu:,.0f} per GPU) with {r.samples_per_gpu:g} samples per GPU"
            for r in lonely.itertuples()) or "none",
    }


def _efficiency_values(tables, scaling: pd.DataFrame, compared: pd.DataFrame) -> dict:
    """Speed-up and efficiency from the throughput column and from the training time."""
    best = compared.loc[compared["efficiency"].idxmax()]
    worst = compared.loc[compared["efficiency"].idxmin()]
    # Within a group only: a row at another sequence length is a different job.
    per_gpu = scaling[scaling["has_baseline"]].groupby(GROUP, sort=False)["throughput_per_gpu"]
    spread = per_gpu.max() / per_gpu.min() - 1
    gap = compared.loc[(compared["efficiency"] - compared["time_efficiency"]).idxmax()]
    rises = flavor_steps(tables.guide, "training_time_min")
    rises = rises[rises["change"] > 0]
    # The audit's verdict on the throughput column: rows faster than the flavor at 100% of its peak.
    ceiling = cost_table(tables)
    return {
        "n_compared": f"{len(compared)}", "n_above": f"{(compared['efficiency'] > 1).sum()}",
        "eff_low": f"{worst['efficiency']:.0%}", "eff_low_row": _row(worst),
        "eff_high": f"{best['efficiency']:.0%}", "eff_high_row": _row(best),
        "best_arithmetic": (f"{best['throughput_tokens_per_s']:,} ÷ {best['baseline_throughput']:,.0f} tokens/s "
                            f"= {best['speedup']:.2f}× the tokens per second with {best['gpu_ratio']:g}× the GPUs "
                            f"({best['baseline_accelerator']} → {best['accelerator']})"),
        "best_samples": f"{best['samples_per_gpu']:g}",
        "per_gpu_spread": f"{spread.max():.1%}", "per_gpu_spread_model": spread.idxmax()[0],
        "time_eff_low": f"{compared['time_efficiency'].min():.0%}",
        "time_eff_low_row": _row(compared.loc[compared["time_efficiency"].idxmin()]),
        "time_eff_high": f"{compared['time_efficiency'].max():.0%}",
        "time_eff_high_row": _row(compared.loc[compared["time_efficiency"].idxmax()]),
        "n_time_above_linear": f"{(compared['time_efficiency'] >= 1).sum()}",
        "n_above_peak": f"{(ceiling['throughput_reported_source'] > ceiling['throughput_at_peak']).sum()}",
        "n_rows": f"{len(ceiling)}",
        "n_time_below": f"{(compared['time_efficiency'] < compared['efficiency']).sum()}",
        "gap_example": (f"{_row(gap)} finishes {gap['time_speedup']:.2f}× sooner than on "
                        f"{gap['baseline_accelerator']} ({gap['time_efficiency']:.0%} efficiency), while its "
                        f"throughput is {gap['speedup']:.2f}× higher ({gap['efficiency']:.0%})"),
        "time_rises": "; ".join(
            f"{r.model} takes longer on {r.to_accelerator} than on {r.from_accelerator} "
            f"({r.before:,} → {r.after:,} min)" for r in rises.itertuples()
        ) or "no model takes longer on a larger flavor",
    }


def _memory_values(tables) -> dict:
    """Memory against the flavor's capacity, and the steps to a larger flavor that use less."""
    guide, memory = tables.guide, memory_table(tables.guide)
    keys = ["model", "sequence_length", "from_accelerator", "to_accelerator"]
    batches = flavor_steps(guide, "batch_size")[keys + ["before", "after"]]
    gpus = flavor_steps(guide, "gpus")[keys + ["before", "after"]]
    drops = flavor_steps(guide, "vram_mib").merge(batches, on=keys, suffixes=("", "_batch"))
    drops = drops.merge(gpus, on=keys, suffixes=("", "_gpus"))
    drops = drops[drops["change"] < 0]
    fullest, emptiest = memory.loc[memory["vram_share"].idxmax()], memory.loc[memory["vram_share"].idxmin()]
    gcd = flavors_used(tables).iloc[0]
    ranked = memory.sort_values("gpus").groupby(GROUP)["vram_per_gpu_mib"]
    falls = ranked.apply(lambda values: values.is_monotonic_decreasing and len(values) > 1)
    return {
        "memory_drops": "; ".join(
            f"{r.model} uses less memory on {r.to_accelerator} than on {r.from_accelerator} "
            f"({r.before:,} → {r.after:,} MiB, {-r.change:.1%} less) on {r.after_gpus} instead of {r.before_gpus} "
            f"GPUs and with a global batch of {r.after_batch:,} instead of {r.before_batch:,} samples"
            for r in drops.itertuples()
        ) or "no model uses less memory on a larger flavor",
        "share_high": f"{fullest['vram_share']:.0%}", "share_high_row": _row(fullest),
        "share_low": f"{emptiest['vram_share']:.0%}", "share_low_row": _row(emptiest),
        "gcd_detail": f"{gcd.gcds // gcd.mi250_gpus} GCDs of {gcd.memory_mib // gcd.gcds:,} MiB",
        "capacity_per_gpu": f"{memory['capacity_per_gpu_mib'].max():,.0f} MiB",
        "per_gpu_high": f"{memory['vram_per_gpu_mib'].max():,.0f} MiB",
        "per_gpu_low": f"{memory['vram_per_gpu_mib'].min():,.0f} MiB",
        "n_per_gpu_falls": f"{falls.sum()}",
        "n_multi_groups": f"{(memory.groupby(GROUP).size() > 1).sum()}",
    }
