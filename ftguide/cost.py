"""Money: cost of a run and cost per million tokens, from a price per GPU-hour.

All prices are per GPU-hour in the currency of data/prices.csv (USD). The MI250 price is an
assumption (no public price exists): every function takes it as an argument so a reader can use
their own quote.
"""

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ftguide import model as model_module
from ftguide.plausibility import REFERENCE_GPUS
from ftguide.throughput import NO_DATASET_SIZE, READING_NAMES, READINGS, time_based_throughput

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
    H100 of data/gpus.csv, model.reference_gpu): the hardest price for MI250 to match."""
    rows = listings(tables.prices, model_module.reference_gpu(tables.gpus, gpu))
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
        peak = model_module.gpu_peak(tables.gpus, gpu)
        mfu = pd.Series([min(ref["mfu"], 1.0) for ref in matched], index=costs.index)  # never above peak
        speed = mfu * peak / flops
        out[f"{gpu} tokens/s per GPU"] = speed
        for reading in READINGS:
            per_gpu = costs[f"throughput_{reading}"] / costs["gpus"]
            out[f"{gpu} break-even ({reading})"] = break_even_price(per_gpu, price, speed)
    return out


def reference_costs(tables) -> pd.DataFrame:
    """Cost per 1M tokens of each public reference at the cheapest and dearest listed price of its
    GPU (the one of data/gpus.csv it names, model.reference_gpu)."""
    rows = []
    for ref in tables.throughput_references.itertuples():
        listed = listings(tables.prices, model_module.reference_gpu(tables.gpus, ref.gpu))
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


# --- what the cost page shows ------------------------------------------------------------------

@dataclass(frozen=True)
class Prices:
    """The prices a page prices with: the MI250 price and the range it is tried over, and each
    reference GPU's price per GPU-hour, each read from data/prices.csv unless the reader set it."""

    mi250: float
    low: float
    high: float
    assumption: dict  # mi250_assumption: the MI250 price, range, currency, date and source in prices.csv
    listings: dict  # reference GPU -> its cheapest dated on-demand listing (default_reference_price)
    references: dict  # reference GPU -> price per GPU-hour in use
    mi250_set: bool  # the MI250 price was set by the reader
    references_set: dict  # reference GPU -> its price was set by the reader

    @property
    def currency(self) -> str:
        return self.assumption["currency"]

    def money(self, value, decimals=2) -> str:
        return f"{value:,.{decimals}f} {self.currency}"

    @property
    def mi250_basis(self) -> str:
        """The MI250 price a figure rests on, in words."""
        return f"MI250: {self.money(self.mi250)} per GPU-hour, an assumption of {self.assumption['date_seen']}"

    @property
    def reference_basis(self) -> str:
        """The H100 and A100 prices a figure rests on, with their listing or 'set in the parameters cell'."""
        return "; ".join(f"{gpu} {self.money(self.references[gpu])}/GPU-h" + (
            ", set in the parameters cell" if self.references_set[gpu]
            else f", {listing['provider']}, {listing['price_date']}") for gpu, listing in self.listings.items())


def prices_in_use(tables, mi250=None, low=None, high=None, references=None) -> Prices:
    """The prices of data/prices.csv, with any the reader gives (None: the file's) in their place.
    `references` maps a reference GPU to its price. The range always holds the MI250 price."""
    assumption = mi250_assumption(tables.prices)
    price = assumption["price"] if mi250 is None else mi250
    low = assumption["low"] if low is None else low
    high = assumption["high"] if high is None else high
    given = {gpu: (references or {}).get(gpu) for gpu in REFERENCE_GPUS}
    listings = {gpu: default_reference_price(tables, gpu) for gpu in REFERENCE_GPUS}
    return Prices(
        mi250=price, low=min(low, price), high=max(high, price), assumption=assumption, listings=listings,
        references={gpu: listings[gpu]["price_per_gpu_hour"] if given[gpu] is None else given[gpu]
                    for gpu in REFERENCE_GPUS},
        mi250_set=mi250 is not None, references_set={gpu: value is not None for gpu, value in given.items()})


def page_values(tables, costs: pd.DataFrame, prices: Prices, epochs, break_even: pd.DataFrame,
                options: dict) -> dict:
    """The cost page's numbers in words, for costs = cost_table(tables, prices.mi250, epochs),
    break_even = break_even_table(tables, costs, prices.references) and options =
    planner.scenarios.same_run_on_every_option(tables, ...)."""
    money = prices.money
    ratio = costs["cost_per_m_from_time"] / costs["cost_per_m_reported"]
    dearest = costs.loc[costs["run_cost"].idxmax()]
    front, reasons = pareto_front(costs), beaten_by(costs)
    same = options["same_model"]
    set_here = "set in the parameters cell"
    mi250_from = set_here if prices.mi250_set else "the assumption in data/prices.csv"
    listed = {gpu: set_here if given else "cheapest dated on-demand listing"
              for gpu, given in prices.references_set.items()}
    references = ", ".join(f"{gpu} at {money(price)} per GPU-hour ({listed[gpu]})"
                           for gpu, price in prices.references.items())
    return {
        "mi250_price": money(prices.mi250), "mi250_date": f"{prices.assumption['date_seen']}",
        "mi250_range": f"{money(prices.low)} to {money(prices.high)}", "mi250_source": prices.assumption["source"],
        "currency": prices.currency, "epochs": f"{epochs:g}",
        "built_with": (f"an MI250 price of {money(prices.mi250)} per GPU-hour ({mi250_from}), a range of "
                       f"{money(prices.low)} to {money(prices.high)}, a training time read as {epochs:g} epoch(s), "
                       f"and {references}"),
        "n_bounded": f"{(costs['throughput_reported_source'] > costs['throughput_at_peak']).sum()}",
        "n_rows": f"{len(costs)}",
        "reading_ratio_low": f"{ratio.min():.1f}" if ratio.notna().any() else f"n/a ({NO_DATASET_SIZE})",
        "reading_ratio_high": f"{ratio.max():.1f}" if ratio.notna().any() else "n/a",
        "dearest_run": f"{dearest['model']} on {dearest['accelerator']}, {money(dearest['run_cost'])}",
        "n_front": f"{int(front.sum())}", "n_beaten": f"{int((~front).sum())}",
        "beaten_list": "; ".join(
            f"{r.model} on {r.accelerator}" + (f" at {r.sequence_length:,} tokens" if r.sequence_length != 1024 else "")
            + f" ({reasons[r.Index]})" for r in costs[~front].itertuples()) or "none",
        "reference_prices": " and ".join(
            f"{money(prices.references[gpu])} per {gpu} GPU-hour" + (
                " (set in the parameters cell)" if prices.references_set[gpu]
                else f" ({listing['provider']}, {listing['kind']}, {listing['price_date']})")
            for gpu, listing in prices.listings.items()),
        **_break_even_values(tables, break_even, prices),
        "run_tokens": f"{options['run_tokens']:,}", "run_length": f"{options['sequence_length']:,}",
        "same_model": (f"{same.iloc[0]['model']} at {same.iloc[0]['sequence_length']:,} tokens on "
                       f"{same.iloc[0]['hardware']}" if len(same) else "no model of data/models.csv"),
        "headline_run": options["headline"], "headline_widest": options["swings"]["assumption"].iloc[0],
    }


def _break_even_values(tables, break_even: pd.DataFrame, prices: Prices) -> dict:
    """Which references the rows are matched with, the first row's carried speed, the price ranges."""
    references = tables.throughput_references.set_index("reference")
    first = break_even.iloc[0]
    matched = pd.unique(break_even[[f"{gpu} reference" for gpu in prices.references]].values.ravel())
    matched = references.loc[matched]
    values = {
        "h100_example": f"{first['model']} at {first['sequence_length']:,} tokens",
        "h100_llama_speed": f"{first['H100 tokens/s per GPU']:,.0f}",
        "h100_ref_speed": f"{references.loc[first['H100 reference'], 'tokens_per_s_per_gpu']:,.0f}",
        "matched_references": ", ".join(f"{r.model} on {r.gpu} ({r.precision}, {r.sequence_length:,} tokens)"
                                        for r in matched.itertuples()),
    }
    for reading in READINGS:
        even = break_even[[f"{gpu} break-even ({reading})" for gpu in prices.references]].stack()
        known = even.dropna()
        values[f"even_{reading}_low"] = prices.money(known.min()) if len(known) else f"n/a ({NO_DATASET_SIZE})"
        values[f"even_{reading}_high"] = prices.money(known.max()) if len(known) else "n/a"
    return values


def prices_view(prices: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """Every listing of data/prices.csv per GPU-hour, with its range, date and source."""
    out = prices.copy()
    out["price_per_gpu_hour"] = price_per_gpu_hour(out)
    out["date"] = out.apply(price_date, axis=1)
    out["range"] = [f"{lo:.2f}–{hi:.2f}" if pd.notna(lo) else ""
                    for lo, hi in zip(out["price_low"], out["price_high"], strict=True)]
    columns = ["gpu", "provider", "kind", "price_per_gpu_hour", "range", "currency", "date", "source", "note"]
    return out[columns].fillna("").rename(columns={
        **labels, "price_per_gpu_hour": "Price per GPU-hour", "range": "Range per GPU-hour",
        "date": "Price date"}).set_index(labels["gpu"])


def cost_view(costs: pd.DataFrame, labels: dict, currency: str) -> pd.DataFrame:
    """cost_table's run cost and both costs per 1M tokens, by model: the costs a reader decides on
    first (the training-time reading before the rejected throughput column), then what they rest on."""
    columns = {
        "accelerator": labels["accelerator"], "run_cost": f"Cost per run ({currency})",
        "cost_per_m_from_time": f"Per 1M tokens, training time ({currency})",
        "cost_per_m_reported": f"Per 1M tokens, reported, at most the ceiling ({currency})",
        "gpu_hours": "GPU-hours (h)", "gpus": "MI250 GPUs", "sequence_length": labels["sequence_length"],
        "training_time_min": labels["training_time_min"],
        "throughput_reported_source": "Reported throughput, as the source says (tokens/s)",
        "throughput_at_peak": "Ceiling at 100% of peak (tokens/s)",
    }
    return costs.set_index("model")[list(columns)].rename(columns=columns).rename_axis(labels["model"])


def picks_view(costs: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """cheapest_and_fastest with the page's column names."""
    return cheapest_and_fastest(costs).rename(columns={
        "fastest": "Fastest (shortest training time)", "cheapest_run": "Cheapest run",
        "cheapest_per_m_reported": "Cheapest 1M tokens, reported",
        "cheapest_per_m_from_time": "Cheapest 1M tokens, training time",
    }).rename_axis([labels["model"], labels["sequence_length"]])


def sensitivity_view(costs: pd.DataFrame, labels: dict, prices: Prices) -> pd.DataFrame:
    """Each row's cost per 1M tokens under each reading at the low end of the MI250 price range,
    the price in use and the high end (cost is proportional to the price)."""
    out = costs[["model", "accelerator", "sequence_length"]].copy()
    for reading in READINGS:
        for at in (prices.low, prices.mi250, prices.high):
            column = f"{READING_NAMES[reading].capitalize()}, at {at:.2f}/h ({prices.currency})"
            out[column] = costs[f"cost_per_m_{reading}"] * at / prices.mi250
    return out.set_index(["model", "accelerator"]).rename_axis([labels["model"], labels["accelerator"]]).rename(
        columns={"sequence_length": labels["sequence_length"]})


def break_even_view(break_even: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """break_even_table's prices, by model and flavor, in the page's words."""
    even_columns = [c for c in break_even.columns if "break-even" in c]
    view = break_even.set_index(["model", "accelerator"])[["sequence_length", *even_columns]]
    return view.rename_axis([labels["model"], labels["accelerator"]]).rename(columns={
        "sequence_length": labels["sequence_length"],
        **{c: c.replace("break-even", "break-even,").replace("(reported)", "reported (USD/GPU-h)")
           .replace("(from_time)", "training time (USD/GPU-h)") for c in even_columns}})


def comparison_table(tables, costs: pd.DataFrame, prices: Prices, epochs) -> pd.DataFrame:
    """Cost per 1M tokens of the public references at their cheapest and dearest listing, and of
    each model's cheapest MoAI configuration over the MI250 price range, each with its caveats."""
    references, currency = tables.throughput_references, prices.currency
    priced = reference_costs(tables).set_index("reference")
    platform = ", ".join(sorted(tables.guide["platform_version"].unique()))
    rows = []
    for ref in references.itertuples():
        row = priced.loc[ref.reference]
        date = f"dated {ref.published}" if isinstance(ref.published, str) else "undated"
        rows.append({
            "Hardware": ref.gpu, "Run": ref.reference, "Tokens/s per GPU": ref.tokens_per_s_per_gpu,
            f"Price per GPU-hour ({currency})": f"{row['low_price']:.2f}–{row['high_price']:.2f}",
            f"Per 1M tokens ({currency})": f"{row['cost_per_m_low']:.3f}–{row['cost_per_m_high']:.3f}",
            "Price dates": f"low: {row['low_listing']}; high: {row['high_listing']}",
            "Caveats": (f"{ref.model}, {ref.sequence_length:,} tokens, {ref.precision}, {ref.gpus} GPUs, {date}. "
                        f"{ref.note}"),
        })
    for reading in READINGS:
        column = f"cost_per_m_{reading}"
        for _, best in cheapest_per_model(costs, column).iterrows():
            low, high = best[column] * prices.low / prices.mi250, best[column] * prices.high / prices.mi250
            rows.append({
                "Hardware": "MI250 (MoAI)",
                "Run": f"{best['model']}, {best['accelerator']}, {READING_NAMES[reading]}",
                "Tokens/s per GPU": best[f"throughput_{reading}"] / best["gpus"],
                f"Price per GPU-hour ({currency})": f"{prices.low:.2f}–{prices.high:.2f}",
                f"Per 1M tokens ({currency})": f"{low:.3f}–{high:.3f}",
                "Price dates": f"assumption of {prices.assumption['date_seen']}, no public price",
                "Caveats": (f"{best['model']} fine-tuning, {best['sequence_length']:,} tokens, precision not stated, "
                            f"MI250, MoAI Platform {platform}. "
                            + ("Per-step figure, pad tokens counted." if reading == "reported" else
                               f"Assumes the time covers {epochs:g} epoch(s) of the tutorial dataset.")),
            })
    return pd.DataFrame(rows).set_index("Hardware")


def comparison_ranges(tables, costs: pd.DataFrame, prices: Prices) -> pd.DataFrame:
    """The same comparison as ranges to draw: per public reference (group: its GPU) and per model's
    cheapest MoAI configuration (group: the reading), cost per 1M tokens from low to high, and at
    the price in use (middle). Labels shorten torchtitan to 'tt-' and Megatron-Bridge to 'mb-'."""
    references = tables.throughput_references
    priced = reference_costs(tables).set_index("reference")
    rows = []
    for ref in references.itertuples():
        row = priced.loc[ref.reference]
        middle = cost_per_million_tokens(prices.references[ref.gpu], 1, ref.tokens_per_s_per_gpu)
        rows.append((ref.reference, ref.gpu, row["cost_per_m_low"], row["cost_per_m_high"], middle))
    for reading in READINGS:
        column = f"cost_per_m_{reading}"
        for _, best in cheapest_per_model(costs, column).iterrows():
            length = "" if best["sequence_length"] == 1024 else f" {best['sequence_length']:,}"
            rows.append((f"{best['model']} {best['accelerator'].replace('xlarge', 'x')}{length}", reading,
                         best[column] * prices.low / prices.mi250, best[column] * prices.high / prices.mi250,
                         best[column]))
    out = pd.DataFrame(rows, columns=["label", "group", "low", "high", "middle"])
    out["label"] = (out["label"].str.replace("llm-foundry-", "").str.replace("torchtitan-", "tt-")
                    .str.replace("megatron-bridge-", "mb-"))
    return out


def option_costs_view(by_option: pd.DataFrame, currency: str) -> pd.DataFrame:
    """planner.scenarios.costs_by_option as ranges in words, by model and hardware."""
    def span(low, high, form):
        return [f"{form.format(a)}-{form.format(b)}" for a, b in zip(by_option[low], by_option[high], strict=True)]

    view = by_option.assign(
        per_m=span("cost_per_m_tokens_low", "cost_per_m_tokens_high", "{:.3f}"),
        run=span("cost_low", "cost_high", "{:,.0f}"), hours=span("hours_low", "hours_high", "{:,.1f}"),
        mfu=span("mfu_low", "mfu_high", "{:.0%}"), gflop=by_option["flops_per_token"] / 1e9,
    ).rename(columns={"model": "Model", "hardware": "Hardware", "gflop": "GFLOP per token", "mfu": "MFU",
                      "price_per_gpu_hour": f"Price ({currency} per GPU-hour)", "price_source": "Price source",
                      "per_m": f"Per 1M tokens ({currency})", "run": f"Per run ({currency})", "hours": "Hours",
                      "caveat": "Caveat"})
    # What a reader compares options by first, then what it rests on.
    columns = [f"Per run ({currency})", f"Per 1M tokens ({currency})", "Hours", "MFU", "GFLOP per token",
               f"Price ({currency} per GPU-hour)", "Price source", "Caveat"]
    return view.set_index(["Model", "Hardware"])[columns]


def same_model_view(same: pd.DataFrame, currency: str) -> pd.DataFrame:
    """planner.scenarios.same_model_references in the page's words, by reference."""
    return same.rename(columns={
        "reference": "Reference", "model": "Model", "hardware": "Hardware",
        "sequence_length": "Sequence length (tokens)",
        "tokens_per_s_per_gpu": "Measured tokens/s per GPU", "mfu": "Its MFU",
        "price_per_gpu_hour": f"Price ({currency} per GPU-hour)", "price_source": "Price source",
        "cost_per_m_measured": f"Per 1M tokens, measured ({currency})",
        "cost_per_m_low": f"Per 1M tokens, model low ({currency})",
        "cost_per_m_high": f"Per 1M tokens, model high ({currency})", "caveat": "Caveat"}).set_index("Reference")
