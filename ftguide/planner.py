"""Plan a fine-tuning run on the model of ftguide.model: does it fit, how long, how much, where.

For each hardware option (the MoAI flavors of data/accelerators.csv and the 8-GPU nodes of
data/gpu_nodes.csv) and one method (full fine-tuning, LoRA or QLoRA):

- memory per device = model states (sharded over the devices) + activations and logits of the
  micro-batch + the runtime reserve; the largest micro-batch that fits, and the gradient
  accumulation that reaches the global batch;
- time = start-up + tokens × FLOPs per token ÷ (GPUs × peak × MFU), as a range over the MFU
  that the evidence allows for that GPU; never faster than 100% of peak;
- cost = price per GPU-hour × GPUs × hours.

Where the guide measured the configuration (same model, flavor and sequence length, full
fine-tuning), its own figures are set beside the model's. Everything the page's script needs
that does not depend on the reader's inputs is in `coefficients` (written into the site as JSON);
the arithmetic that does is written once here and once in the page's JavaScript, and a browser
test holds the two equal.
"""

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ftguide import cost, model
from ftguide.audit import startup_from_logs
from ftguide.throughput import time_based_throughput

MIB = model.MIB
METHODS = {
    "full": "full fine-tuning",
    "lora": "LoRA",
    "qlora": "QLoRA",
}
# Bytes per parameter of the base model. Full: 16 (ftguide.model.STATE_BYTES_PER_PARAM). LoRA: the
# frozen base in BF16, no gradients or optimizer state (Hu et al. 2021, section 4). QLoRA: block
# weights in 4-bit NormalFloat plus their double-quantized constants, 0.127 bits per parameter
# (Dettmers et al. 2023, section 3); embeddings, output layer and norms stay in BF16.
FROZEN_BF16_BYTES = 2
NF4_BYTES = (4 + 0.127) / 8
# Adapters train like a small full model: FP32 weights (4), gradients (4) and two Adam moments (8).
ADAPTER_BYTES = 16
# LoRA rank of the public reference setup, MLPerf Training llama2_70b_lora (r = 16); adapters on
# every block projection (attention and feed-forward), as QLoRA does.
LORA_RANK = 16
# FLOPs per matrix weight and token: forward 2, backward 4 (2 for the activations' gradients, 2 for
# the weights'). A frozen weight needs no weight gradient: 4 (Hu et al. 2021, section 4.2).
MATMUL_FLOPS = {"full": 6, "lora": 4, "qlora": 4}
# Measurements the FLOP count is set beside on the planner page. LoRA on GPT-3 175B trained 25%
# faster than full fine-tuning (Hu et al. 2021, section 4.2); QLoRA on Qwen-7B took 5% (8,192
# tokens) to 2.5 times (256 tokens) LoRA's time (QwenLM/Qwen README, "Profiling of Memory and Speed").
LORA_MEASURED_SPEEDUP = 1.25
QLORA_MEASURED_SLOWDOWN = (1.05, 2.5)
DEFAULTS = {"sequence_length": 1024, "epochs": 1.0, "method": "full", "hardware": "all", "batch": 128}
HARDWARE_GROUPS = {"all": "every option", "moai": "the MoAI flavors", "gpu-nodes": "the 8-GPU nodes"}


class PlanError(ValueError):
    """A planner input is missing or out of range; the message names it and what is allowed."""


# --- what does not depend on the reader's inputs -----------------------------------------------

def coefficients(tables, guide_epochs=1) -> dict:
    """Every constant of the plan, by model and hardware, as plain numbers (the page's JSON).
    `guide_epochs` is how many epochs the guide's training times are read as (it sets the MI250's
    fitted MFU)."""
    return {"models": model_coefficients(tables.models).to_dict(orient="index"),
            "hardware": hardware(tables, guide_epochs).to_dict(orient="index"),
            "constants": {"frozen_bf16_bytes": FROZEN_BF16_BYTES, "nf4_bytes": NF4_BYTES,
                          "adapter_bytes": ADAPTER_BYTES, "lora_rank": LORA_RANK,
                          "state_bytes": model.STATE_BYTES_PER_PARAM, "logit_bytes": model.LOGIT_BYTES,
                          "activation_bytes_per_hidden": model.ACTIVATION_BYTES_PER_HIDDEN,
                          "attention_bytes_per_head_token": model.ATTENTION_BYTES_PER_HEAD_TOKEN,
                          "checkpoint_bytes_per_hidden": model.CHECKPOINT_BYTES_PER_HIDDEN,
                          "matmul_flops": MATMUL_FLOPS, "mib": MIB},
            "guide": guide_rates(tables), "defaults": DEFAULTS, "methods": METHODS}


def guide_rates(tables) -> list:
    """The guide's two speed readings of each row, in tokens per second (the from-time reading is
    None where the tutorial dataset's size is unknown): the plan sets them beside the model's."""
    guide = tables.guide
    from_time = time_based_throughput(guide, tables.datasets, 1)
    return [{"model": row.model, "hardware": row.accelerator, "sequence_length": int(row.sequence_length),
             "batch": int(row.batch_size), "reported": float(row.throughput_tokens_per_s),
             "from_time": None if pd.isna(rate) else float(rate)}
            for row, rate in zip(guide.itertuples(), from_time)]


def model_coefficients(models: pd.DataFrame) -> pd.DataFrame:
    """Per model: parameters, matrix weights (all, and those of the blocks), adapter weights per
    unit of rank, and the widths the attention and activation terms need."""
    arch = model._architecture(models)
    d, width, kv, ffn = arch["hidden_size"], arch["attention_width"], arch["kv_width"], arch["ffn_size"]
    block_matmul = arch["layers"] * (2 * d * width + 2 * d * kv + arch["ffn_matrices"] * d * ffn)
    # LoRA adds r × (inputs + outputs) weights to every adapted matrix.
    adapter_per_rank = arch["layers"] * ((d + width) * 2 + (d + kv) * 2 + arch["ffn_matrices"] * (d + ffn))
    return pd.DataFrame({
        "params": model.parameter_count(models).astype(float),
        "matmul_params": model.matmul_parameters(models).astype(float),
        "block_matmul_params": block_matmul.astype(float),
        "adapter_params_per_rank": adapter_per_rank.astype(float),
        "layers": arch["layers"], "hidden_size": d, "attention_width": width,
        "attention_heads": arch["attention_heads"], "vocab_size": arch["vocab_size"],
    })


def hardware(tables, guide_epochs=1) -> pd.DataFrame:
    """Every option by name: GPUs, devices (an MI250 is two), memory and reserve per device, peak,
    the default price with its range and source, the MFU range with its source, and start-up."""
    flavors = tables.accelerators.set_index("accelerator")
    fitted = model.time_summary(model.time_table(tables, guide_epochs))
    reserve = model.memory_table(tables)["reserve_mib"].iloc[0]
    mi250 = cost.mi250_assumption(tables.prices)
    moai = pd.DataFrame({
        "kind": "MoAI flavor", "gpu": "MI250", "gpus": flavors["mi250_gpus"], "devices": flavors["gcds"],
        "device_memory_mib": flavors["memory_mib"] / flavors["gcds"], "reserve_mib": reserve,
        "peak_tflops_per_gpu": flavors["peak_bf16_tflops_per_gpu"],
        "price": mi250["price"], "price_low": mi250["low"], "price_high": mi250["high"],
        "price_source": f"assumption, data/prices.csv ({mi250['date_seen']}): no public MI250 price",
        "mfu": fitted["mfu"], "mfu_low": fitted["mfu_low"], "mfu_high": fitted["mfu_high"],
        "mfu_source": f"the guide's training times read as {guide_epochs} epoch(s) (every checkable log shows "
                      "one), start-up taken out (model page)",
        "note": "", "attention_scores_kept": True, "nodes": flavors["nodes"],
    })
    nodes = tables.gpu_nodes.set_index("hardware")
    refs = model.reference_mfu(tables)
    gpu_nodes = pd.DataFrame({
        "kind": "GPU node", "gpu": nodes["gpu"], "gpus": nodes["gpus"], "devices": nodes["gpus"],
        "device_memory_mib": nodes["memory_per_gpu_mib"].astype(float),
        "reserve_mib": nodes["memory_per_gpu_mib"] * nodes["reserve_share"],
        "peak_tflops_per_gpu": nodes["peak_bf16_tflops_per_gpu"], "note": nodes["note"].fillna(""),
        # Fine-tuning stacks on these GPUs use FlashAttention, which keeps no T×T score matrix (Dao
        # et al. 2022); the MoAI flavors keep the memory model fitted on the guide, which has it.
        "attention_scores_kept": False, "nodes": 1,
    })
    for name, row in gpu_nodes.iterrows():
        price = node_price(tables.prices, row["gpu"], row["gpus"])
        for key in ("price", "price_low", "price_high", "price_source"):
            gpu_nodes.loc[name, key] = price[key]
        mfu = node_mfu(refs, row["gpu"], fitted)
        for key in ("mfu", "mfu_low", "mfu_high", "mfu_source"):
            gpu_nodes.loc[name, key] = mfu[key]
    out = pd.concat([moai, gpu_nodes])
    out["startup_min"] = fitted["overhead_min"]
    return out.rename_axis("hardware")


def node_mfu(refs: pd.DataFrame, gpu: str, fitted: dict) -> dict:
    """The MFU range of a GPU's own references; without any, that of every reference and the
    MI250 fit together (and the source says so)."""
    own = refs[[gpu.startswith(name) for name in refs["gpu"]]]
    if len(own):
        low, high = own["mfu"].min(), own["mfu"].max()
        source = "public BF16 references on this GPU: " + ", ".join(own["reference"])
    else:
        low, high = min(refs["mfu"].min(), fitted["mfu_low"]), max(refs["mfu"].max(), fitted["mfu_high"])
        source = "no public reference on this GPU: the range of every reference and of the MI250 fit"
    return {"mfu": (low + high) / 2, "mfu_low": low, "mfu_high": high, "mfu_source": source}


def node_price(prices: pd.DataFrame, gpu: str, gpus: int) -> dict:
    """Price per GPU-hour of a node: a dated whole-node listing if there is one (the cheapest),
    else the cheapest dated on-demand listing of one GPU; the range is every dated listing."""
    rows = cost.listings(prices, gpu)
    dated = rows[rows["date_seen"].notna()]
    if dated.empty:
        raise PlanError(f"data/prices.csv has no dated price for {gpu}")
    whole = dated[(dated["gpus_per_instance"] == gpus) & (dated["kind"] == "on-demand")]
    on_demand = dated[dated["kind"] == "on-demand"]
    pick = (whole if len(whole) else on_demand if len(on_demand) else dated).iloc[0]
    unit = f"{gpus}-GPU node" if pick["gpus_per_instance"] == gpus else "one GPU, × the node's GPUs"
    # A listing with a range (price_low, price_high per GPU-hour) widens it.
    return {"price": pick["price_per_gpu_hour"],
            "price_low": pd.concat([dated["price_per_gpu_hour"], dated["price_low"]]).min(),
            "price_high": pd.concat([dated["price_per_gpu_hour"], dated["price_high"]]).max(),
            "price_source": f"{pick['provider']} ({pick['kind']}, {unit}, {pick['price_date']})"}


# --- the reader's run ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    inputs: dict
    options: pd.DataFrame
    recommended: str | None
    reason: str
    notes: list = field(default_factory=list)

    def to_json(self) -> dict:
        """The plan as `python -m ftguide plan --json` prints it (and the page's data-json)."""
        options = self.options.reset_index().replace({np.nan: None}).to_dict(orient="records")
        return {"inputs": self.inputs, "options": options, "recommended": self.recommended,
                "reason": self.reason, "notes": self.notes}


def plan(tables, model_name, *, samples=None, tokens=None, sequence_length=None, epochs=None,
         method=None, hardware_choice=None, batch=None, price=None, deadline=None, budget=None,
         coefficients_=None) -> Plan:
    """Fit, time and cost of a run of `model_name` on each hardware option.

    The dataset is `samples` (padded to `sequence_length`) or `tokens` per epoch. `price` (per
    GPU-hour) replaces every option's listed price; `deadline` (hours) and `budget` (USD) choose.
    """
    coeffs = coefficients_ or coefficients(tables)
    inputs = check_inputs(coeffs, model_name, samples, tokens, sequence_length, epochs, method,
                          hardware_choice, batch, price, deadline, budget)
    options = evaluate(coeffs, inputs)
    recommended, reason = recommend(coeffs, inputs, options)
    return Plan(inputs=inputs, options=options, recommended=recommended, reason=reason,
                notes=notes_for(inputs, options))


def check_inputs(coeffs, model_name, samples, tokens, sequence_length, epochs, method,
                 hardware_choice, batch, price, deadline, budget) -> dict:
    """The inputs as the command line names them, defaults filled in; PlanError for a bad one."""
    if model_name not in coeffs["models"]:
        raise PlanError(f"model: found {model_name!r}; expected one of " + ", ".join(map(repr, coeffs["models"])))
    if (samples is None) == (tokens is None):
        raise PlanError("samples/tokens: give exactly one of them (a whole number greater than 0)")
    method = DEFAULTS["method"] if method is None else method
    if method not in METHODS:
        raise PlanError(f"method: found {method!r}; expected one of " + ", ".join(METHODS))
    choice = DEFAULTS["hardware"] if hardware_choice is None else hardware_choice
    if choice not in hardware_choices(coeffs):
        raise PlanError(f"hardware: found {choice!r}; expected one of " + ", ".join(hardware_choices(coeffs)))
    inputs = {"model": model_name}
    if samples is not None:
        inputs["samples"] = positive_whole("samples", samples)
    else:
        inputs["tokens"] = positive_whole("tokens", tokens)
    inputs["sequence_length"] = positive_whole(
        "sequence_length", DEFAULTS["sequence_length"] if sequence_length is None else sequence_length)
    inputs["epochs"] = positive_number("epochs", DEFAULTS["epochs"] if epochs is None else epochs)
    inputs.update(method=method, hardware=choice,
                  batch=positive_whole("batch", DEFAULTS["batch"] if batch is None else batch))
    for name, value in (("price", price), ("deadline", deadline), ("budget", budget)):
        inputs[name] = None if value is None else positive_number(name, value)
    return inputs


def hardware_choices(coeffs) -> list:
    return list(HARDWARE_GROUPS) + list(coeffs["hardware"])


def chosen_hardware(coeffs, choice) -> list:
    kinds = {"moai": "MoAI flavor", "gpu-nodes": "GPU node"}
    names = list(coeffs["hardware"])
    if choice == "all":
        return names
    if choice in kinds:
        return [name for name in names if coeffs["hardware"][name]["kind"] == kinds[choice]]
    return [choice]


def run_tokens(inputs) -> float:
    per_epoch = inputs["samples"] * inputs["sequence_length"] if "samples" in inputs else inputs["tokens"]
    return per_epoch * inputs["epochs"]


def flops_per_token(m: dict, method: str, sequence_length: int, rank=LORA_RANK) -> float:
    """Training FLOPs per token: the matrix weights at 6 (full) or 4 (frozen, LoRA/QLoRA), the
    adapters at 6, and the attention scores at 12·L·H·Q·T (ftguide.model)."""
    adapters = 0 if method == "full" else 6 * rank * m["adapter_params_per_rank"]
    return (MATMUL_FLOPS[method] * m["matmul_params"] + adapters
            + 12 * m["layers"] * m["attention_width"] * sequence_length)


def state_bytes(m: dict, method: str, rank=LORA_RANK) -> float:
    """Bytes of the model's states in all (before sharding over the devices)."""
    if method == "full":
        return model.STATE_BYTES_PER_PARAM * m["params"]
    adapters = ADAPTER_BYTES * rank * m["adapter_params_per_rank"]
    if method == "lora":
        return FROZEN_BF16_BYTES * m["params"] + adapters
    rest = m["params"] - m["block_matmul_params"]
    return NF4_BYTES * m["block_matmul_params"] + FROZEN_BF16_BYTES * rest + adapters


def sample_bytes(m: dict, sequence_length: int, scores_kept=True) -> float:
    """Activations (with recomputation, as the platform runs) and logits of one sample on a
    device; the attention scores (5·a·T bytes per token) only where they are kept."""
    scores = model.ATTENTION_BYTES_PER_HEAD_TOKEN * m["attention_heads"] * sequence_length if scores_kept else 0
    per_token = (m["layers"] * model.CHECKPOINT_BYTES_PER_HIDDEN * m["hidden_size"]
                 + model.ACTIVATION_BYTES_PER_HIDDEN * m["hidden_size"] + scores
                 + model.LOGIT_BYTES * m["vocab_size"])
    return per_token * sequence_length


def evaluate(coeffs, inputs) -> pd.DataFrame:
    """One row per hardware option: memory, batch split, time, cost and the guide's figures."""
    m = coeffs["models"][inputs["model"]]
    length, method = inputs["sequence_length"], inputs["method"]
    tokens = run_tokens(inputs)
    rows = {}
    for name in chosen_hardware(coeffs, inputs["hardware"]):
        hw = coeffs["hardware"][name]
        rows[name] = option(m, hw, tokens, length, method, inputs)
        rows[name].update(guide_figures(coeffs["guide"], name, tokens, rows[name]["hours_at_peak"], inputs))
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("hardware")


def option(m, hw, tokens, length, method, inputs) -> dict:
    devices = hw["devices"]
    states_mib = state_bytes(m, method) / devices / MIB
    per_sample_mib = sample_bytes(m, length, hw["attention_scores_kept"]) / MIB
    free_mib = hw["device_memory_mib"] - hw["reserve_mib"] - states_mib
    largest = max(math.floor(free_mib / per_sample_mib), 0)
    per_device = math.ceil(inputs["batch"] / devices)  # at least one sample on every device
    fits = largest >= 1
    grad_accum = accumulation_steps(per_device, largest) if fits else None
    micro = per_device // grad_accum if fits else None
    global_batch = micro * grad_accum * devices if fits else None
    flops = flops_per_token(m, method, length)
    peak_per_gpu = hw["peak_tflops_per_gpu"] * 1e12
    seconds_at_peak = model.compute_seconds(tokens, flops, hw["gpus"], peak_per_gpu)
    startup_s = hw["startup_min"] * 60
    # model.bounded_time caps the MFU at 1: no option is ever faster than 100% of peak.
    hours_low, hours_high, hours = (
        float(model.bounded_time(tokens, flops, hw["gpus"], peak_per_gpu, hw[key], startup_s)) / 3600
        for key in ("mfu_high", "mfu_low", "mfu"))
    price = hw["price"] if inputs["price"] is None else inputs["price"]
    samples = tokens / length
    out = {
        "kind": hw["kind"], "gpu": hw["gpu"], "gpus": hw["gpus"], "devices": devices, "fits": fits,
        "micro_batch": micro, "grad_accum": grad_accum, "global_batch": global_batch,
        "largest_micro_batch": largest,
        "optimizer_steps": math.ceil(samples / global_batch) if fits else None,
        "tokens_per_step": global_batch * length if fits else None,
        "memory_per_device_mib": hw["device_memory_mib"],
        "memory_needed_mib": hw["reserve_mib"] + states_mib + per_sample_mib * (micro or 1),
        "states_mib": states_mib, "reserve_mib": hw["reserve_mib"],
        "flops_per_token": flops, "hours_at_peak": seconds_at_peak / 3600, "startup_h": startup_s / 3600,
        "hours_low": hours_low, "hours_high": hours_high, "hours": hours,
        "price_per_gpu_hour": price, "cost": price * hw["gpus"] * hours,
        "cost_low": price * hw["gpus"] * hours_low, "cost_high": price * hw["gpus"] * hours_high,
        "cost_per_m_tokens_low": price * hw["gpus"] * hours_low / tokens * 1e6,
        "cost_per_m_tokens_high": price * hw["gpus"] * hours_high / tokens * 1e6,
        "price_source": hw["price_source"] if inputs["price"] is None else "your price",
        "mfu_low": hw["mfu_low"], "mfu_high": hw["mfu_high"], "mfu": hw["mfu"], "mfu_source": hw["mfu_source"],
    }
    out["meets_deadline"] = inputs["deadline"] is None or out["hours_high"] <= inputs["deadline"]
    out["meets_budget"] = inputs["budget"] is None or out["cost_high"] <= inputs["budget"]
    return out


# --- the choice ---------------------------------------------------------------------------------

def accumulation_steps(per_device: int, largest: int) -> int:
    """The fewest accumulation steps that split a device's share of the batch into equal
    micro-batches no larger than the largest that fits (one sample a step at worst)."""
    steps = math.ceil(per_device / largest)
    while per_device % steps:
        steps += 1
    return steps


def money(value) -> str:
    return f"{value:,.2f} USD"


def recommend(coeffs, inputs, options: pd.DataFrame):
    """The option that fits in memory and meets the deadline and budget even at its low MFU, with
    the lowest cost at that MFU (then the fastest, then the first listed); ties are named."""
    ok = options[options["fits"] & options["meets_deadline"] & options["meets_budget"]]
    if ok.empty:
        return None, why_none(coeffs, inputs, options)
    ranked = ok.assign(cents=ok["cost_high"].round(2), hundredths=ok["hours_high"].round(2))
    ranked = ranked.sort_values(["cents", "hundredths"], kind="stable")
    best = ranked.iloc[0]
    tied = ranked[(ranked["cents"] == best["cents"]) & (ranked["hundredths"] == best["hundredths"])].index[1:]
    tie = f" (tied with {', '.join(tied)})" if len(tied) else ""
    return ranked.index[0], (
        f"{ranked.index[0]}{tie}: the cheapest option that fits in memory"
        + limits_text(inputs) + f", {best['hours_low']:,.1f}-{best['hours_high']:,.1f} h and "
        f"{best['cost_low']:,.2f}-{money(best['cost_high'])} over an MFU of "
        f"{best['mfu_low']:.0%}-{best['mfu_high']:.0%}.")


def limits_text(inputs) -> str:
    parts = []
    if inputs["deadline"] is not None:
        parts.append(f"the deadline of {inputs['deadline']:g} h")
    if inputs["budget"] is not None:
        parts.append(f"the budget of {money(inputs['budget'])}")
    return " and meets " + " and ".join(parts) + " even at its low MFU" if parts else ""


def why_none(coeffs, inputs, options) -> str:
    """Why nothing qualifies, and the smallest change that would make something qualify."""
    fitting = options[options["fits"]]
    if fitting.empty:
        needed = options["states_mib"] + options["reserve_mib"]
        worst = options.loc[(options["memory_per_device_mib"] - needed).idxmax()]
        return (f"Nothing fits in memory: even one sample per device needs "
                f"{worst['memory_needed_mib'] / 1024:,.1f} GiB on {worst.name}, which has "
                f"{worst['memory_per_device_mib'] / 1024:,.1f} GiB per device. " + what_would_fit(coeffs, inputs))
    advice = []
    if inputs["deadline"] is not None:
        fastest = fitting.loc[fitting["hours_high"].idxmin()]
        advice.append(f"the fastest option that fits, {fastest.name}, needs up to {fastest['hours_high']:,.1f} h")
    if inputs["budget"] is not None:
        cheapest = fitting.loc[fitting["cost_high"].idxmin()]
        advice.append(f"the cheapest, {cheapest.name}, costs up to {money(cheapest['cost_high'])}")
    share = fitting_share(fitting, inputs)
    advice.append(f"or cut the run to {share.max():.0%} of its tokens on {share.idxmax()}")
    return "None fits in memory and" + limits_text(inputs).removeprefix(" and") + ": " + "; ".join(advice) + "."


def fitting_share(fitting, inputs) -> pd.Series:
    """The share of the run's tokens each option could do within the limits at its low MFU: the
    start-up is paid whatever the share."""
    compute_h = fitting["hours_high"] - fitting["startup_h"]
    share = pd.Series(1.0, index=fitting.index)
    if inputs["deadline"] is not None:
        share = np.minimum(share, (inputs["deadline"] - fitting["startup_h"]) / compute_h)
    if inputs["budget"] is not None:
        affordable_h = inputs["budget"] / (fitting["price_per_gpu_hour"] * fitting["gpus"])
        share = np.minimum(share, (affordable_h - fitting["startup_h"]) / compute_h)
    return share.clip(lower=0)


def what_would_fit(coeffs, inputs) -> str:
    """Try, in order: another method, any hardware, a shorter sequence."""
    tries = []
    for method in METHODS:
        if method != inputs["method"] and evaluate(coeffs, {**inputs, "method": method})["fits"].any():
            tries.append(f"{METHODS[method]} fits")
            break
    if inputs["hardware"] != "all":
        options = evaluate(coeffs, {**inputs, "hardware": "all"})
        if options["fits"].any():
            tries.append(f"{options[options['fits']].index[0]} fits")
    length = inputs["sequence_length"] // 2
    while length >= 1 and not evaluate(coeffs, {**inputs, "sequence_length": length})["fits"].any():
        length //= 2
    if length >= 1:
        tries.append(f"a sequence of {length:,} tokens fits")
    return "What would fit: " + ("; ".join(tries) if tries else "nothing in data/") + "."


# --- notes and the guide's own figures -----------------------------------------------------------

def notes_for(inputs, options) -> list:
    notes = []
    if inputs["price"] is not None:
        notes.append(f"Your price, {money(inputs['price'])} per GPU-hour, replaces every option's listed price.")
    raised = options[options["fits"] & (options["global_batch"] > inputs["batch"])]
    if len(raised):
        notes.append("The global batch is raised on " + ", ".join(raised.index) + " so that every device "
                     "gets a whole number of samples: that changes the optimisation, not only the speed.")
    raised = options[options["guide_hours_reported_source"].astype(float) < options["hours_at_peak"]]
    if len(raised):
        notes.append("The guide's reported throughput on " + ", ".join(raised.index) + " implies more than "
                     "100% of peak: its hours are raised to the run's arithmetic at 100% of peak, and its own "
                     "figure is kept beside (see the audit page).")
    if inputs["method"] == "qlora":
        notes.append("QLoRA is timed like LoRA: dequantising the 4-bit weights costs extra time that "
                     "the model does not count, so its QLoRA times are a lower bound.")
    return notes


def guide_figures(guide: list, hardware_name, tokens, hours_at_peak, inputs) -> dict:
    """The guide's own hours for the run where it measured the configuration (same model, flavor
    and sequence length, full fine-tuning): each reading raised to 100% of peak if it is faster,
    its own figure kept beside. None elsewhere."""
    out = {"guide_batch": None}
    for reading in ("reported", "from_time"):
        out[f"guide_hours_{reading}"] = out[f"guide_hours_{reading}_source"] = None
    row = next((r for r in guide if r["model"] == inputs["model"] and r["hardware"] == hardware_name
                and r["sequence_length"] == inputs["sequence_length"]), None)
    if row is None or inputs["method"] != "full":
        return out
    out["guide_batch"] = row["batch"]
    for reading in ("reported", "from_time"):
        if row[reading] is not None:
            source = tokens / row[reading] / 3600
            out[f"guide_hours_{reading}_source"] = source
            out[f"guide_hours_{reading}"] = max(source, hours_at_peak)
    return out


def startup_range(tables) -> tuple:
    """The shortest and longest complete start-up the vendor's logs show, in minutes."""
    logs = startup_from_logs(tables.vendor_measurements).dropna(subset=["first_step_s"])
    return float(logs["total_min"].min()), float(logs["total_min"].max())


# --- checks shared with the command line ------------------------------------------------------

def positive_number(name, value) -> float:
    """A finite number greater than 0, or PlanError naming the input."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or number <= 0:
        raise PlanError(f"{name}: found {value!r}; expected a number greater than 0")
    return number


def positive_whole(name, value) -> int:
    """A whole number greater than 0, or PlanError naming the input."""
    number = positive_number(name, value)
    if number != int(number):
        raise PlanError(f"{name}: found {value!r}; expected a whole number greater than 0")
    return int(number)


# --- what moves the answer ------------------------------------------------------------------------

def sensitivity(tables, inputs: dict, hardware_name: str, coeffs=None) -> pd.DataFrame:
    """Hours and cost of one option when each uncertain assumption takes its low and its high
    value, the others held at the central case (the MFU in the middle of its evidence, the listed
    price, the fitted start-up, the guide read as one epoch). One row per assumption, the widest
    swing in cost first: the data of a tornado figure."""
    coeffs = coeffs or coefficients(tables)
    inputs = {**inputs, "hardware": hardware_name}
    hw = coeffs["hardware"][hardware_name]
    base = evaluate(coeffs, inputs).loc[hardware_name]
    startup_low, startup_high = startup_range(tables)

    def with_hardware(**changes):
        changed = {**coeffs, "hardware": {hardware_name: {**hw, **changes}}}
        return evaluate(changed, inputs).loc[hardware_name]

    cases = {
        "MFU": (f"{hw['mfu_low']:.0%}", with_hardware(mfu=hw["mfu_low"]),
                f"{hw['mfu_high']:.0%}", with_hardware(mfu=hw["mfu_high"])),
        "Start-up": (f"{startup_low:.0f} min", with_hardware(startup_min=startup_low),
                     f"{startup_high:.0f} min", with_hardware(startup_min=startup_high)),
        "Price": (f"{hw['price_high']:.2f} USD/GPU-h", with_hardware(price=hw["price_high"]),
                  f"{hw['price_low']:.2f} USD/GPU-h", with_hardware(price=hw["price_low"])),
    }
    if hw["kind"] == "MoAI flavor":
        three = coefficients(tables, guide_epochs=3)["hardware"][hardware_name]
        cases["Guide's time read as"] = ("1 epoch", base, "3 epochs", with_hardware(mfu=three["mfu"]))
    for reading, label in (("from_time", "the guide's training time"), ("reported", "the guide's throughput")):
        if not pd.isna(base[f"guide_hours_{reading}"]):
            cases[f"Speed: {label}"] = ("model", base, "guide", guide_reading(base, reading))
    rows = [{"assumption": name, "low_label": low_label, "high_label": high_label,
             "hours_a": low["hours"], "hours_b": high["hours"], "cost_a": low["cost"], "cost_b": high["cost"]}
            for name, (low_label, low, high_label, high) in cases.items()]
    out = pd.DataFrame(rows)
    out["swing"] = (out["cost_a"] - out["cost_b"]).abs()
    out.attrs.update(hours=base["hours"], cost=base["cost"], hardware=hardware_name)
    return out.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


def guide_reading(option: pd.Series, reading: str) -> pd.Series:
    """An option's hours and cost had the guide's (bounded) reading been used instead of the model."""
    hours = option[f"guide_hours_{reading}"]
    return pd.Series({"hours": hours, "cost": option["price_per_gpu_hour"] * option["gpus"] * hours})


# --- text -----------------------------------------------------------------------------------------

def option_table(result: Plan) -> pd.DataFrame:
    """The options as a table for people: one row per hardware, ranges as 'low-high'."""
    o = result.options
    span = lambda low, high, fmt: [("n/a" if pd.isna(a) else f"{fmt.format(a)}-{fmt.format(b)}")  # noqa: E731
                                   for a, b in zip(o[low], o[high])]
    table = pd.DataFrame({
        "GPUs": o["gpus"],
        "Fits in memory": ["yes" if fits else "no" for fits in o["fits"]],
        "Micro-batch x accumulation": [f"{m:.0f} x {a:.0f}" if fits else "-" for m, a, fits in
                                       zip(o["micro_batch"], o["grad_accum"], o["fits"])],
        "Memory per device (GiB)": [f"{need / 1024:,.1f} of {have / 1024:,.1f}" for need, have in
                                    zip(o["memory_needed_mib"], o["memory_per_device_mib"])],
        "MFU": span("mfu_low", "mfu_high", "{:.0%}"),
        "Hours": span("hours_low", "hours_high", "{:,.2f}"),
        "Cost (USD)": span("cost_low", "cost_high", "{:,.2f}"),
        "USD per 1M tokens": span("cost_per_m_tokens_low", "cost_per_m_tokens_high", "{:,.3f}"),
        "Meets limits": [("yes" if d and b else "no") if fits else "-"
                         for d, b, fits in zip(o["meets_deadline"], o["meets_budget"], o["fits"])],
        "Guide's hours (from time)": [("-" if pd.isna(h) else f"{h:,.2f}") for h in o["guide_hours_from_time"].astype(float)],
        "Guide's hours (throughput)": [guide_reported_text(h, s) for h, s in
                                       zip(o["guide_hours_reported"].astype(float), o["guide_hours_reported_source"].astype(float))],
    }, index=o.index)
    return table.rename_axis("Hardware")


def guide_reported_text(hours, source) -> str:
    """The guide's throughput reading in hours: raised to 100% of peak where it claims more, with
    the source's own figure beside."""
    if pd.isna(hours):
        return "-"
    return f"{hours:,.2f}" if hours == source else f"{hours:,.2f} (source: {source:,.2f})"


def format_plan(result: Plan) -> str:
    """The plan as plain text: the inputs, one line per option, the recommendation and notes."""
    i = result.inputs
    size = f"{i['samples']:,} samples" if "samples" in i else f"{i['tokens']:,} tokens"
    heading = (f"{i['model']}, {METHODS[i['method']]}: {size} per epoch at {i['sequence_length']:,} tokens, "
               f"{i['epochs']:g} epoch(s), global batch {i['batch']:,}")
    lines = [heading, "", option_table(result).to_string(), "",
             ("Recommended: " if result.recommended else "") + result.reason]
    lines += [""] + result.notes if result.notes else []
    lines += ["", "Hours and costs span the MFU range each option's evidence allows (low MFU = high "
              "figure). Each option's price per GPU-hour and MFU, with their sources, are in --json."]
    return "\n".join(lines)


# --- what the pages show --------------------------------------------------------------------------

def hardware_table(coeffs) -> pd.DataFrame:
    """Every hardware option and the evidence behind it, for the page."""
    hw = pd.DataFrame(coeffs["hardware"]).T
    return pd.DataFrame({
        "Kind": hw["kind"], "GPU": hw["gpu"], "GPUs": hw["gpus"].astype(int), "Devices": hw["devices"].astype(int),
        "Memory per device (GiB)": hw["device_memory_mib"].astype(float) / 1024,
        "Runtime reserve (GiB)": hw["reserve_mib"].astype(float) / 1024,
        "Peak BF16 per GPU (TFLOP/s)": hw["peak_tflops_per_gpu"].astype(float),
        "MFU, low": hw["mfu_low"].astype(float), "MFU, high": hw["mfu_high"].astype(float),
        "MFU evidence": hw["mfu_source"],
        "Price (USD per GPU-hour)": hw["price"].astype(float), "Price source": hw["price_source"],
        "Caveat": hw["note"],
    }).rename_axis("Hardware")


def method_comparison(coeffs, lengths=(1024, 8192)) -> pd.DataFrame:
    """Per model, method and sequence length: the states, FLOPs per token, and the smallest MoAI
    flavor (and its nodes) and the 8-GPU nodes that hold one sample per device."""
    rows = []
    for name in coeffs["models"]:
        for length in lengths:
            for method in METHODS:
                inputs = check_inputs(coeffs, name, 1, None, length, 1, method, "all", 1, None, None, None)
                options = evaluate(coeffs, inputs)
                fitting = options[options["fits"]].sort_values("gpus", kind="stable")
                moai = fitting[fitting["kind"] == "MoAI flavor"]
                m = coeffs["models"][name]
                smallest = moai.index[0] if len(moai) else None
                rows.append({"model": name, "sequence_length": length, "method": METHODS[method],
                             "states_gib": state_bytes(m, method) / 2**30,
                             "flops_per_token": flops_per_token(m, method, length),
                             "smallest_flavor": smallest,
                             "flavor_nodes": coeffs["hardware"][smallest]["nodes"] if smallest else None,
                             "gpu_nodes_that_fit": ", ".join(fitting[fitting["kind"] == "GPU node"].index) or "none"})
    return pd.DataFrame(rows)


def example_scenarios(tables) -> dict:
    """The page's worked examples, chosen from the data so that renamed models still work: the
    largest tutorial dataset against a deadline, the smallest with LoRA on a budget, the largest
    model at 8,192 tokens on the smallest flavor (which holds nothing), and the newest models'
    first row with QLoRA."""
    sizes = tables.datasets.set_index("model")["train_samples"].dropna()
    scenarios = {}
    if len(sizes):
        large, small = sizes.idxmax(), sizes.idxmin()
        scenarios["Tutorial dataset, 3-hour deadline"] = dict(model_name=large, samples=int(sizes[large]), deadline=3)
        scenarios["Small dataset, LoRA, 3 epochs, 10 USD"] = dict(
            model_name=small, samples=int(sizes[small]), epochs=3, method="lora", budget=10)
    params = model.parameter_count(tables.models)
    smallest = tables.accelerators.sort_values("mi250_gpus")["accelerator"].iloc[0]
    scenarios["Largest model, 8,192 tokens, smallest flavor"] = dict(
        model_name=params.idxmax(), samples=10_000, sequence_length=8192, hardware_choice=smallest)
    new = [name for name in tables.models["model"] if name not in set(tables.guide["model"])]
    if new:
        scenarios["A model the guide did not measure, QLoRA"] = dict(
            model_name=new[-1], tokens=200_000_000, sequence_length=4096, method="qlora", hardware_choice="gpu-nodes")
    return scenarios


def costs_by_option(tables, coeffs, tokens: int, sequence_length=DEFAULTS["sequence_length"],
                    method=DEFAULTS["method"]) -> pd.DataFrame:
    """Every model on every option for the same run: the fair comparison of the cost page, with
    each option's price source and caveat beside its numbers."""
    rows = []
    for name in coeffs["models"]:
        result = plan(tables, name, tokens=tokens, sequence_length=sequence_length, method=method,
                      coefficients_=coeffs)
        options = result.options.reset_index()
        options.insert(0, "model", name)
        options["caveat"] = [coeffs["hardware"][h]["note"] for h in options["hardware"]]
        rows.append(options)
    return pd.concat(rows, ignore_index=True)


def same_model_references(tables, coeffs) -> pd.DataFrame:
    """Public measurements on a model of data/models.csv, priced at the node's default price, beside
    the model's range for the same model, sequence length and hardware."""
    refs = model.reference_mfu(tables)
    refs = refs[refs["model"].isin(coeffs["models"])]
    rows = []
    for ref in refs.itertuples():
        node = next((name for name, hw in coeffs["hardware"].items()
                     if hw["kind"] == "GPU node" and hw["gpu"].startswith(ref.gpu)), None)
        if node is None:
            continue
        hw = coeffs["hardware"][node]
        option = plan(tables, ref.model, tokens=10**9, sequence_length=int(ref.sequence_length),
                      hardware_choice=node, coefficients_=coeffs).options.loc[node]
        rows.append({"reference": ref.reference, "model": ref.model, "hardware": node,
                     "sequence_length": int(ref.sequence_length), "tokens_per_s_per_gpu": ref.tokens_per_s_per_gpu,
                     "mfu": ref.mfu, "price_per_gpu_hour": hw["price"], "price_source": hw["price_source"],
                     # A speed above peak (MFU over 1) is raised to peak, as everywhere else.
                     "cost_per_m_measured": hw["price"] / (ref.tokens_per_s_per_gpu / max(ref.mfu, 1.0) * 3600) * 1e6,
                     "cost_per_m_low": option["cost_per_m_tokens_low"], "cost_per_m_high": option["cost_per_m_tokens_high"],
                     "caveat": " ".join(filter(None, [ref.note, hw["note"]]))})
    return pd.DataFrame(rows)
