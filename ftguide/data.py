"""Validated loading of the CSVs in ``data/`` and the derived columns every page shares.

The schema is ``data/datapackage.json`` (a Frictionless Data Package): column types, units,
bounds, keys and cross-file references. Frictionless does the checking; this module turns its
first finding into one message naming the file, line, column and what was expected.
"""

from dataclasses import dataclass
from pathlib import Path

import frictionless
import pandas as pd

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
PACKAGE_FILE = "datapackage.json"
BOM = b"\xef\xbb\xbf"


class DataError(ValueError):
    """A CSV in data/ is malformed or implausible; the message says where and why."""


@dataclass(frozen=True)
class GuideData:
    """The validated tables. ``guide`` carries the derived columns (see ``add_derived``)."""

    guide: pd.DataFrame
    accelerators: pd.DataFrame
    models: pd.DataFrame
    datasets: pd.DataFrame
    prices: pd.DataFrame
    throughput_references: pd.DataFrame = None  # public H100/A100 tokens/s/GPU, for the cost page
    vendor_measurements: pd.DataFrame = None  # the vendor's tutorials, logs and moreh-smi readings


def schema(data_dir=DATA_DIR) -> frictionless.Package:
    return frictionless.Package(str(Path(data_dir) / PACKAGE_FILE))


def validate(data_dir=DATA_DIR) -> None:
    """Raise DataError for the first problem in any CSV of the data package."""
    data_dir = Path(data_dir)
    package = schema(data_dir)
    for resource in package.resources:
        _check_raw_bytes(data_dir, resource.path)
    report = package.validate()
    for task in report.tasks:
        if task.errors:
            first = min(task.errors, key=_rank)
            more = len(task.errors) - 1
            extra = f" ({more} more problem{'s' if more > 1 else ''} in this file)" if more else ""
            resource = package.get_resource(task.name)
            raise DataError(_describe(data_dir, resource, first) + extra)
    if report.errors:
        raise DataError(f"{data_dir / PACKAGE_FILE}: {report.errors[0].message}")
    _check_flavors(data_dir, pd.read_csv(data_dir / "accelerators.csv"))
    _check_prices(data_dir, pd.read_csv(data_dir / "prices.csv"))


# Report the root cause first: a bad header or a short line explains the cell errors after it.
_FIRST = ("source-error", "label", "missing-cell", "extra-cell")


def _rank(error):
    kind = next((i for i, k in enumerate(_FIRST) if k in error.type), len(_FIRST))
    return (kind, getattr(error, "row_number", 0) or 0)


def _check_raw_bytes(data_dir: Path, name: str) -> None:
    """What Frictionless forgives but a canonical file must not have."""
    path = data_dir / name
    if not path.exists():
        raise DataError(f"{path}: file is missing; the data package lists it")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path}: file is empty; expected a header line and data rows")
    if raw.startswith(BOM):
        raise DataError(
            f"{path}, line 1, column 1: starts with a byte-order mark; expected plain UTF-8 "
            "(save without BOM)"
        )
    if not raw.endswith(b"\n"):
        last_line = raw.count(b"\n") + 1
        raise DataError(
            f"{path}, line {last_line}: the last line does not end with a newline, so it may "
            "be truncated; expected every line, the last included, to end with a newline"
        )


def _describe(data_dir: Path, resource, error) -> str:
    """One sentence: file, line, column, what was expected, what was found."""
    path = data_dir / resource.path
    names = resource.schema.field_names
    kind = error.type
    row = getattr(error, "row_number", None)
    where = f"{path}, line {row} (data row {row - 1})" if row else f"{path}, line 1 (header)"
    field = getattr(error, "field_name", None)
    if kind in ("missing-label", "incorrect-label", "extra-label", "blank-label", "duplicate-label"):
        return f"{where}, {_header_mismatch(_header(path), names)}; expected the columns {names}"
    if kind == "source-error":
        return f"{path}: {error.note}; expected a CSV with header {names}"
    if kind in ("missing-cell", "extra-cell"):
        fewer = "fewer" if kind == "missing-cell" else "more"
        return (f"{where}, column '{field}': the line has {fewer} cells than the header "
                f"(truncated or mis-split line?); expected {len(names)} cells")
    if kind == "type-error":
        expected = _expected_type(resource.schema.get_field(field))
        return f"{where}, column '{field}': found '{error.cell}'; expected {expected}"
    if kind == "constraint-error":
        expected = _expected_constraint(resource.schema.get_field(field), error.note)
        return f"{where}, column '{field}': found '{error.cell}'; expected {expected}"
    if kind == "foreign-key":
        column = error.field_names[0]
        target = f"{data_dir / (error.reference_name + '.csv')}"
        return (f"{where}, column '{column}': '{error.field_cells[0]}' is not listed in {target} "
                f"(column '{error.reference_field_names[0]}'); expected one of "
                f"{sorted(_column(data_dir, error.reference_name, error.reference_field_names[0]))}")
    if kind in ("primary-key", "unique-error"):
        key = resource.schema.primary_key
        return (f"{where}, columns {key}: duplicate configuration; expected each "
                f"combination of {', '.join(key)} once ({error.note})")
    if kind == "blank-row":
        return f"{where}: blank line; expected a data row or the end of the file"
    return f"{where}, column '{field}': {error.message}"


def _expected_type(field) -> str:
    return {
        "integer": "a plain whole number in the unit of the column name (digits only: no thousands "
        "separators, no units, no decimals)",
        "number": "a plain decimal number (digits and a '.', no separators or units)",
        "boolean": "true or false",
    }.get(field.type, f"a value of type {field.type}")


def _expected_constraint(field, note: str) -> str:
    c = field.constraints
    if "required" in note:
        return "a value (the cell is empty)"
    if "minimum" in note or "maximum" in note:
        return f"a value from {c.get('minimum')} to {c.get('maximum')}"
    if "enum" in note:
        return f"one of {c['enum']}"
    if "pattern" in note:
        return f"text matching {c['pattern']}"
    return note


def _header(path: Path) -> list:
    return path.read_text(encoding="utf-8").splitlines()[0].split(",")


def _header_mismatch(header: list, names: list) -> str:
    for position, (found, expected) in enumerate(zip(header, names), start=1):
        if found != expected:
            return f"column {position}: found '{found}' where '{expected}' belongs"
    if len(header) > len(names):
        return f"column {len(names) + 1}: found extra column '{header[len(names)]}'"
    return f"column {len(header) + 1}: column '{names[len(header)]}' is missing"


def _column(data_dir: Path, resource: str, column: str) -> set:
    return set(pd.read_csv(data_dir / f"{resource}.csv")[column])


def _check_flavors(data_dir: Path, accelerators: pd.DataFrame) -> None:
    """An MI250 has exactly two GCDs: a flavor that says otherwise is a typo."""
    for line, row in enumerate(accelerators.itertuples(), start=2):
        if row.gcds != 2 * row.mi250_gpus:
            raise DataError(
                f"{data_dir / 'accelerators.csv'}, line {line} (data row {line - 1}), column "
                f"'gcds': found {row.gcds}; expected 2 x mi250_gpus = {2 * row.mi250_gpus}"
            )


def _check_prices(data_dir: Path, prices: pd.DataFrame) -> None:
    """Every price must say when it held; an assumption must give the range it is tried over."""
    path = data_dir / "prices.csv"
    for line, row in enumerate(prices.itertuples(), start=2):
        where = f"{path}, line {line} (data row {line - 1})"
        if pd.isna(row.date_seen) and pd.isna(row.valid_until):
            raise DataError(
                f"{where}, column 'date_seen': the cell is empty; expected the day the price was "
                "seen (YYYY-MM-DD), or, if that day was not recorded, the listing's valid_until date"
            )
        if row.kind == "assumption" and not row.price_low <= row.price_per_instance_hour / \
                row.gpus_per_instance <= row.price_high:
            raise DataError(
                f"{where}, column 'price_low': an assumption needs price_low <= price per GPU-hour "
                f"<= price_high; found {row.price_low}, {row.price_per_instance_hour} and {row.price_high}"
            )


def load(data_dir=DATA_DIR) -> GuideData:
    """Validate every CSV, then return the tables with the guide's derived columns."""
    data_dir = Path(data_dir)
    validate(data_dir)
    read = lambda name: pd.read_csv(data_dir / f"{name}.csv")  # noqa: E731
    accelerators = read("accelerators")
    datasets = read("datasets").astype({"train_samples": "Int64"})
    guide = add_derived(read("parameter_guide"), accelerators)
    return GuideData(guide=guide, accelerators=accelerators, models=read("models"),
                     datasets=datasets, prices=read("prices"),
                     throughput_references=read("throughput_references"),
                     vendor_measurements=read("vendor_measurements"))


def add_derived(guide: pd.DataFrame, accelerators: pd.DataFrame) -> pd.DataFrame:
    """Columns that more than one page needs, from the guide row and its flavor."""
    flavor = accelerators.set_index("accelerator")
    out = guide.copy()
    out["gpus"] = out["accelerator"].map(flavor["mi250_gpus"])
    out["flavor_memory_mib"] = out["accelerator"].map(flavor["memory_mib"])
    out["vram_share"] = out["vram_mib"] / out["flavor_memory_mib"]
    out["vram_per_gpu_mib"] = out["vram_mib"] / out["gpus"]
    out["samples_per_gpu"] = out["batch_size"] / out["gpus"]
    out["tokens_per_step"] = out["batch_size"] * out["sequence_length"]
    out["throughput_per_gpu"] = out["throughput_tokens_per_s"] / out["gpus"]
    return out


def column_labels(data_dir=DATA_DIR) -> dict:
    """Display label of every schema column: its title, with its unit in brackets."""
    labels = {}
    for resource in schema(data_dir).resources:
        for field in resource.schema.fields:
            unit = field.to_dict().get("unit")
            labels[field.name] = f"{field.title} ({unit})" if unit else field.title
    return labels
