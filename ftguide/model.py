"""A model of full fine-tuning from first principles: FLOPs per token, memory per device, time.

Conventions, stated once and used by every page:

- FLOPs per token count matrix multiplications only: 2 FLOPs per multiply-add in the forward pass
  and twice that in the backward pass, so 6 × (matrix parameters) per token. The matrices are the
  attention and feed-forward projections of every block and the output layer (tied or not); the
  input embedding is a table lookup and does no arithmetic, so it is not counted, nor are norms
  and biases. 6·N (Kaplan et al. 2020) is shown beside it.
- Attention scores and their use on the values add PaLM's 12·L·H·Q·T (Chowdhery et al. 2022,
  appendix B; H·Q is heads × head size: the hidden size unless config.json sets head_dim), counted over the full T×T product as
  PaLM does, without a saving for the causal mask.
- Utilisation (MFU) = FLOPs done ÷ (MI250 GPUs × peak BF16 per GPU × seconds). No function here
  returns a time shorter than the model's arithmetic at 100% of peak.
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ftguide.data import DATA_DIR, DataError

MIB = 2**20

# Mixed-precision AdamW: BF16 weights and gradients (2 + 2 bytes), FP32 master weights (4) and two
# FP32 moments (8) per parameter (Rajbhandari et al. 2020, ZeRO, section 3.1). FP32 training, as
# the quickstart scripts load the models, needs 4 + 4 + 8: the same 16 bytes.
STATE_BYTES_PER_PARAM = 16
# Activations kept per token and layer without recomputation: 34·h + 5·a·T bytes (Korthikanti et
# al. 2022, "Reducing Activation Recomputation in Large Transformer Models", equation 1, 16-bit,
# no tensor parallelism). With full recomputation only each layer's BF16 input (2·h bytes) is
# kept, and one layer's activations are rebuilt at a time.
ACTIVATION_BYTES_PER_HIDDEN = 34
ATTENTION_BYTES_PER_HEAD_TOKEN = 5
CHECKPOINT_BYTES_PER_HIDDEN = 2
# Logits of the loss (batch × sequence × vocabulary): BF16 logits (2 bytes), their FP32 copy for the
# loss (4) and the FP32 log-softmax kept for the backward pass (4), as Hugging Face's causal-LM loss
# computes it.
LOGIT_BYTES = 10
# A row whose training time is at least this share of start-up is not a rate to scale.
STARTUP_DOMINATED = 0.5


# --- FLOPs per token ---------------------------------------------------------------------------

def _architecture(models: pd.DataFrame) -> pd.DataFrame:
    """models.csv by model name, with the widths the counts need. A head is hidden ÷ heads wide
    unless config.json sets head_dim (Mistral NeMo, Gemma 2)."""
    m = models.set_index("model")
    head = pd.to_numeric(m.get("head_dim"), errors="coerce") if "head_dim" in m else pd.Series(np.nan, m.index)
    head = head.fillna(m["hidden_size"] // m["attention_heads"]).astype("int64")
    return m.assign(head_dim=head, attention_width=m["attention_heads"] * head, kv_width=m["kv_heads"] * head,
                    ffn_matrices=np.where(m["mlp"] == "gated", 3, 2))


def parameter_count(models: pd.DataFrame) -> pd.Series:
    """Parameters of each model, by model name, counted from its architecture columns."""
    m = _architecture(models)
    d, kv_width, matrices = m["hidden_size"], m["kv_width"], m["ffn_matrices"]
    width = m["attention_width"]  # heads × head size: d unless head_dim is set
    attention = 2 * d * width + 2 * d * kv_width  # Q and output: d×width; K and V: d×(KV heads × head size)
    attention += np.where(m["qkv_bias"], width + 2 * kv_width, 0) + np.where(m["linear_bias"], d, 0)
    feed_forward = matrices * d * m["ffn_size"]
    feed_forward += np.where(m["linear_bias"], (matrices - 1) * m["ffn_size"] + d, 0)
    norm = np.where(m["norm"] == "layernorm", 2 * d, d)  # LayerNorm has a bias as well as a scale
    block = attention + feed_forward + 2 * norm  # one norm before attention, one before the MLP
    embeddings = m["vocab_size"] * d * np.where(m["tied_embeddings"], 1, 2) + m["learned_positions"] * d
    return (m["layers"] * block + norm + embeddings).astype("int64").rename("params")


def matmul_parameters(models: pd.DataFrame) -> pd.Series:
    """Weights that take part in a matrix multiplication: block projections and the output layer."""
    m = _architecture(models)
    d = m["hidden_size"]
    block = 2 * d * m["attention_width"] + 2 * d * m["kv_width"] + m["ffn_matrices"] * d * m["ffn_size"]
    return (m["layers"] * block + m["vocab_size"] * d).astype("int64").rename("matmul_params")


def flops_per_token(models: pd.DataFrame, sequence_length) -> pd.DataFrame:
    """Training FLOPs per token of each model at one sequence length, by model name.

    flops: the model's count, 6 × matmul parameters + 12·L·H·Q·T. Beside it, 6·N and PaLM's
    6·N + 12·L·H·Q·T; `lookup_share` is the part of PaLM's count that is no arithmetic (the input
    embedding, norms and biases), as a share of it.
    """
    m = _architecture(models)
    params, matmul = parameter_count(models), matmul_parameters(models)
    attention = (12 * m["layers"] * m["attention_width"] * sequence_length).astype(float)
    flops = 6.0 * matmul + attention
    palm = 6.0 * params + attention
    return pd.DataFrame({"params": params, "matmul_params": matmul, "flops_6n": 6.0 * params,
                         "flops_attention": attention, "flops_palm": palm, "flops": flops,
                         "lookup_share": (palm - flops) / palm})


def row_flops(rows: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """flops_per_token for every row (a model and a sequence_length each), on the rows' index."""
    parts = [flops_per_token(models, length).loc[group["model"]].set_axis(group.index)
             for length, group in rows.groupby("sequence_length")]
    return pd.concat(parts).loc[rows.index]


def peak_flops(rows: pd.DataFrame, accelerators: pd.DataFrame) -> pd.Series:
    """Peak dense BF16 FLOP/s of each row's flavor: MI250 GPUs × peak per GPU."""
    flavor = accelerators.set_index("accelerator")
    per_flavor = flavor["mi250_gpus"] * flavor["peak_bf16_tflops_per_gpu"] * 1e12
    return rows["accelerator"].map(per_flavor).rename("peak_flops")


def gpu_peak(gpu_nodes: pd.DataFrame, gpu: str) -> float:
    """Peak dense BF16 FLOP/s of one GPU of data/gpu_nodes.csv ('H100' matches 'H100 SXM'); NaN
    for a GPU the file does not list."""
    peaks = gpu_nodes.loc[gpu_nodes["gpu"].str.startswith(gpu), "peak_bf16_tflops_per_gpu"]
    return float(peaks.iloc[0]) * 1e12 if len(peaks) else np.nan


def reference_mfu(tables) -> pd.DataFrame:
    """MFU of each public BF16 reference: the source's figure, else its tokens/s × the model's
    FLOPs per token ÷ the GPU's peak (for models in data/models.csv)."""
    refs = tables.throughput_references
    refs = refs[refs["precision"] == "BF16"].copy()
    peak = refs["gpu"].map(lambda gpu: gpu_peak(tables.gpu_nodes, gpu))
    known = refs["model"].isin(tables.models["model"])
    flops = pd.Series(np.nan, index=refs.index)
    for index, row in refs[known].iterrows():
        flops[index] = flops_per_token(tables.models, row["sequence_length"]).loc[row["model"], "flops"]
    computed = refs["tokens_per_s_per_gpu"] * flops / peak
    refs["mfu"] = (refs["mfu_percent"] / 100).fillna(computed)
    return refs.dropna(subset=["mfu"])


# --- time: never faster than the hardware ------------------------------------------------------

def compute_seconds(tokens, flops_per_token, gpus, peak_per_gpu):
    """Seconds the model's arithmetic takes at 100% of peak: the floor for any training time."""
    return tokens * flops_per_token / (gpus * peak_per_gpu)


def implied_mfu(tokens, flops_per_token, gpus, peak_per_gpu, seconds):
    """Utilisation a measured time (or throughput) implies; above 1 it is physically impossible."""
    return compute_seconds(tokens, flops_per_token, gpus, peak_per_gpu) / seconds


def bounded_time(tokens, flops_per_token, gpus, peak_per_gpu, mfu, overhead_s=0.0):
    """Seconds for a run: start-up + compute at `mfu` of peak, with mfu capped at 1 (100%).

    A time that would imply more than 100% of peak cannot happen, so it is never returned;
    a negative overhead counts as none.
    """
    if np.any(np.asarray(mfu) <= 0):
        raise ValueError("MFU must be above 0")
    return np.maximum(overhead_s, 0.0) + compute_seconds(tokens, flops_per_token, gpus, peak_per_gpu) \
        / np.minimum(mfu, 1.0)


# --- the vendor's second source ----------------------------------------------------------------

KIND_UNITS = {
    "tutorial_throughput": "tokens/s", "tutorial_training_time": "min", "log_step_duration": "s",
    "log_step_throughput": "tokens/s", "log_startup": "ms", "moreh_smi_memory": "MiB",
    "script_default_epochs": "epochs", "script_timer_start": "line", "script_timer_stop": "line",
    "script_first_sync": "line",
}
RUN_KINDS = [kind for kind in KIND_UNITS if not kind.startswith("script_")]


def check_vendor(vendor: pd.DataFrame, data_dir=DATA_DIR) -> pd.DataFrame:
    """Cross-column checks the schema cannot express; DataError naming file, line and column."""
    path = f"{data_dir}/vendor_measurements.csv"
    for line, row in enumerate(vendor.itertuples(), start=2):
        where = f"{path}, line {line} (data row {line - 1})"
        if row.unit != KIND_UNITS[row.kind]:
            raise DataError(f"{where}, column 'unit': found '{row.unit}'; expected "
                            f"'{KIND_UNITS[row.kind]}' for kind '{row.kind}'")
        if row.kind in RUN_KINDS and (pd.isna(row.gpus) or pd.isna(row.batch_size)):
            column = "gpus" if pd.isna(row.gpus) else "batch_size"
            raise DataError(f"{where}, column '{column}': the cell is empty; expected a value, as "
                            f"a measurement of kind '{row.kind}' belongs to a run")
        if row.kind == "log_step_duration" and pd.isna(row.steps_per_epoch):
            raise DataError(f"{where}, column 'steps_per_epoch': the cell is empty; expected the "
                            "total steps the log line prints")
    return vendor


def samples_from_logs(vendor: pd.DataFrame) -> pd.Series:
    """Samples per epoch each model's logs imply: steps in the run × batch (a lower bound, as the
    scripts drop the last incomplete batch). Every logged run is one epoch: see one_epoch_logs."""
    logs = vendor[vendor["kind"].str.startswith("log_step") & vendor["steps_per_epoch"].notna()]
    return (logs["steps_per_epoch"] * logs["batch_size"]).groupby(logs["model"]).max().rename("samples")


def one_epoch_logs(vendor: pd.DataFrame, datasets: pd.DataFrame) -> pd.DataFrame:
    """Each logged run beside one epoch of its dataset: the scripts print step k of
    len(loader) × epochs, with len(loader) = samples // batch (drop_last)."""
    logs = vendor[vendor["kind"].str.startswith("log_step")]
    runs = logs.groupby(["model", "accelerator", "gpus", "batch_size", "file"], dropna=False,
                        sort=False)["steps_per_epoch"].first().reset_index()
    samples = runs["model"].map(datasets.set_index("model")["train_samples"]).astype(float)
    runs["steps_one_epoch"] = np.floor(samples / runs["batch_size"])
    runs["epochs_logged"] = runs["steps_per_epoch"] / runs["steps_one_epoch"]
    return runs


# --- memory per device (GCD) -------------------------------------------------------------------

def memory_readings(tables) -> pd.DataFrame:
    """Every reported memory figure: the guide's rows and the vendor's moreh-smi readings."""
    guide = tables.guide.assign(source="guide", reported_mib=tables.guide["vram_mib"])
    vendor = tables.vendor_measurements
    smi = vendor[vendor["kind"] == "moreh_smi_memory"].assign(source="moreh-smi", reported_mib=lambda f: f["value"])
    columns = ["source", "model", "accelerator", "batch_size", "sequence_length", "reported_mib"]
    out = pd.concat([guide[columns], smi[columns]], ignore_index=True)
    return out.astype({"batch_size": "int64", "reported_mib": "int64"})


def memory_terms(rows: pd.DataFrame, tables, recomputation=True) -> pd.DataFrame:
    """Memory per GCD of each row (model, accelerator, batch_size, sequence_length), in MiB.

    states: 16 bytes per parameter, sharded over the flavor's GCDs as the platform's
    "distribute_param : true" reports. Activations and logits: of the tokens each GCD holds
    (batch × sequence ÷ GCDs). `recomputation` is one boolean or a mapping model -> boolean
    (default True, which the logs report for all but Cerebras-GPT).
    """
    m = _architecture(tables.models)
    flavor = tables.accelerators.set_index("accelerator")
    gcds = rows["accelerator"].map(flavor["gcds"])
    arch = m.loc[rows["model"]].set_axis(rows.index)
    h, layers, length = arch["hidden_size"], arch["layers"], rows["sequence_length"]
    tokens = rows["batch_size"] * length / gcds
    recompute = (rows["model"].map(recomputation).fillna(True).astype(bool)
                 if isinstance(recomputation, Mapping) else pd.Series(bool(recomputation), rows.index))
    layer = ACTIVATION_BYTES_PER_HIDDEN * h + ATTENTION_BYTES_PER_HEAD_TOKEN * arch["attention_heads"] * length
    with_recompute = layers * CHECKPOINT_BYTES_PER_HIDDEN * h + layer
    without = layers * layer
    out = pd.DataFrame({
        "gcds": gcds,
        "gcd_memory_mib": rows["accelerator"].map(flavor["memory_mib"] / flavor["gcds"]),
        "tokens_per_gcd": tokens,
        "states_mib": rows["model"].map(parameter_count(tables.models)) * STATE_BYTES_PER_PARAM / gcds / MIB,
        "activations_recompute_mib": tokens * with_recompute / MIB,
        "activations_full_mib": tokens * without / MIB,
        "logits_mib": tokens * arch["vocab_size"] * LOGIT_BYTES / MIB,
        "recomputation": recompute,
    }, index=rows.index)
    activations = out["activations_recompute_mib"].where(recompute, out["activations_full_mib"])
    out["modelled_mib"] = out["states_mib"] + activations + out["logits_mib"]
    return out


def fit_reserve(terms: pd.DataFrame, reported_per_gcd: pd.Series) -> float:
    """The runtime reserve per GCD: the median of reported − modelled over the rows given."""
    return float((reported_per_gcd - terms["modelled_mib"]).median())


def memory_table(tables, recomputation=True, reserve_mib=None) -> pd.DataFrame:
    """Predicted against reported memory per GCD for every guide row and moreh-smi reading.

    The reserve is fitted on the guide's rows (one constant) unless given.
    """
    readings = memory_readings(tables)
    terms = memory_terms(readings, tables, recomputation)
    out = readings.join(terms)
    out["reported_per_gcd_mib"] = out["reported_mib"] / out["gcds"]
    if reserve_mib is None:
        guide = out["source"] == "guide"
        reserve_mib = fit_reserve(terms[guide], out.loc[guide, "reported_per_gcd_mib"])
    out["reserve_mib"] = reserve_mib
    out["predicted_per_gcd_mib"] = out["modelled_mib"] + reserve_mib
    out["residual_mib"] = out["reported_per_gcd_mib"] - out["predicted_per_gcd_mib"]
    out["residual_share"] = out["residual_mib"] / out["reported_per_gcd_mib"]
    out["fits"] = out["predicted_per_gcd_mib"] <= out["gcd_memory_mib"]
    return out


# --- time ---------------------------------------------------------------------------------------

def samples_per_epoch(tables) -> pd.Series:
    """Training samples per model: datasets.csv, and the logs' lower bound where it is blank."""
    confirmed = tables.datasets.set_index("model")["train_samples"].astype(float)
    return confirmed.fillna(samples_from_logs(tables.vendor_measurements)).rename("samples")


def fit_time_model(compute_min: pd.Series, reported_min: pd.Series) -> dict:
    """Fit reported = overhead + compute at 100% ÷ MFU on the rows given.

    Least squares on relative residuals (each row weighted by 1 ÷ its time), so the short runs,
    which pin the start-up overhead, count as much as the long ones, which pin the MFU. The
    overhead is kept at or above 0 and the MFU at or below 1.
    """
    weights = 1 / reported_min.to_numpy(float)
    design = np.column_stack([np.ones(len(compute_min)), compute_min.to_numpy(float)]) * weights[:, None]
    (overhead, slope), *_ = np.linalg.lstsq(design, reported_min.to_numpy(float) * weights, rcond=None)
    if overhead < 0:  # no start-up: refit the slope alone
        overhead = 0.0
        slope = float(np.sum(compute_min * weights**2 * reported_min) / np.sum((compute_min * weights) ** 2))
    mfu = min(1 / slope, 1.0) if slope > 0 else 1.0
    return {"overhead_min": float(overhead), "mfu": float(mfu), "rows": int(len(compute_min))}


def time_table(tables, epochs=1, mfu=None, overhead_min=None) -> pd.DataFrame:
    """Predicted against reported training time of every guide row, for `epochs` epochs.

    Rows whose reported time implies at most 100% of peak pass and are the ones fitted; `mfu` and
    `overhead_min` replace the fitted values when given. The MFU range is each passing row's MFU
    once the overhead is taken out of its time.
    """
    guide = tables.guide
    out = guide[["model", "accelerator", "gpus", "batch_size", "sequence_length", "training_time_min"]].copy()
    out["samples"] = guide["model"].map(samples_per_epoch(tables))
    per_row_epochs = guide["model"].map(epochs).fillna(1) if isinstance(epochs, Mapping) else epochs
    out["tokens"] = out["samples"] * guide["sequence_length"] * per_row_epochs
    out["flops"] = row_flops(guide, tables.models)["flops"]
    per_gpu = guide["accelerator"].map(tables.accelerators.set_index("accelerator")["peak_bf16_tflops_per_gpu"]) * 1e12
    out["peak_per_gpu"] = per_gpu
    out["compute_min"] = compute_seconds(out["tokens"], out["flops"], out["gpus"], per_gpu) / 60
    out["mfu_reported_time"] = out["compute_min"] / out["training_time_min"]
    out["possible"] = out["mfu_reported_time"] <= 1
    used = out["possible"] & out["compute_min"].notna()
    fit = fit_time_model(out.loc[used, "compute_min"], out.loc[used, "training_time_min"])
    overhead = fit["overhead_min"] if overhead_min is None else overhead_min
    mfu = fit["mfu"] if mfu is None else mfu
    out["fitted"] = used
    out["overhead_min"] = overhead
    out["mfu"] = min(mfu, 1.0)
    out["predicted_min"] = bounded_time(out["tokens"], out["flops"], out["gpus"], per_gpu, mfu, overhead * 60) / 60
    out["residual_min"] = out["training_time_min"] - out["predicted_min"]
    out["residual_share"] = out["residual_min"] / out["training_time_min"]
    compute_time = out["training_time_min"] - overhead
    out["row_mfu"] = (out["compute_min"] / compute_time).where(used & (compute_time > 0))
    out["startup_share"] = np.minimum(overhead / out["training_time_min"], 1.0)
    out["startup_dominated"] = out["startup_share"] >= STARTUP_DOMINATED
    return out


def time_summary(table: pd.DataFrame) -> dict:
    """The constants of a time table and where they came from, for the pages' prose."""
    used = table[table["fitted"]]
    return {"overhead_min": table["overhead_min"].iloc[0], "mfu": table["mfu"].iloc[0],
            "rows_fitted": len(used), "rows": len(table),
            "mfu_low": used["row_mfu"].min(), "mfu_high": used["row_mfu"].max(),
            "impossible": int((~table["possible"]).sum())}
