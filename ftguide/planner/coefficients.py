"""What a plan needs that does not depend on the reader's inputs, from data/ at build time.

`coefficients(tables)` is plain data (numbers, strings, lists, dicts): the kernel's only input
besides the reader's, and the JSON the site writes into the planner page. pandas stays here, at
the edge: every formula it applies is the kernel's.
"""

import pandas as pd

from ftguide import cost, model
from ftguide.audit import startup_from_logs
from ftguide.planner import inputs, kernel
from ftguide.throughput import time_based_throughput


def coefficients(tables, guide_epochs=1) -> dict:
    """Every constant of the plan, by model and hardware. `guide_epochs` is how many epochs the
    guide's training times are read as (it sets the MI250's fitted MFU)."""
    return {"models": model_coefficients(tables.models), "hardware": hardware(tables, guide_epochs),
            "guide": guide_rates(tables), "constants": kernel.CONSTANTS, "methods": kernel.METHODS,
            "hardware_groups": kernel.HARDWARE_GROUPS, "group_kinds": kernel.GROUP_KINDS,
            "inputs": inputs.describe(), "text": kernel.TEXT,
            "columns": kernel.COLUMNS, "example": example(tables)}


def model_coefficients(models: pd.DataFrame) -> dict:
    return {row["model"]: kernel.model_coefficients(row) for row in models.to_dict(orient="records")}


def guide_rates(tables) -> list:
    """The guide's two speed readings of each row, in tokens per second (the from-time reading is
    None where the tutorial dataset's size is unknown): the plan sets them beside the model's."""
    guide = tables.guide
    from_time = time_based_throughput(guide, tables.datasets, 1)
    return [{"model": row.model, "hardware": row.accelerator, "sequence_length": int(row.sequence_length),
             "batch": int(row.batch_size), "reported": float(row.throughput_tokens_per_s),
             "from_time": None if pd.isna(rate) else float(rate)}
            for row, rate in zip(guide.itertuples(), from_time, strict=True)]


def hardware(tables, guide_epochs=1) -> dict:
    """Every option by name: GPUs, devices (an MI250 is two), memory and reserve per device, peak,
    the default price with its range and source, the MFU range with its source, and start-up."""
    fitted = model.time_summary(model.time_table(tables, guide_epochs))
    reserve = float(model.memory_table(tables)["reserve_mib"].iloc[0])
    mi250 = cost.mi250_assumption(tables.prices)
    refs = model.reference_mfu(tables)
    shared = {"startup_min": float(fitted["overhead_min"])}
    out = {}
    for row in tables.accelerators.to_dict(orient="records"):
        out[row["accelerator"]] = {
            "kind": "MoAI flavor", "gpu": "MI250", "gpus": int(row["mi250_gpus"]), "devices": int(row["gcds"]),
            "device_memory_mib": row["memory_mib"] / row["gcds"], "reserve_mib": reserve,
            "peak_tflops_per_gpu": float(row["peak_bf16_tflops_per_gpu"]),
            "price": float(mi250["price"]), "price_low": float(mi250["low"]), "price_high": float(mi250["high"]),
            "price_source": f"assumption, data/prices.csv ({mi250['date_seen']}): no public MI250 price",
            "mfu": float(fitted["mfu"]), "mfu_low": float(fitted["mfu_low"]), "mfu_high": float(fitted["mfu_high"]),
            "mfu_source": f"the guide's training times read as {guide_epochs} epoch(s) (every checkable log shows "
                          "one), start-up taken out (model page)",
            "note": "", "attention_scores_kept": True, "nodes": int(row["nodes"]), **shared}
    for row in tables.gpu_nodes.to_dict(orient="records"):
        out[row["hardware"]] = {
            "kind": "GPU node", "gpu": row["gpu"], "gpus": int(row["gpus"]), "devices": int(row["gpus"]),
            "device_memory_mib": float(row["memory_per_gpu_mib"]),
            "reserve_mib": float(row["memory_per_gpu_mib"] * row["reserve_share"]),
            "peak_tflops_per_gpu": float(row["peak_bf16_tflops_per_gpu"]),
            **node_price(tables.prices, row["gpu"], row["gpus"]), **node_mfu(refs, row["gpu"], fitted),
            "note": "" if pd.isna(row["note"]) else row["note"],
            # Fine-tuning stacks on these GPUs use FlashAttention, which keeps no T×T score matrix (Dao
            # et al. 2022); the MoAI flavors keep the memory model fitted on the guide, which has it.
            "attention_scores_kept": False, "nodes": 1, **shared}
    return out


def node_mfu(refs: pd.DataFrame, gpu: str, fitted: dict) -> dict:
    """The MFU range of a GPU's own references; without any, that of every reference and the
    MI250 fit together (and the source says so)."""
    own = refs[refs["node_gpu"] == gpu]
    if len(own):
        low, high = own["mfu"].min(), own["mfu"].max()
        source = "public BF16 references on this GPU: " + ", ".join(own["reference"])
    else:
        low, high = min(refs["mfu"].min(), fitted["mfu_low"]), max(refs["mfu"].max(), fitted["mfu_high"])
        source = "no public reference on this GPU: the range of every reference and of the MI250 fit"
    return {"mfu": float((low + high) / 2), "mfu_low": float(low), "mfu_high": float(high), "mfu_source": source}


def node_price(prices: pd.DataFrame, gpu: str, gpus: int) -> dict:
    """Price per GPU-hour of a node: a dated whole-node listing if there is one (the cheapest),
    else the cheapest dated on-demand listing of one GPU; the range is every dated listing.
    Validation guarantees a dated listing for every node's GPU."""
    rows = cost.listings(prices, gpu)
    dated = rows[rows["date_seen"].notna()]
    whole = dated[(dated["gpus_per_instance"] == gpus) & (dated["kind"] == "on-demand")]
    on_demand = dated[dated["kind"] == "on-demand"]
    pick = (whole if len(whole) else on_demand if len(on_demand) else dated).iloc[0]
    unit = f"{gpus}-GPU node" if pick["gpus_per_instance"] == gpus else "one GPU, × the node's GPUs"
    # A listing with a range (price_low, price_high per GPU-hour) widens it.
    return {"price": float(pick["price_per_gpu_hour"]),
            "price_low": float(pd.concat([dated["price_per_gpu_hour"], dated["price_low"]]).min()),
            "price_high": float(pd.concat([dated["price_per_gpu_hour"], dated["price_high"]]).max()),
            "price_source": f"{pick['provider']} ({pick['kind']}, {unit}, {pick['price_date']})"}


def example(tables) -> dict:
    """The form's starting point: the first tutorial dataset of known size (data/datasets.csv), or
    the first model at a million tokens where no size is known."""
    known = tables.datasets.dropna(subset=["train_samples"])
    if len(known):
        return {"model": known["model"].iloc[0], "samples": int(known["train_samples"].iloc[0])}
    return {"model": tables.models["model"].iloc[0], "tokens": 1_000_000}


def startup_range(tables) -> tuple:
    """The shortest and longest complete start-up the vendor's logs show, in minutes (the fitted
    start-up alone where no log is complete)."""
    logs = startup_from_logs(tables.vendor_measurements).dropna(subset=["first_step_s"])
    if logs.empty:
        fitted = model.time_summary(model.time_table(tables))["overhead_min"]
        return float(fitted), float(fitted)
    return float(logs["total_min"].min()), float(logs["total_min"].max())
