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

from ftguide import cost
from ftguide.data import DATA_DIR, PACKAGE_FILE, DataError, load, validate
from ftguide.planner import inputs, kernel
from ftguide.planner.coefficients import GPU_COUNTS, NODE_COUNTS, coefficients
from ftguide.planner.run import Plan
from ftguide.planner.text import format_plan, inverse_table


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


# The cost command's ranges; the planner's inputs are declared in ftguide.planner.inputs.
PRICE = Number(0.01, 1000, unit="USD per GPU-hour")
GUIDE_EPOCHS = Number(1, 100, whole=True)


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


def catalog_gpus() -> tuple:
    """The GPUs of data/gpus.csv with a known peak (they have options), and those of them with a
    network bandwidth (they have options of several nodes), read without validation."""
    try:
        gpus = pd.read_csv(DATA_DIR / "gpus.csv").dropna(subset=["peak_bf16_tflops"])
        return list(gpus["gpu"].astype(str)), list(gpus.dropna(subset=["inter_node_gb_s"])["gpu"].astype(str))
    except (OSError, ValueError, KeyError):
        return ["the GPUs of data/gpus.csv"], ["the GPUs of data/gpus.csv"]


def hardware_help() -> str:
    """What --hardware takes: the groups, the MoAI flavors and the GPU options by their pattern (a
    list of every option would fill the screen)."""
    quoted = lambda names: ", ".join(map(kernel.quote, names))  # noqa: E731
    peaked, networked = catalog_gpus()
    nodes = " and ".join(map(str, NODE_COUNTS))
    return (f"one of {quoted([*kernel.HARDWARE_GROUPS, *listed('accelerators.csv', 'accelerator')])}, or "
            f"'Nx GPU' (e.g. {kernel.quote(f'1x {peaked[0]}')}): N of {', '.join(map(str, GPU_COUNTS))} for a GPU "
            f"of {quoted(peaked)}, and N of {', '.join(str(n * GPU_COUNTS[-1]) for n in NODE_COUNTS)} "
            f"({nodes} nodes of {GPU_COUNTS[-1]}) for one of {quoted(networked)}")


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
        "each MoAI flavor and on 1, 2, 4 or 8 GPUs of the catalog (data/gpus.csv) or 2 and 4 nodes of 8, "
        "from the model of FLOPs, "
        "memory and time (model page), with its error on public measurements (evidence page). "
        "Numbers may be written 50,000, 50k, 1.2M or 2e5.")
    # Names from data/ quoted with every control or invisible character escaped: --help reads the
    # files without validating them.
    one_of = lambda names: "one of " + ", ".join(map(kernel.quote, names))  # noqa: E731
    listed_choices = {**{name: one_of(values) for name, values in kernel.CHOICES.items()},
                      "models": one_of(listed("models.csv", "model")), "hardware": hardware_help(),
                      "catalog": one_of(["MI250", *catalog_gpus()[0]]) + " (MI250: the MoAI flavors)",
                      "stacks": one_of([kernel.PLANNER_STACK, *listed("stack_defaults.csv", "stack")])}
    inputs.add_arguments(plans, listed_choices)
    plans.add_argument("--json", action="store_true", help="print the plan as JSON")
    plans.add_argument("--max-sequence-length", action="store_true",
                       help="print, for each option, the longest sequence that fits at micro-batch 1 and the largest "
                       "micro-batch that fits at --sequence-length (plan --json has both in every option)")
    add_common(plans, {})
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
    coeffs = coefficients(load(args.data_dir))
    read = kernel.read_inputs(coeffs, inputs.given(args))
    if "errors" in read:
        name, _, rest = next(iter(read["errors"].values())).partition(": ")
        options = "/".join(inputs.BY_NAME[part].option for part in name.split("/"))
        print(f"error: argument {options}: {rest}", file=sys.stderr)
        return 2
    result = Plan(kernel.plan(coeffs, read["inputs"]))
    # allow_nan=False: a NaN would print as bare NaN, which is not JSON.
    if args.json:
        print(json.dumps(result.to_json(), indent=2, allow_nan=False))
    elif args.max_sequence_length:
        print(kernel.heading(result.inputs) + "\n\n" + inverse_table(result).to_string())
    else:
        print(format_plan(result))
    return 0


COMMANDS = {"validate": run_validate, "cost": run_cost, "plan": run_plan}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader closed the pipe (`plan --json | head`): nothing left to say
        sys.stdout = None
        return 0
