"""Edits of data/ that `validate` used to accept and that then broke the build or published wrong
figures (issue 23). The corpus: each implausible edit is refused by `validate` (which `make site`
runs first) with one line naming file, line, column, what was found and what was expected; each
plausible edit is accepted and runs through the code the build runs (the planner's JSON and, for
the edits that broke a page, the pages that read the edited columns)."""

import json
import subprocess
import sys

import pandas as pd
import pytest

import planner_data  # _ext/, on the path via pyproject.toml: what the build writes into the planner page
from ftguide import DataError, cost, load, validate
from ftguide.audit import NO_STARTUP_LOG, startup_from_logs, startup_phrases
from ftguide.cli import main
from ftguide.planner import scenarios
from ftguide.planner.coefficients import coefficients, startup_range
from ftguide.throughput import NO_DATASET_SIZE
from tests.helpers import execute_page

# The corpus runs validate some 50 times and builds pages (about 75 s): make test-all and CI run it;
# make test keeps test_hostile_data's table of edits.
pytestmark = pytest.mark.e2e

VENDOR, FLAVORS, REFERENCES = "vendor_measurements.csv", "accelerators.csv", "throughput_references.csv"
PRICES, GPUS, MODELS, DATASETS = "prices.csv", "gpus.csv", "models.csv", "datasets.csv"
ESCAPES = "\x1b]0;x\x07\x1b[2J"  # sets a terminal's title, then clears its screen


def edit(name: str, old: str, new: str):
    """Replace the first `old` (which must be there) in one file of a data folder."""
    def change(data_dir):
        path = data_dir / name
        text = path.read_text(encoding="utf-8")
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return change


def rename_everywhere(old: str, new: str):
    def change(data_dir):
        for path in data_dir.glob("*.csv"):
            path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    return change


def drop_rows(name: str, column: str, value: str):
    """Delete every row of a file whose `column` is `value`."""
    def change(data_dir):
        path = data_dir / name
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        table[table[column] != value].to_csv(path, index=False, lineterminator="\n")
    return change


def blank_column(name: str, column: str):
    def change(data_dir):
        path = data_dir / name
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        table[column] = ""
        table.to_csv(path, index=False, lineterminator="\n")
    return change


def both(*changes):
    def change(data_dir):
        for one in changes:
            one(data_dir)
    return change


STEP2 = "log_step_throughput,Llama3 8B,4xlarge,16,256,1024,2,1121,"  # line 5 of vendor_measurements.csv
MISTRAL_8X = "tutorial_throughput,Mistral 7B,8xlarge,32,"  # line 142
NVL_GPU = 'H100 NVL,95830,835,,600,50,"a memory source","a peak source","a bandwidth source",\n'
PCIE_PRICE = "H100 PCIe,Lambda,on-demand,2.49,1,USD,2026-10-19,Lambda GPU cloud pricing page,,,,\n"


def append(name: str, line: str):
    def change(data_dir):
        path = data_dir / name
        path.write_text(path.read_text(encoding="utf-8") + line, encoding="utf-8")
    return change


# edit: (the change, the file the message names, what the message must say besides that file)
REFUSED = {
    # vendor_measurements.csv: cells a kind needs, values against their unit, the flavor and the model
    "blank steps_per_epoch of a log line": (edit(VENDOR, STEP2, STEP2.replace(",2,1121,", ",2,,")), VENDOR,
                                            ["line 5 (data row 4), column 'steps_per_epoch'", "the cell is empty"]),
    "blank step of a log line": (edit(VENDOR, STEP2, STEP2.replace(",2,1121,", ",,1121,")), VENDOR,
                                 ["line 5 (data row 4), column 'step'", "[Step k/total]"]),
    "blank gpus of a tutorial's throughput": (edit(VENDOR, MISTRAL_8X, MISTRAL_8X.replace(",32,", ",,")), VENDOR,
                                              ["line 142 (data row 141), column 'gpus'", "belongs to a run"]),
    "start-up written in seconds": (edit(VENDOR, ",,,69128,ms,", ",,,69.128,ms,"), VENDOR,
                                    ["line 2 (data row 1), column 'value'", "found 69.128 ms",
                                     "expected 1,000 to 7,200,000 ms"]),
    "start-up of 1e9 ms": (edit(VENDOR, ",,,69128,ms,", ",,,1000000000,ms,"), VENDOR,
                           ["line 2 (data row 1), column 'value'", "found 1,000,000,000 ms"]),
    "start-up phase the pages do not know": (edit(VENDOR, "llama3-8b-4xlarge-startup-compile,",
                                                  "llama3-8b-4xlarge-startup-load,"), VENDOR,
                                             ["line 2 (data row 1), column 'id'", "-compile or -select"]),
    "zero step duration": (edit(VENDOR, ",2,1121,2.32,s,", ",2,1121,0,s,"), VENDOR,
                           ["line 4 (data row 3), column 'value'", "found 0 s; expected more than 0"]),
    "zero tutorial training time": (edit(VENDOR, ",,,15,min,", ",,,0,min,"), VENDOR,
                                    ["line 141 (data row 140), column 'value'", "expected more than 0"]),
    "step duration in milliseconds": (edit(VENDOR, ",2,1121,2.32,s,", ",2,1121,2320,s,"), VENDOR,
                                      ["line 4 (data row 3), column 'value'", "0.09% of the peak of its 16 MI250"]),
    "tutorial throughput x1000": (edit(VENDOR, ",,,800000,tokens/s,", ",,,800000000,tokens/s,"), VENDOR,
                                  ["line 142 (data row 141), column 'value'", "of the peak of its 32 MI250 GPUs",
                                   "expected 0.5% to 500% of peak"]),
    "moreh-smi reading above the flavor": (edit(VENDOR, ",,,1472925,MiB,", ",,,9999999,MiB,"), VENDOR,
                                           ["line 12 (data row 11), column 'value'", "found 9,999,999 MiB",
                                            "at most the 2,096,640 MiB of the '4xlarge' flavor"]),
    "moreh-smi reading in GiB": (edit(VENDOR, ",,,1472925,MiB,", ",,,1438,MiB,"), VENDOR,
                                 ["line 12 (data row 11), column 'value'", "not GiB"]),
    "step beyond the run's steps": (edit(VENDOR, ",8,560,1.38,s,", ",800,560,1.38,s,"), VENDOR,
                                    ["line 21 (data row 20), column 'step'", "beyond the 560 steps"]),
    "GPUs contradicting the flavor": (edit(VENDOR, MISTRAL_8X, MISTRAL_8X.replace(",32,", ",8,")), VENDOR,
                                      ["line 142 (data row 141), column 'gpus'", "found 8; expected 32",
                                       "of the '8xlarge' flavor"]),
    # accelerators.csv: every flavor is MI250 GPUs
    "an MI250 flavor with the H100's peak": (edit(FLAVORS, ",2096640,362.1,", ",2096640,989.4,"), FLAVORS,
                                             ["line 4 (data row 3), column 'peak_bf16_tflops_per_gpu'",
                                              "found 989.4 TFLOP/s; expected an MI250's dense BF16 peak"]),
    "an MI250 flavor with the MI250X's peak": (edit(FLAVORS, ",2096640,362.1,", ",2096640,383,"), FLAVORS,
                                               ["line 4 (data row 3), column 'peak_bf16_tflops_per_gpu'",
                                                "found 383 TFLOP/s; expected 362.1, the MI250 peak the other flavors"]),
    # throughput_references.csv: the stated MFU and the tokens/s against each other and the peak
    "a stated MFU that hides twice the tokens/s": (edit(REFERENCES, ",1024,BF16,10203,42.8,", ",1024,BF16,20406,42.8,"),
                                                   REFERENCES, ["line 5 (data row 4), column 'mfu_percent'",
                                                                "found 42.8, but 20,406 tokens/s is 86.66%",
                                                                "within 15% of each other"]),
    "a stated MFU twice what its tokens/s give": (edit(REFERENCES, ",1024,BF16,10203,42.8,", ",1024,BF16,10203,85.6,"),
                                                  REFERENCES, ["line 5 (data row 4), column 'mfu_percent'"]),
    "a reference at 10 tokens/s": (edit(REFERENCES, ",8192,BF16,5762,", ",8192,BF16,10,"), REFERENCES,
                                   ["line 2 (data row 1), column 'tokens_per_s_per_gpu'", "0.06% of the H100's",
                                    "expected at least 171 (1% of peak)"]),
    "a reference above peak on a model models.csv lacks": (
        edit(REFERENCES, ",1024,BF16,10203,42.8,", ",1024,BF16,102030,42.8,"), REFERENCES,
        ["line 5 (data row 4), column 'tokens_per_s_per_gpu'", "'MPT 7B'", "(100% of peak)"]),
    # prices.csv: both ends of a range are prices too
    "a price range up to 1000 per GPU-hour": (edit(PRICES, ",1.50,1.85,", ",1.50,1000.00,"), PRICES,
                                              ["line 11 (data row 10), column 'price_high'", "found 1,000 USD",
                                               "expected 0.10 to 20.00 per GPU-hour"]),
    "an MI250 assumption low of 0.01": (edit(PRICES, ",1.00,2.50,", ",0.01,2.50,"), PRICES,
                                        ["line 2 (data row 1), column 'price_low'", "found 0.01 USD"]),
    # gpus.csv: a reference's GPU family names one GPU of the catalog (its networked part, where several)
    "a second networked H100, which makes the references' 'H100' ambiguous": (
        append(GPUS, NVL_GPU), REFERENCES,
        ["line 2 (data row 1), column 'gpu'", "the GPUs 'H100 SXM', 'H100 NVL'", "exactly one GPU"]),
    # Text from data/ is untrusted, in any file
    "control characters in a model name": (edit(MODELS, "Mistral NeMo 12B,", f"{ESCAPES},"), MODELS,
                                           ["line 10 (data row 9), column 'model'", "U+001B", "control characters"]),
    "a line break in a model name": (edit(MODELS, "Mistral NeMo 12B,", '"Mistral NeMo\n12B",'), MODELS,
                                     ["line 10 (data row 9), column 'model'", "\\n", "control characters"]),
    "a terminal escape in a price's note": (edit(PRICES, "About 6 USD", "About 6 USD\x1b[31m"), PRICES,
                                            ["line 12 (data row 11), column 'note'", "line breaks only"]),
    "a model named with a no-break space alone": (edit(MODELS, "Mistral NeMo 12B,", "\u00a0,"), MODELS,
                                                  ["line 10 (data row 9), column 'model'", "U+00A0", "looks blank"]),
    "a model named with a zero-width space alone": (edit(MODELS, "Mistral NeMo 12B,", "\u200b,"), MODELS,
                                                    ["line 10 (data row 9), column 'model'", "U+200B", "looks blank"]),
    "a space after a model name": (edit(MODELS, "Mistral NeMo 12B,", "Mistral NeMo 12B ,"), MODELS,
                                   ["line 10 (data row 9), column 'model'", "at the start or end"]),
    "a space before a flavor's provider name": (edit(FLAVORS, ",xLarge.512GB,", ", xLarge.512GB,"), FLAVORS,
                                                ["line 2 (data row 1), column 'provider_name'", "at the start or end"]),
    "two model names differing only in case": (edit(MODELS, "Mistral NeMo 12B,", "mistral 7b,"), MODELS,
                                               ["line 10 (data row 9), column 'model'",
                                                "differs only in case from 'Mistral 7B' on line 4"]),
}


@pytest.mark.parametrize("name", REFUSED)
def test_an_implausible_edit_is_refused_in_one_line(data_copy, name):
    change, reported, says = REFUSED[name]
    change(data_copy)
    with pytest.raises(DataError) as failure:
        validate(data_copy)
    message = str(failure.value)
    assert message.count("\n") == 0, f"one edit, one line:\n{message}"
    assert message.startswith(str(data_copy / reported)), message
    assert "expected" in message
    assert not any(char < " " for char in message), "a message never carries a control character"
    for part in says:
        assert part in message, f"{part!r} not in {message!r}"


def test_the_command_line_never_prints_control_characters_from_data(data_copy, capsys):
    """validate refuses a data folder with a terminal escape in it, and says so with the escape
    written out; a model typed with escapes is quoted the same way; --help quotes the names."""
    rename_everywhere("Llama3 8B", ESCAPES)(data_copy)
    result = subprocess.run([sys.executable, "-m", "ftguide", "validate", "--data-dir", str(data_copy)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and result.stdout == ""
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "found '\\x1b]0;x\\x07\\x1b[2J'" in result.stderr and "control characters" in result.stderr
    assert main(["plan", "--model", ESCAPES, "--samples", "1000"]) == 2
    printed = capsys.readouterr()
    assert "\x1b" not in printed.out + printed.err
    assert printed.err.startswith("error: argument --model: found '\\x1b]0;x\\x07\\x1b[2J'; expected one of")
    with pytest.raises(SystemExit) as leaving:
        main(["plan", "--help"])
    assert leaving.value.code == 0
    assert "'all', 'moai', 'gpus', 'gpu-nodes', 'gpu-clusters', 'xlarge'" in " ".join(capsys.readouterr().out.split())


# --- plausible edits build -------------------------------------------------------------------------

def planner_json(data_dir) -> dict:
    """What the build writes into the planner page (no NaN: json refuses it)."""
    return json.loads(planner_data.page_data(data_dir))


def test_a_line_break_in_a_note_and_a_listing_of_another_h100_are_accepted(data_copy, tables):
    """Prose may hold a line break; an H100 PCIe listing is no price of the H100 SXM node."""
    both(edit(PRICES, "About 6 USD per GPU-hour; approximate.", '"About 6 USD per GPU-hour;\napproximate."'),
         append(PRICES, PCIE_PRICE))(data_copy)
    edited = load(data_copy)
    assert cost.default_reference_price(edited, "H100").equals(cost.default_reference_price(tables, "H100"))
    assert planner_json(data_copy)["hardware"]["8x H100 SXM"] == coefficients(tables)["hardware"]["8x H100 SXM"]


def test_an_h100_renamed_in_every_file_stays_the_references_h100(data_copy, tables):
    """The references' 'H100' is whichever one networked H100 gpus.csv lists, priced under its own name;
    the catalog's option follows the new name with the same figures."""
    rename_everywhere("H100 SXM", "H100 SXM5")(data_copy)
    assert cost.default_reference_price(load(data_copy), "H100")["gpu"] == "H100 SXM5"
    edited = planner_json(data_copy)["hardware"]["8x H100 SXM5"]
    assert edited == {**coefficients(tables)["hardware"]["8x H100 SXM"], "gpu": "H100 SXM5"}


def test_without_start_up_logs_the_pages_say_so(data_copy, tables):
    """Every log_startup row deleted: the fitted start-up stands in for the logs' range, and the
    pages' phrases say no log shows one."""
    drop_rows(VENDOR, "kind", "log_startup")(data_copy)
    edited = load(data_copy)
    assert startup_from_logs(edited.vendor_measurements).empty
    fitted = planner_json(data_copy)["hardware"]["2xlarge"]["startup_min"]
    assert startup_range(edited) == (fitted, fitted)
    assert startup_phrases(edited.vendor_measurements) == dict.fromkeys(("longest", "whole", "range"), NO_STARTUP_LOG)
    assert startup_phrases(tables.vendor_measurements)["range"] == "4.0 to 19.3 min"
    coeffs = coefficients(edited)
    inputs = scenarios.plan(edited, "Llama3 8B", samples=1000, coefficients_=coeffs).inputs
    swings = scenarios.sensitivity(edited, inputs, "2xlarge", coeffs)
    start_up = swings.set_index("assumption").loc["Start-up"]
    assert start_up["cost_a"] == start_up["cost_b"]  # no range to try: the fit at both ends


def glued(outputs) -> dict:
    return {output["metadata"]["scrapbook"]["name"]: output["data"]["application/papermill.record/text/plain"]
            for output in outputs if "scrapbook" in output.get("metadata", {})}


def test_a_model_renamed_in_every_file_builds(data_copy):
    """'Llama3 8B' is 'Meta-Llama-3-8B' everywhere: the planner page's example is the new name, as
    the form's is (no page names a model of its own)."""
    rename_everywhere("Llama3 8B", "Meta-Llama-3-8B")(data_copy)
    assert planner_json(data_copy)["example"] == {"model": "Meta-Llama-3-8B", "samples": 287113}
    outputs = execute_page("planner", data_copy.parent)
    mine = next(output["data"]["text/html"] for output in outputs
                if "T_plan-mine" in output.get("data", {}).get("text/html", ""))
    assert "Meta-Llama-3-8B, full fine-tuning: 287,113 samples per epoch" in mine
    assert "Meta-Llama-3-8B's tutorial run" in glued(execute_page("cost", data_copy.parent))["headline_run"]


def test_no_known_dataset_size_builds_and_says_so(data_copy):
    """train_samples blank in every row of datasets.csv (the schema allows it): the planner's
    example runs a million tokens, and the pages state that the training-time reading is missing."""
    blank_column(DATASETS, "train_samples")(data_copy)
    assert planner_json(data_copy)["example"] == {"model": "Llama3 8B", "tokens": 1_000_000}
    audit_page = glued(execute_page("audit", data_copy.parent))
    assert NO_DATASET_SIZE in audit_page["widest_model"]
    cost_page = glued(execute_page("cost", data_copy.parent))
    assert any(NO_DATASET_SIZE in value for value in cost_page.values())
    assert "a run of Llama3 8B on 1,000,000 tokens" in cost_page["headline_run"]
    assert not [name for name, value in {**audit_page, **cost_page}.items() if "nan" in value.lower()]
