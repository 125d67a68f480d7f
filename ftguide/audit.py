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
from ftguide.model import startup_from_logs
from ftguide.planner.kernel import compute_seconds, utilisation as mfu
from ftguide.text import join
from ftguide.throughput import NO_DATASET_SIZE, run_tokens, time_based_throughput

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


def epoch_counts(result: pd.DataFrame, epochs=1) -> str:
    """Whether one epoch count reconciles a model's rows, for the page's question "could each
    training time cover several epochs?": for the model whose rows disagree most, how many epochs'
    worth of tokens its reported throughput would process in the training time on each flavor."""
    known = result[result["mfu_from_time"].notna()]
    if known.empty:
        return f"The data cannot tell: {NO_DATASET_SIZE}, so no row gives an epoch count."
    spread = known.groupby("model", sort=False)["tokens_ratio"].agg(["min", "max"])
    widest = (spread["max"] / spread["min"]).idxmax()
    # The ratio is against the assumed run; times its epochs it is in epochs of the dataset.
    per_row = known["model"].map(epochs).fillna(1) if isinstance(epochs, Mapping) else epochs
    in_epochs = (known["tokens_ratio"] * per_row)[known["model"] == widest]
    return (f"It does not: for {widest}, the reported throughput would process {_span(in_epochs, '{:.1f}')} "
            "epochs' worth of tokens in the training time, depending on the flavor. No single epoch count "
            "reconciles a model's rows.")


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


NO_STARTUP_LOG = "none, as no training log in data/vendor_measurements.csv prints one"


def startup_phrases(vendor: pd.DataFrame) -> dict:
    """What the vendor's logs show of the start-up, as the pages say it: `longest`, the longest a
    log shows ('19.3 minutes (Mistral 7B on 8xlarge)'); `whole`, the range of those whose log also
    times the first step, with the runs of the model that has the longest; `range`, that range
    alone. Each is NO_STARTUP_LOG where no log shows one."""
    startup = startup_from_logs(vendor)
    whole = startup.dropna(subset=["first_step_s"])
    out = dict.fromkeys(("longest", "whole", "range"), NO_STARTUP_LOG)
    if len(startup):
        longest = startup.loc[startup["total_min"].idxmax()]
        out["longest"] = f"{longest['total_min']:.1f} minutes ({longest['model']} on {longest['accelerator']})"
    if len(whole):
        runs = whole[whole["model"] == whole.loc[whole["total_min"].idxmax(), "model"]]
        out["range"] = f"{whole['total_min'].min():.1f} to {whole['total_min'].max():.1f} min"
        out["whole"] = (f"{whole['total_min'].min():.1f} to {whole['total_min'].max():.1f} minutes per run (for "
                        f"{runs['model'].iloc[0]}, {join(f'{m:.0f}' for m in runs['total_min'])} minutes on "
                        f"{join(runs['accelerator'])})")
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


# --- what the audit page shows -----------------------------------------------------------------

# A tutorial's rounded throughput "agrees" with the guide's within this share.
AGREEMENT = 0.1
SHORT_CHECK_NAMES = {
    "check_mfu_reported": "MFU ≤ 100%, reported",
    "check_mfu_from_time": "MFU ≤ 100%, from time",
    "check_tokens": "Throughput × time = run's tokens",
    "check_vram_capacity": "VRAM ≤ flavor memory",
    "check_vram_growth": "VRAM not lower on a larger flavor",
    "check_startup": "Time mostly compute, not start-up",
}


def flops_view(tables) -> pd.DataFrame:
    """Parameters counted and published, and FLOPs per token by each count (model.flops_by_group),
    per model and sequence length."""
    flops = model.flops_by_group(tables)
    return pd.DataFrame({
        "Model": flops["model"], "Sequence length (tokens)": flops["sequence_length"],
        "Parameters, counted": flops["params"], "Parameters, published": flops["published_params"],
        "Counted vs published (%)": flops["params"] / flops["published_params"] - 1,
        "6·N (GFLOP per token)": flops["flops_6n"] / 1e9,
        "Attention term (GFLOP per token)": flops["flops_attention"] / 1e9,
        "PaLM total (GFLOP per token)": flops["flops_palm"] / 1e9,
        "Used here (GFLOP per token)": flops["flops"] / 1e9,
        "Attention share (%)": flops["flops_attention"] / flops["flops"],
    }).set_index(["Model", "Sequence length (tokens)"])


def _by_row(frame: pd.DataFrame, labels: dict) -> pd.DataFrame:
    return frame.set_index([labels["model"], labels["accelerator"], labels["sequence_length"]])


def reported_view(result: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """The MFU the guide's throughput column implies, per guide row."""
    columns = ["model", "accelerator", "sequence_length", "gpus", "peak_flops", "throughput_tokens_per_s",
               "mfu_reported", "mfu_reported_6n"]
    view = result[columns].assign(peak_flops=result["peak_flops"] / 1e15).rename(columns={
        **labels, "gpus": "MI250 GPUs", "peak_flops": "Peak BF16 (PFLOP/s)",
        "throughput_tokens_per_s": "Reported throughput (tokens/s)", "mfu_reported": "MFU (%)",
        "mfu_reported_6n": "MFU, 6·N (%)"})
    return _by_row(view, labels)


def from_time_view(result: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """The throughput and MFU the training time implies, per guide row."""
    columns = ["model", "accelerator", "sequence_length", "training_time_min", "run_tokens", "throughput_from_time",
               "mfu_from_time", "mfu_from_time_6n"]
    view = result[columns].rename(columns={
        **labels, "run_tokens": "Tokens in the run", "throughput_from_time": "Throughput from time (tokens/s)",
        "mfu_from_time": "MFU (%)", "mfu_from_time_6n": "MFU, 6·N (%)"})
    return _by_row(view, labels)


def verdicts_view(result: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """Every check's verdict per guide row, under the checks' short names."""
    return _by_row(result[["model", "accelerator", "sequence_length", *CHECKS]].rename(
        columns={**labels, **SHORT_CHECK_NAMES}), labels)


def timer_view(vendor: pd.DataFrame) -> pd.DataFrame:
    """timer_evidence as the page shows it: where each script's timer starts and stops, and where
    the host first waits for the device."""
    timer = timer_evidence(vendor)
    return pd.DataFrame({
        "Script (moreh-dev/quickstart)": timer["file"], "Commit": timer["commit"],
        "Timer starts (line)": timer["script_timer_start"], "Timer stops (line)": timer["script_timer_stop"],
        "Stop": timer["script_timer_stop_code"], "Host first waits (line)": timer["script_first_sync"],
        "Wait": timer["script_first_sync_code"],
    })


def second_source_view(tables) -> pd.DataFrame:
    """second_source as the page shows it: the guide beside the tutorials and their logs."""
    beside = second_source(tables)
    return pd.DataFrame({
        "Model": beside["model"], "Flavor": beside["accelerator"],
        "Sequence length (tokens)": beside["sequence_length"],
        "Guide: batch": beside["batch_size"], "Vendor logs: batch": beside["vendor_batch"],
        "Guide: throughput (tokens/s)": beside["throughput_tokens_per_s"],
        "Tutorial: throughput (tokens/s)": beside["tutorial_throughput"],
        "Logs: median throughput (tokens/s)": beside["log_throughput_median"],
        "Guide: time (min)": beside["training_time_min"], "Tutorial: time (min)": beside["tutorial_time_min"],
        "Guide: VRAM (MiB)": beside["vram_mib"], "moreh-smi (MiB)": beside["moreh_smi_mib"],
    })


def startup_view(vendor: pd.DataFrame) -> pd.DataFrame:
    """startup_from_logs as the page shows it."""
    startup = startup_from_logs(vendor)
    return pd.DataFrame({
        "Model": startup["model"], "Flavor": startup["accelerator"], "Tutorial page": startup["file"],
        "Graph compilation (s)": startup["compile_s"], "Choice of layout (s)": startup["select_s"],
        "First step (s)": startup["first_step_s"], "Start-up seen in the log (min)": startup["total_min"],
    })


def page_values(tables, result: pd.DataFrame, epochs=1, tokens_tolerance=TOKENS_TOLERANCE) -> dict:
    """The audit page's numbers and sentences in words, for `result` = audit(tables, epochs, ...)."""
    return {
        **{f"summary_{key}": sentence for key, sentence in summary_points(result, epochs).items()},
        "epochs": epochs_text(epochs), "tolerance": f"{tokens_tolerance:g}", "check_count": f"{len(CHECKS)}",
        **_flops_values(tables, result), **_throughput_values(tables, result), **_time_values(tables, result, epochs),
        **_memory_values(result),
    }


def _on(rows: pd.DataFrame) -> pd.Series:
    return rows["model"] + " on " + rows["accelerator"]


def _flops_values(tables, result: pd.DataFrame) -> dict:
    """How far the counts are from the published sizes, and what the choice of formula changes."""
    flops = flops_view(tables)
    share = flops["Attention share (%)"]
    changed = ((result["mfu_reported"] > 1) != (result["mfu_reported_6n"] > 1)).sum()
    return {
        "max_count_gap": f"{flops['Counted vs published (%)'].abs().max():.2%}",
        "attention_share_min": f"{share.min():.0%}", "attention_share_max": f"{share.max():.0%}",
        "formula_effect": ("the choice of formula changes no verdict below" if not changed
                           else f"the choice of formula changes the verdict of {changed} rows below"),
    }


def _throughput_values(tables, result: pd.DataFrame) -> dict:
    """The reported throughput: its MFU, the step time it implies, and the vendor's other figures."""
    vendor = tables.vendor_measurements
    first, most = tables.guide["model"].iloc[0], result.groupby("model")["mfu_reported"].mean().idxmax()
    flagged = result[result["check_mfu_reported"] == FLAG]
    steps = log_step_times(vendor)
    tutorial_steps = steps[steps["accelerator"].notna()]
    synced = steps[steps["seconds"] == steps["seconds"].max()].iloc[0]
    sync_flops = model.flops_per_token(tables.models, synced["sequence_length"]).loc[synced["model"], "flops"]
    peak_per_gpu = tables.accelerators["peak_bf16_tflops_per_gpu"].iloc[0] * 1e12
    sync_rate = synced["batch_size"] * synced["sequence_length"] / synced["seconds"]
    matched = second_source(tables).dropna(subset=["tutorial_throughput"])
    gap = (matched["tutorial_throughput"] / matched["throughput_tokens_per_s"] - 1).abs()
    odd = matched[gap > AGREEMENT]
    return {
        "first_model": first, "first_model_mfu": _span(result.loc[result["model"] == first, "mfu_reported"]),
        "most_model": most, "most_model_mfu": _span(result.loc[result["model"] == most, "mfu_reported"]),
        "timer_commit": join(sorted(timer_evidence(vendor)["commit"].unique())),
        "summary_flagged_count": f"{len(flagged)}",
        "implied_step_low": f"{flagged['implied_step_s'].min():.2f}",
        "implied_step_high": f"{flagged['implied_step_s'].max():.2f}",
        "implied_batch_low": f"{flagged['batch_size'].min():,}",
        "implied_batch_high": f"{flagged['batch_size'].max():,}",
        "floor_step_low": f"{flagged['floor_step_s'].min():.2f}",
        "floor_step_high": f"{flagged['floor_step_s'].max():.2f}",
        "log_step_low": f"{tutorial_steps['seconds'].min():.2f}",
        "log_step_high": f"{tutorial_steps['seconds'].max():.2f}",
        "log_runs": f"{tutorial_steps.groupby(['file', 'batch_size']).ngroups}",
        "sync_batch": f"{synced['batch_size']:,.0f}", "sync_gpus": f"{synced['gpus']:,.0f}",
        "sync_seconds": f"{synced['seconds']:.1f}", "sync_file": synced["file"], "sync_commit": synced["commit"],
        "sync_mfu": f"{mfu(sync_rate, sync_flops, synced['gpus'] * peak_per_gpu):.0%}",
        "agreement": f"{AGREEMENT:.0%}", "tutorial_agree": f"{(gap <= AGREEMENT).sum()}",
        "tutorial_pairs": f"{len(matched)}", "tutorial_odd": join(_on(odd)) if len(odd) else "none",
    }


def _time_values(tables, result: pd.DataFrame, epochs) -> dict:
    """The training-time reading: epochs that would reconcile it, start-up, one epoch or three."""
    known = result["mfu_from_time"].notna()
    spread = result[known].groupby("model", sort=False)["tokens_ratio"].agg(["min", "max"])
    widest = (spread["max"] / spread["min"]).idxmax() if len(spread) else None
    # The ratio is against the assumed run; times its epochs it is in epochs of the dataset.
    epochs_of = result.loc[known, "model"].map(epochs) if isinstance(epochs, Mapping) else epochs
    in_epochs = (result.loc[known, "tokens_ratio"] * epochs_of).groupby(result.loc[known, "model"])
    mostly = result[result["check_startup"] == FLAG]
    startup = startup_from_logs(tables.vendor_measurements)
    longest = startup.loc[startup["total_min"].idxmax()] if len(startup) else None
    vendor = tables.vendor_measurements
    defaults = vendor.loc[vendor["kind"] == "script_default_epochs", "value"].astype(int)
    usual = defaults.mode().iloc[0]
    others = vendor.loc[defaults.index[defaults != usual]]
    logged = model.one_epoch_logs(vendor, tables.datasets).dropna(subset=["epochs_logged"])
    three = epochs_comparison(tables, (1, 3)).set_index("epochs").loc[3]
    return {
        "widest_model": NO_DATASET_SIZE if widest is None else widest,
        "widest_min": "n/a" if widest is None else f"{in_epochs.min()[widest]:.1f}",
        "widest_max": "n/a" if widest is None else f"{in_epochs.max()[widest]:.1f}",
        "overhead_min": f"{result['overhead_min'].iloc[0]:.1f}",
        "startup_rows": join(_on(mostly)) if len(mostly) else "no row", "startup_count": f"{len(mostly)}",
        "log_startup_high": NO_STARTUP_LOG if longest is None else f"{startup['total_min'].max():.1f}",
        "log_startup_run": NO_STARTUP_LOG if longest is None else f"{longest['model']} on {longest['accelerator']}",
        "default_epochs": f"{usual} in {(defaults == usual).sum()} of {len(defaults)} scripts" + "".join(
            f"; {value:.0f} in {file}" for value, file in zip(others["value"], others["file"], strict=True)),
        "one_epoch_logs": f"{(logged['epochs_logged'] == 1).sum()}", "logs_checked": f"{len(logged)}",
        "three_over": f"{three['rows above 100% of peak']:.0f}", "three_mfu": f"{three['time model: MFU']:.0%}",
        "three_ruled_out": f"{three['rows the time model rules out']:.0f}",
        "epochs_verdict": "one epoch" if three["rows the time model rules out"] else "either reading",
    }


def _memory_values(result: pd.DataFrame) -> dict:
    over = (result["check_vram_capacity"] == FLAG).sum()
    growth = result[result["check_vram_growth"] == FLAG]
    falls = ", ".join(_on(growth))
    return {
        "vram_capacity": "in every row" if not over else f"in all but {over} rows",
        "vram_growth": (f"It falls on a larger flavor, although the batch grows, for {falls}: possible if the "
                        "platform changes its parallel layout between flavors, but worth asking about before "
                        "sizing a run on it." if falls else "It never falls when the flavor grows."),
    }
