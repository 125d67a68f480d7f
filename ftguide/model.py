"""A model of full fine-tuning from first principles: FLOPs per token, memory per device, time.

Conventions, stated once and used by every page:

- FLOPs per token count matrix multiplications only: 2 FLOPs per multiply-add in the forward pass
  and twice that in the backward pass, so 6 × (matrix parameters) per token. The matrices are the
  attention and feed-forward projections of every block and the output layer (tied or not); the
  input embedding is a table lookup and does no arithmetic, so it is not counted, nor are norms
  and biases. 6·N (Kaplan et al. 2020) is shown beside it.
- Attention scores and their use on the values add PaLM's 12·L·H·Q·T (Chowdhery et al. 2022,
  appendix B; H·Q is heads × head size: the hidden size unless config.json sets head_dim), counted
  over the full T×T product as
  PaLM does, without a saving for the causal mask.
- Utilisation (MFU) = FLOPs done ÷ (MI250 GPUs × peak BF16 per GPU × seconds). No function here
  returns a time shorter than the model's arithmetic at 100% of peak.
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ftguide import plausibility
from ftguide.planner import kernel
from ftguide.planner.kernel import LOGIT_BYTES, MIB, STATE_BYTES_PER_PARAM
from ftguide.text import join

# The guide's runs as the planner's knobs name them: full fine-tuning with mixed-precision AdamW, the
# platform's recomputation, Hugging Face's loss, states distributed over the GCDs (the logs print
# "recomputation : 1, distribute_param : true").
GUIDE_RUN = {"method": "full", "optimizer": "adamw", "checkpointing": "full", "loss": "full", "sharding": "sharded"}
# A row whose training time is at least this share of start-up is not a rate to scale.
STARTUP_DOMINATED = 0.5


# --- FLOPs per token ---------------------------------------------------------------------------

def _architecture(models: pd.DataFrame) -> pd.DataFrame:
    """models.csv by model name, with the widths the counts need (kernel.architecture) and the
    matrix weights of each model."""
    rows = {row["model"]: {**kernel.architecture(row), **kernel.model_coefficients(row)}
            for row in models.to_dict(orient="records")}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")


def parameter_count(models: pd.DataFrame) -> pd.Series:
    """Parameters of each model, by model name, counted from its architecture columns."""
    return pd.Series({row["model"]: kernel.parameter_count(row) for row in models.to_dict(orient="records")},
                     dtype="int64", name="params").rename_axis("model")


def matmul_parameters(models: pd.DataFrame) -> pd.Series:
    """Weights that take part in a matrix multiplication: block projections and the output layer."""
    return _architecture(models)["matmul_params"].astype("int64")


def flops_per_token(models: pd.DataFrame, sequence_length) -> pd.DataFrame:
    """Training FLOPs per token of each model at one sequence length, by model name.

    flops: the model's count, 6 × matmul parameters + 12·L·H·Q·T (kernel.flops_per_token). Beside
    it, 6·N and PaLM's 6·N + 12·L·H·Q·T; `lookup_share` is the part of PaLM's count that is no
    arithmetic (the input embedding, norms and biases), as a share of it.
    """
    arch = _architecture(models)
    params = parameter_count(models)
    attention = kernel.attention_flops(arch["layers"], arch["attention_width"], sequence_length).astype(float)
    flops = kernel.flops_per_token(arch, sequence_length).astype(float)
    palm = 6.0 * params + attention
    return pd.DataFrame({"params": params, "matmul_params": arch["matmul_params"], "flops_6n": 6.0 * params,
                         "flops_attention": attention, "flops_palm": palm, "flops": flops,
                         "lookup_share": (palm - flops) / palm})


def row_flops(rows: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """flops_per_token for every row (a model and a sequence_length each), on the rows' index."""
    parts = [flops_per_token(models, length).loc[group["model"]].set_axis(group.index)
             for length, group in rows.groupby("sequence_length")]
    return pd.concat(parts).loc[rows.index]


def reference_mfu(tables) -> pd.DataFrame:
    """MFU of each public BF16 reference (ftguide.plausibility.reference_mfu, which validation checks)."""
    return plausibility.reference_mfu(tables.throughput_references, tables.models, tables.gpus)


gpu_peak = plausibility.gpu_peak
reference_gpu = plausibility.reference_gpu


def peak_flops(rows: pd.DataFrame, accelerators: pd.DataFrame) -> pd.Series:
    """Peak dense BF16 FLOP/s of each row's flavor: MI250 GPUs × peak per GPU."""
    flavor = accelerators.set_index("accelerator")
    per_flavor = flavor["mi250_gpus"] * flavor["peak_bf16_tflops_per_gpu"] * 1e12
    return rows["accelerator"].map(per_flavor).rename("peak_flops")


# --- the vendor's second source ----------------------------------------------------------------

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


def startup_from_logs(vendor: pd.DataFrame) -> pd.DataFrame:
    """Start-up each logged run shows: graph compilation, choice of parallel layout, and the first
    step where its log prints its duration (it includes the first compilation of the step)."""
    startup = vendor[vendor["kind"] == "log_startup"]
    phase = startup["id"].str.rsplit("-", n=1).str[1]
    phases = startup.pivot_table(index=["model", "accelerator", "file"], columns=phase,
                                 values="value", aggfunc="first") / 1000
    durations = vendor[vendor["kind"] == "log_step_duration"]
    first_step = durations[durations["step"] == 1].groupby(["model", "accelerator", "file"])["value"].first()
    # Validation allows only these two phases; a log without start-up lines leaves the table empty.
    out = phases.rename(columns={"compile": "compile_s", "select": "select_s"}).reindex(
        columns=["compile_s", "select_s"])
    out["first_step_s"] = first_step.reindex(out.index)
    out["total_min"] = out[["compile_s", "select_s", "first_step_s"]].sum(axis=1, min_count=1) / 60
    return out.reset_index()


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
    length = rows["sequence_length"]
    tokens = rows["batch_size"] * length / gcds
    recompute = (rows["model"].map(recomputation).fillna(True).astype(bool)
                 if isinstance(recomputation, Mapping) else pd.Series(bool(recomputation), rows.index))
    params = rows["model"].map(parameter_count(tables.models))
    out = pd.DataFrame({
        "gcds": gcds,
        "gcd_memory_mib": rows["accelerator"].map(flavor["memory_mib"] / flavor["gcds"]),
        "tokens_per_gcd": tokens,
        "states_mib": kernel.state_bytes({"params": params}, GUIDE_RUN) / gcds / MIB,
        "activations_recompute_mib": tokens * kernel.activation_bytes_per_token(arch, length, "full") / MIB,
        "activations_full_mib": tokens * kernel.activation_bytes_per_token(arch, length, "none") / MIB,
        "logits_mib": tokens * kernel.logit_bytes_per_token(arch) / MIB,
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
    out["compute_min"] = kernel.compute_seconds(out["tokens"], out["flops"], out["gpus"], per_gpu) / 60
    peak = out["gpus"] * per_gpu
    out["mfu_reported_time"] = kernel.utilisation(out["tokens"] / (out["training_time_min"] * 60), out["flops"], peak)
    out["possible"] = out["mfu_reported_time"] <= 1
    used = out["possible"] & out["compute_min"].notna()
    fit = fit_time_model(out.loc[used, "compute_min"], out.loc[used, "training_time_min"])
    overhead = fit["overhead_min"] if overhead_min is None else overhead_min
    mfu = fit["mfu"] if mfu is None else mfu
    out["fitted"] = used
    out["overhead_min"] = overhead
    out["mfu"] = min(mfu, 1.0)
    out["predicted_min"] = kernel.bounded_seconds(out["compute_min"] * 60, mfu, overhead * 60) / 60
    out["residual_min"] = out["training_time_min"] - out["predicted_min"]
    out["residual_share"] = out["residual_min"] / out["training_time_min"]
    compute_time = out["training_time_min"] - overhead
    rate = out["tokens"] / (compute_time * 60)
    out["row_mfu"] = kernel.utilisation(rate, out["flops"], peak).where(used & (compute_time > 0))
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


# --- what the model page shows -----------------------------------------------------------------

def flops_by_group(tables) -> pd.DataFrame:
    """flops_per_token of each model and sequence length of the guide, in the guide's order, with
    the published size beside the count."""
    groups = tables.guide[["model", "sequence_length"]].drop_duplicates()
    published = groups["model"].map(tables.models.set_index("model")["published_params"])
    return groups.join(row_flops(groups, tables.models)).assign(published_params=published).reset_index(drop=True)


def flops_view(flops: pd.DataFrame) -> pd.DataFrame:
    """The model page's FLOPs table: this model's count, with 6·N and PaLM's beside it."""
    return pd.DataFrame({
        "Model": flops["model"], "Sequence length (tokens)": flops["sequence_length"],
        "Matrix weights (billions)": flops["matmul_params"] / 1e9, "N (billions)": flops["params"] / 1e9,
        "This model (GFLOP per token)": flops["flops"] / 1e9, "6·N (GFLOP per token)": flops["flops_6n"] / 1e9,
        "PaLM 6·N + attention (GFLOP per token)": flops["flops_palm"] / 1e9,
        "PaLM's count that is no arithmetic (%)": flops["lookup_share"],
    })


def memory_view(memory: pd.DataFrame) -> pd.DataFrame:
    """memory_table's terms, predicted against reported per GCD, as the model page shows them."""
    return pd.DataFrame({
        "Source": memory["source"], "Model": memory["model"], "Flavor": memory["accelerator"],
        "Batch": memory["batch_size"], "Tokens per GCD": memory["tokens_per_gcd"],
        "States (MiB)": memory["states_mib"],
        "Activations, recomputed (MiB)": memory["activations_recompute_mib"],
        "Activations, kept (MiB)": memory["activations_full_mib"],
        "Logits (MiB)": memory["logits_mib"], "Reserve (MiB)": memory["reserve_mib"],
        "Predicted (MiB per GCD)": memory["predicted_per_gcd_mib"],
        "Reported (MiB per GCD)": memory["reported_per_gcd_mib"],
        "Residual (MiB)": memory["residual_mib"], "Residual (%)": memory["residual_share"],
    })


def time_view(guide: pd.DataFrame, times: dict) -> pd.DataFrame:
    """Each guide row's reported time beside each time table's (epochs -> time_table) prediction."""
    view = guide[["model", "accelerator", "sequence_length", "training_time_min"]].rename(columns={
        "model": "Model", "accelerator": "Flavor", "sequence_length": "Sequence length (tokens)",
        "training_time_min": "Reported (min)"})
    for epochs, table in times.items():
        view[f"{epochs} epoch(s): at 100% of peak (min)"] = table["compute_min"]
        view[f"{epochs} epoch(s): predicted (min)"] = table["predicted_min"]
        view[f"{epochs} epoch(s): residual (%)"] = table["residual_share"]
        view[f"{epochs} epoch(s): start-up share (%)"] = table["startup_share"]
    return view


def page_values(tables, memory: pd.DataFrame, times: dict) -> dict:
    """The model page's numbers in words. `memory` is memory_table's; `times` maps epochs to
    time_table, the page's reading (one epoch) first and the one it rules out (three) second."""
    share = flops_by_group(tables).set_index("model")["lookup_share"]
    guide_rows, smi = memory[memory["source"] == "guide"], memory[memory["source"] == "moreh-smi"]
    over = memory[~memory["fits"]]
    kept = memory["activations_full_mib"] + memory["states_mib"] + memory["logits_mib"] > memory["gcd_memory_mib"]
    worst = memory.loc[memory["residual_mib"].abs().nlargest(3).index]
    t1, t3 = list(times.values())[:2]
    one, three = time_summary(t1), time_summary(t3)
    mostly_startup = t1[t1["startup_dominated"]]
    logs = startup_from_logs(tables.vendor_measurements).dropna(subset=["first_step_s"])  # complete start-ups
    refs = tables.throughput_references["mfu_percent"].dropna() / 100
    return {
        "lookup_high_model": share.idxmax(), "lookup_high": f"{share.max():.1%}",
        "lookup_low_model": share.idxmin(), "lookup_low": f"{share.min():.1%}",
        "gcd_gib": f"{memory['gcd_memory_mib'].max() / 1024:.0f}",
        "state_bytes": f"{STATE_BYTES_PER_PARAM}", "logit_bytes": f"{LOGIT_BYTES}",
        "activation_h": f"{kernel.ACTIVATION_BYTES_PER_HIDDEN}",
        "activation_f": f"{kernel.ACTIVATION_BYTES_PER_FFN_MATRIX}",
        "attention_bytes": f"{kernel.ATTENTION_BYTES_PER_HEAD_TOKEN}",
        "checkpoint_bytes": f"{kernel.CHECKPOINT_BYTES_PER_HIDDEN}",
        "reserve_gib": f"{memory['reserve_mib'].iloc[0] / 1024:.1f}",
        "memory_rows": f"{len(guide_rows)}", "memory_smi": f"{len(smi)}",
        "memory_residual_low": f"{memory['residual_mib'].min() / 1024:+.1f}",
        "memory_residual_high": f"{memory['residual_mib'].max() / 1024:+.1f}",
        "memory_residual_pct_low": f"{memory['residual_share'].min():+.0%}",
        "memory_residual_pct_high": f"{memory['residual_share'].max():+.0%}",
        "memory_fits": ("fits the GCD's memory in every row" if over.empty
                        else f"exceeds the GCD's memory in {len(over)} rows"),
        "kept_too_big": f"{kept.sum()}", "all_rows": f"{len(memory)}",
        "worst_rows": join(worst["model"] + " on " + worst["accelerator"] + " (" + worst["source"] + ")"),
        "smi_above": f"{(smi['residual_mib'] > 0).sum()}",
        "overhead_1": f"{one['overhead_min']:.1f}", "mfu_1": f"{one['mfu']:.0%}",
        "mfu_low_1": f"{one['mfu_low']:.0%}", "mfu_high_1": f"{one['mfu_high']:.0%}",
        "rows_fitted_1": f"{one['rows_fitted']}", "rows_total": f"{one['rows']}",
        "overhead_3": f"{three['overhead_min']:.1f}", "mfu_3": f"{three['mfu']:.0%}",
        "mfu_high_3": f"{three['mfu_high']:.0%}", "impossible_3": f"{three['impossible']}",
        "time_residual_low": f"{t1['residual_share'].min():+.0%}",
        "time_residual_high": f"{t1['residual_share'].max():+.0%}",
        "time_residual_min_low": f"{t1['residual_min'].min():+.0f}",
        "time_residual_min_high": f"{t1['residual_min'].max():+.0f}",
        "startup_rows": join(mostly_startup["model"] + " on " + mostly_startup["accelerator"]),
        "log_startup_low": f"{logs['total_min'].min():.1f}", "log_startup_high": f"{logs['total_min'].max():.1f}",
        "refs_mfu_low": f"{refs.min():.0%}", "refs_mfu_high": f"{refs.max():.0%}",
        "mistral_log_startup": join(f"{m:.0f}" for m in logs.loc[logs["model"] == "Mistral 7B", "total_min"]),
    }
