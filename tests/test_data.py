"""Loading, validation and derived columns of the canonical CSVs."""

import shutil
import subprocess
import sys

import pandas as pd
import pytest

from ftguide import DATA_DIR, DataError, load, validate
from ftguide.cli import main

GUIDE = "parameter_guide.csv"
FIRST_ROW = b"Llama3 8B,24.5.0,2xlarge,true,128,1024,867021,220,93291"


@pytest.fixture
def data_copy(tmp_path):
    """A private copy of data/ that a test may break."""
    return shutil.copytree(DATA_DIR, tmp_path / "data")


def rewrite(path, change):
    path.write_bytes(change(path.read_bytes()))


def test_canonical_data_is_valid_and_complete():
    tables = load()
    assert len(tables.guide) == 18
    assert tables.guide["model"].nunique() == 6
    assert set(tables.guide["accelerator"]) == {"2xlarge", "4xlarge", "8xlarge"}
    llama = tables.guide.iloc[0]
    assert (llama["model"], llama["accelerator"], llama["vram_mib"], llama["throughput_tokens_per_s"]) == (
        "Llama3 8B", "2xlarge", 867021, 93291)


def test_guide_matches_the_seed_table():
    """Every cell of the CSV is the source's cell, separators and units stripped."""
    seeds = sorted((DATA_DIR.parent.parent / "shared" / "seed").glob("*.txt"))
    if not seeds:
        pytest.skip("the seed table (../shared/seed) is not beside this checkout")
    seed = seeds[0]
    rows = [line for line in seed.read_text().splitlines() if line.startswith("| ") and "24.5.0" in line]
    guide = pd.read_csv(DATA_DIR / GUIDE)
    assert len(rows) == len(guide)
    for line, (_, row) in zip(rows, guide.iterrows()):
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        digits = [int("".join(ch for ch in cell if ch.isdigit())) for cell in cells[4:9]]
        assert cells[0] == row["model"] and cells[2] == row["accelerator"]
        assert digits == row[["batch_size", "sequence_length", "vram_mib", "training_time_min",
                              "throughput_tokens_per_s"]].tolist()


def test_derived_columns_by_hand():
    guide = load().guide.set_index(["model", "accelerator", "sequence_length"])
    llama_8x = guide.loc[("Llama3 8B", "8xlarge", 1024)]
    assert llama_8x["gpus"] == 32
    assert llama_8x["samples_per_gpu"] == 1024 / 32
    assert llama_8x["tokens_per_step"] == 1024 * 1024
    assert llama_8x["vram_share"] == pytest.approx(2089476 / (64 * 65520))
    assert llama_8x["vram_per_gpu_mib"] == pytest.approx(2089476 / 32)
    assert llama_8x["throughput_per_gpu"] == pytest.approx(394605 / 32)
    cerebras_2048 = guide.loc[("Cerebras GPT 13B", "8xlarge", 2048)]
    assert cerebras_2048["tokens_per_step"] == 16 * 2048


# Each bad-input kind: how to break the file, and what the message must name.
BAD_INPUTS = {
    "missing column": (lambda b: b.replace(b",vram_mib", b"", 1), "line 1 (header), column 7"),
    "extra column": (lambda b: b.replace(b"per_s\n", b"per_s,notes\n", 1), "line 1 (header), column 10"),
    "empty file": (lambda b: b"", "file is empty"),
    "non-numeric": (lambda b: b.replace(b"867021", b"lots"), "line 2 (data row 1), column 'vram_mib'"),
    "negative": (lambda b: b.replace(b",220,", b",-220,"), "line 2 (data row 1), column 'training_time_min'"),
    "unknown accelerator": (lambda b: b.replace(b"Llama3 8B,24.5.0,2xlarge", b"Llama3 8B,24.5.0,16xlarge"),
                            "line 2 (data row 1), column 'accelerator'"),
    "unknown model": (lambda b: b.replace(b"Llama3 8B,24.5.0,2xlarge", b"Llama4 8B,24.5.0,2xlarge"),
                      "line 2 (data row 1), column 'model'"),
    "duplicate configuration": (lambda b: b + FIRST_ROW + b"\n", "line 20 (data row 19), columns ['model'"),
    "thousands separator": (lambda b: b.replace(b"867021", b'"867,021"'), "line 2 (data row 1), column 'vram_mib'"),
    "unit inside number": (lambda b: b.replace(b"93291", b"93291 TPS"),
                           "line 2 (data row 1), column 'throughput_tokens_per_s'"),
    "byte-order mark": (lambda b: b"\xef\xbb\xbf" + b, "line 1, column 1"),
    "truncated last line": (lambda b: b[:-9], "line 19"),
    "truncated last line, newline kept": (lambda b: b[:b.rindex(b",62,")] + b"\n", "line 18 (data row 17)"),
}


@pytest.mark.parametrize("kind", BAD_INPUTS)
def test_bad_guide_fails_naming_file_row_and_column(data_copy, kind):
    change, where = BAD_INPUTS[kind]
    rewrite(data_copy / GUIDE, change)
    with pytest.raises(DataError) as failure:
        load(data_copy)
    message = str(failure.value)
    assert str(data_copy / GUIDE) in message
    assert where in message
    assert "expected" in message


def test_wrong_type_message_says_what_a_cell_must_be(data_copy):
    rewrite(data_copy / GUIDE, BAD_INPUTS["thousands separator"][0])
    with pytest.raises(DataError, match="found '867,021'; expected a plain whole number"):
        validate(data_copy)


def test_unknown_accelerator_message_lists_the_known_ones(data_copy):
    rewrite(data_copy / GUIDE, BAD_INPUTS["unknown accelerator"][0])
    with pytest.raises(DataError, match=r"'16xlarge' is not listed in .*accelerators.csv.*'8xlarge'"):
        validate(data_copy)


def test_reference_tables_are_checked_too(data_copy):
    rewrite(data_copy / "accelerators.csv", lambda b: b.replace(b",8,16,2,", b",8,15,2,"))
    with pytest.raises(DataError, match=r"accelerators.csv, line 3 \(data row 2\), column 'gcds'"):
        validate(data_copy)
    shutil.copy(DATA_DIR / "accelerators.csv", data_copy / "accelerators.csv")
    rewrite(data_copy / "models.csv", lambda b: b.replace(b",alibi,", b",sinusoid,"))
    with pytest.raises(DataError, match=r"models.csv, line 6 \(data row 5\), column 'position_encoding'"):
        validate(data_copy)


def test_command_line_validation_exit_codes(data_copy, capsys):
    """Exit codes as a shell sees them: 1 for bad data, 2 for a bad argument (the good case runs
    in-process: a third interpreter start adds seconds and checks nothing more)."""
    command = [sys.executable, "-m", "ftguide", "validate"]
    assert main(["validate", "--data-dir", str(data_copy)]) == 0
    rewrite(data_copy / GUIDE, BAD_INPUTS["unit inside number"][0])
    bad = subprocess.run(command + ["--data-dir", str(data_copy)], capture_output=True, text=True)
    assert bad.returncode == 1
    assert "column 'throughput_tokens_per_s': found '93291 TPS'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as missing:
        main(["validate", "--data-dir", "/nonexistent"])
    assert missing.value.code == 2
    assert capsys.readouterr().err == ("error: argument --data-dir: found '/nonexistent'; expected a folder "
                                       "holding datapackage.json\n")


def test_loading_the_data_builds_no_rfc3987_grammar():
    """A fresh process that loads data/ (a page, a command) does not import rfc3987-syntax, whose
    import alone compiles a grammar (over a second) for a format Frictionless never checks."""
    probe = "import sys; from ftguide import load; load(); print(sys.modules.get('rfc3987_syntax') is None)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True"
