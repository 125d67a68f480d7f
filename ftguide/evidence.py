"""How wrong the planner is: its predictions against public fine-tuning measurements.

data/finetune_measurements.csv holds runs other people measured (peak memory per GPU, tokens per
second per GPU), each with its source, commit and quote and the run's configuration. Every
prediction here is made as the planner makes it (ftguide.planner.kernel) and is judged
leave-one-source-out: whatever is fitted (the runtime reserve, the utilisation curve) is fitted
again without the source being predicted, so no source is judged on numbers it helped set.

- Memory: the kernel's states and micro-batch activations and logits, plus a runtime reserve (the
  CUDA context, allocator caches and fragmentation): a fixed part and a share of the tensors,
  the median regression of measured on modelled memory over the other sources' rows (the fixed
  part over the same training stack's rows where another source used it).
  A run measured as allocated memory counts its tensors alone: no reserve, and it sets none.
  A run measured as reserved memory on micro-batches of varying length holds the allocator's cache
  instead: its tensors times the median peak reserved ÷ peak allocated of the other sources' runs
  that logged both (data/allocator_cache.csv); it sets no reserve either.
- Throughput: model-FLOP utilisation (MFU) rising with the FLOPs of one micro-batch towards a
  ceiling (fixed costs per micro-batch besides the arithmetic), with a factor for QLoRA, fitted on
  the other sources' rows, with the range of what such a curve missed by on a source left out of
  its fit (5th to 95th percentile). As the planner does, a multi-GPU run's time is its
  arithmetic at that MFU plus the kernel's communication: the curve is fitted on the measured time
  less the modelled communication, and each run is predicted as the planner predicts a plan, so the
  score judges both terms.
A knob a source does not state takes its stack's default (data/stack_defaults.csv) for the run's
method and GPU count, else the planner's, and the row says which it assumed and from where.
"""


import numpy as np
import pandas as pd

from ftguide.planner import inputs, kernel

GIB = 2**30
MEMORY_TOLERANCE = 0.15  # the target: memory within ±15%
RANGE_QUANTILES = (0.05, 0.95)  # the predicted throughput range: residuals on unseen sources between these
KNOBS = kernel.STACK_KNOBS
UNSTATED = "unstated"


def stack_defaults(defaults: pd.DataFrame) -> dict:
    """Each stack's sourced defaults (data/stack_defaults.csv) as plain data, {stack: [{knob, value,
    applies_to}]}: what kernel.stack_default reads, here and in the planner (a LoRA rank as a whole number)."""
    return {stack: [{"knob": row.knob, "value": int(row.value) if row.knob == "lora_rank" else row.value,
                     "applies_to": row.applies_to} for row in rows.itertuples()]
            for stack, rows in defaults.groupby("stack", sort=False)}


def run_of(row: dict, defaults: dict) -> tuple:
    """The measured run in the planner's terms, and the knobs the source does not state: each takes
    its stack's default for the run's method and GPU count (`defaults`, from stack_defaults), else
    the planner's, and the list says which."""
    run, assumed = {"method": row["method"]}, []
    for knob in KNOBS:
        value = row.get(knob)
        if value is None or value != value or value in (UNSTATED, ""):
            value = kernel.stack_default(defaults.get(row["stack"], []), knob, row["method"], int(row["gpus"]))
            where = "stack"
            if value is None:
                value, where = inputs.BY_NAME[knob].default, "planner"
            if knob not in kernel.UNUSED_KNOBS[row["method"]]:
                assumed.append(f"{knob} ({where})")
        run[knob] = int(value) if knob == "lora_rank" else value
    if run["qlora_format"] not in kernel.QLORA_BITS:  # GPTQ 4-bit: counted as NF4 without double quantization
        run["qlora_format"] = "nf4"
    if row.get("qlora_keeps_inputs") == "yes":  # bitsandbytes before 0.43.2 (kernel.SAVED_INPUT_BYTES)
        run["qlora_keeps_inputs"] = True
    return run, assumed


def modelled_gib(m: dict, row: dict, run: dict) -> float:
    """The kernel's memory per GPU for a measured run, before any reserve: states (sharded or not),
    the unsharded gradients FSDP's no_sync keeps where the run's code accumulates under it, and the
    larger of the micro-batch's activations and logits (FlashAttention: no attention scores kept)
    and what the optimizer step takes, when the activations are gone: where the run steps under
    DeepSpeed ZeRO-3, the FP32 copy of one sub-group's gradients; where it steps with PyTorch's
    foreach AdamW (knob adamw_step), the square roots of its second moments. A run of one micro-batch a
    step makes its gradients as it frees its activations (kernel.released_gradient_bytes). Under
    no_sync the unsharded gradients stand in for the sharded ones until the last micro-batch
    reduce-scatters them, so they are held with the activations, not with the optimizer step. Where
    the run offloads with FSDP1, its gradient shards are held beside the activations
    (kernel.held_gradient_shard_bytes)."""
    gpus = int(row["gpus"])
    states = kernel.device_state_bytes(m, run, gpus)
    sample = kernel.sample_bytes(m, int(row["sequence_length"]), run, scores_kept=False)
    sub_group = optional(row.get("zero3_sub_group_size"))
    step = 0.0 if sub_group is None else kernel.fp32_gradient_group_bytes(m, run, gpus, sub_group)
    step = max(step, kernel.optimizer_step_bytes(m, run, gpus))
    accumulation = optional(row.get("grad_accum"))  # unstated: as if accumulated, no gradient released
    released = 0 if accumulation is None else kernel.released_gradient_bytes(m, run, gpus, int(accumulation))
    if row.get("fsdp_no_sync") == "yes":
        unsharded = kernel.no_sync_gradient_bytes(m, run) - kernel.gradient_bytes(m, run, gpus)
        return (states + max(int(row["micro_batch"]) * sample + unsharded, step)) / GIB
    # FSDP1's CPU offload holds every gradient shard to the end of the backward pass, in blocks of its
    # own stream that the next forward pass cannot reuse, so beside the activations, not in their place.
    held = kernel.held_gradient_shard_bytes(m, run, gpus) if row.get("fsdp1_offload") == "yes" else 0
    return (kernel.peak_bytes(states, sample, int(row["micro_batch"]), step, released) + held) / GIB


def measured_runs(tables) -> pd.DataFrame:
    """Every measurement with the model's coefficients, the run, and what was assumed."""
    models = {row["model"]: kernel.model_coefficients(row) for row in tables.models.to_dict(orient="records")}
    rows, defaults = [], stack_defaults(tables.stack_defaults)
    for row in tables.finetune_measurements.to_dict(orient="records"):
        run, assumed = run_of(row, defaults)
        m = models[row["model"]]
        rows.append({**row, "run": run, "assumed": ", ".join(assumed) or "none",
                     "modelled_gib": modelled_gib(m, row, run),
                     "flops_per_token": kernel.flops_per_token(m, int(row["sequence_length"]), run),
                     "hardware_share": kernel.hardware_share(m, int(row["sequence_length"]), run)})
    return pd.DataFrame(rows)


# --- memory -----------------------------------------------------------------------------------------

# torch.cuda.max_memory_allocated counts the tensors alone: no CUDA context, no allocator cache, none
# of what the runtime reserve stands for. A run measured so is predicted without it, and its residual
# (measured minus modelled) says nothing about the reserve, so no reserve is fitted on it.
NO_RESERVE_KINDS = ("allocated",)


# The stack of a run that names none of data/stack_defaults.csv's: each such source has its own loop
# (swift, PEFT's scripts, a personal trainer), so they share no stack and pool with every stack.
NO_STACK = "other"


# The runtime reserve: a fixed part (the CUDA context, the libraries' workspaces) and a share of the
# tensors (the caching allocator rounds blocks up and keeps freed blocks, so what it holds beyond the
# tensors grows with them). Fitted as the median regression of measured on modelled memory (least
# absolute deviations: a few runs with a large allocator cache do not set it): for each share on
# this grid, the fixed part is the median of what is left, and the share whose residuals sum
# smallest wins (the first on a tie). A share of 0 is the constant reserve, the median alone.
RESERVE_SHARES = tuple(round(0.005 * step, 3) for step in range(101))  # 0 to 50%


def fit_reserve(measured: pd.Series, modelled: pd.Series) -> tuple:
    """(fixed GiB, share) of the reserve, the median regression of measured on modelled memory."""
    best = None
    for share in RESERVE_SHARES:
        rest = measured - (1 + share) * modelled
        fixed = float(rest.median())
        loss = float((rest - fixed).abs().sum())
        if best is None or loss < best[0]:
            best = (loss, fixed, share)
    return best[1], best[2]


# PyTorch's caching allocator keeps the blocks a step frees for the next; where micro-batches change
# length from step to step, the next step's tensors do not fit the kept blocks and it asks for more
# (its Note [Expandable Segments]). What it then holds beyond the tensors is no fixed reserve: runs
# that logged both peaks say how much, as peak reserved ÷ peak allocated memory.
CACHE_LENGTHS = ("varying",)


def is_cached(runs: pd.DataFrame) -> pd.Series:
    """Runs measured as reserved memory on micro-batches of varying length: the allocator's cache."""
    return (runs["memory_kind"] == "reserved") & runs["batch_lengths"].isin(CACHE_LENGTHS)


def cache_factor(cache: pd.DataFrame, without: str = None) -> dict:
    """Peak reserved ÷ peak allocated memory over the runs of varying length that logged both, one
    source left out: {factor (the median; 1 where no run is left), runs, low, high}."""
    rows = cache[cache["batch_lengths"].isin(CACHE_LENGTHS) & (cache["source"] != without)]
    ratios = rows["reserved_mib"] / rows["allocated_mib"]
    if ratios.empty:
        return {"factor": 1.0, "runs": 0, "low": 1.0, "high": 1.0}
    return {"factor": float(ratios.median()), "runs": len(ratios), "low": float(ratios.min()),
            "high": float(ratios.max())}


def reserve_without(runs: pd.DataFrame, source: str, stack: str, kind: str = "unstated") -> tuple:
    """The runtime reserve fitted without one source: the fixed part and share of fit_reserve over
    the other sources' rows, the fixed part over the rows of the same stack where there are any;
    rows of tensors alone (NO_RESERVE_KINDS) left out; none for a run measured so.
    Returns (fixed GiB, share, what it rests on)."""
    if kind in NO_RESERVE_KINDS:
        return 0.0, 0.0, f"none ({kind})"
    others = runs[(runs["source"] != source) & ~runs["memory_kind"].isin(NO_RESERVE_KINDS) & ~is_cached(runs)]
    fixed, share = fit_reserve(others["peak_memory_gib"], others["modelled_gib"])
    same = others[(others["stack"] == stack) & (stack != NO_STACK)]
    if len(same) == 0:
        return fixed, share, "every stack"
    return float((same["peak_memory_gib"] - (1 + share) * same["modelled_gib"]).median()), share, "same stack"


def memory_table(tables) -> pd.DataFrame:
    """Predicted against measured peak memory per GPU, every row judged leave-one-source-out."""
    runs = measured_runs(tables)
    runs = runs[runs["peak_memory_gib"].notna()].reset_index(drop=True)
    keys = list(zip(runs["source"], runs["stack"], runs["memory_kind"], strict=True))
    fitted = {key: reserve_without(runs, *key) for key in set(keys)}  # one fit per source, stack and kind
    runs["reserve_fixed_gib"] = [fitted[key][0] for key in keys]
    runs["reserve_from"] = [fitted[key][2] for key in keys]
    # As the planner adds it (kernel.with_reserve), in MiB.
    reserves = [{"reserve_mib": fitted[key][0] * 1024, "reserve_share": fitted[key][1]} for key in keys]
    runs["predicted_gib"] = [kernel.with_reserve(hw, modelled * 1024) / 1024
                             for hw, modelled in zip(reserves, runs["modelled_gib"], strict=True)]
    # The allocator's cache, held to the card: it frees what it keeps before it would run out.
    cached = runs["cached"] = is_cached(runs)
    factors = {source: cache_factor(tables.allocator_cache, source) for source in runs.loc[cached, "source"]}
    card_gib = runs["gpu"].map(tables.gpus.set_index("gpu")["memory_mib"]) / 1024
    runs.loc[cached, "predicted_gib"] = np.minimum(
        runs.loc[cached, "modelled_gib"] * runs.loc[cached, "source"].map(lambda s: factors[s]["factor"]),
        card_gib[cached])
    runs.loc[cached, "reserve_fixed_gib"] = 0.0
    runs.loc[cached, "reserve_from"] = [f"allocator cache ({factors[source]['runs']} runs)"
                                        for source in runs.loc[cached, "source"]]
    runs["reserve_gib"] = runs["predicted_gib"] - runs["modelled_gib"]
    runs["error"] = runs["predicted_gib"] / runs["peak_memory_gib"] - 1
    runs["within"] = runs["error"].abs() <= MEMORY_TOLERANCE
    return runs


def reserve(tables) -> dict:
    """The runtime reserve the planner uses on a GPU, fitted on every source: {fixed_gib, share}."""
    runs = measured_runs(tables)
    runs = runs[runs["peak_memory_gib"].notna() & ~runs["memory_kind"].isin(NO_RESERVE_KINDS)]
    runs = runs[~is_cached(runs)]
    fixed, share = fit_reserve(runs["peak_memory_gib"], runs["modelled_gib"])
    return {"fixed_gib": fixed, "share": share}


# --- throughput -------------------------------------------------------------------------------------

def fit_mfu(work: pd.Series, mfu: pd.Series, qlora: pd.Series = None) -> dict:
    """Utilisation of peak = ceiling × work / (work + half_work) × e^qlora for a QLoRA run, least squares on its log.
    A micro-batch pays fixed costs (kernel launches, the optimizer, the loader) besides its
    arithmetic at the ceiling: half_work is the work whose arithmetic takes as long as they do, where
    a run reaches half its ceiling. For a given half_work the rest is linear, so ln half_work is
    profiled over a grid, then a finer one around the best, solving the ceiling (held at or below
    1, the peak) and the QLoRA factor for each. Without QLoRA runs to fit on, `qlora` is 0."""
    x, y = work.to_numpy(float), np.log(mfu.to_numpy(float))
    is_qlora = np.zeros(len(x)) if qlora is None else qlora.to_numpy(float)
    coarse = profile(x, y, is_qlora, np.arange(np.log(x.min()) - 6, np.log(x.max()) + 6, HALF_WORK_STEPS[0]))
    fine = np.arange(-HALF_WORK_STEPS[0], HALF_WORK_STEPS[0], HALF_WORK_STEPS[1]) + np.log(coarse["half_work"])
    return profile(x, y, is_qlora, fine)


HALF_WORK_STEPS = (0.05, 0.0005)  # the grids of ln half_work: coarse, then fine around the best


def profile(x: np.ndarray, y: np.ndarray, is_qlora: np.ndarray, ln_half_work: np.ndarray) -> dict:
    """fit_mfu's best curve among the given ln half_work."""
    half_work = np.exp(ln_half_work)
    rest = y - np.log(x / (x + half_work[:, None]))  # ln ceiling + qlora · [QLoRA], one row per half_work
    n_qlora = is_qlora.sum()
    if 0 < n_qlora < len(x):
        ceiling, q = np.linalg.solve(np.array([[len(x), n_qlora], [n_qlora, n_qlora]]),
                                     np.stack([rest.sum(axis=1), rest @ is_qlora]))
    else:  # no QLoRA run, or nothing else: the ceiling alone
        ceiling, q = rest.mean(axis=1), np.zeros(len(half_work))
    above = ceiling > 0  # above the peak: held at it, the QLoRA factor refitted
    ceiling = np.where(above, 0.0, ceiling)
    if 0 < n_qlora < len(x):
        q = np.where(above, rest[:, is_qlora == 1].mean(axis=1), q)
    error = ((rest - ceiling[:, None] - q[:, None] * is_qlora) ** 2).sum(axis=1)
    best = int(np.argmin(error))
    return {"ceiling": float(np.exp(ceiling[best])), "half_work": float(half_work[best]), "qlora": float(q[best])}


def centre_mfu(curve: dict, runs: pd.DataFrame) -> np.ndarray:
    """ln of the curve's central MFU for each run, as the planner reads it (kernel.mfu_range)."""
    fitted = {"mfu_curve": {**curve, "low": 0.0, "high": 0.0}}
    return np.log([kernel.mfu_range(fitted, work, method, share)[2] for work, method, share
                   in zip(runs["flops_per_micro_batch"], runs["method"], runs["hardware_share"], strict=True)])


def fit_runs(runs: pd.DataFrame) -> dict:
    """fit_mfu over measured runs (utilisation_runs): the utilisation of the arithmetic their GPUs
    did (recomputation included, the causal half of the attention), against that arithmetic per
    micro-batch, their communication taken out."""
    return fit_mfu(runs["hardware_work"], runs["compute_utilisation"], runs["method"] == "qlora")


def unseen_residuals(runs: pd.DataFrame) -> np.ndarray:
    """ln measured MFU less the curve's, each source's runs against the curve fitted without that
    source: how wrong the curve is on a stack and a setup it has not seen, which is what a reader's
    run is to it. With one source there is nothing unseen, and its own residuals stand in."""
    if runs["source"].nunique() < 2:
        return np.log(runs["compute_mfu"].to_numpy(float)) - centre_mfu(fit_runs(runs), runs)
    return np.concatenate([np.log(rows["compute_mfu"].to_numpy(float))
                           - centre_mfu(fit_runs(runs[runs["source"] != source]), rows)
                           for source, rows in runs.groupby("source")])


CURVE_KEYS = ("ceiling", "half_work", "qlora", "low", "high")


def mfu_curve(runs: pd.DataFrame) -> dict:
    """The planner's utilisation curve (kernel.mfu_range): fitted on every run given, its range
    what the residuals on unseen sources span (RANGE_QUANTILES), with what it rests on."""
    low, high = np.quantile(unseen_residuals(runs), RANGE_QUANTILES)
    return {**fit_runs(runs), "low": float(low), "high": float(high), "rows": len(runs),
            "sources": int(runs["source"].nunique()),
            "max_gpus": int(runs["gpus"].max())}  # the largest run measured: the evidence's scale


def communication_seconds_per_token(m: dict, row: dict, gpu: dict) -> float:
    """The kernel's communication of a measured run (kernel.communication_seconds: what the planner
    adds to a plan's central and long times), in seconds per token on one GPU, over the links of
    data/gpus.csv. Like a plan, the run sits on nodes of up to kernel.GPUS_PER_NODE GPUs: the data
    say no more (Qwen's 'multinode' LoRA ran on two servers of two A100s; modelled on one node, its
    communication is 0.08% of the measured step instead of about 0.4%)."""
    gpus = int(row["gpus"])
    hw = {"gpus": gpus, "devices": gpus, "intra_node_gb_s": optional(gpu["intra_node_gb_s"]),
          "inter_node_gb_s": optional(gpu["inter_node_gb_s"])}
    split = {"micro_batch": int(row["micro_batch"]), "grad_accum": int(optional(row["grad_accum"]) or 1)}
    tokens = float(gpus * row["sequence_length"] * row["micro_batch"] * split["grad_accum"])  # one optimizer step
    run = {**row["run"], "sequence_length": int(row["sequence_length"])}
    return kernel.communication_seconds(m, hw, run, split, tokens) / (tokens / gpus)


def optional(value):
    """A number from data/, or None where its cell is empty."""
    return None if pd.isna(value) else float(value)


def utilisation_runs(tables) -> pd.DataFrame:
    """Measured BF16 runs with a known peak: their MFU (of the measured time), the modelled
    communication, the MFU of their arithmetic alone (the measured time less that communication,
    or all of it where the model's communication would take the whole step: then it was hidden),
    and their tokens per micro-batch."""
    runs = measured_runs(tables)
    gpus = tables.gpus.set_index("gpu")
    peaks = gpus["peak_bf16_tflops"] * 1e12
    runs = runs[runs["tokens_per_s_per_gpu"].notna() & (runs["precision"] == "BF16")
                & runs["gpu"].map(peaks).notna()].reset_index(drop=True)
    runs["peak_flops"] = runs["gpu"].map(peaks)
    runs["tokens_per_micro_batch"] = runs["micro_batch"] * runs["sequence_length"]
    runs["flops_per_micro_batch"] = runs["tokens_per_micro_batch"] * runs["flops_per_token"]
    runs["hardware_work"] = runs["flops_per_micro_batch"] * runs["hardware_share"]  # what the curve is read at
    runs["mfu"] = kernel.utilisation(runs["tokens_per_s_per_gpu"], runs["flops_per_token"], runs["peak_flops"])
    models = {row["model"]: kernel.model_coefficients(row) for row in tables.models.to_dict(orient="records")}
    runs["communication_s_per_token"] = [
        communication_seconds_per_token(models[row["model"]], row, gpus.loc[row["gpu"]])
        for row in runs.to_dict(orient="records")]
    measured_s = 1 / runs["tokens_per_s_per_gpu"]
    compute_s = (measured_s - runs["communication_s_per_token"]).where(lambda s: s > 0, measured_s)
    runs["compute_mfu"] = kernel.utilisation(1 / compute_s, runs["flops_per_token"], runs["peak_flops"])
    runs["compute_utilisation"] = runs["compute_mfu"] * runs["hardware_share"]  # of the GPU's arithmetic
    return runs


def mfu_fits(tables) -> dict:
    """The planner's utilisation curve, one over every measured run ("every GPU", mfu_curve), and
    what was measured on each GPU: its runs, their sources and the lowest and highest MFU they reached."""
    runs = utilisation_runs(tables)
    return {"every GPU": mfu_curve(runs),
            **{gpu: {"measured_rows": len(rows), "sources": int(rows["source"].nunique()),
                     "mfu_min": float(rows["mfu"].min()), "mfu_max": float(rows["mfu"].max())}
               for gpu, rows in runs.groupby("gpu")}}


def beyond_the_band(memory: pd.DataFrame) -> dict:
    """How often the verdict "fits" would have been too kind on the evidence (memory_table): the band
    (the median absolute error, memory_band), the share of runs that held more than their prediction
    plus the band, and what one run in ten held above its prediction (the 90th percentile of measured
    over predicted)."""
    band = median_error(memory)
    held = memory["peak_memory_gib"] / memory["predicted_gib"]
    return {"band": band, "share_over": float((held > 1 + band).mean()), "tenth": float(np.quantile(held, 0.9))}


def verdicts_on_runs_that_ran(memory: pd.DataFrame, gpus: pd.DataFrame) -> pd.Series:
    """The planner's verdict (kernel.fit_verdict) on each measured run (memory_table), every one of
    which ran on its GPUs: its prediction against the card's memory (data/gpus.csv), with the median
    absolute error as the tight band. "no" is a run that ran and the planner would have refused."""
    card_gib = memory["gpu"].map(gpus.set_index("gpu")["memory_mib"] / 1024)
    band = median_error(memory)
    return pd.Series([kernel.fit_verdict(needed, have, needed <= have, band)
                      for needed, have in zip(memory["predicted_gib"], card_gib, strict=True)], index=memory.index)


def memory_band(tables) -> float:
    """The memory model's own error: the median absolute leave-one-source-out error, the band
    inside which a plan that fits is called tight."""
    return median_error(memory_table(tables))


def median_error(memory: pd.DataFrame) -> float:
    """The median absolute error of memory predictions (memory_table)."""
    return float(memory["error"].abs().median())


def throughput_table(tables) -> pd.DataFrame:
    """Measured tokens/s per GPU against the range predicted leave-one-source-out (BF16 runs on a
    GPU of the catalog with a known peak): the planner's curve (mfu_curve) made of the other sources
    alone, its range too, with the run's modelled communication."""
    runs = utilisation_runs(tables)
    curves = {source: {"mfu_curve": {key: curve[key] for key in CURVE_KEYS}}
              for source in runs["source"].unique()
              for curve in [mfu_curve(runs[runs["source"] != source])]}
    ranges = [kernel.mfu_range(curves[row.source], row.flops_per_micro_batch, row.method, row.hardware_share)[:2]
              for row in runs.itertuples()]
    runs["mfu_low"], runs["mfu_high"] = zip(*ranges, strict=True) if ranges else ([], [])
    # As kernel.option times a plan (kernel.run_seconds, no start-up): a token's seconds at 100% of
    # peak, at the MFU range, with the communication hidden at the fast end and added at the slow end.
    seconds = [kernel.run_seconds(row.flops_per_token / row.peak_flops, (row.mfu_low, row.mfu_high, row.mfu_low), 0.0,
                                  row.communication_s_per_token) for row in runs.itertuples()]
    runs["predicted_high"] = [1 / fastest for fastest, _, _ in seconds]
    runs["predicted_low"] = [1 / slowest for _, slowest, _ in seconds]
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


# Why a memory prediction misses, the first rule that holds: each reads the run's own data.
KNOBS_THAT_MOVE_MEMORY = ("sharding", "checkpointing", "optimizer")


def above_one_gpu_twin(row, memory: pd.DataFrame) -> bool:
    """A multi-GPU run measured at or above the same source's same run on one GPU: its peak is not a
    sharded training step's."""
    twins = memory[(memory["source"] == row["source"]) & (memory["model"] == row["model"])
                   & (memory["method"] == row["method"]) & (memory["gpus"] == 1)]
    return row["gpus"] > 1 and len(twins) > 0 and row["peak_memory_gib"] >= twins["peak_memory_gib"].min()


MEMORY_REASONS = (
    ("above its one-GPU run", lambda row, memory: row["error"] < 0 and above_one_gpu_twin(row, memory),
     "more per GPU than the same run on one GPU: the peak is not the sharded training step's (the whole "
     "model is held at once, as when it is loaded before it is sharded)"),
    ("varying lengths", lambda row, memory: row["cached"],
     "PyTorch's reserved memory on micro-batches of varying length, predicted as the tensors times the median "
     "reserved ÷ allocated of another source's runs: how much the allocator keeps follows the order of the "
     "lengths, which no description of the run gives"),
    ("allocator cache", lambda row, memory: row["error"] < 0 and row["memory_kind"] == "reserved",
     "PyTorch's reserved memory: the allocator's cache, larger than the reserve the other sources show"),
    ("no CUDA context", lambda row, memory: row["error"] > 0 and row["memory_kind"] == "reserved"
     and row["peak_memory_gib"] - row["modelled_gib"] < row["reserve_fixed_gib"],
     "PyTorch's reserved memory is what its caching allocator manages, without the CUDA context (PyTorch's "
     "docs of memory_reserved and memory_allocated); the reserve's fixed part, fitted mostly on sources that "
     "count the whole device, includes it, and this run keeps less than that part beyond its tensors"),
    ("knob assumed", lambda row, memory: any(knob in row["assumed"] for knob in KNOBS_THAT_MOVE_MEMORY),
     "the source does not state a knob that moves memory; its stack's default (else the planner's) was assumed"),
    ("QLoRA buffers", lambda row, memory: row["error"] < 0 and row["method"] == "qlora",
     "QLoRA measured above its 4-bit base and activations: buffers the kernel does not count (the inputs "
     "bitsandbytes before 0.43.2 kept for each 4-bit projection are counted only where the row says so)"),
    ("under", lambda row, memory: row["error"] < 0, "a cost the kernel does not model"),
    ("over", lambda row, memory: True,
     "the run keeps less than the kernel counts: a saving its stated knobs do not name"),
)


def memory_misses(memory: pd.DataFrame) -> pd.DataFrame:
    """The memory predictions outside the tolerance, each with the class of its miss and why."""
    misses = memory[~memory["within"]].copy()
    reasons = [next((name, text) for name, holds, text in MEMORY_REASONS if holds(row, memory))
               for _, row in misses.iterrows()]
    misses["class"], misses["why"] = [name for name, _ in reasons], [text for _, text in reasons]
    return misses


def miss_classes(misses: pd.DataFrame) -> pd.DataFrame:
    """Each class of miss: how many runs, from which sources, and why (memory_misses or
    throughput_misses; a class whose runs differ in why takes its first run's)."""
    out = misses.groupby("class", sort=False).agg(
        why=("why", "first"), runs=("id", "size"), sources=("source", lambda names: ", ".join(sorted(set(names)))))
    # The sources inside the sentence: a table of one column of prose fits a phone's width.
    out["why, and in which sources"] = out["why"] + " (" + out["sources"] + ")"
    return out[["runs", "why, and in which sources"]].sort_values("runs", ascending=False, kind="stable").rename_axis(
        "miss")


def throughput_misses(throughput: pd.DataFrame) -> pd.DataFrame:
    """The measured speeds outside the predicted range, each saying on which side."""
    misses = throughput[~throughput["inside"]].copy()
    misses["class"] = (misses["tokens_per_s_per_gpu"] < misses["predicted_low"]).map({True: "slower", False: "faster"})
    misses["why"] = ("measured " + misses["class"] + " than the other sources' runs whose GPUs did as much "
                     "arithmetic per micro-batch: fixed costs or efficiency that the arithmetic (recomputation and "
                     "the causal attention counted), the QLoRA factor and (on several GPUs) the modelled "
                     "communication do not capture")
    return misses


# What makes two measured runs the same run: the model, the hardware, the batch and every knob.
SAME_RUN = ("source", "model", "gpu", "gpus", "method", "sequence_length", "micro_batch", "memory_kind", *KNOBS)


def measured_twice(memory: pd.DataFrame) -> pd.DataFrame:
    """Runs one source measured more than once, at different commits, with the same configuration:
    the lowest and highest peak memory of each, the widest gap first. The spread is the
    measurement's own, which no model of the run can predict."""
    keyed = memory.assign(**{knob: memory["run"].map(lambda run, knob=knob: run[knob]) for knob in KNOBS})
    runs = keyed.groupby(list(SAME_RUN), dropna=False).agg(
        commits=("commit", "nunique"), low=("peak_memory_gib", "min"), high=("peak_memory_gib", "max"))
    runs = runs[runs["commits"] > 1].reset_index()
    return runs.assign(gap=runs["high"] - runs["low"]).sort_values("gap", ascending=False, kind="stable")


def cache_values(cache: dict) -> dict:
    """cache_factor's figures, formatted for a page."""
    return {"cache_factor": f"{cache['factor']:.2f}", "cache_runs": f"{cache['runs']:,}",
            "cache_low": f"{cache['low']:.2f}", "cache_high": f"{cache['high']:.2f}"}


def summary(memory: pd.DataFrame, throughput: pd.DataFrame, reserve_fit: dict, curve: dict, cache: dict) -> dict:
    """The headline numbers, formatted for the page; `reserve_fit`: reserve() on every source;
    `curve`: mfu_curve on every source; `cache`: cache_factor on every source."""
    cached = memory[memory["cached"]]
    twice = next(iter(measured_twice(memory).to_dict(orient="records")), None)
    widest = {"twice_source": "n/a", "twice_model": "n/a", "twice_method": "n/a", "twice_micro": "n/a",
              "twice_length": "n/a", "twice_low": "n/a", "twice_high": "n/a"} if twice is None else {
        "twice_source": twice["source"], "twice_model": twice["model"],
        "twice_method": kernel.METHODS[twice["method"]], "twice_micro": f"{twice['micro_batch']:,}",
        "twice_length": f"{twice['sequence_length']:,}", "twice_low": f"{twice['low']:.1f}",
        "twice_high": f"{twice['high']:.1f}"}
    return {**widest,
        "memory_rows": f"{len(memory):,}", "memory_sources": f"{memory['source'].nunique():,}",
        "memory_within": f"{memory['within'].mean():.0%}", "memory_tolerance": f"{MEMORY_TOLERANCE:.0%}",
        "memory_median_error": f"{median_error(memory):.0%}",
        "reserve_fixed": f"{reserve_fit['fixed_gib']:.1f}", "reserve_share": f"{reserve_fit['share']:.1%}",
        **cache_values(cache), "cached_rows": f"{len(cached):,}",
        "cached_within": f"{cached['within'].sum():,}",
        "throughput_rows": f"{len(throughput):,}", "throughput_sources": f"{throughput['source'].nunique():,}",
        "throughput_inside": f"{throughput['inside'].mean():.0%}",
        "range_quantiles": f"{RANGE_QUANTILES[0]:.0%} to {RANGE_QUANTILES[1]:.0%}",
        "mfu_ceiling": f"{curve['ceiling']:.0%}", "half_work": f"{curve['half_work'] / 1e12:,.0f}",
        "qlora_factor": f"{np.exp(curve['qlora']):.2f}",
        "range_width": f"{(throughput['predicted_high'] / throughput['predicted_low']).median():.1f}",
    }
