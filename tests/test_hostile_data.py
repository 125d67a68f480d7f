"""Edits of data/ as an adversary (or a hurried reader) would make them: each bad edit is refused
with one message naming file, line, column, found and expected; each plausible edit still loads;
markup in the data shows as text and never runs (one site build, in a real browser)."""

import json
import shutil

import pandas as pd
import pytest

from ftguide import DATA_DIR, DataError, cost, load, validate
from ftguide.data import read_table
from ftguide.tables import styled

MARKUP = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


@pytest.fixture
def data_copy(tmp_path):
    """A private copy of data/ that a test may break."""
    return shutil.copytree(DATA_DIR, tmp_path / "data")


def replace(old, new, count=1):
    """An edit replacing the first `count` occurrences of bytes `old` (which must be there)."""
    def change(raw: bytes) -> bytes:
        assert old in raw, old
        return raw.replace(old, new, count)
    return change


def append(line: bytes):
    return lambda raw: raw + line + b"\n"


def delete_lines(*starts: bytes):
    return lambda raw: b"".join(line for line in raw.splitlines(keepends=True) if not line.startswith(starts))


def schema_edit(change):
    """An edit of datapackage.json as parsed JSON."""
    def edit(raw: bytes) -> bytes:
        package = json.loads(raw)
        change(package)
        return json.dumps(package, indent=2).encode() + b"\n"
    return edit


def field(package, resource, name):
    fields = next(r for r in package["resources"] if r["name"] == resource)["schema"]["fields"]
    return next(f for f in fields if f["name"] == name)


GUIDE, FLAVORS, MODELS, PRICES = "parameter_guide.csv", "accelerators.csv", "models.csv", "prices.csv"
PRICE_ROWS = len((DATA_DIR / "prices.csv").read_text(encoding="utf-8").splitlines()) - 1  # the header
REFERENCES, CHANGES, PACKAGE = "throughput_references.csv", "changes.csv", "datapackage.json"
MEASUREMENTS, GPUS, STACKS = "finetune_measurements.csv", "gpus.csv", "stack_defaults.csv"

# kind: (file edited, edit of its bytes, what the message must say besides the file's path)
BAD_EDITS = {
    # Text a spreadsheet would run when a reader opens the downloaded CSV.
    "formula in a price source": (PRICES, replace(b"RunPod GPU pricing page", b'"=HYPERLINK(""http://x"",""y"")"'),
                                  ["line 3 (data row 2), column 'source'", "formula"]),
    "formula in a changelog description": (CHANGES, replace(b'"First import of the guide',
                                                           b'"@SUM(A1) import of the guide'),
                                           ["line 2 (data row 1), column 'description'", "formula"]),
    # Implausible values: each against the others.
    "throughput x1000": (GUIDE, replace(b",93291\n", b",93291000\n"),
                         ["line 2 (data row 1), column 'throughput_tokens_per_s'", "of the flavor's peak"]),
    "throughput /1000": (GUIDE, replace(b",93291\n", b",93\n"),
                         ["line 2 (data row 1), column 'throughput_tokens_per_s'", "expected 1% to 500% of peak"]),
    "VRAM above the flavor's memory": (GUIDE, replace(b",867021,", b",2000000,"),
                                       ["line 2 (data row 1), column 'vram_mib'", "at most the 1,048,320 MiB"]),
    "VRAM in GiB": (GUIDE, replace(b",867021,", b",847,"),
                    ["line 2 (data row 1), column 'vram_mib'", "model states", "not GiB"]),
    "flavor memory in GiB": (FLAVORS, replace(b",1048320,", b",1024,"),
                             ["line 3 (data row 2), column 'memory_mib'", "not GiB"]),
    "training time 99,999 min": (GUIDE, replace(b",220,", b",99999,"),
                                 ["line 2 (data row 1), column 'training_time_min'", "of the flavor's peak"]),
    "training time far too short": (GUIDE, replace(b",220,", b",1,"),
                                    ["line 2 (data row 1), column 'training_time_min'", "of the flavor's peak"]),
    "H100 price 2,690 per hour": (PRICES, replace(b"on-demand,2.69,1,", b"on-demand,2690,1,"),
                                  ["line 3 (data row 2), column 'price_per_instance_hour'", "per GPU-hour"]),
    "second MI250 assumption": (PRICES, append(b"MI250,my own quote,assumption,1.80,1,USD,2026-11-01,"
                                               b"A quote from my provider,1.00,2.50,,"),
                                [f"line {PRICE_ROWS + 2} (data row {PRICE_ROWS + 1}), column 'kind'",
                                 "second assumption row for MI250",
                                 "first is on line 2"]),
    "no MI250 assumption": (PRICES, delete_lines(b"MI250,"), ["no row with gpu MI250 and kind assumption"]),
    "no dated H100 listing": (PRICES, delete_lines(b"H100 SXM,RunPod", b"H100 SXM,CoreWeave"),
                              ["no on-demand H100 price with a date seen"]),
    "no A100 reference": (REFERENCES, delete_lines(b"llm-foundry-mpt-7b-a100", b"llm-foundry-mpt-13b-a100"),
                          ["no BF16 reference on A100 80GB"]),
    "peak x100": (FLAVORS, replace(b",362.1,", b",36210,"),
                  ["line 2 (data row 1), column 'peak_bf16_tflops_per_gpu'", "from 100 to 2500"]),
    "peak x10": (FLAVORS, replace(b",362.1,", b",3621,"), ["line 2 (data row 1), column 'peak_bf16_tflops_per_gpu'"]),
    "KV heads above heads": (MODELS, replace(b",32,4096,32,8,,14336,128256,", b",32,4096,32,64,,14336,128256,"),
                             ["line 2 (data row 1), column 'kv_heads'", "divisor of attention_heads"]),
    "hidden size not a multiple of heads": (MODELS, replace(b",32,4096,32,8,,14336,128256,",
                                                            b",32,4100,32,8,,14336,128256,"),
                                            ["line 2 (data row 1), column 'hidden_size'"]),
    "reference GPU without a dated price": ("prices.csv", replace(b"\nH100 SXM,", b"\nH100 SXM5,", 5),
                                            ["no on-demand H100 price with a date seen for 'H100 SXM'",
                                             "gpus.csv, line 13 (data row 12), column 'gpu'"]),
    "reference above its GPU's peak": (REFERENCES, replace(b",8192,BF16,5762,", b",8192,BF16,57620,"),
                                        ["line 2 (data row 1), column 'tokens_per_s_per_gpu'",
                                         "expected at most 17,077 (100% of peak)"]),
    "caveat on a GPU not in the catalog": ("software_caveats.csv", replace(b"\nMI300X,qlora,", b"\nMI300 X,qlora,"),
                                           ["software_caveats.csv, line 2 (data row 1), column 'gpu'", "'MI300 X'",
                                            "expected a GPU of"]),
    "reserved below allocated": ("allocator_cache.csv", replace(b",43280.77,73712.0,", b",43280.77,41000,"),
                                 ["allocator_cache.csv, line 2 (data row 1), column 'reserved_mib'",
                                  "below the allocated peak of 43,280.8 MiB"]),
    "reserved above the card": ("allocator_cache.csv", replace(b",43280.77,73712.0,", b",43280.77,93712.0,"),
                                ["allocator_cache.csv, line 2 (data row 1), column 'reserved_mib'",
                                 "expected at most the 81,920 MiB of one A100 80GB"]),
    "a packed run of varying lengths": ("finetune_measurements.csv", replace(b",yes,fixed,", b",yes,varying,"),
                                         ["finetune_measurements.csv", "column 'batch_lengths'",
                                          "found 'varying' for a packed run; expected 'fixed'"]),
    "batch lengths nobody defined": ("finetune_measurements.csv", replace(b",no,varying,", b",no,random,"),
                                     ["finetune_measurements.csv", "column 'batch_lengths'", "'random'"]),
    "caveat for no method or optimizer": ("software_caveats.csv", replace(b"\nMI300X,qlora,", b"\nMI300X,dora,"),
                                          ["software_caveats.csv", "'applies_to'", "dora"]),
    "published parameters in billions": (MODELS, replace(b",8030261248,", b",8,"),
                                         ["line 2 (data row 1), column 'published_params'", "not billions"]),
    "learned positions with rope": (MODELS, replace(b",rope,0,", b",rope,2048,"),
                                    ["line 2 (data row 1), column 'learned_positions'", "found 2048"]),
    "no positions for a learned table": (MODELS, replace(b",learned,2048,", b",learned,0,"),
                                         ["line 7 (data row 6), column 'learned_positions'"]),
    "nodes do not fit the flavor": (FLAVORS, replace(b",8,16,2,", b",8,16,3,"),
                                    ["line 3 (data row 2), column 'nodes'", "one of [1, 2, 4, 8]"]),
    "price low above high": (PRICES, replace(b",1.00,2.50,", b",2.50,1.00,"),
                             ["line 2 (data row 1), column 'price_low'",
                              "price_low <= price per GPU-hour <= price_high"]),
    "range with one end": (PRICES, replace(b",1.50,1.85,", b",1.50,,"), ["line 11 (data row 10), column 'price_high'"]),
    "valid_until before date_seen": (PRICES, replace(b"RunPod GPU pricing page,,,,",
                                                     b"RunPod GPU pricing page,,,2026-01-01,"),
                                     ["line 3 (data row 2), column 'valid_until'", "before date_seen"]),
    "price seen in 2099": (PRICES, replace(b",2026-10-19,", b",2099-10-19,"),
                           ["line 3 (data row 2), column 'date_seen'", "no later than today"]),
    "price seen in month 13": (PRICES, replace(b",2026-10-19,", b",2026-13-19,"),
                               ["line 3 (data row 2), column 'date_seen'", "a real date"]),
    "listing valid until 2099": (PRICES, replace(b",2025-01-01,", b",2099-01-01,"),
                                 ["line 9 (data row 8), column 'valid_until'"]),
    "reference published in month 13": (REFERENCES, replace(b",2024-12,", b",2024-13,"),
                                        ["line 2 (data row 1), column 'published'", "a real month"]),
    "reference published in 2099": (REFERENCES, replace(b",2024-12,", b",2099-12,"),
                                    ["line 2 (data row 1), column 'published'", "no later than today"]),
    "change dated 2099": (CHANGES, replace(b"2026-11-27,parameter_guide", b"2099-11-27,parameter_guide"),
                          ["line 2 (data row 1), column 'date'", "no later than today"]),
    "change names a file not in the package": (CHANGES, replace(b"models.csv,added", b"model.csv,added"),
                                               ["line 4 (data row 3), column 'file'", "'model.csv'", "models.csv"]),
    "hf_config not a model id": (MODELS, replace(b",meta-llama/Meta-Llama-3-8B,", b",Meta Llama 3 8B,"),
                                 ["line 2 (data row 1), column 'hf_config'", "text matching"]),
    # Two parsers: what the validator reads must be what the pages read.
    "semicolon-delimited": (GUIDE, lambda raw: raw.replace(b",", b";"),
                            ["line 1 (header)", "separated by ';'", "expected ','"]),
    "tab-delimited": (GUIDE, lambda raw: raw.replace(b",", b"\t"), ["line 1 (header)", "separated by '\\t'"]),
    "header with a trailing space": (GUIDE, replace(b"model,", b"model ,"),
                                     ["line 1 (header), column 1: found 'model '", "space at the start or end"]),
    "header only": (GUIDE, lambda raw: raw.splitlines(keepends=True)[0], ["no data rows"]),
    # Messages that must point at the right place.
    "non-UTF-8 byte on line 11": (GUIDE, replace(b"Qwen1.5 7B,24.5.0,2xlarge", b"Qw\xe9n1.5 7B,24.5.0,2xlarge"),
                                  ["line 11, column 'model', byte 3", "0xE9", "not UTF-8"]),
    "Windows-1252 byte in a later column": (PRICES, replace(b"CoreWeave GPU cloud pricing (8x H100",
                                                            b"CoreWeave GPU cloud pricing (8\xd7 H100"),
                                            ["line 7, column 'source', byte", "0xD7"]),
    "UTF-16 file": (GUIDE, lambda raw: raw.decode().encode("utf-16"), ["UTF-16"]),
    "quoted line break before a bad value": (
        PRICES, lambda raw: replace(b",1.39,", b",1390,")(
            replace(b"RunPod GPU pricing page,", b'"RunPod GPU\npricing page",')(raw)),
        ["line 6 (data row 4), column 'price_per_instance_hour'"]),
    "Cyrillic letter in a model name": (GUIDE, replace(b"Llama3 8B,", "Llama3 8\u0412,".encode()),
                                        ["line 2 (data row 1), column 'model'", "U+0412 CYRILLIC CAPITAL LETTER VE"]),
    "no-break space in a flavor": (GUIDE, replace(b",2xlarge,", "\u00a02xlarge,".encode().join([b",", b""])),
                                   ["line 2 (data row 1), column 'accelerator'", "U+00A0 NO-BREAK SPACE"]),
    "zero-width space in a model name": (GUIDE, replace(b"Llama3 8B,", "Llama3\u200b 8B,".encode()),
                                         ["line 2 (data row 1), column 'model'", "U+200B ZERO WIDTH SPACE"]),
    "100,000-character cell": (GUIDE, replace(b",867021,", b"," + b"9" * 100_000 + b","),
                               ["line 2 (data row 1), column 'vram_mib'", "(100,000 characters)"]),
    "broken datapackage.json": (PACKAGE, lambda raw: raw[:500], ["line 16, column", "expected valid JSON"]),
    "unknown field type in the schema": (PACKAGE,
                                         schema_edit(lambda p: field(p, "models", "layers").update(type="int")),
                                         ["expected a valid Frictionless Data Package"]),
    "bad pattern in the schema": (PACKAGE, schema_edit(
        lambda p: field(p, "changes", "file")["constraints"].update(pattern="[")),
                                  ["cannot check the data with this schema"]),
    # The public fine-tuning measurements and the GPU catalog they name.
    "measured speed as the run's total": (MEASUREMENTS, replace(b",unstated,2048.0,", b",unstated,2048000.0,"),
                                          ["line 2 (data row 1), column 'tokens_per_s_per_gpu'", "of the A100 80GB's",
                                           "not the run's total"]),
    "measured memory above its GPU": (MEASUREMENTS, replace(b",6.24,unstated,", b",624,unstated,"),
                                      ["line 2 (data row 1), column 'peak_memory_gib'", "at most the 80.0 GiB"]),
    "measurement on a GPU not in the catalog": (MEASUREMENTS, replace(b",Qwen 1.8B,A100 80GB,",
                                                                      b",Qwen 1.8B,A100 96GB,"),
                                                ["line 2 (data row 1), column 'gpu'", "'A100 96GB' is not listed",
                                                 "gpus.csv"]),
    "adapter rank on full fine-tuning": (MEASUREMENTS, replace(b",8,full,adamw,full-16bit,,,,unstated,replicated",
                                                               b",8,full,adamw,full-16bit,8,,,unstated,replicated"),
                                         ["column 'lora_rank'", "expected an empty cell for full fine-tuning"]),
    "QLoRA's saved inputs on a LoRA run": (MEASUREMENTS, replace(b",all-linear,,unstated,replicated,",
                                                                 b",all-linear,,yes,replicated,"),
                                           ["line 2 (data row 1), column 'qlora_keeps_inputs'", "found 'yes'",
                                            "only a qlora run"]),
    "FSDP no_sync on one GPU": (MEASUREMENTS, replace(b",replicated,unstated,no,,foreach,no,fixed,6.24,",
                                                      b",replicated,yes,no,,foreach,no,fixed,6.24,"),
                                ["line 2 (data row 1), column 'fsdp_no_sync'", "found 'yes'",
                                 "expected 'no' or 'unstated'"]),
    "FSDP1's offload on a run that offloads nothing": (
        MEASUREMENTS, replace(b",replicated,unstated,no,,foreach,no,fixed,6.24,",
                              b",replicated,unstated,yes,,foreach,no,fixed,6.24,"),
        ["line 2 (data row 1), column 'fsdp1_offload'", "found 'yes'", "expected 'no'"]),
    "torch's foreach AdamW step with 8-bit AdamW": (
        MEASUREMENTS, replace(b",full,adamw-bf16,full,64,all-linear,,unstated,replicated,unstated,no,,foreach,",
                              b",full,adamw-8bit,full,64,all-linear,,unstated,replicated,unstated,no,,foreach,"),
        ["line 2 (data row 1), column 'adamw_step'", "found 'foreach' for optimizer 'adamw-8bit'",
         "expected 'in-place' or 'unstated'", "adamw, adamw-bf16"]),
    "a step in the backward pass with accumulation": (
        MEASUREMENTS, replace(b",replicated,unstated,no,,foreach,no,fixed,6.24,",
                              b",replicated,unstated,no,,in-backward,no,fixed,6.24,"),
        ["line 2 (data row 1), column 'adamw_step'", "found 'in-backward' with gradient accumulation", "expected 1"]),
    "ZeRO-3 sub-group of half a parameter": (MEASUREMENTS, replace(b",replicated,unstated,no,,foreach,no,fixed,6.24,",
                                                                   b",replicated,unstated,no,2.5,foreach,no,fixed,6.24,"),
                                             ["line 2 (data row 1), column 'zero3_sub_group_size'", "found '2.5'",
                                              "expected a whole number of parameters"]),
    "ZeRO-3 sub-group on a replicated multi-GPU run": (
        MEASUREMENTS, replace(b",1,lora,transformers,BF16,256,1,8,full,adamw-bf16,full,64,all-linear,,unstated,"
                              b"replicated,unstated,no,,",
                              b",2,lora,transformers,BF16,256,1,8,full,adamw-bf16,full,64,all-linear,,unstated,"
                              b"replicated,unstated,no,1e9,"),
        ["line 2 (data row 1), column 'zero3_sub_group_size'", "for a run 'replicated' on 2 GPUs",
         "expected an empty cell"]),
    "GPU memory in GB": (GPUS, replace(b"RTX 3090,24576,", b"RTX 3090,24,"),
                         ["gpus.csv, line 2 (data row 1), column 'memory_mib'", "from 8192 to 1048576"]),
    # The training stacks' defaults for the planner's knobs.
    "stack default from another knob's values": (STACKS, replace(b"transformers,checkpointing,full,all,",
                                                                 b"transformers,checkpointing,fused,all,"),
                                                 ["line 2 (data row 1), column 'value'", "knob 'checkpointing'",
                                                  "['full', 'offloaded', 'selective', 'none']"]),
    "stack default rank in words": (STACKS, replace(b"transformers,lora_rank,16,", b"transformers,lora_rank,16k,"),
                                    ["column 'value'", "text matching"]),
    "sharding default for one GPU": (STACKS, replace(b"transformers,sharding,replicated,multi-gpu,",
                                                     b"transformers,sharding,replicated,one-gpu,"),
                                     ["column 'applies_to'", "knob 'sharding'", "several GPUs"]),
    "two stack defaults for one run": (STACKS, replace(b"torchtune,checkpointing,none,lora-multi-gpu,",
                                                       b"torchtune,checkpointing,none,multi-gpu,"),
                                       ["column 'applies_to'", "'full-multi-gpu'", "at most one default"]),
    "stack default listed twice": (STACKS, replace(b"torchtune,checkpointing,none,lora-multi-gpu,",
                                                   b"torchtune,checkpointing,none,full-multi-gpu,"),
                                   ["columns ['stack', 'knob', 'applies_to']", "duplicate"]),
    "resource dropped from the schema": (PACKAGE, schema_edit(lambda p: p["resources"].pop()),
                                         ["no resource named changes"]),
}


@pytest.mark.parametrize("kind", BAD_EDITS)
def test_bad_edit_is_refused_with_one_clear_message(data_copy, kind):
    name, edit, says = BAD_EDITS[kind]
    path = data_copy / name
    path.write_bytes(edit(path.read_bytes()))
    with pytest.raises(DataError) as failure:
        load(data_copy)
    message = str(failure.value)
    assert message.count("\n") == 0, f"one finding, one line:\n{message}"
    assert message.startswith(str(path)), message
    assert "expected" in message
    assert len(message) < 1000, "a message quotes a cell, never the whole of a long one"
    for part in says:
        assert part in message, f"{part!r} not in {message!r}"


def test_folder_instead_of_a_csv_is_refused(data_copy):
    (data_copy / MODELS).unlink()
    (data_copy / MODELS).mkdir()
    with pytest.raises(DataError, match=r"models.csv: is a folder, not a file; expected a CSV file"):
        validate(data_copy)


def test_missing_data_package_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"datapackage.json: not found"):
        validate(tmp_path)


def test_every_finding_is_reported_each_on_its_own_line(data_copy):
    guide, prices = data_copy / GUIDE, data_copy / PRICES
    guide.write_bytes(replace(b",867021,", b",2000000,")(guide.read_bytes()))
    prices.write_bytes(replace(b"on-demand,2.69,1,", b"on-demand,2690,1,")(prices.read_bytes()))
    with pytest.raises(DataError) as failure:
        validate(data_copy)
    lines = str(failure.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{guide}, line 2 (data row 1), column 'vram_mib'")
    assert lines[1].startswith(f"{prices}, line 3 (data row 2), column 'price_per_instance_hour'")


# --- Plausible edits build ------------------------------------------------------------------

def rename_everywhere(data_dir, old: str, new: str) -> None:
    for path in data_dir.glob("*.csv"):
        path.write_text(path.read_text().replace(old, new))


@pytest.mark.parametrize("new_name", ["Llama three", MARKUP, "Llama3 8B (ours)"])
def test_a_model_renamed_in_every_file_loads_and_costs(data_copy, tables, new_name):
    """The cost page matches references by the model's size from models.csv, not by '8B' in its name."""
    rename_everywhere(data_copy, "Llama3 8B", new_name.replace('"', '""'))
    renamed = load(data_copy)
    assert new_name in set(renamed.guide["model"])
    prices = {"H100": 2.69, "A100 80GB": 1.39}
    even = cost.break_even_table(renamed, cost.cost_table(renamed), prices)
    original = cost.break_even_table(tables, cost.cost_table(tables), prices)
    assert even["H100 reference"].tolist() == original["H100 reference"].tolist()


def test_a_deleted_dataset_row_loads_with_the_size_unknown(data_copy):
    rewrite = data_copy / "datasets.csv"
    rewrite.write_bytes(delete_lines(b"Mistral 7B,")(rewrite.read_bytes()))
    tables = load(data_copy)
    costs = cost.cost_table(tables)
    assert costs.loc[costs["model"] == "Mistral 7B", "throughput_from_time"].isna().all()


def test_text_na_stays_text(data_copy):
    """pandas would read 'NA' as missing; the schema says only an empty cell is."""
    prices = data_copy / PRICES
    prices.write_bytes(replace(b"About 6 USD per GPU-hour; approximate.", b"NA")(prices.read_bytes()))
    assert "NA" in set(read_table(data_copy, "prices")["note"])
    assert load(data_copy).prices["note"].tolist().count("NA") == 1


def test_markup_in_the_data_loads_as_text(data_copy):
    rename_everywhere(data_copy, "Mistral 7B", MARKUP)
    prices = data_copy / PRICES
    prices.write_bytes(replace(b"RunPod GPU pricing page", IMG.encode(), 2)(prices.read_bytes()))
    tables = load(data_copy)
    assert MARKUP in set(tables.guide["model"]) and IMG in set(tables.prices["source"])


def test_tables_escape_cells_labels_index_names_and_caption():
    frame = pd.DataFrame({MARKUP: [IMG], "n": [1234.5]},
                         index=pd.Index([MARKUP], name=IMG))
    html = styled(frame, f"caption {MARKUP}", "t").to_html()
    assert "<script" not in html and "<img" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3  # cell label, row label, caption
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "1,234" in html
