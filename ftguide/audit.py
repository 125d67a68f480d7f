"""Plausibility audit of the guide: training FLOPs, implied utilisation and consistency checks.

- Parameters N are counted from the architecture in models.csv (embeddings, attention with
  grouped KV heads, feed-forward, norms, biases, tied or untied output layer).
- Training FLOPs per token: 6·N (Kaplan et al. 2020) and the PaLM formula 6·N + 12·L·H·Q·T
  (Chowdhery et al. 2022, appendix B: L layers, H heads, Q head size, T sequence length).
- Model-FLOP utilisation (MFU) = tokens/s × FLOPs per token ÷ peak FLOP/s of the flavor, where
  peak = MI250 GPUs × peak BF16 FLOP/s per GPU (accelerators.csv).
- Every check gives one verdict per guide row: "pass", "flag", "unknown" (an input is missing,
  e.g. the dataset size) or "n/a" (nothing to compare with).
"""

import numpy as np
import pandas as pd

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
}


def parameter_count(models: pd.DataFrame) -> pd.Series:
    """Parameters of each model, by model name, counted from its architecture columns."""
    m = models.set_index("model")
    d, kv_width = m["hidden_size"], m["kv_heads"] * m["hidden_size"] // m["attention_heads"]
    attention = 2 * d * d + 2 * d * kv_width  # Q and output: d×d; K and V: d×(KV heads × head size)
    attention += np.where(m["qkv_bias"], d + 2 * kv_width, 0) + np.where(m["linear_bias"], d, 0)
    matrices = np.where(m["mlp"] == "gated", 3, 2)  # gated: gate, up and down; plain: up and down
    feed_forward = matrices * d * m["ffn_size"]
    feed_forward += np.where(m["linear_bias"], (matrices - 1) * m["ffn_size"] + d, 0)
    norm = np.where(m["norm"] == "layernorm", 2 * d, d)  # LayerNorm has a bias as well as a scale
    block = attention + feed_forward + 2 * norm  # one norm before attention, one before the MLP
    embeddings = m["vocab_size"] * d * np.where(m["tied_embeddings"], 1, 2) + m["learned_positions"] * d
    return (m["layers"] * block + norm + embeddings).astype("int64").rename("params")


def model_flops_per_token(models: pd.DataFrame, sequence_length) -> pd.DataFrame:
    """Training FLOPs per token of each model at one sequence length: 6·N and PaLM side by side.

    The attention term is PaLM's 12·L·H·Q·T; H·Q, query heads × head size, is the hidden size.
    """
    m = models.set_index("model")
    params = parameter_count(models)
    attention = (12 * m["layers"] * m["hidden_size"] * sequence_length).astype(float)
    return pd.DataFrame({
        "params": params,
        "flops_6n": 6.0 * params,
        "flops_attention": attention,
        "flops_palm": 6.0 * params + attention,
    })


def flops_per_token(guide: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """The same for every guide row, at the row's own sequence length."""
    parts = [model_flops_per_token(models, length).loc[rows["model"]].set_axis(rows.index)
             for length, rows in guide.groupby("sequence_length")]
    return pd.concat(parts).loc[guide.index]


def peak_flops(guide: pd.DataFrame, accelerators: pd.DataFrame) -> pd.Series:
    """Peak dense BF16 FLOP/s of each row's flavor: MI250 GPUs × peak per GPU."""
    flavor = accelerators.set_index("accelerator")
    per_flavor = flavor["mi250_gpus"] * flavor["peak_bf16_tflops_per_gpu"] * 1e12
    return guide["accelerator"].map(per_flavor).rename("peak_flops")


def mfu(tokens_per_s, flops_per_token, peak):
    """Model-FLOP utilisation: the share of peak the model's own arithmetic would need."""
    return tokens_per_s * flops_per_token / peak


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
    """
    guide = tables.guide
    out = guide[["model", "accelerator", "gpus", "batch_size", "sequence_length", "vram_mib",
                 "flavor_memory_mib", "training_time_min", "throughput_tokens_per_s"]].copy()
    out = out.join(flops_per_token(guide, tables.models))
    out["peak_flops"] = peak_flops(guide, tables.accelerators)
    out["mfu_reported"] = mfu(out["throughput_tokens_per_s"], out["flops_palm"], out["peak_flops"])
    out["mfu_reported_6n"] = mfu(out["throughput_tokens_per_s"], out["flops_6n"], out["peak_flops"])
    out["run_tokens"] = run_tokens(guide, tables.datasets, epochs, train_samples)
    out["throughput_from_time"] = time_based_throughput(guide, tables.datasets, epochs, train_samples)
    out["mfu_from_time"] = mfu(out["throughput_from_time"], out["flops_palm"], out["peak_flops"])
    out["mfu_from_time_6n"] = mfu(out["throughput_from_time"], out["flops_6n"], out["peak_flops"])
    # Tokens the reported throughput would process in the training time, over the run's tokens.
    out["tokens_ratio"] = out["throughput_tokens_per_s"] * out["training_time_min"] * 60 / out["run_tokens"]

    known = out["run_tokens"].notna()
    out["check_mfu_reported"] = verdict(out["mfu_reported"] <= 1)
    out["check_mfu_from_time"] = verdict(out["mfu_from_time"] <= 1, known)
    within = out["tokens_ratio"].between(1 / tokens_tolerance, tokens_tolerance)
    out["check_tokens"] = verdict(within, known)
    out["check_vram_capacity"] = verdict(out["vram_mib"] <= out["flavor_memory_mib"])
    out["check_vram_growth"] = vram_growth_verdict(guide)
    return out


def check_counts(result: pd.DataFrame) -> pd.DataFrame:
    """For each check: how many rows pass, are flagged, unknown or not applicable."""
    counts = {name: result[name].value_counts() for name in CHECKS}
    table = pd.DataFrame(counts).T.reindex(columns=[PASS, FLAG, UNKNOWN, NOT_APPLICABLE]).fillna(0)
    table = table.astype(int)
    table.insert(0, "check", [CHECKS[name] for name in table.index])
    return table


def column_reliability(result: pd.DataFrame) -> pd.DataFrame:
    """Which guide columns a reader can plan with, decided by the checks that test each one."""
    tested_by = {
        "Throughput": ["check_mfu_reported"],
        "Training time": ["check_mfu_from_time"],
        "Throughput against training time": ["check_tokens"],
        "VRAM usage": ["check_vram_capacity", "check_vram_growth"],
    }
    rows = []
    for column, checks in tested_by.items():
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
    unchecked = len(result) - checked
    unknown_note = f"; {unchecked} rows cannot be checked (dataset size unknown)" if unchecked else ""
    if not checked:
        return "cannot be checked: no row has the inputs this check needs"
    if column == "Throughput":
        if flagged:
            return (f"no: {flagged} of {checked} rows need more than 100% of the hardware's peak; "
                    "plan with the training-time reading")
        return "yes: no row needs more than the hardware's peak"
    if column == "Training time":
        if flagged:
            return f"with care: {flagged} of {checked} rows need more than 100% of peak{unknown_note}"
        return (f"yes, under the stated assumption: all {checked} rows with a known dataset size "
                f"need at most 100% of peak{unknown_note}")
    if column == "Throughput against training time":
        if flagged:
            ratio = result.loc[result["check_tokens"] == FLAG, "tokens_ratio"]
            return (f"they disagree in {flagged} of {checked} rows: throughput × time is "
                    f"{ratio.min():.0f} to {ratio.max():.0f} times the run's tokens{unknown_note}")
        return f"they agree in all {checked} rows{unknown_note}"
    if flagged:
        return f"with care: {flagged} of {checked} rows flagged; ask Moreh before relying on them"
    return f"yes: all {checked} rows consistent"
