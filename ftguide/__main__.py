"""Command line: ``python -m ftguide validate [DATA_DIR]``, ``python -m ftguide cost [--price P]``,
``python -m ftguide plan --model ...``."""

import argparse
import sys

from ftguide.cost import add_cost_command, run_cost_command
from ftguide.data import DATA_DIR, DataError, load, validate
from ftguide.planner import add_plan_command, run_plan_command


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ftguide", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("validate", help="check every CSV in data/ against its schema")
    check.add_argument("data_dir", nargs="?", default=DATA_DIR, help="folder with datapackage.json")
    add_cost_command(commands)
    add_plan_command(commands)
    args = parser.parse_args(argv)
    try:
        if args.command == "cost":
            return run_cost_command(args, load)
        if args.command == "plan":
            return run_plan_command(args, load(DATA_DIR))
        validate(args.data_dir)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"data OK: {args.data_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
