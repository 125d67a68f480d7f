"""The pages' questions about plans: what moves the answer, how the methods compare, the worked
examples, and every model on every option for the cost page."""

import pandas as pd

from ftguide import evidence, model
from ftguide.audit import startup_phrases
from ftguide.planner import kernel
from ftguide.planner.coefficients import REFERENCE_WORK, coefficients, startup_range
from ftguide.planner.run import DEFAULTS, LORA_MEASURED_SPEEDUP, QLORA_MEASURED_SLOWDOWN, plan


def sensitivity(tables, inputs: dict, hardware_name: str, coeffs=None) -> pd.DataFrame:
    """Hours and cost of one option when each uncertain assumption takes its low and its high
    value, the others held at the central case (the MFU in the middle of its evidence, the listed
    price, the fitted start-up, the guide read as one epoch). One row per assumption, the widest
    swing in cost first: the data of a tornado figure."""
    coeffs = coeffs or coefficients(tables)
    inputs = {**inputs, "hardware": hardware_name}
    hw = coeffs["hardware"][hardware_name]
    base = kernel.option(coeffs, hardware_name, inputs)
    startup_low, startup_high = startup_range(tables)

    def with_hardware(**changes):
        changed = {**coeffs, "hardware": {hardware_name: {**hw, **changes}}}
        return kernel.option(changed, hardware_name, inputs)

    # The run's own MFU range (a GPU's comes from its curve at the run's micro-batch), each end held.
    low, high = base["mfu_low"], base["mfu_high"]
    cases = {"MFU": (f"{low:.0%}", with_hardware(mfu_curve=None, mfu=low),
                     f"{high:.0%}", with_hardware(mfu_curve=None, mfu=high))}
    if hw["kind"] == "MoAI flavor":  # the vendor's logs time the platform's start-up, not a GPU stack's
        cases["Start-up"] = (f"{startup_low:.0f} min", with_hardware(startup_min=startup_low),
                             f"{startup_high:.0f} min", with_hardware(startup_min=startup_high))
    if hw["price"] is not None:  # an option the tier does not price has no cost to swing
        cases["Price"] = (f"{hw['price_high']:.2f} USD/GPU-h", with_hardware(price=hw["price_high"]),
                          f"{hw['price_low']:.2f} USD/GPU-h", with_hardware(price=hw["price_low"]))
    if hw["kind"] == "MoAI flavor":
        three = coefficients(tables, guide_epochs=3)["hardware"][hardware_name]
        cases["Guide's time read as"] = ("1 epoch", base, "3 epochs", with_hardware(mfu=three["mfu"]))
    for reading, label in (("from_time", "the guide's training time"), ("reported", "the guide's throughput")):
        if base[f"guide_hours_{reading}"] is not None:
            cases[f"Speed: {label}"] = ("model", base, "guide", guide_reading(base, reading))
    rows = [{"assumption": name, "low_label": low_label, "high_label": high_label,
             "hours_a": low["hours"], "hours_b": high["hours"], "cost_a": low["cost"], "cost_b": high["cost"]}
            for name, (low_label, low, high_label, high) in cases.items()]
    out = pd.DataFrame(rows)
    out["swing"] = (out["cost_a"] - out["cost_b"]).abs()
    out.attrs.update(hours=base["hours"], cost=base["cost"], hardware=hardware_name)
    return out.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


def guide_reading(option: dict, reading: str) -> dict:
    """An option's hours and cost had the guide's (bounded) reading been used instead of the model."""
    hours = option[f"guide_hours_{reading}"]
    return {"hours": hours, "cost": option["price_per_gpu_hour"] * option["gpus"] * hours}


def method_comparison(coeffs, lengths=(1024, 8192)) -> pd.DataFrame:
    """Per model, method and sequence length: the states, FLOPs per token, and the smallest MoAI
    flavor (and its nodes) and the 8-GPU nodes that hold one sample per device."""
    rows = []
    for name, m in coeffs["models"].items():
        for length in lengths:
            for method in kernel.METHODS:
                inputs = kernel.check_inputs(coeffs, {"model": name, "samples": 1, "sequence_length": length,
                                                      "method": method, "batch": 1})
                fitting = sorted((o for o in kernel.evaluate(coeffs, inputs) if o["fits"]), key=lambda o: o["gpus"])
                moai = [o["hardware"] for o in fitting if o["kind"] == "MoAI flavor"]
                smallest = moai[0] if moai else None
                rows.append({"model": name, "sequence_length": length, "method": kernel.METHODS[method],
                             "states_gib": kernel.state_bytes(m, inputs) / 2**30,
                             "flops_per_token": kernel.flops_per_token(m, length, inputs),
                             "smallest_flavor": smallest,
                             "flavor_nodes": coeffs["hardware"][smallest]["nodes"] if smallest else None,
                             "gpu_nodes_that_fit": ", ".join(o["hardware"] for o in fitting if o["kind"] == "GPU node")
                             or "none"})
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


# The cost page compares the MoAI flavors with the 8-GPU nodes a full fine-tune of these models is
# rented on: data-center GPUs of 40 GiB or more, priced in the tier and measured by a public run.
COMPARED_NODE_MEMORY_MIB = 40 * 1024


def compared_options(coeffs) -> list:
    return [name for name, hw in coeffs["hardware"].items() if hw["kind"] == "MoAI flavor"
            or (hw["kind"] == "GPU node" and hw["price"] is not None and hw["measured"]
                and hw["device_memory_mib"] >= COMPARED_NODE_MEMORY_MIB)]


def costs_by_option(tables, coeffs, tokens: int, sequence_length=DEFAULTS["sequence_length"],
                    method=DEFAULTS["method"]) -> pd.DataFrame:
    """Every model on the compared options for the same run: the fair comparison of the cost page,
    with each option's price source and caveat beside its numbers."""
    compared = compared_options(coeffs)
    rows = []
    for name in coeffs["models"]:
        result = plan(tables, name, tokens=tokens, sequence_length=sequence_length, method=method,
                      coefficients_=coeffs)
        options = result.options.loc[compared].reset_index()
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
                     if hw["kind"] == "GPU node" and hw["gpu"] == ref.node_gpu), None)
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
                     "cost_per_m_low": option["cost_per_m_tokens_low"],
                     "cost_per_m_high": option["cost_per_m_tokens_high"],
                     "caveat": " ".join(filter(None, [ref.note, hw["note"]]))})
    return pd.DataFrame(rows)


def headline_run(tables, coeffs) -> dict:
    """The cost page's headline run: the planner's example (the first tutorial dataset of known size,
    else a million tokens) on the guide's first configuration of that model (else the first flavor):
    the checked inputs, the hardware, and the words that name the run."""
    example = coeffs["example"]
    rows = tables.guide[tables.guide["model"] == example["model"]]
    hardware = rows["accelerator"].iloc[0] if len(rows) else tables.accelerators["accelerator"].iloc[0]
    length = int(rows["sequence_length"].iloc[0]) if len(rows) else DEFAULTS["sequence_length"]
    size = {key: example[key] for key in ("samples", "tokens") if key in example}
    inputs = plan(tables, example["model"], sequence_length=length, coefficients_=coeffs, **size).inputs
    if "samples" in example:
        dataset = tables.datasets.set_index("model").loc[example["model"], "dataset"]
        run = f"{example['model']}'s tutorial run ({example['samples']:,} samples of {dataset})"
    else:
        run = f"a run of {example['model']} on {example['tokens']:,} tokens (no tutorial dataset's size is known)"
    return {"inputs": inputs, "hardware": hardware, "text": f"{run} on {hardware}"}


def same_run_on_every_option(tables, run_tokens: int) -> dict:
    """The cost page's last section: the same full fine-tuning run of `run_tokens` priced on the
    compared options (by_option), public measurements of the same model (same_model), and what moves
    the cost of the headline run most (swings; headline: that run in words)."""
    coeffs = coefficients(tables)
    headline = headline_run(tables, coeffs)
    return {
        "run_tokens": run_tokens, "sequence_length": DEFAULTS["sequence_length"],
        "by_option": costs_by_option(tables, coeffs, run_tokens),
        "same_model": same_model_references(tables, coeffs),
        "swings": sensitivity(tables, headline["inputs"], headline["hardware"], coeffs),
        "headline": headline["text"],
    }


# --- the planner page's numbers -----------------------------------------------------------------------

def headline_option(result) -> str:
    """The option the page's worked example talks about: the recommended one, else the first that
    fits, else the first listed."""
    fitting = result.options[result.options["fits"]]
    return result.recommended or (fitting.index[0] if len(fitting) else result.options.index[0])


def page_values(tables, coeffs, result, deadline, methods: pd.DataFrame, swings: pd.DataFrame) -> dict:
    """The planner page's numbers and names, formatted, for its worked example `result` (with the
    deadline it was given), methods = method_comparison(coeffs) and swings = sensitivity(...)."""
    flavor = next(hw for hw in coeffs["hardware"].values() if hw["kind"] == "MoAI flavor")
    headline = headline_option(result)
    return {
        "n_models": f"{len(coeffs['models'])}",
        "n_gpus": f"{len({hw['gpu'] for hw in coeffs['hardware'].values() if hw['kind'] != 'MoAI flavor'})}",
        "example_inputs": kernel.heading(result.inputs) + (f", deadline {deadline:g} h" if deadline else ""),
        "mi250_mfu": f"{flavor['mfu_low']:.0%} to {flavor['mfu_high']:.0%}",
        "startup": f"{flavor['startup_min']:.1f} min", "reserve": f"{flavor['reserve_mib'] / 1024:.1f} GiB",
        "startup_range": startup_phrases(tables.vendor_measurements)["range"],
        "lora_rank": f"{kernel.LORA_RANK}", "state_bytes": f"{kernel.STATE_BYTES_PER_PARAM}",
        "frozen_bytes": f"{kernel.FROZEN_BF16_BYTES}", "gradient_bytes": f"{kernel.GRADIENT_BYTES}",
        "adapter_bytes": f"{kernel.ADAPTER_BYTES}",
        "full_flops": f"{kernel.MATMUL_FLOPS['full']}", "lora_flops": f"{kernel.MATMUL_FLOPS['lora']}",
        "nf4_bytes": f"{kernel.NF4_BYTES:.3f}", "default_batch": f"{DEFAULTS['batch']:,}",
        "headline": headline, "widest": swings["assumption"].iloc[0],
        "reference_work": f"{REFERENCE_WORK / 1e12:,.0f} TFLOP", "unmeasured_gpus": unmeasured_gpus(coeffs),
        **memory_values(evidence.memory_table(tables), tables.gpus, tables.allocator_cache),
        "mine_reason": (kernel.TEXT["recommended_label"] + " " if result.recommended else "") + result.reason,
        **method_values(tables, result, methods), **batch_values(tables, result, headline),
    }


def unmeasured_gpus(coeffs) -> str:
    """The catalog's GPUs none of whose options rests on a measured run, for the page's limits."""
    options = [hw for hw in coeffs["hardware"].values() if hw["kind"] != "MoAI flavor"]
    measured = {hw["gpu"] for hw in options if hw["measured"]}
    names = sorted({hw["gpu"] for hw in options} - measured)
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names) or "none"


def memory_values(memory: pd.DataFrame, gpus: pd.DataFrame, cache: pd.DataFrame) -> dict:
    """What the evidence says of the memory verdicts (evidence.memory_table): what the allocator
    holds on batches of varying length (data/allocator_cache.csv), the tight band, how often runs
    went beyond it, and what the planner would have said of runs that ran."""
    beyond = evidence.beyond_the_band(memory)
    said = evidence.verdicts_on_runs_that_ran(memory, gpus).value_counts()
    return {"ran": f"{len(memory):,}", "ran_refused": f"{said.get('no', 0):,}",
            "ran_tight": f"{said.get('tight', 0):,}",
            **evidence.cache_values(evidence.cache_factor(cache)),
            "memory_band": f"{beyond['band']:.1%}", "share_over_band": f"{beyond['share_over']:.0%}",
            "tenth_held": f"{beyond['tenth'] - 1:.0%}"}


def method_values(tables, result, methods: pd.DataFrame) -> dict:
    """LoRA's FLOP saving for the example's model, the measured speeds beside it, and which runs
    LoRA brings down to fewer MoAI nodes."""
    shortest, longest = methods["sequence_length"].min(), methods["sequence_length"].max()
    one = methods[(methods["model"] == result.inputs["model"]) & (methods["sequence_length"] == shortest)]
    full, lora = one.set_index("method").loc[[kernel.METHODS["full"], kernel.METHODS["lora"]], "flops_per_token"]
    nodes = methods[methods["sequence_length"] == longest].pivot(index="model", columns="method", values="flavor_nodes")
    fewer = nodes[nodes[kernel.METHODS["lora"]] < nodes[kernel.METHODS["full"]]]
    short_full = methods[(methods["sequence_length"] == shortest) & (methods["method"] == kernel.METHODS["full"])]
    used = tables.guide["accelerator"].map(tables.accelerators.set_index("accelerator")["nodes"])
    return {"flops_ratio": f"{full / lora:.2f}", "lora_measured": f"{LORA_MEASURED_SPEEDUP:.2f}",
            "qlora_measured": f"{QLORA_MEASURED_SLOWDOWN[0]:.2f} to {QLORA_MEASURED_SLOWDOWN[1]:.1f}",
            "dropped": ", ".join(fewer.index) or "no model", "longest": f"{longest:,}", "shortest": f"{shortest:,}",
            "short_nodes": f"{short_full['flavor_nodes'].max():.0f}", "guide_nodes": f"{used.min()} to {used.max()}"}


def batch_values(tables, result, headline: str) -> dict:
    """How the guide grows its batch with the flavor (one model at one length: the example's if the
    guide has it), and the example's split on its headline option."""
    guide_models = list(dict.fromkeys(tables.guide["model"]))
    model = result.inputs["model"] if result.inputs["model"] in guide_models else guide_models[0]
    rows = tables.guide[tables.guide["model"] == model]
    rows = rows[rows["sequence_length"] == rows["sequence_length"].mode().min()].sort_values("gpus")
    picked = result.options.loc[headline]
    split = dict.fromkeys(("your_split", "your_steps", "your_tokens_per_step"), "none (it does not fit)")
    if picked["fits"]:
        split = {"your_split": f"{picked['micro_batch']:,.0f} × {picked['grad_accum']:,.0f} × {picked['devices']:,} "
                               f"= {picked['global_batch']:,.0f}",
                 "your_steps": f"{picked['optimizer_steps']:,.0f}",
                 "your_tokens_per_step": f"{picked['tokens_per_step']:,.0f}"}
    return {"growth_model": model, "growth_small": rows["accelerator"].iloc[0],
            "growth_large": rows["accelerator"].iloc[-1], "guide_batch_low": f"{rows['batch_size'].iloc[0]:,}",
            "guide_batch_high": f"{rows['batch_size'].iloc[-1]:,}",
            "batch_ratio": f"{rows['batch_size'].iloc[-1] / rows['batch_size'].iloc[0]:g}", **split}
