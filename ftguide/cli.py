"""Command line: ``python -m ftguide validate | cost | plan``, each with ``--data-dir``.

Every bad input ends the same way: one line on standard error naming the argument, what was
found and what is allowed, and exit status 2 (1 when the data itself is bad). Numbers must be
finite and within a sane range, so no command prints an infinite, negative or NaN figure.
"""

import argparse
import json
import math
import sys
from pathlib import Path

import pandas as pd

from ftguide import cost, planner
from ftguide.data import DATA_DIR, PACKAGE_FILE, DataError, load, validate


class Number:
    """An argparse type: a finite number within [low, high], whole if `whole`."""

    def __init__(self, low, high, whole=False, unit=""):
        self.low, self.high, self.whole, self.unit = low, high, whole, unit

    def expected(self) -> str:
        kind = "a whole number" if self.whole else "a number"
        unit = f" {self.unit}" if self.unit else ""
        return f"{kind} from {_show(self.low)} to {_show(self.high)}{unit}"

    def __call__(self, text: str):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        whole_ok = not self.whole or (math.isfinite(value) and value == int(value))
        if not (math.isfinite(value) and self.low <= value <= self.high and whole_ok):
            raise argparse.ArgumentTypeError(f"found {text!r}; expected {self.expected()}")
        return int(value) if self.whole else value


def _show(number) -> str:
    return f"{number:,.0f}" if number == int(number) else f"{number:,g}"


# The sane ranges: wide enough for any real 7-13B fine-tuning run, narrow enough that a typo
# (a price in cents, tokens in scientific notation gone wrong) is refused rather than printed.
PRICE = Number(0.01, 1000, unit="USD per GPU-hour")
EPOCHS = Number(0.01, 100)
GUIDE_EPOCHS = Number(1, 100, whole=True)
SAMPLES = Number(1, 1e10, whole=True)
TOKENS = Number(1, 1e13, whole=True)
SEQUENCE_LENGTH = Number(1, 131072, whole=True, unit="tokens")
DEADLINE = Number(0.01, 100000, unit="hours")
BATCH = Number(1, 1_000_000, whole=True, unit="samples")
BUDGET = Number(0.01, 1e9, unit="USD")


def data_dir(text: str) -> Path:
    """An argparse type: a folder holding datapackage.json."""
    path = Path(text)
    if not (path / PACKAGE_FILE).is_file():
        raise argparse.ArgumentTypeError(f"found {text!r}; expected a folder holding {PACKAGE_FILE}")
    return path


def listed(file: str, column: str) -> list:
    """One column of a CSV in data/, read without validation (for help and messages only), so
    that a broken file still gets `validate`'s proper message."""
    try:
        return list(dict.fromkeys(pd.read_csv(DATA_DIR / file)[column].astype(str)))
    except (OSError, ValueError, KeyError):
        return [f"the values in data/{file}"]


def hardware_names() -> list:
    return listed("accelerators.csv", "accelerator") + listed("gpu_nodes.csv", "hardware")


def one_line_errors(parser: argparse.ArgumentParser, allowed: dict) -> None:
    """argparse prints the usage before its message: print one line, with the allowed values."""
    def error(message):
        if "expected a" not in message:
            named = [f"{option}: {text}" for option, text in allowed.items() if option in message]
            if named:
                message += f" ({'; '.join(named)})"
        parser.exit(2, f"error: {message}\n")
    parser.error = error


def add_common(parser, allowed: dict) -> None:
    parser.add_argument("--data-dir", type=data_dir, default=DATA_DIR,
                        help=f"folder holding {PACKAGE_FILE} and the CSVs (default: the repository's data/)")
    allowed["--data-dir"] = f"a folder holding {PACKAGE_FILE}"
    one_line_errors(parser, allowed)


def build_parser() -> argparse.ArgumentParser:
    """The parser never reads data/, so that `validate` works on broken data."""
    parser = argparse.ArgumentParser(prog="python -m ftguide", description=__doc__.split("\n")[0])
    one_line_errors(parser, {})
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("validate", help="check every CSV in data/ against its schema")
    add_common(check, {})

    costs = commands.add_parser("cost", help="cost per run and per 1M tokens of every guide row")
    costs.add_argument("--price", type=PRICE,
                       help="USD per MI250 GPU-hour (default: the assumption in data/prices.csv)")
    # Not --epochs: that is the reader's own run in `plan`; here it is a reading of the guide.
    costs.add_argument("--guide-epochs", type=GUIDE_EPOCHS, default=1,
                       help="epochs the guide's training time is read as covering (default 1)")
    costs.add_argument("--csv", action="store_true", help="print CSV with full precision instead of a table")
    add_common(costs, {"--price": PRICE.expected(), "--guide-epochs": GUIDE_EPOCHS.expected()})

    plans = commands.add_parser(
        "plan", help="fit, time and cost of a fine-tuning run on each hardware option",
        description="Predict whether a run fits in memory, how long it takes and what it costs on "
        "each MoAI flavor and 8-GPU node, from the model of FLOPs, memory and time (model page).")
    plans.add_argument("--model", required=True, help="one of: " + ", ".join(map(repr, listed("models.csv", "model"))))
    size = plans.add_mutually_exclusive_group(required=True)
    size.add_argument("--samples", type=SAMPLES, help="training samples per epoch")
    size.add_argument("--tokens", type=TOKENS, help="tokens per epoch, pad tokens included")
    plans.add_argument("--sequence-length", type=SEQUENCE_LENGTH,
                       help=f"tokens per sample, padded (default {planner.DEFAULTS['sequence_length']:,})")
    plans.add_argument("--epochs", type=EPOCHS, help="epochs of your run (default 1)")
    plans.add_argument("--method", choices=list(planner.METHODS), help="full (default), lora or qlora")
    plans.add_argument("--hardware", help="all (default), moai, gpu-nodes, or one option's name: "
                       + ", ".join(hardware_names()))
    plans.add_argument("--batch", type=BATCH, help=f"global batch in samples (default {planner.DEFAULTS['batch']})")
    plans.add_argument("--price", type=PRICE, help="USD per GPU-hour for every option (default: each option's listed price)")
    plans.add_argument("--deadline", type=DEADLINE, help="hours")
    plans.add_argument("--budget", type=BUDGET, help="USD")
    plans.add_argument("--json", action="store_true", help="print the plan as JSON")
    add_common(plans, {
        "--model": "one of " + ", ".join(map(repr, listed("models.csv", "model"))),
        "--samples": SAMPLES.expected(), "--tokens": TOKENS.expected(),
        "--sequence-length": SEQUENCE_LENGTH.expected(), "--epochs": EPOCHS.expected(),
        "--method": "one of " + ", ".join(planner.METHODS), "--batch": BATCH.expected(),
        "--hardware": "one of " + ", ".join(list(planner.HARDWARE_GROUPS) + hardware_names()),
        "--price": PRICE.expected(), "--deadline": DEADLINE.expected(), "--budget": BUDGET.expected(),
    })
    return parser


def run_validate(args) -> int:
    validate(args.data_dir)
    print(f"data OK: {args.data_dir}")
    return 0


# Short column headings for the cost table on a terminal.
COST_COLUMNS = {
    "model": "model", "accelerator": "flavor", "batch_size": "batch", "sequence_length": "seq",
    "gpus": "MI250s", "training_time_min": "minutes", "gpu_hours": "GPU-h", "run_cost": "run cost",
    "cost_per_m_reported": "per 1M tok (reported)", "cost_per_m_from_time": "per 1M tok (from time)",
}


def run_cost(args) -> int:
    tables = load(args.data_dir)
    costs = cost.cost_table(tables, price=args.price, epochs=args.guide_epochs)
    view = costs[list(COST_COLUMNS)].rename(columns=COST_COLUMNS)
    if args.csv:
        print(view.to_csv(index=False), end="")
        return 0
    assumption = cost.mi250_assumption(tables.prices)
    source = ("--price" if args.price is not None
              else f"the assumption in data/prices.csv, set {assumption['date_seen']}")
    print(f"MI250 price: {costs['price_per_gpu_hour'].iloc[0]:.2f} {assumption['currency']} per GPU-hour "
          f"({source}); training time read as {args.guide_epochs:g} epoch(s). Money in {assumption['currency']}.")
    # Cents for a run; a tenth of a cent for 1M tokens, which often cost less than ten cents.
    per_m = lambda x: "n/a" if pd.isna(x) else f"{x:,.3f}"  # noqa: E731
    formats = {"per 1M tok (reported)": per_m, "per 1M tok (from time)": per_m,
               "GPU-h": "{:,.2f}".format, "run cost": "{:,.2f}".format}
    print(view.to_string(index=False, formatters=formats))
    return 0


def run_plan(args) -> int:
    tables = load(args.data_dir)
    result = planner.plan(tables, args.model, samples=args.samples, tokens=args.tokens,
                          sequence_length=args.sequence_length, epochs=args.epochs, method=args.method,
                          hardware_choice=args.hardware, batch=args.batch, price=args.price,
                          deadline=args.deadline, budget=args.budget)
    # allow_nan=False: a NaN would print as bare NaN, which is not JSON.
    print(json.dumps(result.to_json(), indent=2, allow_nan=False) if args.json else planner.format_plan(result))
    return 0


COMMANDS = {"validate": run_validate, "cost": run_cost, "plan": run_plan}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except planner.PlanError as error:  # the name of the input becomes the option's
        name, _, rest = str(error).partition(": ")
        print(f"error: argument --{name.replace('_', '-')}: {rest}", file=sys.stderr)
        return 2
