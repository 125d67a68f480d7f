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
