"""Values checked against each other, after every cell has passed the schema.

The schema checks one cell at a time; these checks catch what only shows against another value:
a memory figure bigger than the flavor, a speed far beyond the hardware's peak, a price per
GPU-hour no one charges, a date after today, a second assumption row that would silently lose.
Each finding is one line naming file, line, column, what was found and what was expected.
The bounds are generous on purpose: the guide's own figures that the audit page questions (a
reported throughput of 311% of peak) must still load, so the site can show why they are doubtful.
"""

import datetime
import functools
import re
import unicodedata
from pathlib import Path

import pandas as pd

from ftguide.planner import kernel
from ftguide.text import shown
from ftguide.throughput import time_based_throughput

# Model-FLOP utilisation (6·N FLOPs per token) a row may imply: the guide's reported throughput
# reaches 311% of peak (the audit page flags it); a hundredth or five times peak is a typo.
MFU_FLOOR, MFU_CEILING = 0.01, 5.0
# The vendor's logs go lower: a run's first logged step carries the compilation (0.6% of peak at
# the lowest); a thousandth of a speed is still refused.
VENDOR_MFU_FLOOR = 0.005
# A public reference is a measured, tuned run: its MFU (the stated one, and its tokens/s × FLOPs
# per token ÷ peak) lies within 1% and 100% of peak, and the two agree within 15% (they agree within
# 3% in the data: the sources count FLOPs per token a little differently).
REFERENCE_MFU = (0.01, 1.0)
STATED_MFU_TOLERANCE = 0.15
FP8_PEAK_FACTOR = 2  # dense FP8 is twice dense BF16 on the H100 (1,979 against 989.4 TFLOP/s)
MI250_PEAK_TFLOPS = (320, 400)  # dense BF16 per MI250: 362.1 (AMD ROCm docs); the MI250X has 383
MIB = 2**20
GCD_MEMORY_MIB = (32 * 1024, 64 * 1024)  # an MI250 GCD has 64 GiB; moreh-smi shows 65,520 MiB
GPUS_PER_NODE = (1, 8)  # MI250 servers hold 4 (the MoAI flavors) or 8
PRICE_PER_GPU_HOUR = (0.10, 20.0)  # USD; public listings in 2024-2026 lie between 0.2 and 13
# Counted and published sizes agree within 0.2% in the data; the audit page shows any gap. Only a
# factor of two or more, a count in billions or thousands, is a unit error to refuse.
PUBLISHED_PARAMS_FACTOR = 2
VALID_UNTIL_YEARS_AHEAD = 2
ASSUMED_GPU = "MI250"  # the guide's GPU: its price is the one assumption row
REFERENCE_GPUS = ("H100", "A100 80GB")  # the cost page sets MI250 costs beside these
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet runs as a formula
LINE_BREAKS = "\n\r"  # the only control characters a prose cell (not a name or key) may hold


class Locator:
    """'file, line L (data row R), column 'c'' for a table row, from the physical line map."""

    def __init__(self, data_dir: Path, package, lines: dict):
        self.data_dir, self.package, self.lines = data_dir, package, lines

    def path(self, name: str) -> Path:
        return self.data_dir / self.package.get_resource(name).path

    def __call__(self, name: str, index: int, column: str) -> str:
        line = self.lines[name][index + 1]  # record 0 is the header
        return f"{self.path(name)}, line {line} (data row {index + 1}), column '{column}'"


class _Row:
    """One row of a table, its cells read as `row.column`, `row["column"]` or `row.get("column")`
    as from DataFrame.iterrows, over a plain dict: validation reads every cell on each load, and
    through a pandas Series that took 40% of the checks' time."""
    __slots__ = ("_cells",)

    def __init__(self, cells: dict):
        self._cells = cells

    def __getattr__(self, column):
        try:
            return self._cells[column]
        except KeyError:
            raise AttributeError(column) from None

    def __getitem__(self, column):
        return self._cells[column]

    def get(self, column, default=None):
        return self._cells.get(column, default)


def _rows(frame: pd.DataFrame):
    """(index, _Row) for each row of `frame`, in order."""
    return zip(frame.index, map(_Row, frame.to_dict(orient="records")), strict=True)


def findings(data_dir: Path, package, lines: dict, tables: dict) -> list:
    """Every implausible value in the package, one message each (empty when all is well).
    `tables` holds each file as read, by resource name."""
    at = Locator(Path(data_dir), package, lines)
    today = datetime.date.today()
    found = _texts(tables, package, at)
    basis = _flavors(tables["accelerators"], at) + _models(tables["models"], at) + _reference_gpus(tables, at)
    found += basis
    if not basis:  # these compute with the flavors, the models and the references' GPUs: only once they hold
        found += _guide(tables, at)
        found += _reference_speeds(tables, at)
        found += _measurements(tables, at)
        found += _allocator_cache(tables, at)
    found += _prices(tables["prices"], at, today)
    found += _references(tables["throughput_references"], at, today)
    found += _hardware_names(tables, at)
    found += _gpu_prices(tables, at)
    found += _changes(tables["changes"], package, at, today)
    found += _vendor(tables, at, checked_basis=not basis)
    found += _stack_defaults(tables["stack_defaults"], at)
    found += _software_caveats(tables, at)
    return found


def add_derived(guide: pd.DataFrame, accelerators: pd.DataFrame) -> pd.DataFrame:
    """Columns that the checks and more than one page need, from the guide row and its flavor."""
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


def reference_family(gpus: pd.DataFrame, gpu: str) -> list:
    """The GPUs of data/gpus.csv a reference's GPU family names ('H100': 'H100 PCIe', 'H100 SXM'),
    narrowed to those with a network bandwidth where several are: the references ran on 8-GPU
    servers of a data-center part (throughput_references.csv), which a PCIe card in a consumer or
    workstation box is not."""
    family = [name for name in dict.fromkeys(gpus["gpu"]) if name.startswith(gpu + " ")]
    networked = set(gpus.loc[gpus["inter_node_gb_s"].notna(), "gpu"])
    return family if len(family) < 2 else [name for name in family if name in networked]


def reference_gpu(gpus: pd.DataFrame, gpu: str):
    """The GPU of data/gpus.csv that `gpu` names: itself, or, for a reference's GPU family
    (throughput_references.csv says 'H100'), the one GPU of that family (reference_family); None
    when there is none, or several (validation refuses both for a reference)."""
    if gpu in set(gpus["gpu"]):
        return gpu
    family = reference_family(gpus, gpu)
    return family[0] if len(family) == 1 else None


def gpu_peak(gpus: pd.DataFrame, gpu: str) -> float:
    """Peak dense BF16 FLOP/s of the GPU of data/gpus.csv that `gpu` names (reference_gpu); NaN
    for a GPU the file does not list or gives no peak."""
    peaks = gpus.loc[gpus["gpu"] == reference_gpu(gpus, gpu), "peak_bf16_tflops"]
    return float(peaks.iloc[0]) * 1e12 if len(peaks) else float("nan")


def reference_flops(references: pd.DataFrame, models: pd.DataFrame) -> pd.Series:
    """Training FLOPs per token of each reference's model: counted for a model of models.csv, else
    6 × the source's parameters."""
    configs = {row["model"]: kernel.model_coefficients(row) for row in models.to_dict(orient="records")}
    return pd.Series([kernel.flops_per_token(configs[row.model], row.sequence_length)
                      if row.model in configs else 6 * row.params_billion * 1e9
                      for row in references.itertuples()], index=references.index, dtype=float)


def reference_mfu(references: pd.DataFrame, models: pd.DataFrame, gpus: pd.DataFrame) -> pd.DataFrame:
    """MFU of each public BF16 reference: the source's figure, else its tokens/s × the model's
    FLOPs per token ÷ the GPU's peak (for models in models.csv); `node_gpu` is the GPU of
    gpus.csv it ran on (reference_gpu)."""
    refs = references[references["precision"] == "BF16"].copy()
    known = refs["model"].isin(set(models["model"]))
    flops = reference_flops(refs, models).where(known)
    refs["node_gpu"] = refs["gpu"].map(lambda gpu: reference_gpu(gpus, gpu))
    peak = refs["gpu"].map(lambda gpu: gpu_peak(gpus, gpu))
    computed = kernel.utilisation(refs["tokens_per_s_per_gpu"], flops, peak)
    refs["mfu"] = (refs["mfu_percent"] / 100).fillna(computed)
    return refs.dropna(subset=["mfu"])


def _texts(tables: dict, package, at) -> list:
    """Text cells a reader cannot see right, a terminal would run, or a spreadsheet would compute:
    control characters (line breaks allowed in prose only), blank-looking text, spaces at either
    end, a formula; and names in a key column that differ only in case. One message per cell."""
    out = []
    for resource in package.resources:
        table, schema = tables[resource.name], resource.schema
        keys = _key_columns(resource)
        for field in schema.fields:
            if field.type != "string":
                continue
            for index, value in table[field.name].items():
                problem = text_problem(value, field.name in keys) if isinstance(value, str) else None
                if problem:
                    out.append(f"{at(resource.name, index, field.name)}: found {shown(value)}; expected {problem}")
        for column in _unique_columns(resource):
            out += _case_duplicates(table, column, resource.name, at)
    return out


# Unicode's control characters (category Cc): C0, DEL and C1.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def text_problem(value: str, name: bool) -> str | None:
    """What a text cell must be instead, or None: `name` for a key or name column."""
    allowed = "" if name else LINE_BREAKS
    if any(char not in allowed for char in CONTROL.findall(value)):
        where = "" if name else " (line breaks only, in prose)"
        return f"text without control characters{where}: a terminal would act on them"
    if not any(_visible(char) for char in value):
        return "visible text: the cell looks blank"
    if not (_visible(value[0]) and _visible(value[-1])):
        return "no space or invisible character at the start or end"
    if value.startswith(FORMULA_START):
        return ("text that does not start with =, +, -, @, a tab or a carriage return, which a spreadsheet "
                "would run as a formula")
    return None


def _visible(char: str) -> bool:
    return not (char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp"))


def _key_columns(resource) -> list:
    """Text columns that name things: the primary key, unique columns and foreign keys."""
    schema = resource.schema
    names = list(schema.primary_key) + [field.name for field in schema.fields if field.constraints.get("unique")]
    names += [name for key in schema.foreign_keys for name in key["fields"]]
    return [name for name in dict.fromkeys(names) if schema.get_field(name).type == "string"]


def _unique_columns(resource) -> list:
    """Text columns whose every value names one thing: a one-column primary key, a unique column."""
    schema = resource.schema
    names = list(schema.primary_key) if len(schema.primary_key) == 1 else []
    names += [field.name for field in schema.fields if field.constraints.get("unique")]
    return [name for name in dict.fromkeys(names) if schema.get_field(name).type == "string"]


def _case_duplicates(table: pd.DataFrame, column: str, name: str, at) -> list:
    """Names that differ from an earlier row's only in case: two names a reader takes for one."""
    first = {}
    out = []
    for index, value in table[column].items():
        if not isinstance(value, str):
            continue
        earlier = first.setdefault(value.casefold(), index)
        if earlier != index and table.loc[earlier, column] != value:
            out.append(f"{at(name, index, column)}: found {shown(value)}, which differs only in case from "
                       f"{shown(table.loc[earlier, column])} on line {at.lines[name][earlier + 1]}; expected a "
                       "name that differs in more than case")
    return out


def _flavors(accelerators: pd.DataFrame, at) -> list:
    out = []
    for index, row in _rows(accelerators):
        where = functools.partial(at, "accelerators", index)
        if row.gcds != 2 * row.mi250_gpus:
            out.append(f"{where('gcds')}: found {row.gcds}; expected 2 x mi250_gpus = {2 * row.mi250_gpus}"
                       " (an MI250 has two GCDs)")
        per_node = row.mi250_gpus / row.nodes
        if row.mi250_gpus % row.nodes or not GPUS_PER_NODE[0] <= per_node <= GPUS_PER_NODE[1]:
            fitting = [n for n in range(1, row.mi250_gpus + 1) if row.mi250_gpus % n == 0
                       and GPUS_PER_NODE[0] <= row.mi250_gpus / n <= GPUS_PER_NODE[1]]
            out.append(f"{where('nodes')}: found {row.nodes} servers for {row.mi250_gpus} MI250 GPUs; "
                       f"expected a count that splits them evenly, at most {GPUS_PER_NODE[1]} per "
                       f"server: one of {fitting}")
        low, high = (row.gcds * bound for bound in GCD_MEMORY_MIB)
        if not low <= row.memory_mib <= high:
            out.append(f"{where('memory_mib')}: found {row.memory_mib:,} MiB for {row.gcds} GCDs; expected "
                       f"{low:,} to {high:,} MiB ({GCD_MEMORY_MIB[0]:,} to {GCD_MEMORY_MIB[1]:,} MiB per "
                       "GCD: an MI250 GCD has 64 GiB; the column is in MiB, not GiB)")
    return out + _mi250_peaks(accelerators, at)


def _mi250_peaks(accelerators: pd.DataFrame, at) -> list:
    """Every flavor is MI250 GPUs: one peak for all, an MI250's."""
    peaks = accelerators["peak_bf16_tflops_per_gpu"]
    usual = peaks.mode().iloc[0]
    low, high = MI250_PEAK_TFLOPS
    out = []
    for index, peak in peaks.items():
        if not low <= peak <= high:
            expected = f"an MI250's dense BF16 peak, {low} to {high} (362.1 in AMD's ROCm documentation)"
        elif peak != usual and low <= usual <= high:
            expected = f"{usual:g}, the MI250 peak the other flavors give (every flavor is MI250 GPUs)"
        else:
            continue
        out.append(f"{at('accelerators', index, 'peak_bf16_tflops_per_gpu')}: found {peak:g} TFLOP/s; "
                   f"expected {expected}")
    return out


def _models(models: pd.DataFrame, at) -> list:
    out = []
    counted = {row["model"]: kernel.parameter_count(row) for row in models.to_dict(orient="records")}
    for index, row in _rows(models):
        where = functools.partial(at, "models", index)
        before = len(out)
        if row.kv_heads > row.attention_heads or row.attention_heads % row.kv_heads:
            out.append(f"{where('kv_heads')}: found {row.kv_heads} with {row.attention_heads} attention "
                       "heads; expected a divisor of attention_heads (grouped-query attention shares "
                       "each key/value head among query heads)")
        if pd.isna(row.head_dim) and row.hidden_size % row.attention_heads:
            out.append(f"{where('hidden_size')}: found {row.hidden_size}, not a multiple of "
                       f"{row.attention_heads} attention heads; expected hidden_size = heads x head size, "
                       "or head_dim set")
        learned = row.position_encoding == "learned"
        if learned != (row.learned_positions > 0):
            expected = "more than 0 (the size of the table)" if learned else "0 (positions are not learned)"
            out.append(f"{where('learned_positions')}: found {row.learned_positions} with position_encoding "
                       f"'{row.position_encoding}'; expected {expected}")
        count = counted[row.model]
        # The count is only worth comparing once the architecture it comes from holds together.
        ratio = row.published_params / count
        unit_error = not 1 / PUBLISHED_PARAMS_FACTOR < ratio < PUBLISHED_PARAMS_FACTOR
        if len(out) == before and pd.notna(ratio) and unit_error:
            out.append(f"{where('published_params')}: found {row.published_params:,.0f}; expected within a "
                       f"factor of {PUBLISHED_PARAMS_FACTOR} of the {count:,} parameters counted from the "
                       "architecture (a whole number of parameters, not billions)")
    return out


def _guide(tables: dict, at) -> list:
    guide = add_derived(tables["parameter_guide"], tables["accelerators"])
    counted = {row["model"]: kernel.parameter_count(row) for row in tables["models"].to_dict(orient="records")}
    params = guide["model"].map(counted)
    flavor = tables["accelerators"].set_index("accelerator")
    peak = guide["gpus"] * guide["accelerator"].map(flavor["peak_bf16_tflops_per_gpu"]) * 1e12
    datasets = tables["datasets"].astype({"train_samples": "Int64"})
    mfu = {
        "throughput_tokens_per_s": kernel.utilisation(guide["throughput_tokens_per_s"], 6 * params, peak),
        "training_time_min": kernel.utilisation(time_based_throughput(guide, datasets), 6 * params, peak),
    }
    out = []
    for index, row in _rows(guide):
        where = functools.partial(at, "parameter_guide", index)
        if row.vram_mib > row.flavor_memory_mib:
            out.append(f"{where('vram_mib')}: found {row.vram_mib:,} MiB; expected at most the "
                       f"{row.flavor_memory_mib:,} MiB of the {shown(row.accelerator)} flavor")
        states = kernel.STATE_BYTES_PER_PARAM * params[index] / MIB
        if row.vram_mib < states:
            out.append(f"{where('vram_mib')}: found {row.vram_mib:,} MiB; expected at least {states:,.0f} "
                       f"MiB, the model states of {params[index]:,} parameters at "
                       f"{kernel.STATE_BYTES_PER_PARAM} bytes each (the column is in MiB, not GiB)")
        for column, share in mfu.items():
            if pd.notna(share[index]) and not MFU_FLOOR <= share[index] <= MFU_CEILING:
                reading = "a run over one epoch of the dataset" if column == "training_time_min" else "it"
                out.append(f"{where(column)}: found {row[column]:,}, which puts {reading} at "
                           f"{share[index]:.2%} of the flavor's peak (6·N FLOPs per token); expected "
                           f"{MFU_FLOOR:.0%} to {MFU_CEILING:.0%} of peak")
    return out


def _prices(prices: pd.DataFrame, at, today: datetime.date) -> list:
    out = []
    for index, row in _rows(prices):
        where = functools.partial(at, "prices", index)
        per_gpu = row.price_per_instance_hour / row.gpus_per_instance
        if not PRICE_PER_GPU_HOUR[0] <= per_gpu <= PRICE_PER_GPU_HOUR[1]:
            out.append(f"{where('price_per_instance_hour')}: found {row.price_per_instance_hour:,} for "
                       f"{row.gpus_per_instance} GPU(s), {per_gpu:,.2f} {row.currency} per GPU-hour; expected "
                       f"{PRICE_PER_GPU_HOUR[0]:.2f} to {PRICE_PER_GPU_HOUR[1]:.2f} per GPU-hour")
        ranged = pd.notna(row.price_low), pd.notna(row.price_high)
        bounds = [end for end in ("price_low", "price_high") if pd.notna(row[end])
                  and not PRICE_PER_GPU_HOUR[0] <= row[end] <= PRICE_PER_GPU_HOUR[1]]
        out += [f"{where(end)}: found {row[end]:,.15g} {row.currency} per GPU-hour; expected "
                f"{PRICE_PER_GPU_HOUR[0]:.2f} to {PRICE_PER_GPU_HOUR[1]:.2f} per GPU-hour, as every price"
                for end in bounds]
        if any(ranged) and not all(ranged):
            out.append(f"{where('price_high' if ranged[0] else 'price_low')}: the cell is empty; expected "
                       "both ends of the range or neither")
        elif all(ranged) and not bounds and not row.price_low <= per_gpu <= row.price_high:
            out.append(f"{where('price_low')}: found low {row.price_low}, price per GPU-hour {per_gpu:g} "
                       f"and high {row.price_high}; expected price_low <= price per GPU-hour <= price_high")
        elif row.kind == "assumption" and not all(ranged):
            out.append(f"{where('price_low')}: the cell is empty; expected the range the assumption is "
                       "tried over (price_low and price_high)")
        out += _dates(row, where, today)
    return out + _one_assumption(prices, at)


def _dates(row, where, today: datetime.date) -> list:
    seen, until = (None if pd.isna(value) else datetime.date.fromisoformat(value)
                   for value in (row.date_seen, row.valid_until))
    if seen is None and until is None:
        return [f"{where('date_seen')}: the cell is empty; expected the day the price was seen "
                "(YYYY-MM-DD), or, if that day was not recorded, the listing's valid_until date"]
    out = []
    if seen and seen > today:
        out.append(f"{where('date_seen')}: found {seen}; expected a day no later than today ({today})")
    if seen and until and until < seen:
        out.append(f"{where('valid_until')}: found {until}, before date_seen {seen}; expected a day on "
                   "or after it")
    horizon = today.replace(year=today.year + VALID_UNTIL_YEARS_AHEAD, day=min(today.day, 28))
    if until and until > horizon:
        out.append(f"{where('valid_until')}: found {until}; expected no later than {horizon} (listings "
                   f"are not quoted more than {VALID_UNTIL_YEARS_AHEAD} years ahead)")
    return out


def _one_assumption(prices: pd.DataFrame, at) -> list:
    """Exactly one assumed price for the guide's GPU, at most one for any other: a second would
    silently lose to the first."""
    assumed = prices[prices["kind"] == "assumption"]
    if not (assumed["gpu"] == ASSUMED_GPU).any():
        return [f"{at.path('prices')}: found no row with gpu {ASSUMED_GPU} and kind assumption; expected "
                "exactly one (every MI250 cost on the site is priced with it)"]
    out = []
    for gpu, rows in assumed.groupby("gpu"):
        first = at.lines["prices"][rows.index[0] + 1]
        out += [f"{at('prices', index, 'kind')}: found a second assumption row for {gpu} (the first is on "
                f"line {first}); expected exactly one assumption row per GPU" for index in rows.index[1:]]
    return out


def _references(references: pd.DataFrame, at, today: datetime.date) -> list:
    out = []
    for index, value in references["published"].items():
        if pd.isna(value):
            continue
        try:
            day = datetime.date.fromisoformat(value if len(value) > 7 else value + "-01")
        except ValueError:
            day = None
        if day is None or day > today:
            out.append(f"{at('throughput_references', index, 'published')}: found {shown(value)}; expected "
                       f"a real month or day (YYYY-MM or YYYY-MM-DD) no later than today ({today})")
    for gpu in REFERENCE_GPUS:
        if not ((references["gpu"] == gpu) & (references["precision"] == "BF16")).any():
            out.append(f"{at.path('throughput_references')}: found no BF16 reference on {gpu}; expected at "
                       "least one (the cost page matches every guide row with one)")
    return out


def _reference_gpus(tables: dict, at) -> list:
    """A reference names a GPU family ('H100'): its peak is that of the one GPU of gpus.csv in the
    family (with a network bandwidth, where several are), so there must be exactly one, with a peak."""
    references, gpus = tables["throughput_references"], tables["gpus"]
    out = []
    for gpu, index in references.reset_index().groupby("gpu", sort=False)["index"].first().items():
        named = reference_gpu(gpus, gpu)
        if named is None:
            family = reference_family(gpus, gpu)
            found = f"the GPUs {', '.join(map(shown, family))}" if family else "no such GPU"
            out.append(f"{at('throughput_references', index, 'gpu')}: found {shown(gpu)}, and {at.path('gpus')} "
                       f"has {found}; expected exactly one GPU named {shown(gpu)} or {shown(gpu + ' <variant>')} "
                       "there (with a network bandwidth, where several are: its peak gives the reference's MFU)")
        elif gpus.loc[gpus["gpu"] == named, "peak_bf16_tflops"].isna().all():
            out.append(f"{at('throughput_references', index, 'gpu')}: found {shown(gpu)}, whose GPU {shown(named)} "
                       f"has no peak in {at.path('gpus')}; expected a GPU with a peak (it gives the reference's MFU)")
    return out


def _reference_speeds(tables: dict, at) -> list:
    """A public reference's speed: its tokens/s × FLOPs per token ÷ its GPU's peak (its MFU) within
    1% and 100% of peak, and the MFU its source states no more than 15% from it."""
    refs = tables["throughput_references"]
    peak = refs["gpu"].map(lambda gpu: gpu_peak(tables["gpus"], gpu))
    peak = peak.where(refs["precision"] != "FP8", peak * FP8_PEAK_FACTOR)
    mfu = kernel.utilisation(refs["tokens_per_s_per_gpu"], reference_flops(refs, tables["models"]), peak)
    low, high = REFERENCE_MFU
    out = []
    for index, row in _rows(refs):
        where = functools.partial(at, "throughput_references", index)
        of_peak = (f"{mfu[index]:.2%} of the {row.gpu}'s {row.precision} peak for {shown(row.model)} at "
                   f"{row.sequence_length:,} tokens")
        if mfu[index] > high:
            out.append(f"{where('tokens_per_s_per_gpu')}: found {row.tokens_per_s_per_gpu:,g}, {of_peak}; expected "
                       f"at most {row.tokens_per_s_per_gpu / mfu[index] * high:,.0f} ({high:.0%} of peak)")
        elif mfu[index] < low:
            out.append(f"{where('tokens_per_s_per_gpu')}: found {row.tokens_per_s_per_gpu:,g}, {of_peak}; expected "
                       f"at least {row.tokens_per_s_per_gpu / mfu[index] * low:,.0f} ({low:.0%} of peak)")
        elif pd.notna(row.mfu_percent) and abs(row.mfu_percent / 100 / mfu[index] - 1) > STATED_MFU_TOLERANCE:
            out.append(f"{where('mfu_percent')}: found {row.mfu_percent:g}, but {row.tokens_per_s_per_gpu:,g} "
                       f"tokens/s is {of_peak}; expected the two within {STATED_MFU_TOLERANCE:.0%} of each other")
    return out


def _hardware_names(tables: dict, at) -> list:
    """One name, one hardware option: no flavor named like a planner group ('all'), in any case
    (within one file, the schema and _texts keep names apart)."""
    taken = {group.casefold(): f"the planner's group {shown(group)}" for group in kernel.HARDWARE_GROUPS}
    out = []
    for name, column in (("accelerators", "accelerator"),):
        names = tables[name][column]
        out += [f"{at(name, index, column)}: found {shown(value)}, the name of {taken[value.casefold()]}; "
                "expected a name no other hardware option or group has, in any case"
                for index, value in names.items() if value.casefold() in taken]
        for index, value in names.items():
            taken.setdefault(value.casefold(), f"the {column} {shown(value)} on line {at.lines[name][index + 1]} "
                                               f"of {at.path(name)}")
    return out


def _gpu_prices(tables: dict, at) -> list:
    """The reference GPUs the cost page sets beside the MI250 are priced with a dated on-demand
    listing of exactly their name (a GPU of the catalog without one is planned unpriced)."""
    prices, gpus = tables["prices"], tables["gpus"]
    dated = prices[prices["date_seen"].notna() & (prices["kind"] != "assumption")]
    out = []
    for family in REFERENCE_GPUS:
        gpu = reference_gpu(gpus, family)
        if gpu is not None and not ((dated["gpu"] == gpu) & (dated["kind"] == "on-demand")).any():
            index = gpus.index[gpus["gpu"] == gpu][0]
            out.append(f"{at.path('prices')}: found no on-demand {family} price with a date seen for {shown(gpu)} "
                       f"(the GPU of {at('gpus', index, 'gpu')}); expected at least one, named exactly so "
                       "(the cost page compares the MI250 with it)")
    return out


def _changes(changes: pd.DataFrame, package, at, today: datetime.date) -> list:
    files = sorted(resource.path for resource in package.resources)
    # A file taken out of the package keeps its history, ended by a row that removes all its rows.
    removed = set(changes.loc[(changes["change"] == "removed") & (changes["rows"] == "all rows"), "file"])
    out = []
    for index, row in _rows(changes):
        if row.file not in files and row.file not in removed:
            out.append(f"{at('changes', index, 'file')}: found {shown(row.file)}; expected one of the "
                       f"package's files {files}, or a file a row removes with all its rows")
        if datetime.date.fromisoformat(row.date) > today:
            out.append(f"{at('changes', index, 'date')}: found {row.date}; expected a day no later than "
                       f"today ({today})")
    return out


# A measured speed may not claim more than the GPU's peak for the fewest FLOPs the method can do per
# token: the matrix weights at the kernel's FLOPs per weight (6 full, 4 with adapters: frozen weights
# need no weight gradients), no attention, no recomputation. Below a hundredth of peak it is a typo.


def _measurements(tables: dict, at) -> list:
    """A public measurement names its commit or its page, fields that fit its method, a memory figure
    that fits its GPU, and a speed its GPU can deliver."""
    rows, gpus = tables["finetune_measurements"], tables["gpus"].set_index("gpu")
    matmul = {row["model"]: kernel.model_coefficients(row)["matmul_params"]
              for row in tables["models"].to_dict(orient="records")}
    out = []
    for index, row in _rows(rows):
        where = functools.partial(at, "finetune_measurements", index)
        if pd.isna(row.commit) and pd.isna(row.url):
            out.append(f"{where('commit')}: the cell is empty and so is url; expected the 40-hex commit the quote was "
                       "read at, or the address of a page without commits")
        if pd.notna(row.commit) and pd.isna(row.path):
            out.append(f"{where('path')}: the cell is empty; expected the file the commit's quote comes from")
        out += _method_fields(row, where)
        if pd.isna(row.peak_memory_gib) and pd.isna(row.tokens_per_s_per_gpu):
            out.append(f"{where('peak_memory_gib')}: the cell is empty and so is tokens_per_s_per_gpu; expected a "
                       "measured memory or speed (a row with neither measures nothing)")
        if pd.notna(row.peak_memory_gib) and pd.isna(row.memory_kind):
            out.append(f"{where('memory_kind')}: the cell is empty; expected what the memory figure counts "
                       "(reserved, allocated, nvidia-smi or unstated)")
        if row.get("qlora_keeps_inputs") == "yes" and row.method != "qlora":
            out.append(f"{where('qlora_keeps_inputs')}: found 'yes' for method {shown(row.method)}; expected 'no' or "
                       "'unstated' (only a qlora run has 4-bit layers that keep their inputs)")
        if row.get("fsdp_no_sync") == "yes" and not (row.sharding == "sharded" and row.gpus > 1 and row.grad_accum > 1):
            out.append(f"{where('fsdp_no_sync')}: found 'yes' for a run {shown(row.sharding)} on {row.gpus:g} GPU(s) "
                       f"with gradient accumulation {shown(row.grad_accum)}; expected 'no' or 'unstated' (FSDP's "
                       "no_sync only holds unsharded gradients where a sharded run accumulates over micro-batches)")
        if row.get("fsdp1_offload") == "yes" and row.optimizer != "offloaded":
            out.append(f"{where('fsdp1_offload')}: found 'yes' for optimizer {shown(row.optimizer)}; expected 'no' "
                       "(FSDP1's CPU offload is the optimizer value 'offloaded')")
        if row.get("adamw_step") == "foreach" and row.optimizer not in kernel.SECOND_MOMENT_BYTES:
            adamw = kernel.listing(kernel.SECOND_MOMENT_BYTES)
            out.append(f"{where('adamw_step')}: found 'foreach' for optimizer {shown(row.optimizer)}; expected "
                       f"'in-place' or 'unstated' (the foreach step is torch.optim.AdamW's: optimizer {adamw})")
        if row.get("adamw_step") == "in-backward" and row.grad_accum != 1:
            out.append(f"{where('adamw_step')}: found 'in-backward' with gradient accumulation "
                       f"{shown(row.grad_accum)}; expected 1 (a step in the backward pass frees each gradient: "
                       "nothing is accumulated)")
        sub_group = row.get("zero3_sub_group_size")
        if pd.notna(sub_group) and row.gpus > 1 and row.sharding != "sharded":
            out.append(f"{where('zero3_sub_group_size')}: found {shown(sub_group)} for a run {shown(row.sharding)} on "
                       f"{row.gpus:g} GPUs; expected an empty cell (ZeRO-3 shards the states over the GPUs)")
        if pd.notna(sub_group) and sub_group != int(sub_group):
            out.append(f"{where('zero3_sub_group_size')}: found {shown(sub_group)}; expected a whole number of "
                       "parameters")
        if row.packing == "yes" and row.batch_lengths not in ("fixed", "unstated"):
            out.append(f"{where('batch_lengths')}: found {shown(row.batch_lengths)} for a packed run; expected "
                       "'fixed' (packing fills every micro-batch to the sequence length)")
        if pd.isna(row.peak_memory_gib) and pd.notna(row.memory_kind):
            out.append(f"{where('memory_kind')}: found {shown(row.memory_kind)}; expected an empty cell (there is "
                       "no memory figure)")
        gpu = gpus.loc[row.gpu] if row.gpu in gpus.index else None
        if gpu is None:
            continue  # the schema's foreign key reports it
        capacity = gpu.memory_mib / 1024
        if pd.notna(row.peak_memory_gib) and row.peak_memory_gib > capacity:
            out.append(f"{where('peak_memory_gib')}: found {row.peak_memory_gib:g} GiB; expected at most the "
                       f"{capacity:.1f} GiB of one {row.gpu} (the column is per GPU, in GiB)")
        peak = gpu.peak_fp8_tflops if row.precision == "FP8" else gpu.peak_bf16_tflops
        if pd.notna(row.tokens_per_s_per_gpu) and pd.notna(peak) and row.model in matmul:
            share = kernel.utilisation(row.tokens_per_s_per_gpu, kernel.MATMUL_FLOPS[row.method] * matmul[row.model],
                                       peak * 1e12)
            if not MFU_FLOOR <= share <= 1:
                out.append(f"{where('tokens_per_s_per_gpu')}: found {row.tokens_per_s_per_gpu:,.1f}, which needs at "
                           f"least {share:.0%} of the {row.gpu}'s {peak:g} TFLOP/s {row.precision} peak for "
                           f"{shown(row.model)} ({row.method}); expected {MFU_FLOOR:.0%} to 100% of peak (tokens/s "
                           "per GPU, not the run's total)")
    return out


def _allocator_cache(tables: dict, at) -> list:
    """A run's reserved peak holds its allocated peak (every tensor sits in a reserved block) and
    fits on its GPU."""
    gpus, out = tables["gpus"].set_index("gpu"), []
    for index, row in _rows(tables["allocator_cache"]):
        where = functools.partial(at, "allocator_cache", index)
        if row.reserved_mib < row.allocated_mib:
            out.append(f"{where('reserved_mib')}: found {row.reserved_mib:,g} MiB, below the allocated peak of "
                       f"{row.allocated_mib:,g} MiB; expected at least that (every tensor sits in a block the "
                       "allocator reserved)")
        if row.gpu in gpus.index and row.reserved_mib > gpus.loc[row.gpu].memory_mib:
            out.append(f"{where('reserved_mib')}: found {row.reserved_mib:,g} MiB; expected at most the "
                       f"{gpus.loc[row.gpu].memory_mib:,g} MiB of one {row.gpu} (the column is one GPU's)")
    return out


def _method_fields(row, where) -> list:
    """Adapter fields belong to adapter rows; the quantized format to qlora rows only."""
    out = []
    adapters = row.method in ("lora", "qlora")
    if adapters and pd.isna(row.lora_targets):
        out.append(f"{where('lora_targets')}: the cell is empty; expected the adapted layers (or 'unstated') for "
                   f"method '{row.method}'")
    if not adapters and (pd.notna(row.lora_targets) or pd.notna(row.lora_rank)):
        column = "lora_targets" if pd.notna(row.lora_targets) else "lora_rank"
        value = row[column] if column == "lora_targets" else f"{row[column]:g}"
        out.append(f"{where(column)}: found {shown(value)}; expected an empty cell for full fine-tuning")
    if (row.method == "qlora") == pd.isna(row.qlora_format):
        expected = ("the base weights' format (or 'unstated')" if row.method == "qlora"
                    else "an empty cell (only qlora quantizes the base weights)")
        found = shown(row.qlora_format) if pd.notna(row.qlora_format) else "an empty cell"
        out.append(f"{where('qlora_format')}: found {found} with method '{row.method}'; expected {expected}")
    return out


# What each kind of vendor measurement is measured in.
KIND_UNITS = {
    "tutorial_throughput": "tokens/s", "tutorial_training_time": "min", "log_step_duration": "s",
    "log_step_throughput": "tokens/s", "log_startup": "ms", "moreh_smi_memory": "MiB",
    "script_default_epochs": "epochs", "script_timer_start": "line", "script_timer_stop": "line",
    "script_first_sync": "line",
}
RUN_KINDS = [kind for kind in KIND_UNITS if not kind.startswith("script_")]
LOG_STEP_KINDS = ("log_step_duration", "log_step_throughput")
SPEED_KINDS = ("tutorial_throughput", "log_step_throughput", "log_step_duration")
# Start-up phases, by the end of the row's id (ftguide.audit.startup_from_logs reads them so), in
# ms: the logs show 1.5 s to 6 min of compilation and 0.2 s to 3 min choosing a layout; a phase
# written in seconds falls below, one in microseconds above.
STARTUP_PHASES_MS = {"compile": (1_000, 7_200_000), "select": (100, 7_200_000)}
# The other kinds that neither the hardware nor the model bound, in their unit.
KIND_RANGES = {"tutorial_training_time": (1, 100_000), "script_default_epochs": (1, 100)}


def _vendor(tables: dict, at, checked_basis: bool) -> list:
    """A vendor measurement's unit fits its kind; one that belongs to a run names its GPUs (those of
    its flavor) and batch, a log line its step within the total steps it prints; then its value is
    plausible (speeds and memory only once flavors and models hold: `checked_basis`)."""
    vendor, flavors = tables["vendor_measurements"], tables["accelerators"].set_index("accelerator")
    params = ({row["model"]: kernel.parameter_count(row) for row in tables["models"].to_dict(orient="records")}
              if checked_basis else {})
    out = []
    for index, row in _rows(vendor):
        where = functools.partial(at, "vendor_measurements", index)
        before = len(out)
        if row.unit != KIND_UNITS[row.kind]:
            out.append(f"{where('unit')}: found {shown(row.unit)}; expected '{KIND_UNITS[row.kind]}' for kind "
                       f"'{row.kind}'")
        if row.kind in RUN_KINDS and (pd.isna(row.gpus) or pd.isna(row.batch_size)):
            column = "gpus" if pd.isna(row.gpus) else "batch_size"
            out.append(f"{where(column)}: the cell is empty; expected a value, as a measurement of kind "
                       f"'{row.kind}' belongs to a run")
        elif pd.notna(row.accelerator) and pd.notna(row.gpus) and row.gpus != flavors["mi250_gpus"][row.accelerator]:
            out.append(f"{where('gpus')}: found {row.gpus:g}; expected {flavors['mi250_gpus'][row.accelerator]}, the "
                       f"MI250 GPUs of the {shown(row.accelerator)} flavor in {at.path('accelerators')}")
        if row.kind in LOG_STEP_KINDS:
            empty = [column for column in ("step", "steps_per_epoch") if pd.isna(row[column])]
            if empty:
                out.append(f"{where(empty[0])}: the cell is empty; expected the step and the total steps the log "
                           "line prints ([Step k/total])")
            elif row.step > row.steps_per_epoch:
                out.append(f"{where('step')}: found {row.step:g}, beyond the {row.steps_per_epoch:g} steps of the "
                           f"run; expected a step from 0 to {row.steps_per_epoch:g}")
        phase = row.id.rsplit("-", 1)[-1]
        if row.kind == "log_startup" and phase not in STARTUP_PHASES_MS:
            out.append(f"{where('id')}: found {shown(row.id)}; expected an id ending in "
                       f"{' or '.join('-' + name for name in STARTUP_PHASES_MS)}, the start-up phase it measures")
        if len(out) == before:  # the value, once the row's other cells hold
            problem = _vendor_value(row, flavors, params)
            if problem:
                out.append(f"{where('value')}: found {row.value:,.15g} {row.unit}{problem}")
    return out


def _vendor_value(row, flavors: pd.DataFrame, params: dict) -> str | None:
    """What is wrong with a vendor measurement's value (the rest of a message), or None. Speeds and
    memory are checked against the model's parameters (`params`, empty when the models do not hold)
    and the hardware."""
    if not row.value > 0:
        return "; expected more than 0"
    low, high = (STARTUP_PHASES_MS.get(row.id.rsplit("-", 1)[-1]) if row.kind == "log_startup"
                 else KIND_RANGES.get(row.kind, (0, float("inf"))))
    if not low <= row.value <= high:
        return f"; expected {low:,} to {high:,} {row.unit} for kind '{row.kind}'"
    if row.model not in params or row.kind not in (*SPEED_KINDS, "moreh_smi_memory"):
        return None
    params = params[row.model]
    if row.kind == "moreh_smi_memory":
        known = pd.notna(row.accelerator)
        memory = flavors["memory_mib"][row.accelerator] if known else row.gpus * 2 * GCD_MEMORY_MIB[1]
        states = kernel.STATE_BYTES_PER_PARAM * params / MIB
        if row.value > memory:
            of = f"the {shown(row.accelerator)} flavor" if known else f"{row.gpus:g} MI250 GPUs"
            return f"; expected at most the {memory:,} MiB of {of}"
        if row.value < states:
            return (f"; expected at least {states:,.0f} MiB, the model states of {params:,} parameters at "
                    f"{kernel.STATE_BYTES_PER_PARAM} bytes each (the column is in MiB, not GiB)")
        return None
    tokens_per_s = row.batch_size * row.sequence_length / row.value if row.kind == "log_step_duration" else row.value
    peak = flavors["peak_bf16_tflops_per_gpu"].get(row.accelerator, flavors["peak_bf16_tflops_per_gpu"].iloc[0])
    mfu = kernel.utilisation(tokens_per_s, 6 * params, row.gpus * peak * 1e12)
    if not VENDOR_MFU_FLOOR <= mfu <= MFU_CEILING:
        return (f", which puts the run at {mfu:.2%} of the peak of its {row.gpus:g} MI250 GPUs (6·N FLOPs per "
                f"token); expected {VENDOR_MFU_FLOOR:.1%} to {MFU_CEILING:.0%} of peak")
    return None


# What each planner knob takes (the kernel's vocabularies; a LoRA rank is a whole number), and the runs
# a knob concerns: adapters for the LoRA knobs, QLoRA for the quantized format, several GPUs for sharding.
KNOB_VALUES = {"checkpointing": kernel.CHECKPOINTING, "optimizer": kernel.OPTIMIZERS, "loss": kernel.LOSSES,
               "lora_targets": kernel.LORA_TARGETS, "qlora_format": kernel.QLORA_FORMATS, "sharding": kernel.SHARDING,
               "adamw_step": kernel.ADAMW_STEPS}
LORA_RANK_RANGE = (1, 4096)
GPU_COUNTS = ("one-gpu", "multi-gpu")
RUNS = {(method, gpus) for method in kernel.METHODS for gpus in GPU_COUNTS}
KNOB_RUNS = {"lora_rank": {run for run in RUNS if run[0] != "full"},
             "lora_targets": {run for run in RUNS if run[0] != "full"},
             "qlora_format": {run for run in RUNS if run[0] == "qlora"},
             "sharding": {run for run in RUNS if run[1] == "multi-gpu"}}


def _runs(applies_to: str) -> set:
    """The (method, GPU count) runs a stack default's applies_to names."""
    if applies_to == "all":
        return set(RUNS)
    if applies_to in GPU_COUNTS:
        return {run for run in RUNS if run[1] == applies_to}
    if applies_to in kernel.METHODS:
        return {run for run in RUNS if run[0] == applies_to}
    method, gpus = applies_to.split("-", 1)
    return {(method, gpus)}


def _stack_defaults(defaults: pd.DataFrame, at) -> list:
    """A stack's default is a value the planner's knob takes, for runs the knob concerns, and no two rows of
    one stack and knob claim the same run."""
    out, claimed = [], {}
    for index, row in _rows(defaults):
        where = functools.partial(at, "stack_defaults", index)
        if row.knob == "lora_rank":
            low, high = LORA_RANK_RANGE
            if not (row.value.isdigit() and low <= int(row.value) <= high):
                out.append(f"{where('value')}: found {shown(row.value)} for knob 'lora_rank'; expected a whole "
                           f"number from {low} to {high} (the adapter rank)")
        elif row.value not in KNOB_VALUES[row.knob]:
            out.append(f"{where('value')}: found {shown(row.value)} for knob '{row.knob}'; expected one of "
                       f"{list(KNOB_VALUES[row.knob])}")
        runs = _runs(row.applies_to) & KNOB_RUNS.get(row.knob, RUNS)
        if not runs:
            out.append(f"{where('applies_to')}: found {shown(row.applies_to)} for knob '{row.knob}', which names "
                       "no run the knob concerns; expected runs the knob applies to (sharding: several GPUs; "
                       "lora_rank and lora_targets: lora or qlora; qlora_format: qlora)")
        key = (row.stack, row.knob)
        earlier = next((other for other, other_runs in claimed.get(key, []) if other_runs & runs), None)
        if earlier is not None:
            out.append(f"{where('applies_to')}: found {shown(row.applies_to)}, which covers runs the row "
                       f"'{earlier}' of {row.stack} {row.knob} already covers; expected at most one default per "
                       "stack, knob, method and GPU count")
        claimed.setdefault(key, []).append((row.applies_to, runs))
    return out


def _software_caveats(tables: dict, at) -> list:
    """A caveat names a GPU of gpus.csv and a method or optimizer the planner takes."""
    out, gpus = [], list(tables["gpus"]["gpu"])
    allowed = [*kernel.METHODS, *kernel.OPTIMIZERS, "any"]
    for index, row in _rows(tables["software_caveats"]):
        where = functools.partial(at, "software_caveats", index)
        if row.gpu not in gpus:
            out.append(f"{where('gpu')}: found {shown(row.gpu)}; expected a GPU of {at.path('gpus')}, named exactly "
                       f"so ({', '.join(map(shown, gpus))})")
        if row.applies_to not in allowed:
            out.append(f"{where('applies_to')}: found {shown(row.applies_to)}; expected one of {allowed}")
    return out
