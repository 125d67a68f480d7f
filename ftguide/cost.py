"""Money: cost of a run and cost per million tokens, from a price per GPU-hour.

All prices are per GPU-hour in the currency of data/prices.csv (USD). The MI250 price is an
assumption (no public price exists): every function takes it as an argument so a reader can use
their own quote.
"""

import re

import numpy as np
import pandas as pd

from ftguide import model as model_module
from ftguide.throughput import READINGS, time_based_throughput

SECONDS_PER_HOUR = 3600


def price_per_gpu_hour(prices: pd.DataFrame) -> pd.Series:
    """Per-GPU price of each listing (node prices are divided by the node's GPUs)."""
    return prices["price_per_instance_hour"] / prices["gpus_per_instance"]


def mi250_assumption(prices: pd.DataFrame) -> dict:
    """The assumed MI250 price per GPU-hour and its low-high range, with date and source."""
    row = prices[(prices["gpu"] == "MI250") & (prices["kind"] == "assumption")].iloc[0]
    return {
        "price": row["price_per_instance_hour"] / row["gpus_per_instance"],
        "low": row["price_low"],
        "high": row["price_high"],
        "currency": row["currency"],
        "date_seen": row["date_seen"],
        "source": row["source"],
    }


def run_cost(price_per_gpu_hour: float, gpus, minutes):
    """Price x GPUs x hours: 8 GPUs at 2.00 per GPU-hour for 220 minutes cost 58.67."""
    return price_per_gpu_hour * gpus * minutes / 60


def cost_per_million_tokens(price_per_gpu_hour: float, gpus, tokens_per_s):
    """What one million tokens cost at the given cluster throughput."""
    seconds = 1e6 / tokens_per_s
    return price_per_gpu_hour * gpus * seconds / SECONDS_PER_HOUR


# --- Tables for the cost page and `python -m ftguide cost` ------------------------------------
# Everything below takes the validated tables of ftguide.load and a price, so the page, the
# command line and a script all get the same figures from the same arithmetic.


def price_date(row) -> str:
    """When a price held, in words: the day it was seen, else the day the listing said it ends."""
    if isinstance(row["date_seen"], str):
        return f"seen {row['date_seen']}"
    return f"valid to {row['valid_until']}, day seen not recorded"


def listings(prices: pd.DataFrame, gpu: str) -> pd.DataFrame:
    """The price rows of one GPU, named exactly ('H100 SXM', never 'H100 PCIe' for it), with their
    per-GPU price and date."""
    rows = prices[(prices["gpu"] == gpu) & (prices["kind"] != "assumption")].copy()
    rows["price_per_gpu_hour"] = price_per_gpu_hour(rows)
    rows["price_date"] = rows.apply(price_date, axis=1)
    return rows.sort_values("price_per_gpu_hour")


def default_reference_price(tables, gpu: str) -> pd.Series:
    """The cheapest on-demand listing with a date seen of the GPU a reference names ('H100': the one
    H100 of data/gpu_nodes.csv, model.reference_gpu): the hardest price for MI250 to match."""
    rows = listings(tables.prices, model_module.reference_gpu(tables.gpu_nodes, gpu))
    current = rows[(rows["kind"] == "on-demand") & rows["date_seen"].notna()]
    return current.iloc[0]


def cost_table(tables, price: float | None = None, epochs: float = 1) -> pd.DataFrame:
    """One row per guide configuration: GPU-hours, cost per run, cost per 1M tokens both ways.

    `price` is USD per MI250 GPU-hour (default: the assumption in data/prices.csv). `epochs` is
    how many epochs of the tutorial dataset the guide's training time is read as covering.
    """
    if price is None:
        price = mi250_assumption(tables.prices)["price"]
    guide = tables.guide
    out = guide[["model", "accelerator", "batch_size", "sequence_length", "gpus",
                 "training_time_min"]].copy()
    out["price_per_gpu_hour"] = price
    out["gpu_hours"] = guide["gpus"] * guide["training_time_min"] / 60
    out["run_cost"] = run_cost(price, guide["gpus"], guide["training_time_min"])
    # Physics first: no reading may be faster than the flavor at 100% of peak (ftguide.model); the
    # source's figure stays beside the bounded one.
    at_peak = (model_module.peak_flops(guide, tables.accelerators)
               / model_module.row_flops(guide, tables.models)["flops"])
    out["throughput_at_peak"] = at_peak
    out["throughput_reported_source"] = guide["throughput_tokens_per_s"].astype(float)
    out["throughput_reported"] = out["throughput_reported_source"].clip(upper=at_peak)
    out["throughput_from_time"] = time_based_throughput(guide, tables.datasets, epochs).clip(upper=at_peak)
    for reading in READINGS:
        out[f"cost_per_m_{reading}"] = cost_per_million_tokens(
            price, guide["gpus"], out[f"throughput_{reading}"])
    return out


# Configurations are compared only within the same model at the same sequence length: a
# 2048-token run is a different job from a 1024-token one (as on the scaling page).
GROUP = ["model", "sequence_length"]
# Costs are products and quotients of the data, so two equal costs may differ in the last bits;
# values this close are a tie.
TIE_TOLERANCE = 1e-9


def pareto_front(costs: pd.DataFrame) -> pd.Series:
    """True for each configuration that no other of the same model and sequence length beats:
    faster and no dearer, or cheaper and no slower."""
    on_front = pd.Series(True, index=costs.index)
    for _, rows in costs.groupby(GROUP, sort=False):
        for index, row in rows.iterrows():
            on_front[index] = not _beats(rows, row)[0].any()
    return on_front


def beaten_by(costs: pd.DataFrame) -> pd.Series:
    """Why each configuration is off the trade-off front ('same cost as 4xlarge, slower', 'dearer
    and slower than 4xlarge'), naming the first flavor that beats it; NaN on the front."""
    reasons = pd.Series(pd.NA, index=costs.index, dtype="object")
    for _, rows in costs.groupby(GROUP, sort=False):
        for index, row in rows.iterrows():
            better, faster, cheaper = _beats(rows, row)
            if better.any():
                winner = better.idxmax()
                name = rows.loc[winner, "accelerator"]
                if not cheaper[winner]:
                    reasons[index] = f"same cost as {name}, slower"
                elif not faster[winner]:
                    reasons[index] = f"dearer than {name}, as fast"
                else:
                    reasons[index] = f"dearer and slower than {name}"
    return reasons


def _beats(rows: pd.DataFrame, row) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Which of `rows` beat `row` (as good on time and cost, better on one), are faster, are cheaper."""
    time, money = rows["training_time_min"], rows["run_cost"]
    same_time, same_money = _tied(time, row["training_time_min"]), _tied(money, row["run_cost"])
    faster = (time < row["training_time_min"]) & ~same_time
    cheaper = (money < row["run_cost"]) & ~same_money
    return (faster | same_time) & (cheaper | same_money) & (faster | cheaper), faster, cheaper


def _tied(values: pd.Series, value: float) -> pd.Series:
    return pd.Series(np.isclose(values, value, rtol=TIE_TOLERANCE, atol=0), index=values.index)


def best_rows(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """The rows with the lowest `column`: every one of them on a tie; none if it is unknown."""
    known = rows.dropna(subset=[column])
    if known.empty:
        return known
    return known[_tied(known[column], known[column].min())]


def configuration_name(row) -> str:
    """A configuration within its model and sequence length: '4xlarge (batch 256)'."""
    return f"{row['accelerator']} (batch {row['batch_size']})"


def pick_phrase(best: pd.DataFrame, name=configuration_name):
    """One configuration's name, or every tied one's: '2xlarge and 4xlarge (tie)'; None if none."""
    names = [name(row) for _, row in best.iterrows()]
    if not names:
        return None
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]} (tie)"


def cheapest_and_fastest(costs: pd.DataFrame) -> pd.DataFrame:
    """Per model and sequence length: the fastest configuration, the cheapest run and the cheapest
    1M tokens per reading, naming every tied configuration."""
    columns = {"fastest": "training_time_min", "cheapest_run": "run_cost",
               **{f"cheapest_per_m_{reading}": f"cost_per_m_{reading}" for reading in READINGS}}
    picks = {group: {pick: pick_phrase(best_rows(rows, column)) for pick, column in columns.items()}
             for group, rows in costs.groupby(GROUP, sort=False)}
    return pd.DataFrame.from_dict(picks, orient="index").rename_axis(GROUP)


def cheapest_per_model(costs: pd.DataFrame, column: str) -> pd.DataFrame:
    """Each model and sequence length's lowest `column` (groups where it is unknown left out), in
    the guide's order, one row per group: the first tied row, with `accelerator` naming every tied
    flavor ('2xlarge and 4xlarge (tie)')."""
    rows = []
    for _, group in costs.groupby(GROUP, sort=False):
        best = best_rows(group, column)
        if not best.empty:
            rows.append(best.iloc[0].copy())
            rows[-1]["accelerator"] = pick_phrase(best, lambda row: row["accelerator"])
    return pd.DataFrame(rows, columns=costs.columns)


def break_even_price(mi250_tokens_per_s_per_gpu, reference_price: float,
                     reference_tokens_per_s_per_gpu: float):
    """MI250 price per GPU-hour at which a MI250 token costs what a reference GPU's token costs.

    Cost per token is price / tokens-per-second on both sides, so the break-even price is the
    reference price scaled by the MI250's speed relative to the reference GPU.
    """
    return reference_price * mi250_tokens_per_s_per_gpu / reference_tokens_per_s_per_gpu


def model_size_billion(model: str, models: pd.DataFrame | None = None) -> float:
    """A model's size in billions of parameters.

    From models.csv when given: the published count, else the count from the architecture, so a
    model renamed in every file keeps its size. Without it, the size class in the name
    ('Llama2 13B' -> 13.0).
    """
    if models is not None:
        published = models.set_index("model")["published_params"].get(model)
        params = published if pd.notna(published) else model_module.parameter_count(models)[model]
        return float(params) / 1e9
    match = re.search(r"(\d+(?:\.\d+)?)B\b", model)
    if match is None:
        raise ValueError(f"no size such as '7B' in the model name {model!r}")
    return float(match.group(1))


def matching_reference(references: pd.DataFrame, gpu: str, model: str, sequence_length: int,
                       precision: str = "BF16", models: pd.DataFrame | None = None) -> pd.Series:
    """The reference run on `gpu` closest to a guide row: same precision, then the nearest
    sequence length, then the nearest model size (from `models`, the models.csv table, if given)."""
    rows = references[(references["gpu"] == gpu) & (references["precision"] == precision)]
    distance = pd.DataFrame({
        "sequence": (rows["sequence_length"] - sequence_length).abs(),
        "size": (rows["params_billion"] - model_size_billion(model, models)).abs(),
    })
    return rows.loc[distance.sort_values(["sequence", "size"]).index[0]]


def break_even_table(tables, costs: pd.DataFrame, reference_prices: dict) -> pd.DataFrame:
    """For each configuration and each reference GPU: the matched reference and the MI250 price
    per GPU-hour at which the configuration's tokens cost the same, under both readings.

    The reference's speed is carried to the configuration's model through FLOPs per token: its
    MFU × the GPU's peak ÷ the model's FLOPs per token at the row's length (a speed measured on
    MPT-7B at about 42 GFLOP per token is not a speed for Llama3 8B at about 47).
    `reference_prices` maps a reference GPU ('H100', 'A100 80GB') to its price per GPU-hour.
    """
    refs = model_module.reference_mfu(tables)
    flops = model_module.row_flops(costs, tables.models)["flops"]
    out = costs[["model", "accelerator", "batch_size", "sequence_length", "gpus"]].copy()
    for gpu, price in reference_prices.items():
        matched = [matching_reference(refs, gpu, row.model, row.sequence_length, models=tables.models)
                   for row in costs.itertuples()]
        out[f"{gpu} reference"] = [ref["reference"] for ref in matched]
        peak = model_module.gpu_peak(tables.gpu_nodes, gpu)
        mfu = pd.Series([min(ref["mfu"], 1.0) for ref in matched], index=costs.index)  # never above peak
        speed = mfu * peak / flops
        out[f"{gpu} tokens/s per GPU"] = speed
        for reading in READINGS:
            per_gpu = costs[f"throughput_{reading}"] / costs["gpus"]
            out[f"{gpu} break-even ({reading})"] = break_even_price(per_gpu, price, speed)
    return out


def reference_costs(tables) -> pd.DataFrame:
    """Cost per 1M tokens of each public reference at the cheapest and dearest listed price of its
    GPU (the one of data/gpu_nodes.csv it names, model.reference_gpu)."""
    rows = []
    for ref in tables.throughput_references.itertuples():
        listed = listings(tables.prices, model_module.reference_gpu(tables.gpu_nodes, ref.gpu))
        low, high = listed.iloc[0], listed.iloc[-1]
        rows.append({
            "reference": ref.reference,
            "low_listing": f"{low['provider']} ({low['kind']}, {low['price_date']})",
            "low_price": low["price_per_gpu_hour"],
            "cost_per_m_low": cost_per_million_tokens(low["price_per_gpu_hour"], 1, ref.tokens_per_s_per_gpu),
            "high_listing": f"{high['provider']} ({high['kind']}, {high['price_date']})",
            "high_price": high["price_per_gpu_hour"],
            "cost_per_m_high": cost_per_million_tokens(high["price_per_gpu_hour"], 1,
                                                       ref.tokens_per_s_per_gpu),
        })
    return pd.DataFrame(rows)
