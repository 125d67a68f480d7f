"""Validated loading of the CSVs in ``data/`` and the derived columns every page shares.

The schema is ``data/datapackage.json`` (a Frictionless Data Package): column types, units,
bounds, keys, cross-file references and each file's CSV dialect. Checking goes in three steps, each
message naming the file, the physical line, the column, what was found and what was expected:

1. the bytes and the header (UTF-8, a newline at the end, the exact column names in the declared
   dialect, at least one data row): what Frictionless would forgive or guess;
2. Frictionless: every cell against its column's type and constraints, keys and references;
3. values against each other (``ftguide.plausibility``): memory within the flavor, speed within a
   ceiling of peak, prices and dates that make sense, the rows the pages rely on.

``read_table`` then reads each file with the same dialect and no guessing ("NA" stays text), so
the pages see exactly what was checked.
"""

import csv
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import frictionless
import pandas as pd
from frictionless.formats import CsvControl

from ftguide.plausibility import add_derived, findings
from ftguide.text import shown

# Frictionless validates with jsonschema, imported on the first validation, and that import also
# builds an RFC 3987 grammar when the optional rfc3987-syntax is installed (it is, for Jupyter's
# event schemas): 1.2 to 1.6 s of every process that loads data/ (a page, a command, a test worker)
# for an "iri" format check Frictionless never asks for (it passes no format checker). Kept out,
# jsonschema goes without that one format; a process that imported jsonschema before keeps it.
sys.modules.setdefault("rfc3987_syntax", None)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
PACKAGE_FILE = "datapackage.json"
BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# The files the pages read, the public measurements the planner is checked against and the training
# stacks' defaults for its knobs, by resource name: the schema must declare every one.
RESOURCES = ("parameter_guide", "accelerators", "models", "datasets", "prices", "throughput_references", "gpus",
             "finetune_measurements", "allocator_cache", "stack_defaults", "software_caveats", "changes")
TEXT_TYPES = ("string", "date")  # read as text: dates stay 'YYYY-MM-DD' strings on the pages


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
    gpus: pd.DataFrame = None  # the GPU catalog: memory, peaks and bandwidths, each sourced
    finetune_measurements: pd.DataFrame = None  # public fine-tuning runs the planner is judged on
    allocator_cache: pd.DataFrame = None  # runs that logged peak allocated and reserved memory alike
    stack_defaults: pd.DataFrame = None  # each training stack's default for each planner knob, sourced
    software_caveats: pd.DataFrame = None  # where a library the planner assumes is not released for a GPU


def schema(data_dir=DATA_DIR) -> frictionless.Package:
    """The data package; DataError (not a traceback) if datapackage.json is missing or broken."""
    path = Path(data_dir) / PACKAGE_FILE
    if not path.is_file():
        raise DataError(f"{path}: not found; expected the data package's schema in the data folder")
    try:
        json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: byte {error.start + 1} is not UTF-8; expected UTF-8 JSON") from None
    except json.JSONDecodeError as error:
        raise DataError(f"{path}, line {error.lineno}, column {error.colno}: {error.msg}; "
                        "expected valid JSON") from None
    try:
        package = frictionless.Package(str(path))
    except frictionless.FrictionlessException as error:
        raise DataError(f"{path}: {error.error.message}; expected a valid Frictionless Data Package") from None
    missing = [name for name in RESOURCES if not package.has_resource(name)]
    if missing:
        raise DataError(f"{path}: no resource named {', '.join(missing)}; "
                        f"expected the resources {list(RESOURCES)}")
    return package


def validate(data_dir=DATA_DIR) -> None:
    """Raise DataError for the first malformed file, or for every implausible value at once."""
    _validated_tables(data_dir)


def _validated_tables(data_dir) -> dict[str, pd.DataFrame]:
    """Every file read as the validator read it, once it passed (what `validate` checks)."""
    data_dir = Path(data_dir)
    package = schema(data_dir)
    lines = {resource.name: _check_file(data_dir, resource) for resource in package.resources}
    try:
        report = package.validate()
    except Exception as error:  # a schema Frictionless accepts but cannot apply (e.g. a bad pattern)
        raise DataError(f"{data_dir / PACKAGE_FILE}: cannot check the data with this schema "
                        f"({type(error).__name__}: {error}); expected a valid Frictionless Data Package") from None
    for task in report.tasks:
        if task.errors:
            first = min(task.errors, key=_rank)
            more = len(task.errors) - 1
            extra = f" ({more} more problem{'s' if more > 1 else ''} in this file)" if more else ""
            resource = package.get_resource(task.name)
            raise DataError(_describe(data_dir, resource, first, lines[task.name]) + extra)
    if report.errors:
        raise DataError(f"{data_dir / PACKAGE_FILE}: {report.errors[0].message}")
    tables = {resource.name: read_table(data_dir, resource.name, package) for resource in package.resources}
    problems = findings(data_dir, package, lines, tables)
    if problems:
        raise DataError("\n".join(problems))
    return tables


def read_table(data_dir, name: str, package=None) -> pd.DataFrame:
    """One file as the validator read it: the declared dialect, only empty cells missing."""
    package = package or schema(data_dir)
    resource = package.get_resource(name)
    dialect = _dialect(resource)
    fields = resource.schema.fields
    booleans = [field for field in fields if field.type == "boolean"]
    return pd.read_csv(
        Path(data_dir) / resource.path, sep=dialect.delimiter, quotechar=dialect.quote_char,
        doublequote=dialect.double_quote, encoding="utf-8", keep_default_na=False, na_values=[""],
        dtype={field.name: str for field in fields if field.type in TEXT_TYPES},
        true_values=[value for field in booleans for value in field.true_values] or None,
        false_values=[value for field in booleans for value in field.false_values] or None,
    )


def _dialect(resource) -> CsvControl:
    """The CSV dialect datapackage.json declares for the file (Frictionless' defaults otherwise)."""
    dialect = resource.dialect
    return dialect.get_control("csv") if dialect.has_control("csv") else CsvControl()


# Report the root cause first: a bad header or a short line explains the cell errors after it.
_FIRST = ("source-error", "label", "missing-cell", "extra-cell")


def _rank(error):
    kind = next((i for i, k in enumerate(_FIRST) if k in error.type), len(_FIRST))
    return (kind, getattr(error, "row_number", 0) or 0)


def _check_file(data_dir: Path, resource) -> list:
    """What Frictionless forgives, guesses or misplaces: encoding, last newline, the exact header
    in the declared dialect, at least one data row. Returns the physical line of each record."""
    path = data_dir / resource.path
    dialect = _dialect(resource)
    text = _utf8_text(path, resource.schema.field_names, dialect.delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=dialect.delimiter,
                        quotechar=dialect.quote_char, doublequote=dialect.double_quote)
    records, lines = [], []  # lines: where each record starts, so a quoted line break shifts nothing
    try:
        while True:
            start = reader.line_num + 1
            try:
                records.append(next(reader))
            except StopIteration:
                break
            lines.append(start)
    except csv.Error as error:
        raise DataError(f"{path}, line {reader.line_num}: {error}; expected a CSV line") from None
    _check_header(path, resource.schema.field_names, records, dialect.delimiter)
    return lines


def _utf8_text(path: Path, names: list, delimiter: str) -> str:
    """The file as UTF-8 text, or a DataError that says which line holds the bad byte."""
    if not path.exists():
        raise DataError(f"{path}: file is missing; the data package lists it")
    if not path.is_file():
        raise DataError(f"{path}: is a folder, not a file; expected a CSV file")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path}: file is empty; expected a header line and data rows")
    if raw.startswith(BOM):
        raise DataError(
            f"{path}, line 1, column 1: starts with a byte-order mark; expected plain UTF-8 "
            "(save without BOM)"
        )
    if raw.startswith(UTF16_BOMS) or b"\x00" in raw:
        raise DataError(f"{path}: the file is UTF-16 or binary (it has zero bytes); expected UTF-8 "
                        "text (save it as 'CSV UTF-8')")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        line_start = raw.rfind(b"\n", 0, error.start) + 1
        before = raw[line_start:error.start].decode("utf-8", "replace")
        column = next(csv.reader([before], delimiter=delimiter), [""])
        name = names[len(column) - 1] if 0 < len(column) <= len(names) else len(column)
        raise DataError(
            f"{path}, line {line}, column '{name}', byte {error.start - line_start + 1} of the line: "
            f"found the byte "
            f"0x{raw[error.start]:02X}, which is not UTF-8 (a file saved as Latin-1 or Windows-1252?); "
            "expected UTF-8 text (save it as 'CSV UTF-8')"
        ) from None
    if not raw.endswith(b"\n"):
        last_line = raw.count(b"\n") + 1
        raise DataError(
            f"{path}, line {last_line}: the last line does not end with a newline, so it "
            "may be truncated; expected every line, the last included, to end with a newline"
        )
    return text


def _check_header(path: Path, names: list, records: list, delimiter: str) -> None:
    """The header must be the schema's column names exactly: no spaces, no other delimiter."""
    header = records[0]
    if header != names:
        if len(header) == 1 and len(names) > 1:
            other = next((d for d in (";", "\t", "|") if d in header[0]), None)
            if other:
                raise DataError(f"{path}, line 1 (header): the columns are separated by {other!r}; "
                                f"expected {delimiter!r}, as datapackage.json declares")
        raise DataError(f"{path}, line 1 (header), {_header_mismatch(header, names)}; "
                        f"expected the columns {names}")
    if len(records) < 2:
        raise DataError(f"{path}: has a header but no data rows; expected at least one data row")


def _describe(data_dir: Path, resource, error, lines: list) -> str:
    """One sentence: file, line, column, what was expected, what was found."""
    path = data_dir / resource.path
    names = resource.schema.field_names
    kind = error.type
    row = getattr(error, "row_number", None)
    line = lines[row - 1] if row and row <= len(lines) else row
    where = f"{path}, line {line} (data row {row - 1})" if row else f"{path}, line 1 (header)"
    field = getattr(error, "field_name", None)
    if kind in ("missing-label", "incorrect-label", "extra-label", "blank-label", "duplicate-label"):
        return f"{where}, {_header_mismatch(error.labels, names)}; expected the columns {names}"
    if kind in ("source-error", "scheme-error", "encoding-error", "format-error"):
        return f"{path}: {shown(error.note)}; expected a UTF-8 CSV file with header {names}"
    if kind in ("missing-cell", "extra-cell"):
        fewer = "fewer" if kind == "missing-cell" else "more"
        return (f"{where}, column '{field}': the line has {fewer} cells than the header "
                f"(truncated or mis-split line?); expected {len(names)} cells")
    if kind == "type-error":
        expected = _expected_type(resource.schema.get_field(field))
        return f"{where}, column '{field}': found {shown(error.cell)}; expected {expected}"
    if kind == "constraint-error":
        expected = _expected_constraint(resource.schema.get_field(field), error.note)
        return f"{where}, column '{field}': found {shown(error.cell)}; expected {expected}"
    if kind == "foreign-key":
        column = error.field_names[0]
        target = f"{data_dir / (error.reference_name + '.csv')}"
        known = sorted(read_table(data_dir, error.reference_name)[error.reference_field_names[0]])
        return (f"{where}, column '{column}': {shown(error.field_cells[0])} is not listed in {target} "
                f"(column '{error.reference_field_names[0]}'); expected one of {known}")
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
        "date": "a real date written YYYY-MM-DD",
    }.get(field.type, f"a value of type {field.type}")


def _expected_constraint(field, note: str) -> str:
    """What a cell that breaks one of its column's constraints should hold, in the words of the
    data dictionary (`constraint_texts`)."""
    if "required" in note:
        return "a value (the cell is empty)"
    texts, note = constraint_texts(field, number="{}"), note.lower()  # numbers as they are typed in a CSV
    if ("minimum" in note or "maximum" in note) and "range" in texts:
        return f"a value from {texts['range']}" if " to " in texts["range"] else f"a value {texts['range']}"
    for kind in ("enum", "pattern", "length"):
        if kind in note and kind in texts:
            return texts[kind]
    return note


def constraint_texts(field, number: str = "{:,}") -> dict:
    """Each constraint of a schema column in words, by kind: the data dictionary lists them all
    (`allowed_values`), and a refused cell's message names the one it breaks. `number` formats
    the bounds of a range."""
    rules = field.constraints
    low, high = rules.get("minimum"), rules.get("maximum")
    texts = {}
    if "enum" in rules:
        texts["enum"] = "one of " + ", ".join(str(value) for value in rules["enum"])
    if low is not None and high is not None:
        texts["range"] = f"{number.format(low)} to {number.format(high)}"
    elif low is not None or high is not None:
        texts["range"] = f"at least {number.format(low)}" if high is None else f"at most {number.format(high)}"
    if "pattern" in rules:
        texts["pattern"] = f"text matching {rules['pattern']}"
    if "minLength" in rules:
        texts["length"] = f"text of at least {rules['minLength']} characters"
    if field.type == "boolean":
        texts["boolean"] = "true or false"
    if rules.get("unique"):
        texts["unique"] = "unique"
    texts["required"] = "required" if rules.get("required") else "may be blank"
    return texts


def allowed_values(field) -> str:
    """Every constraint of a schema column in words, as the data dictionary lists them."""
    return "; ".join(constraint_texts(field).values())


def _header_mismatch(header: list, names: list) -> str:
    for position, (found, expected) in enumerate(zip(header, names, strict=False), start=1):
        if found != expected:
            return f"column {position}: found {shown(found)} where '{expected}' belongs"
    if len(header) > len(names):
        return f"column {len(names) + 1}: found extra column {shown(header[len(names)])}"
    return f"column {len(header) + 1}: column '{names[len(header)]}' is missing"


def load(data_dir=DATA_DIR) -> GuideData:
    """Validate every CSV, then return the tables with the guide's derived columns."""
    tables = _validated_tables(data_dir)
    accelerators = tables["accelerators"]
    datasets = tables["datasets"].astype({"train_samples": "Int64"})
    guide = add_derived(tables["parameter_guide"], accelerators)
    models = tables["models"].astype({"head_dim": "Int64"})
    return GuideData(guide=guide, accelerators=accelerators, models=models,
                     datasets=datasets, prices=tables["prices"],
                     throughput_references=tables["throughput_references"],
                     vendor_measurements=tables["vendor_measurements"],
                     gpus=tables["gpus"], finetune_measurements=tables["finetune_measurements"],
                     allocator_cache=tables["allocator_cache"],
                     stack_defaults=tables["stack_defaults"], software_caveats=tables["software_caveats"])


def column_labels(data_dir=DATA_DIR) -> dict:
    """Display label of every schema column: its title, with its unit in brackets."""
    labels = {}
    for resource in schema(data_dir).resources:
        for field in resource.schema.fields:
            unit = field.to_dict().get("unit")
            labels[field.name] = f"{field.title} ({unit})" if unit else field.title
    return labels
