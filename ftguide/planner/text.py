"""A plan for people: the options as a table, the plan as terminal text, the hardware's evidence.
Every cell and sentence comes from the kernel, as the browser shows it."""

import pandas as pd

from ftguide.planner import kernel
from ftguide.planner.run import Plan, plan

HINT = kernel.TEXT["table_hint"] + " Each option's price per GPU-hour and MFU, with their sources, are in --json."


def option_table(result: Plan) -> pd.DataFrame:
    """The options as a table for people: one row per hardware, ranges as 'low-high'."""
    rows = {o["hardware"]: kernel.option_cells(o) for o in result.json["options"]}
    shown = kernel.shown_columns(list(rows.values()))
    table = pd.DataFrame.from_dict(rows, orient="index")[shown].rename(columns=kernel.COLUMNS)
    return table.rename_axis(kernel.TEXT["hardware_column"])


def format_plan(result: Plan) -> str:
    """The plan as plain text: the inputs, one line per option, the recommendation and notes."""
    label = kernel.TEXT["recommended_label"] + " " if result.recommended else ""
    lines = [kernel.heading(result.inputs), "", option_table(result).to_string(), "", label + result.reason,
             result.json["fewest_gpus_reason"], result.json["cheapest_reason"]]
    lines += [""] + result.notes if result.notes else []
    return "\n".join([*lines, "", HINT])


def inverse_table(result: Plan) -> pd.DataFrame:
    """The inverse questions: the longest sequence one sample of which fits (micro-batch 1), and the
    largest micro-batch that fits at the reader's sequence length, by option."""
    columns = ("longest", "largest_micro")
    rows = {o["hardware"]: kernel.option_cells(o) for o in result.json["options"]}
    table = pd.DataFrame.from_dict(rows, orient="index")[list(columns)].rename(columns=kernel.COLUMNS)
    return table.rename_axis(kernel.TEXT["hardware_column"])


def hardware_table(coeffs) -> pd.DataFrame:
    """Every hardware option and its figures, for the page (what they rest on: gpu_evidence_table)."""
    hw = pd.DataFrame.from_dict(coeffs["hardware"], orient="index")
    return pd.DataFrame({
        "Kind": hw["kind"], "GPU": hw["gpu"], "GPUs": hw["gpus"], "Nodes": hw["nodes"], "Devices": hw["devices"],
        "Memory per device (GiB)": hw["device_memory_mib"] / 1024,
        "Reserve, fixed part (GiB)": hw["reserve_mib"] / 1024, "Reserve, share of the tensors": hw["reserve_share"],
        "Peak BF16 per GPU (TFLOP/s)": hw["peak_tflops_per_gpu"],
        "GPU-to-GPU in a node (GB/s, both directions)": hw["intra_node_gb_s"],
        "Network per GPU (GB/s)": hw["inter_node_gb_s"],
        "MFU, low": hw["mfu_low"], "MFU, high": hw["mfu_high"],
        "Measured": hw["measured"].map({True: "yes", False: "no"}),
        "Price (USD per GPU-hour)": hw["price"],
    }).rename_axis("Hardware")


def gpu_evidence_table(coeffs) -> pd.DataFrame:
    """What each GPU's figures rest on, once per GPU rather than once per option: the MFU's evidence,
    the price's source and any caveat (those of its smallest option)."""
    hw = pd.DataFrame.from_dict(coeffs["hardware"], orient="index").drop_duplicates("gpu")
    return pd.DataFrame({"MFU evidence": hw["mfu_source"].to_numpy(), "Price source": hw["price_source"].to_numpy(),
                         "Caveat": hw["note"].to_numpy()}, index=pd.Index(hw["gpu"], name="GPU"))


# The runs a stack's default holds for, as data/stack_defaults.csv's applies_to names them: all, a
# method, a GPU count, or both ('full-one-gpu').
METHOD_LABELS = {"full": "full", "lora": "LoRA", "qlora": "QLoRA"}
GPU_COUNT_LABELS = {"one-gpu": "1 GPU", "multi-gpu": "2+ GPUs"}


def applies_to_label(applies_to: str) -> str:
    """'' for every run, else the method and GPU count named ('full, 1 GPU')."""
    method, _, gpus = applies_to.partition("-")
    if applies_to in GPU_COUNT_LABELS:
        method, gpus = "", applies_to
    return ", ".join(label for label in (METHOD_LABELS.get(method), GPU_COUNT_LABELS.get(gpus)) if label)


def stack_table(coeffs) -> pd.DataFrame:
    """What each training stack sets for each knob left empty (data/stack_defaults.csv), beside the
    planner's own defaults: one row per stack, one column per knob. A knob a stack sets for some runs
    only says for which; one it does not set falls back to the planner's."""
    specs = {spec["name"]: spec for spec in coeffs["inputs"]}
    planner = {specs[knob]["label"]: str(specs[knob]["default"]) for knob in kernel.STACK_KNOBS}
    rows = {kernel.PLANNER_STACK: planner}
    for stack, defaults in coeffs["stack_defaults"].items():
        rows[stack] = {}
        for knob in kernel.STACK_KNOBS:
            where = {}  # value: the runs it holds for, in the file's order
            for row in defaults:
                if row["knob"] == knob:
                    where.setdefault(str(row["value"]), []).append(applies_to_label(row["applies_to"]))
            cells = [value if "" in runs else f"{value} ({'; '.join(runs)})" for value, runs in where.items()]
            rows[stack][specs[knob]["label"]] = ", ".join(cells) or f"{specs[knob]['default']} (the planner's)"
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("Stack")


heading = kernel.heading


def print_plan(tables, coeffs, **given) -> None:
    """The plan as the command line prints it, or the message naming a bad input: for the sliders
    in Binder (a deadline or budget of 0 means none)."""
    for limit in ("deadline", "budget"):
        given[limit] = given.get(limit) or None
    try:
        print(format_plan(plan(tables, given.pop("model"), hardware_choice=given.pop("hardware", None),
                               coefficients_=coeffs, **given)))
    except kernel.PlanError as error:
        print(f"error: {error}")


def examples_table(results: dict) -> pd.DataFrame:
    """The worked examples' answers: model, method and what the planner says, by scenario."""
    return pd.DataFrame({
        "Model": {name: kernel.model_name(r.inputs) for name, r in results.items()},
        "Method": {name: kernel.METHODS[r.inputs["method"]] for name, r in results.items()},
        "What the planner says": {name: (kernel.TEXT["recommended_label"] + " " if r.recommended else "") + r.reason
                                  for name, r in results.items()},
    }).rename_axis("Scenario")
