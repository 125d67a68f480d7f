"""Plausibility audit of the guide: implied utilisation, start-up and consistency checks.

- FLOPs per token and parameter counts come from ftguide.model (matrix multiplications plus
  PaLM's attention term; 6·N beside it).
- Model-FLOP utilisation (MFU) = tokens/s × FLOPs per token ÷ peak FLOP/s of the flavor, where
  peak = MI250 GPUs × peak BF16 FLOP/s per GPU (accelerators.csv).
- Every check gives one verdict per guide row: "pass", "flag", "unknown" (an input is missing,
  e.g. the dataset size) or "n/a" (nothing to compare with).
- The vendor's second source (vendor_measurements.csv) is set beside the guide: the tutorials'
  own figures, their training logs and the scripts' step timer.
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ftguide import model
from ftguide.model import startup_from_logs  # noqa: F401  (the pages and the planner read it here)
from ftguide.planner.kernel import compute_seconds, utilisation as mfu
from ftguide.text import join
from ftguide.throughput import run_tokens, time_based_throughput

PASS, FLAG, UNKNOWN, NOT_APPLICABLE = "pass", "flag", "unknown", "n/a"

# Reported throughput × training time may differ from the run's tokens by start-up time,
# evaluation and checkpointing inside the training time; a factor of 2 either way is allowed
# before the row is flagged. Change it with audit(..., tokens_tolerance=...).
TOKENS_TOLERANCE = 2.0

CHECKS = {
    "check_mfu_reported": "MFU of the reported throughput at most 100%",
    "check_mfu_from_time": "MFU of the training-time reading at most 100%",
    "check_tokens": "Reported throughput × training time matches the run's tokens",
    "check_vram_capacity": "VRAM within the flavor's memory",
    "check_vram_growth": "VRAM does not fall on a larger flavor",
    "check_startup": "Training time mostly compute, not start-up",
}


def verdict(ok, known=True):
    """Turn a boolean test into pass/flag, and unknown where an input is missing."""
    out = np.where(ok, PASS, FLAG).astype(object)
    return pd.Series(np.where(known, out, UNKNOWN), index=getattr(ok, "index", None))


def vram_growth_verdict(guide: pd.DataFrame) -> pd.Series:
    """Flag a row whose VRAM is below a smaller flavor's for the same model and sequence length.

    n/a for the smallest flavor of each model and sequence length: there is nothing to compare.
    """
    result = pd.Series(NOT_APPLICABLE, index=guide.index, dtype=object)
    for _, rows in guide.groupby(["model", "sequence_length"]):
        for index, row in rows.iterrows():
            smaller = rows[rows["gpus"] < row["gpus"]]
            if len(smaller):
                result[index] = FLAG if row["vram_mib"] < smaller["vram_mib"].max() else PASS
    return result


def audit(tables, epochs=1, train_samples=None, tokens_tolerance=TOKENS_TOLERANCE) -> pd.DataFrame:
    """One row per guide row: FLOPs, both throughput readings, their MFU and every check.

    `epochs` and `train_samples` (model -> samples, overriding datasets.csv) are the assumption
    behind the training-time reading; rows whose dataset size is unknown get NaN and "unknown".
    The start-up overhead is the time model's (ftguide.model.time_table) under the same epochs.
    """
    guide = tables.guide
    out = guide[["model", "accelerator", "gpus", "batch_size", "sequence_length", "vram_mib",
                 "flavor_memory_mib", "training_time_min", "throughput_tokens_per_s"]].copy()
    out = out.join(model.row_flops(guide, tables.models))
    out["peak_flops"] = model.peak_flops(guide, tables.accelerators)
    out["mfu_reported"] = mfu(out["throughput_tokens_per_s"], out["flops"], out["peak_flops"])
    out["mfu_reported_6n"] = mfu(out["throughput_tokens_per_s"], out["flops_6n"], out["peak_flops"])
    out["run_tokens"] = run_tokens(guide, tables.datasets, epochs, train_samples)
    out["throughput_from_time"] = time_based_throughput(guide, tables.datasets, epochs, train_samples)
    out["mfu_from_time"] = mfu(out["throughput_from_time"], out["flops"], out["peak_flops"])
    out["mfu_from_time_6n"] = mfu(out["throughput_from_time"], out["flops_6n"], out["peak_flops"])
    # Tokens the reported throughput would process in the training time, over the run's tokens.
    out["tokens_ratio"] = out["throughput_tokens_per_s"] * out["training_time_min"] * 60 / out["run_tokens"]
    # Step time the throughput column implies, and the shortest the hardware allows at 100%.
    tokens_per_step = out["batch_size"] * out["sequence_length"]
    out["implied_step_s"] = tokens_per_step / out["throughput_tokens_per_s"]
    out["floor_step_s"] = compute_seconds(tokens_per_step, out["flops"], 1, out["peak_flops"])
    times = model.time_table(tables, epochs)
    out["overhead_min"] = times["overhead_min"]
    out["startup_share"] = times["startup_share"]

    known = out["run_tokens"].notna()
    out["check_mfu_reported"] = verdict(out["mfu_reported"] <= 1)
    out["check_mfu_from_time"] = verdict(out["mfu_from_time"] <= 1, known)
    within = out["tokens_ratio"].between(1 / tokens_tolerance, tokens_tolerance)
    out["check_tokens"] = verdict(within, known)
    out["check_vram_capacity"] = verdict(out["vram_mib"] <= out["flavor_memory_mib"])
    out["check_vram_growth"] = vram_growth_verdict(guide)
    out["check_startup"] = verdict(out["startup_share"] < model.STARTUP_DOMINATED)
    return out


def check_counts(result: pd.DataFrame) -> pd.DataFrame:
    """For each check: how many rows pass, are flagged, unknown or not applicable."""
    counts = {name: result[name].value_counts() for name in CHECKS}
    table = pd.DataFrame(counts).T.reindex(columns=[PASS, FLAG, UNKNOWN, NOT_APPLICABLE]).fillna(0)
    table = table.astype(int)
    table.insert(0, "check", [CHECKS[name] for name in table.index])
    return table


TESTED_BY = {
    "Throughput": ["check_mfu_reported"],
    "Training time": ["check_mfu_from_time", "check_startup"],
    "Throughput against training time": ["check_tokens"],
    "VRAM usage": ["check_vram_capacity", "check_vram_growth"],
}


def column_reliability(result: pd.DataFrame) -> pd.DataFrame:
    """Which guide columns a reader can plan with, decided by the checks that test each one."""
    rows = []
    for column, checks in TESTED_BY.items():
        verdicts = result[checks]
        flagged = (verdicts == FLAG).any(axis=1)
        checked = (verdicts.isin([PASS, FLAG])).any(axis=1)
        rows.append({
            "column": column,
            "rows checked": int(checked.sum()),
            "rows flagged": int(flagged.sum()),
            "use it?": _advice(column, result, int(flagged.sum()), int(checked.sum())),
        })
    return pd.DataFrame(rows)


def _advice(column: str, result: pd.DataFrame, flagged: int, checked: int) -> str:
    """A verdict in words, from the counts, so the summary follows the data."""
    unknown = int((result["run_tokens"].isna()).sum())
    unknown_note = f"; {unknown} rows cannot be checked (dataset size unknown)" if unknown else ""
    if not checked:
        return "cannot be checked: no row has the inputs this check needs"
    if column == "Throughput":
        if flagged:
            return (f"no: {flagged} of {checked} rows need more than 100% of the hardware's peak; "
                    "plan with the training-time reading")
        return "yes: no row needs more than the hardware's peak"
    if column == "Training time":
        over = int((result["check_mfu_from_time"] == FLAG).sum())
        startup = int((result["check_startup"] == FLAG).sum())
        startup_note = (f"; {startup} rows are mostly start-up: use them as a whole run, not as a "
                        "rate to scale" if startup else "")
        if over:
            return f"with care: {over} rows need more than 100% of peak{startup_note}{unknown_note}"
        known = int(result["run_tokens"].notna().sum())
        return (f"yes, under the stated assumption: all {known} rows with a known dataset size "
                f"need at most 100% of peak{startup_note}{unknown_note}")
    if column == "Throughput against training time":
        if flagged:
            ratio = result.loc[result["check_tokens"] == FLAG, "tokens_ratio"]
            return (f"they disagree in {flagged} of {checked} rows: throughput × time is "
                    f"{ratio.min():.0f} to {ratio.max():.0f} times the run's tokens{unknown_note}")
        return f"they agree in all {checked} rows{unknown_note}"
    if flagged:
        return f"with care: {flagged} of {checked} rows flagged; ask Moreh before relying on them"
    return f"yes: all {checked} rows consistent"


def _span(values, fmt="{:.0%}") -> str:
    return f"{fmt.format(values.min())} to {fmt.format(values.max())}"


def epochs_text(epochs) -> str:
    if isinstance(epochs, Mapping):
        return "the epochs set per model"
    return f"{epochs:g} epoch" + ("" if epochs == 1 else "s")


def summary_points(result: pd.DataFrame, epochs=1) -> dict:
    """The page's summary, one plain sentence per guide column, following the verdicts.

    Plain text (model names included): the page glues each with {glue:text}, which escapes it.
    """
    known = result["mfu_from_time"].notna()
    flagged = result["check_mfu_reported"] == FLAG
    if flagged.any():
        throughput = (f"It cannot be taken at face value: {flagged.sum()} of {len(result)} rows imply "
                      "that the GPUs did more arithmetic per second than their peak allows, "
                      f"{_span(result.loc[flagged, 'mfu_reported'])} of peak.")
    else:
        throughput = f"It is physically possible in every row: {_span(result['mfu_reported'])} of peak."
    assumption = f"the tutorial's dataset, padded to the sequence length, for {epochs_text(epochs)}"
    if not known.any():
        training = "It cannot be checked: no row has a known dataset size."
    else:
        mfu_known = result.loc[known, "mfu_from_time"]
        over = int((mfu_known > 1).sum())
        training = (f"It is {'doubtful' if over else 'plausible'} under the stated assumption "
                    f"({assumption}): the {known.sum()} rows whose dataset size is known imply "
                    f"{_span(mfu_known)} of peak" + (f", {over} of them more than 100%." if over else "."))
        if (~known).any():
            training += (f" The other {(~known).sum()} rows ({join(sorted(result.loc[~known, 'model'].unique()))}) "
                         "cannot be checked: their dataset size is unknown.")
    startup = result[result["check_startup"] == FLAG]
    if len(startup):
        training += (f" In {len(startup)} rows ({join(startup['model'] + ' on ' + startup['accelerator'])}) "
                     "start-up is at least half the time: those times do not scale with the data.")
    ratio = result.loc[known, "tokens_ratio"]
    planning = ("The two readings of throughput cannot be compared: no dataset size is known." if not len(ratio)
                else f"In the training time, the reported throughput would process {_span(ratio, '{:.1f}')} "
                     "times the run's tokens. A run planned with the throughput column looks that many "
                     "times faster, and each token that many times cheaper, than one planned from the "
                     "training time; the cost and planning pages show both.")
    over = int((result["check_vram_capacity"] == FLAG).sum())
    falls = result[result["check_vram_growth"] == FLAG]
    vram = "It fits the flavor's memory in every row" if not over else f"It exceeds the flavor's memory in {over} rows"
    vram += (f"; it falls on a larger flavor for {join(falls['model'] + ' on ' + falls['accelerator'])}, "
             "which is worth asking about." if len(falls) else ".")
    return {"throughput": throughput, "training_time": training, "planning": planning, "vram": vram}


# --- the vendor's second source beside the guide -------------------------------------------------

def timer_evidence(vendor: pd.DataFrame) -> pd.DataFrame:
    """Per quickstart script: the lines where the step timer starts and stops, and where the host
    first waits for the device (loss.item()), with the file and commit."""
    code = vendor[vendor["kind"].isin(["script_timer_start", "script_timer_stop", "script_first_sync"])]
    lines = code.pivot_table(index=["file", "commit"], columns="kind", values="line", aggfunc="first")
    quotes = code.pivot_table(index=["file", "commit"], columns="kind", values="quote", aggfunc="first")
    out = lines.join(quotes.add_suffix("_code")).reset_index()
    out["stops_before_sync"] = out["script_timer_stop"] < out["script_first_sync"]
    return out


def steady_log_steps(vendor: pd.DataFrame) -> pd.DataFrame:
    """Log lines after each run's first logged step (which carries compilation and start-up)."""
    logs = vendor[vendor["kind"].str.startswith("log_step")]
    first = logs.groupby(["file", "batch_size"])["step"].transform("min")
    return logs[logs["step"] > first]


def log_step_times(vendor: pd.DataFrame) -> pd.DataFrame:
    """Steady step durations of the logs: printed where the log has them, else batch ×
    sequence ÷ printed throughput."""
    steady = steady_log_steps(vendor)
    line = steady["file"] + ":" + steady["line"].astype(str)
    durations = steady[steady["kind"] == "log_step_duration"].assign(seconds=lambda f: f["value"])
    rates = steady[(steady["kind"] == "log_step_throughput") & ~line.isin(line[durations.index])]
    rates = rates.assign(seconds=rates["batch_size"] * rates["sequence_length"] / rates["value"])
    return pd.concat([durations, rates]).sort_index()


def second_source(tables) -> pd.DataFrame:
    """Per guide row: the vendor's other figures for the same model, flavor and sequence length."""
    vendor = tables.vendor_measurements
    runs = vendor[vendor["accelerator"].notna()]
    key = ["model", "accelerator", "sequence_length"]
    steady = steady_log_steps(runs)

    def first(kind, column="value"):
        return runs[runs["kind"] == kind].groupby(key)[column].first()

    figures = {
        "vendor_batch": runs[runs["kind"].str.startswith("log_step")].groupby(key)["batch_size"].first(),
        "tutorial_throughput": first("tutorial_throughput"),
        "log_throughput_median": steady[steady["kind"] == "log_step_throughput"].groupby(key)["value"].median(),
        "tutorial_time_min": first("tutorial_training_time"),
        "moreh_smi_mib": first("moreh_smi_memory"),
    }
    out = tables.guide[key + ["batch_size", "throughput_tokens_per_s", "training_time_min", "vram_mib"]].copy()
    index = pd.MultiIndex.from_frame(out[key])
    for name, values in figures.items():
        out[name] = values.reindex(index).to_numpy()
    return out


def epochs_comparison(tables, choices=(1, 3)) -> pd.DataFrame:
    """The training-time reading under each number of epochs: what passes, and the time model's fit."""
    rows = []
    for epochs in choices:
        result = audit(tables, epochs=epochs)
        times = model.time_table(tables, epochs)
        summary = model.time_summary(times)
        known = result["mfu_from_time"].notna()
        rows.append({
            "epochs": epochs,
            "rows checked": int(known.sum()),
            "rows above 100% of peak": int((result.loc[known, "mfu_from_time"] > 1).sum()),
            "MFU from time, lowest": result.loc[known, "mfu_from_time"].min(),
            "MFU from time, highest": result.loc[known, "mfu_from_time"].max(),
            "time model: overhead (min)": summary["overhead_min"],
            "time model: MFU": summary["mfu"],
            "rows the time model rules out": summary["impossible"],
        })
    return pd.DataFrame(rows)
