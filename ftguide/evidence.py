"""How wrong the planner is: its predictions against public fine-tuning measurements.

data/finetune_measurements.csv holds runs other people measured (peak memory per GPU, tokens per
second per GPU), each with its source, commit and quote and the run's configuration. Every
prediction here is made as the planner makes it (ftguide.planner.kernel) and is judged
leave-one-source-out: whatever is fitted (the runtime reserve, the utilisation curve) is fitted
again without the source being predicted, so no source is judged on numbers it helped set.

- Memory: the kernel's states and micro-batch activations and logits, plus a runtime reserve (the
  CUDA context, allocator caches and fragmentation): the median of measured minus modelled over the
  other sources' rows of the same training stack, or of every stack where no other source used it.
- Throughput: model-FLOP utilisation (MFU) as a power of the tokens in one micro-batch, fitted on
  the other sources' rows, with the range their residuals span (5th to 95th percentile).
A knob a source does not state takes the planner's default, and the row says which it assumed.
"""


import numpy as np
import pandas as pd

from ftguide.planner import inputs, kernel

GIB = 2**30
MEMORY_TOLERANCE = 0.15  # the target: memory within ±15%
RANGE_QUANTILES = (0.05, 0.95)  # the predicted throughput range: residuals of the fit between these
KNOBS = ("checkpointing", "optimizer", "loss", "lora_rank", "lora_targets", "qlora_format", "sharding")
# The knobs that mean something for each method (a full fine-tune has no LoRA rank).
METHOD_KNOBS = {"full": ("lora_rank", "lora_targets", "qlora_format"), "lora": ("qlora_format",), "qlora": ()}
UNSTATED = "unstated"


def run_of(row: dict) -> tuple:
    """The measured run in the planner's terms, and the knobs the source does not state (which take
    the planner's defaults)."""
    run, assumed = {"method": row["method"]}, []
    for knob in KNOBS:
        value = row.get(knob)
        if value is None or value != value or value in (UNSTATED, ""):
            value = inputs.BY_NAME[knob].default
            if knob not in METHOD_KNOBS[row["method"]]:
                assumed.append(knob)
        run[knob] = int(value) if knob == "lora_rank" else value
    if run["qlora_format"] not in kernel.QLORA_BITS:  # GPTQ 4-bit: counted as NF4 without double quantization
        run["qlora_format"] = "nf4"
    return run, assumed


def modelled_gib(m: dict, row: dict, run: dict) -> float:
    """The kernel's memory per GPU for a measured run, before any reserve: states (sharded or not)
    and the micro-batch's activations and logits (FlashAttention: no attention scores kept)."""
    states = kernel.device_state_bytes(m, run, int(row["gpus"]))
    sample = kernel.sample_bytes(m, int(row["sequence_length"]), run, scores_kept=False)
    return (states + int(row["micro_batch"]) * sample) / GIB


def measured_runs(tables) -> pd.DataFrame:
    """Every measurement with the model's coefficients, the run, and what was assumed."""
    models = {row["model"]: kernel.model_coefficients(row) for row in tables.models.to_dict(orient="records")}
    rows = []
    for row in tables.finetune_measurements.to_dict(orient="records"):
        run, assumed = run_of(row)
        m = models[row["model"]]
        rows.append({**row, "run": run, "assumed": ", ".join(assumed) or "none",
                     "modelled_gib": modelled_gib(m, row, run),
                     "flops_per_token": kernel.flops_per_token(m, int(row["sequence_length"]), run)})
    return pd.DataFrame(rows)


# --- memory -----------------------------------------------------------------------------------------

def reserve_without(runs: pd.DataFrame, source: str, stack: str) -> tuple:
    """The runtime reserve fitted without one source: the median of measured minus modelled over
    the other sources' rows of the same stack, else of every stack. Returns (GiB, what it rests on)."""
    others = runs[runs["source"] != source]
    same = others[others["stack"] == stack]
    basis, label = (same, "same stack") if len(same) else (others, "every stack")
    return float((basis["peak_memory_gib"] - basis["modelled_gib"]).median()), label


def memory_table(tables) -> pd.DataFrame:
    """Predicted against measured peak memory per GPU, every row judged leave-one-source-out."""
    runs = measured_runs(tables)
    runs = runs[runs["peak_memory_gib"].notna()].reset_index(drop=True)
    fitted = [reserve_without(runs, row.source, row.stack) for row in runs.itertuples()]
    runs["reserve_gib"] = [gib for gib, _ in fitted]
    runs["reserve_from"] = [label for _, label in fitted]
    runs["predicted_gib"] = runs["modelled_gib"] + runs["reserve_gib"]
    runs["error"] = runs["predicted_gib"] / runs["peak_memory_gib"] - 1
    runs["within"] = runs["error"].abs() <= MEMORY_TOLERANCE
    return runs


def stack_reserves(tables) -> dict:
    """The runtime reserve of each stack, fitted on every source (what the planner uses), in GiB."""
    runs = measured_runs(tables)
    runs = runs[runs["peak_memory_gib"].notna()]
    residual = runs["peak_memory_gib"] - runs["modelled_gib"]
    return {"every stack": float(residual.median()), **residual.groupby(runs["stack"]).median().to_dict()}


# --- throughput -------------------------------------------------------------------------------------

def fit_mfu(tokens_per_micro_batch: pd.Series, mfu: pd.Series) -> dict:
    """ln MFU = a + b · ln(tokens per micro-batch), least squares, with the residuals' range."""
    x, y = np.log(tokens_per_micro_batch.to_numpy(float)), np.log(mfu.to_numpy(float))
    (a, b), *_ = np.linalg.lstsq(np.column_stack([np.ones(len(x)), x]), y, rcond=None)
    residual = y - (a + b * x)
    low, high = np.quantile(residual, RANGE_QUANTILES)
    return {"a": float(a), "b": float(b), "low": float(low), "high": float(high), "rows": len(x),
            "tokens_min": float(tokens_per_micro_batch.min()), "tokens_max": float(tokens_per_micro_batch.max())}


def mfu_range(fit: dict, tokens_per_micro_batch: float) -> tuple:
    """The MFU range a fit predicts at a number of tokens per micro-batch, never above 1 (the
    planner's own formula, kernel.mfu_range)."""
    low, high, _ = kernel.mfu_range({"mfu_curve": fit}, tokens_per_micro_batch)
    return low, high


MIN_GPU_ROWS = 10  # runs on one GPU, from at least two sources, before it gets a curve of its own


def utilisation_runs(tables) -> pd.DataFrame:
    """Measured BF16 runs with a known peak: their MFU and tokens per micro-batch."""
    runs = measured_runs(tables)
    peaks = tables.gpus.set_index("gpu")["peak_bf16_tflops"] * 1e12
    runs = runs[runs["tokens_per_s_per_gpu"].notna() & (runs["precision"] == "BF16")
                & runs["gpu"].map(peaks).notna()].reset_index(drop=True)
    runs["peak_flops"] = runs["gpu"].map(peaks)
    runs["tokens_per_micro_batch"] = runs["micro_batch"] * runs["sequence_length"]
    runs["mfu"] = kernel.utilisation(runs["tokens_per_s_per_gpu"], runs["flops_per_token"], runs["peak_flops"])
    return runs


def mfu_fits(tables) -> dict:
    """The planner's utilisation curves: one over every measured run, and one per GPU measured
    often enough by more than one source; each says what it rests on."""
    runs = utilisation_runs(tables)
    out = {"every GPU": {**fit_mfu(runs["tokens_per_micro_batch"], runs["mfu"]),
                         "sources": int(runs["source"].nunique())}}
    for gpu, rows in runs.groupby("gpu"):
        sources = int(rows["source"].nunique())
        own = len(rows) >= MIN_GPU_ROWS and sources >= 2
        out[gpu] = {**(fit_mfu(rows["tokens_per_micro_batch"], rows["mfu"]) if own else out["every GPU"]),
                    "sources": sources, "measured_rows": len(rows), "own_curve": own}
    return out


def memory_band(tables) -> float:
    """The memory model's own error: the median absolute leave-one-source-out error, the band
    inside which a plan that fits is called tight."""
    return float(memory_table(tables)["error"].abs().median())


def throughput_table(tables) -> pd.DataFrame:
    """Measured tokens/s per GPU against the range predicted leave-one-source-out (BF16 runs on a
    GPU of the catalog with a known peak)."""
    runs = utilisation_runs(tables)
    ranges = []
    for row in runs.itertuples():
        others = runs[runs["source"] != row.source]
        low, high = mfu_range(fit_mfu(others["tokens_per_micro_batch"], others["mfu"]), row.tokens_per_micro_batch)
        ranges.append((low, high))
    runs["mfu_low"], runs["mfu_high"] = zip(*ranges, strict=True) if ranges else ([], [])
    speed = runs["peak_flops"] / runs["flops_per_token"]  # tokens/s at 100% of peak
    runs["predicted_low"], runs["predicted_high"] = runs["mfu_low"] * speed, runs["mfu_high"] * speed
    runs["inside"] = runs["tokens_per_s_per_gpu"].between(runs["predicted_low"], runs["predicted_high"])
    return runs


# --- what the page says -----------------------------------------------------------------------------

def per_source(memory: pd.DataFrame, throughput: pd.DataFrame) -> pd.DataFrame:
    """Per source: rows, and the share the planner gets right, for memory and throughput."""
    sources = sorted(set(memory["source"]) | set(throughput["source"]))
    return pd.DataFrame({
        "memory rows": memory.groupby("source").size().reindex(sources, fill_value=0),
        "memory within ±15%": memory.groupby("source")["within"].mean().reindex(sources),
        "median memory error": memory.groupby("source")["error"].median().reindex(sources),
        "throughput rows": throughput.groupby("source").size().reindex(sources, fill_value=0),
        "throughput inside range": throughput.groupby("source")["inside"].mean().reindex(sources),
    }).rename_axis("source")


# The misses as a reader scans them: the run, then measured against predicted, then what the run
# rests on (its source, stack and what the source leaves unstated).
MEMORY_MISS_COLUMNS = {
    "id": "Run", "model": "Model", "gpu": "GPU", "peak_memory_gib": "Measured (GiB)",
    "predicted_gib": "Predicted (GiB)", "error": "Error (%)", "method": "Method",
    "sequence_length": "Sequence length (tokens)",
    "micro_batch": "Micro-batch", "stack": "Stack", "memory_kind": "Memory measured as", "source": "Source",
    "assumed": "Assumed (unstated by the source)",
}
THROUGHPUT_MISS_COLUMNS = {
    "id": "Run", "model": "Model", "gpu": "GPU", "tokens_per_s_per_gpu": "Measured (tokens/s per GPU)",
    "predicted_low": "Predicted, low", "predicted_high": "Predicted, high", "mfu": "Measured MFU (%)",
    "method": "Method", "tokens_per_micro_batch": "Tokens per micro-batch", "stack": "Stack", "source": "Source",
    "assumed": "Assumed (unstated by the source)",
}


def memory_misses(memory: pd.DataFrame) -> pd.DataFrame:
    """The memory predictions outside the tolerance, by run."""
    misses = memory.loc[~memory["within"], list(MEMORY_MISS_COLUMNS)]
    return misses.rename(columns=MEMORY_MISS_COLUMNS).set_index("Run")


def throughput_misses(throughput: pd.DataFrame) -> pd.DataFrame:
    """The measured speeds outside the predicted range, by run."""
    outside = throughput.loc[~throughput["inside"], list(THROUGHPUT_MISS_COLUMNS)]
    return outside.rename(columns=THROUGHPUT_MISS_COLUMNS).set_index("Run")


def summary(memory: pd.DataFrame, throughput: pd.DataFrame) -> dict:
    """The headline numbers, formatted for the page."""
    return {
        "memory_rows": f"{len(memory):,}", "memory_sources": f"{memory['source'].nunique():,}",
        "memory_within": f"{memory['within'].mean():.0%}", "memory_tolerance": f"{MEMORY_TOLERANCE:.0%}",
        "memory_median_error": f"{memory['error'].abs().median():.0%}",
        "throughput_rows": f"{len(throughput):,}", "throughput_sources": f"{throughput['source'].nunique():,}",
        "throughput_inside": f"{throughput['inside'].mean():.0%}",
        "range_quantiles": f"{RANGE_QUANTILES[0]:.0%} to {RANGE_QUANTILES[1]:.0%}",
    }
