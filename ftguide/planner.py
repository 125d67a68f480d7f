"""Plan a fine-tuning run from the guide: time and cost on each flavor, and which flavor to pick.

The method is plain scaling, with no performance model. The guide measured each configuration
once; a run of N tokens on that configuration takes N ÷ rate, where the rate is one of the two
readings of the guide's speed (``ftguide.throughput``):

- reported: the guide's throughput column;
- from_time: the tutorial run's tokens ÷ the guide's training time (one epoch assumed); unknown
  where the tutorial dataset's size is unknown.

Tokens are counted the way the guide counts them: samples × sequence length × epochs, pad tokens
included. A guide row measured at another sequence length says nothing about yours, so it gets no
prediction (and the plan says so) rather than an extrapolation.
"""

import math
from dataclasses import dataclass, field

import pandas as pd

from ftguide import model
from ftguide.cost import SECONDS_PER_HOUR, mi250_assumption, run_cost
from ftguide.throughput import READINGS, time_based_throughput

# The time-based reading assumes the guide's training time covers this many epochs of the
# tutorial dataset (the Llama3 tutorial log shows one epoch); the audit page discusses it.
GUIDE_EPOCHS = 1


class PlanError(ValueError):
    """A planner input is missing or out of range; the message names it and what is allowed."""


@dataclass(frozen=True)
class Plan:
    """The answer: one row per guide configuration of the model, the pick and why."""

    model: str
    run_tokens: float
    sequence_length: int
    epochs: float
    price: float
    currency: str
    deadline_h: float | None
    budget: float | None
    table: pd.DataFrame
    recommended: str | None
    message: str
    notes: list = field(default_factory=list)


def models(tables) -> list:
    """The models the guide covers, in the guide's order."""
    return list(dict.fromkeys(tables.guide["model"]))


def plan(tables, model, *, samples=None, tokens=None, sequence_length=None, epochs=1,
         price=None, deadline_h=None, budget=None) -> Plan:
    """Predicted time and cost of a run on each flavor the guide covers for `model`.

    Give the dataset as `samples` (with the `sequence_length` they are padded to) or as `tokens`
    per epoch (already padded). Without `sequence_length`, the guide's usual one for the model is
    used. Without `price`, the site's MI250 assumption (data/prices.csv) is used.
    """
    check_model(tables, model)
    if (samples is None) == (tokens is None):
        raise PlanError("samples/tokens: give exactly one of them (a whole number greater than 0)")
    rows = tables.guide[tables.guide["model"] == model].reset_index(drop=True)
    notes = []
    if sequence_length is None:
        sequence_length = usual_sequence_length(rows)
        notes.append(f"Sequence length not given: using the guide's {sequence_length:,} tokens "
                     "for this model.")
    sequence_length = positive_whole("sequence_length", sequence_length)
    epochs = positive_number("epochs", epochs)
    if samples is not None:
        samples = positive_whole("samples", samples)
        tokens_per_epoch = samples * sequence_length
    else:
        tokens_per_epoch = positive_whole("tokens", tokens)
        samples = tokens_per_epoch / sequence_length
    assumption = mi250_assumption(tables.prices)
    if price is None:
        price = assumption["price"]
        notes.append(f"Price: {price:,.2f} {assumption['currency']} per MI250 GPU-hour, the site's "
                     f"assumption (data/prices.csv, {assumption['date_seen']}): no public MI250 "
                     "price exists; give your own quote.")
    price = positive_number("price", price)
    deadline_h = None if deadline_h is None else positive_number("deadline_h", deadline_h)
    budget = None if budget is None else positive_number("budget", budget)

    run_tokens = tokens_per_epoch * epochs
    table = predict(rows, tables, run_tokens, sequence_length, samples, price)
    table["fits"] = fits(table, deadline_h, budget)
    table["recommended"] = False  # set on the chosen row by recommend()
    notes += explain_gaps(rows, tables.datasets, table, model, sequence_length)
    recommended, message = recommend(table, model, sequence_length, deadline_h, budget,
                                     assumption["currency"])
    return Plan(model=model, run_tokens=run_tokens, sequence_length=sequence_length, epochs=epochs,
                price=price, currency=assumption["currency"], deadline_h=deadline_h, budget=budget,
                table=table, recommended=recommended, message=message, notes=notes)


def predict(rows, tables, run_tokens, sequence_length, samples, price) -> pd.DataFrame:
    """Hours and cost under both readings, for the rows measured at the reader's sequence length.

    Physics first: no reading may be faster than the flavor's peak. `hours_at_peak` is the run's
    arithmetic at 100% of peak (ftguide.model); a reading that implies less time is raised to it,
    and `hours_reported_source` keeps the source's own figure beside the bounded one.
    """
    measured = rows["sequence_length"] == sequence_length
    rates = {
        "reported": rows["throughput_tokens_per_s"].astype(float),
        "from_time": time_based_throughput(rows, tables.datasets, GUIDE_EPOCHS),
    }
    flops = model.flops_per_token(tables.models, sequence_length)["flops"]
    peak_per_gpu = rows["accelerator"].map(
        tables.accelerators.set_index("accelerator")["peak_bf16_tflops_per_gpu"]) * 1e12
    at_peak = model.compute_seconds(run_tokens, rows["model"].map(flops), rows["gpus"], peak_per_gpu)
    out = pd.DataFrame({
        "accelerator": rows["accelerator"],
        "gpus": rows["gpus"],
        "guide_batch_size": rows["batch_size"],
        "guide_sequence_length": rows["sequence_length"],
        "measured": measured,
        "applies": measured & (samples >= rows["batch_size"]),
        "why_not": [why_guide_settings_fail(row, sequence_length, samples) for _, row in rows.iterrows()],
        "headroom_mib": rows["flavor_memory_mib"] - rows["vram_mib"],
        "headroom_share": 1 - rows["vram_share"],
        "hours_at_peak": (at_peak / SECONDS_PER_HOUR).where(measured),
    })
    for reading, rate in rates.items():
        source = (run_tokens / rate / SECONDS_PER_HOUR).where(measured)
        out[f"hours_{reading}_source"] = source
        hours = source.where(source.isna() | (source >= out["hours_at_peak"]), out["hours_at_peak"])
        out[f"hours_{reading}"] = hours
        out[f"cost_{reading}"] = run_cost(price, rows["gpus"], hours * 60)
    # Plan on the slower reading: a plan that is too pessimistic costs less than a missed deadline.
    out["hours_cautious"] = out[["hours_reported", "hours_from_time"]].max(axis=1)
    out["cost_cautious"] = out[["cost_reported", "cost_from_time"]].max(axis=1)
    return out


def why_guide_settings_fail(row, sequence_length, samples) -> str:
    """Empty when the guide's batch size and sequence length apply to the reader's run."""
    if row["sequence_length"] != sequence_length:
        return f"measured at {row['sequence_length']:,} tokens only"
    if samples < row["batch_size"]:
        return f"{samples:,.0f} samples, fewer than one batch of {row['batch_size']:,}"
    return ""


def fits(table, deadline_h, budget) -> pd.Series:
    """Whether each measured row meets the deadline and budget under the cautious reading."""
    ok = table["hours_cautious"].notna()
    if deadline_h is not None:
        ok &= table["hours_cautious"] <= deadline_h
    if budget is not None:
        ok &= table["cost_cautious"] <= budget
    return ok


def recommend(table, model, sequence_length, deadline_h, budget, currency):
    """The cheapest flavor that fits (the faster one on a tie), or what would make one fit."""
    measured = table[table["hours_cautious"].notna()]
    if measured.empty:
        lengths = ", ".join(f"{n:,}" for n in sorted(table["guide_sequence_length"].unique()))
        return None, (f"No prediction: the guide has no measurement of {model} at sequence length "
                      f"{sequence_length:,} (it measured {lengths} tokens). Pad or truncate your "
                      "samples to a measured length to get one.")
    fitting = table[table["fits"]].sort_values(["cost_cautious", "hours_cautious"])
    if not fitting.empty:
        table.loc[fitting.index[0], "recommended"] = True
        best = fitting.iloc[0]
        return best["accelerator"], (
            f"Recommended: {best['accelerator']} ({best['gpus']} MI250 GPUs), about "
            f"{best['hours_cautious']:,.1f} h and {best['cost_cautious']:,.2f} {currency} under the "
            "slower reading; the cheapest flavor that fits" + limits_text(deadline_h, budget, currency) + "."
        )
    return None, "None fits" + limits_text(deadline_h, budget, currency) + ". " + what_would_fit(
        measured, deadline_h, budget, currency)


def limits_text(deadline_h, budget, currency) -> str:
    parts = []
    if deadline_h is not None:
        parts.append(f"a deadline of {deadline_h:g} h")
    if budget is not None:
        parts.append(f"a budget of {budget:,.2f} {currency}")
    return " within " + " and ".join(parts) if parts else ""


def what_would_fit(measured, deadline_h, budget, currency) -> str:
    """The smallest change that makes a flavor fit: a later deadline, more money or fewer tokens."""
    hours, cost = measured["hours_cautious"], measured["cost_cautious"]
    advice = []
    if deadline_h is not None:
        fastest = measured.loc[hours.idxmin()]
        advice.append(f"the fastest flavor, {fastest['accelerator']}, needs {fastest['hours_cautious']:,.1f} h")
    in_time = measured if deadline_h is None else measured[hours <= deadline_h]
    if budget is not None and not in_time.empty:
        cheapest = in_time.loc[in_time["cost_cautious"].idxmin()]
        advice.append(f"the cheapest flavor{' in time' if deadline_h is not None else ''}, "
                      f"{cheapest['accelerator']}, costs {cheapest['cost_cautious']:,.2f} {currency}")
    # Time and cost are proportional to tokens, so each flavor fits a share of the run.
    share = pd.Series(1.0, index=measured.index)
    if deadline_h is not None:
        share = share.clip(upper=deadline_h / hours)
    if budget is not None:
        share = pd.concat([share, budget / cost], axis=1).min(axis=1)
    best = measured.loc[share.idxmax()]
    advice.append(f"or cut the run to {share.max():.0%} of its tokens (fewer samples or epochs) "
                  f"on {best['accelerator']}")
    return "What would fit: " + "; ".join(advice) + "."


def explain_gaps(rows, datasets, table, model, sequence_length) -> list:
    """Say where the guide has no measurement or one reading is missing, instead of guessing."""
    notes = []
    unmeasured = table.loc[~table["measured"], "accelerator"]
    if len(unmeasured):
        lengths = ", ".join(f"{n:,}" for n in sorted(table.loc[~table["measured"], "guide_sequence_length"].unique()))
        notes.append(f"The guide has no measurement of {model} at {sequence_length:,} tokens on "
                     f"{', '.join(unmeasured)} (measured at {lengths}): no prediction there.")
    if table["hours_from_time"].isna().all() and table["measured"].any():
        dataset = datasets.set_index("model")["dataset"].get(model, "unknown")
        notes.append(f"Only the reported throughput is available for {model}: the size of its "
                     f"tutorial dataset ({dataset}) is unknown, so the training time cannot be "
                     "turned into a rate.")
    raised = table[table["hours_reported_source"] < table["hours_at_peak"]]
    if len(raised):
        notes.append(f"The reported throughput implies more than 100% of the MI250s' peak on "
                     f"{', '.join(raised['accelerator'])}: those hours are raised to the run's "
                     "arithmetic at 100% of peak, which no real run reaches (see the audit page).")
    notes.append("Memory headroom is the guide's measurement at its batch size and sequence length.")
    return notes


def unusual_length_rows(guide) -> pd.DataFrame:
    """Guide rows measured at another sequence length than their model's usual one."""
    usual = {model: usual_sequence_length(rows) for model, rows in guide.groupby("model", sort=False)}
    return guide[guide["sequence_length"] != guide["model"].map(usual)]


def example_scenarios(tables) -> dict:
    """The page's worked examples, chosen from the data so that any model names work: the largest
    tutorial dataset for one epoch against a deadline, the smallest for three epochs on a budget,
    and a run at the guide's unusual sequence length, if it has one."""
    sizes = tables.datasets.set_index("model")["train_samples"].dropna()
    sizes = sizes[sizes.index.isin(models(tables))]
    scenarios = {}
    if len(sizes):
        large, small = sizes.idxmax(), sizes.idxmin()
        scenarios["Large dataset against a deadline"] = dict(
            model=large, samples=int(sizes[large]), epochs=1, deadline_h=3)
        scenarios["Small dataset on a budget"] = dict(
            model=small, samples=int(sizes[small]), epochs=3, budget=10)
    unusual = unusual_length_rows(tables.guide)
    if len(unusual):
        row = unusual.iloc[0]
        scenarios["Long samples"] = dict(model=row["model"], samples=26000,
                                         sequence_length=int(row["sequence_length"]), epochs=2, deadline_h=2)
    return scenarios


def usual_sequence_length(rows) -> int:
    """The sequence length the guide uses most for a model (the shorter one on a tie)."""
    counts = rows["sequence_length"].value_counts()
    return int(min(counts[counts == counts.max()].index))


def check_model(tables, model) -> None:
    allowed = models(tables)
    if model not in allowed:
        raise PlanError(f"model: {model!r} is not in the guide; expected one of "
                        + ", ".join(repr(m) for m in allowed))


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
    try:
        number = positive_number(name, value)
    except PlanError:
        number = math.nan
    # Text is refused even when it looks like a number: the caller mixed up its inputs.
    if isinstance(value, str) or math.isnan(number) or number != int(number):
        raise PlanError(f"{name}: found {value!r}; expected a whole number greater than 0")
    return int(number)


# Short column headings for the command line; the notebook uses longer ones.
CLI_COLUMNS = {
    "accelerator": "flavor",
    "gpus": "GPUs",
    "guide_batch_size": "batch",
    "guide_sequence_length": "seq len",
    "applies": "guide settings apply",
    "headroom_share": "memory free",
    "hours_reported": "h (reported)",
    "hours_from_time": "h (from time)",
    "cost_reported": "cost (reported)",
    "cost_from_time": "cost (from time)",
    "fits": "fits",
}


def yes_no_or_na(table) -> list:
    """Whether each row fits, as text; n/a where there is no prediction to compare."""
    return ["n/a" if pd.isna(hours) else ("yes" if ok else "no")
            for ok, hours in zip(table["fits"], table["hours_cautious"])]


def format_plan(result: Plan) -> str:
    """The plan as plain text: inputs, one line per flavor, the recommendation and the notes."""
    table = result.table[list(CLI_COLUMNS)].copy()
    table["applies"] = [("yes" if ok else f"no: {why}") for ok, why in
                        zip(result.table["applies"], result.table["why_not"])]
    table["fits"] = yes_no_or_na(result.table)
    table["headroom_share"] = table["headroom_share"].map("{:.0%}".format)
    for column in ("hours_reported", "hours_from_time"):
        table[column] = table[column].map(lambda h: "n/a" if pd.isna(h) else f"{h:,.2f}")
    for column in ("cost_reported", "cost_from_time"):
        table[column] = table[column].map(lambda c: "n/a" if pd.isna(c) else f"{c:,.2f}")
    heading = (f"{result.model}: {result.run_tokens:,.0f} tokens ({result.epochs:g} epoch(s) at "
               f"sequence length {result.sequence_length:,}), {result.price:,.2f} {result.currency} "
               "per MI250 GPU-hour")
    readings = "; ".join(f"{name} = {text}" for name, text in READINGS.items())
    lines = [heading, "", table.rename(columns=CLI_COLUMNS).to_string(index=False), "",
             result.message, "", f"Readings: {readings}. Costs in {result.currency}."]
    lines += [f"- {note}" for note in result.notes]
    return "\n".join(lines)


# Column headings for the notebook's table.
PAGE_COLUMNS = {
    "accelerator": "Flavor",
    "gpus": "MI250 GPUs",
    "guide_batch_size": "Guide batch size (samples per step)",
    "guide_sequence_length": "Guide sequence length (tokens)",
    "applies": "Guide's batch size and sequence length apply",
    "headroom_share": "Memory free in the guide's run (%)",
    "hours_reported": "Hours, reported throughput",
    "hours_from_time": "Hours, from training time",
    "cost_reported": "Cost, reported throughput",
    "cost_from_time": "Cost, from training time",
    "fits": "Fits deadline and budget",
}


def page_table(result: Plan) -> pd.DataFrame:
    """The plan's table with readable headings (costs in the plan's currency)."""
    table = result.table[list(PAGE_COLUMNS)].copy()
    table["applies"] = [("yes" if ok else f"no: {why}") for ok, why in
                        zip(result.table["applies"], result.table["why_not"])]
    table["fits"] = yes_no_or_na(result.table)
    headings = {key: (f"{label} ({result.currency})" if key.startswith("cost") else label)
                for key, label in PAGE_COLUMNS.items()}
    return table.rename(columns=headings).set_index("Flavor")
