"""What a plan needs that does not depend on the reader's inputs, from data/ at build time.

`coefficients(tables)` is plain data (numbers, strings, lists, dicts): the kernel's only input
besides the reader's, and the JSON the site writes into the planner page. pandas stays here, at
the edge: every formula it applies is the kernel's.
"""

import pandas as pd

from ftguide import cost, evidence, model
from ftguide.audit import startup_from_logs
from ftguide.planner import inputs, kernel
from ftguide.throughput import time_based_throughput


def coefficients(tables, guide_epochs=1) -> dict:
    """Every constant of the plan, by model and hardware. `guide_epochs` is how many epochs the
    guide's training times are read as (it sets the MI250's fitted MFU)."""
    return {"models": model_coefficients(tables.models), "hardware": hardware(tables, guide_epochs),
            "guide": guide_rates(tables), "constants": kernel.CONSTANTS, "methods": kernel.METHODS,
            "choices": {**kernel.CHOICES, "stacks": stack_choices(tables.stack_defaults)},
            "stack_defaults": evidence.stack_defaults(tables.stack_defaults),
            "hardware_groups": kernel.HARDWARE_GROUPS, "group_kinds": kernel.GROUP_KINDS,
            "inputs": inputs.describe(), "text": kernel.TEXT,
            "columns": kernel.COLUMNS, "detail_columns": kernel.DETAIL_COLUMNS, "example": example(tables),
            "memory_band": evidence.memory_band(tables)}


def stack_choices(defaults: pd.DataFrame) -> dict:
    """The stack input's values: the planner's own defaults, then every stack of data/stack_defaults.csv."""
    return {kernel.PLANNER_STACK: "the planner's own defaults",
            **{stack: f"{stack}'s defaults" for stack in dict.fromkeys(defaults["stack"])}}


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
    """Every option by name: the MoAI flavors, then 1, 2, 4 and 8 GPUs of each GPU of the catalog
    that has a known peak. Each with GPUs, devices (an MI250 is two), memory and reserve per device,
    peak, price with its source, MFU (a range, or a curve over tokens per micro-batch) with its
    evidence, and start-up."""
    return {**moai_flavors(tables, guide_epochs), **gpu_options(tables)}


def moai_flavors(tables, guide_epochs=1) -> dict:
    """The MoAI flavors on the model fitted to the guide: its reserve, its MFU range, its start-up."""
    fitted = model.time_summary(model.time_table(tables, guide_epochs))
    reserve = float(model.memory_table(tables)["reserve_mib"].iloc[0])
    mi250 = cost.mi250_assumption(tables.prices)
    return {row["accelerator"]: {
        "kind": "MoAI flavor", "gpu": "MI250", "gpus": int(row["mi250_gpus"]), "devices": int(row["gcds"]),
        "device_memory_mib": row["memory_mib"] / row["gcds"], "reserve_mib": reserve,
        "peak_tflops_per_gpu": float(row["peak_bf16_tflops_per_gpu"]),
        "price": float(mi250["price"]), "price_low": float(mi250["low"]), "price_high": float(mi250["high"]),
        "price_source": f"assumption, data/prices.csv ({mi250['date_seen']}): no public MI250 price",
        "mfu": float(fitted["mfu"]), "mfu_low": float(fitted["mfu_low"]), "mfu_high": float(fitted["mfu_high"]),
        "mfu_source": f"the guide's training times read as {guide_epochs} epoch(s) (every checkable log shows one), "
                      "start-up taken out (model page)",
        "measured": True, "note": "", "attention_scores_kept": True, "gathers_layers": False,
        "frees_gradients": False, "reserve_share": 0.0,
        "nodes": int(row["nodes"]),
        "intra_node_gb_s": None, "inter_node_gb_s": None, "caveats": [],
        "startup_min": float(fitted["overhead_min"])} for row in tables.accelerators.to_dict(orient="records")}


GPU_COUNTS = (1, 2, 4, 8)
# 2 and 4 nodes of 8, for a GPU whose network bandwidth data/gpus.csv gives.
NODE_COUNTS = (2, 4)
# The one price tier of every GPU option, so that they compare like with like.
PRICE_TIER = "RunPod community cloud"
# The FLOPs per micro-batch at which the hardware table states a curve's MFU: 2,048 tokens of an
# 8-billion-parameter model fully fine-tuned (6 FLOPs per weight and token), about 1e14.
REFERENCE_WORK = 1e14


def gpu_options(tables) -> dict:
    """1, 2, 4 and 8 GPUs on one node of each catalog GPU with a known peak, and 2 and 4 nodes of 8
    where the catalog gives the network's bandwidth: memory as the tools report it, the runtime
    reserve, the utilisation curve fitted on the public measurements (ftguide.evidence), the price of the
    one tier, the links' bandwidth and the software caveats of data/software_caveats.csv. No
    start-up is counted: no evidence here times the loading of a model on a GPU stack."""
    reserve = evidence.reserve(tables)
    curves = evidence.mfu_fits(tables)
    every = curves["every GPU"]
    chosen = {"mfu_curve": {key: every[key] for key in evidence.CURVE_KEYS}}  # one curve for every GPU
    low, high, central = kernel.mfu_range(chosen, REFERENCE_WORK)
    out = {}
    for row in tables.gpus.to_dict(orient="records"):
        if pd.isna(row["peak_bf16_tflops"]):
            continue
        measured = curves.get(row["gpu"], {"measured_rows": 0, "sources": 0})
        option = {"gpu": row["gpu"], "device_memory_mib": float(row["memory_mib"]),
                  "reserve_mib": reserve["fixed_gib"] * 1024, "reserve_share": reserve["share"],
                  "peak_tflops_per_gpu": float(row["peak_bf16_tflops"]), **tier_price(tables.prices, row["gpu"]),
                  **chosen,
                  "mfu": central, "mfu_low": low, "mfu_high": high, "mfu_source": curve_source(measured, every["rows"]),
                  "measured": measured["measured_rows"] > 0, "note": "" if pd.isna(row["note"]) else row["note"],
                  "attention_scores_kept": False, "gathers_layers": True, "frees_gradients": True, "startup_min": 0.0,
                  "intra_node_gb_s": evidence.optional(row["intra_node_gb_s"]),
                  "inter_node_gb_s": evidence.optional(row["inter_node_gb_s"]),
                  "caveats": caveats(tables, row["gpu"])}
        nodes = NODE_COUNTS if option["inter_node_gb_s"] is not None else ()
        for count in (*GPU_COUNTS, *(n * GPU_COUNTS[-1] for n in nodes)):
            kind = "GPU" if count < GPU_COUNTS[-1] else "GPU node" if count == GPU_COUNTS[-1] else "GPU cluster"
            out[f"{count}x {row['gpu']}"] = {"kind": kind, "gpus": count, "devices": count,
                                             "nodes": max(count // GPU_COUNTS[-1], 1), **option,
                                             **beyond_evidence(option, count, curves["every GPU"]["max_gpus"])}
    return out


def caveats(tables, gpu: str) -> list:
    """The software caveats of data/software_caveats.csv for a GPU: the method each applies to, its text."""
    rows = tables.software_caveats
    return [{"applies_to": row["applies_to"], "caveat": row["caveat"], "source": row["source"]}
            for row in rows[rows["gpu"] == gpu].to_dict(orient="records")]


def beyond_evidence(option: dict, count: int, largest: int) -> dict:
    """An option on more GPUs than any measured run used (several nodes: its communication and
    its utilisation at that scale are not measured) is marked so and never recommended."""
    if count <= largest:
        return {}
    return {"measured": False, "mfu_source": f"{option['mfu_source']}; no measured run used more than "
                                             f"{largest} GPUs: never recommended"}


def curve_source(measured: dict, rows: int) -> str:
    if measured["measured_rows"]:
        lowest, highest = f"{measured['mfu_min']:.0%}", f"{measured['mfu_max']:.0%}"
        reached = lowest if lowest == highest else f"{lowest} to {highest}"
        return (f"{measured['measured_rows']} measured run(s) on this GPU from {measured['sources']} source(s), "
                f"at {reached} MFU; the plan's MFU is from the curve of every GPU's {rows} runs (evidence page)")
    return f"no measured run on this GPU: MFU from the curve of every GPU's {rows} runs; never recommended"


def tier_price(prices: pd.DataFrame, gpu: str) -> dict:
    """The GPU's price per GPU-hour in the one tier, by its exact name; None where the tier lists
    none (the reader can give one)."""
    listed = prices[(prices["gpu"] == gpu) & (prices["provider"] == PRICE_TIER) & (prices["kind"] == "on-demand")
                    & prices["date_seen"].notna()]
    if listed.empty:
        return {"price": None, "price_low": None, "price_high": None,
                "price_source": f"not listed in the tier used here ({PRICE_TIER}, on-demand, per GPU)"}
    pick = listed.sort_values("date_seen", kind="stable").iloc[-1]  # the newest listing
    price = float(pick["price_per_instance_hour"] / pick["gpus_per_instance"])
    return {"price": price, "price_low": price, "price_high": price,
            "price_source": f"{PRICE_TIER} (on-demand, per GPU, {pick['date_seen']})"}


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
