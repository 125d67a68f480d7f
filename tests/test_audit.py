"""The audit against hand arithmetic: parameter counts, FLOPs per token, MFU and the checks."""

import dataclasses

import pandas as pd
import pytest

from ftguide import audit as audit_module, load, model
from ftguide.audit import (
    FLAG,
    NOT_APPLICABLE,
    PASS,
    UNKNOWN,
    audit,
    check_counts,
    column_reliability,
    epochs_comparison,
    page_values,
    summary_points,
)
from ftguide.data import add_derived
from ftguide.throughput import run_tokens, time_based_throughput
from tests.helpers import guide_row as row

TFLOPS = 1e12
LLAMA3_FLOPS = 46_638_563_328  # 6 × matmul weights + 12·L·H·T (see test_model.py)


@pytest.fixture(scope="module")
def result(tables):
    return audit(tables)


def edit_csv(path, row_key, column, value):
    """Change one cell of a CSV in a copy of data/, keeping its format."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    key_column = frame.columns[0]
    frame.loc[frame[key_column] == row_key, column] = str(value)
    frame.to_csv(path, index=False, lineterminator="\n")




# --- parameter counts --------------------------------------------------------------------------

def test_llama3_8b_parameters_by_hand(tables):
    d, kv, ffn, vocab, layers = 4096, 8 * 128, 14336, 128256, 32
    block = (d * d + d * kv + d * kv + d * d) + 3 * d * ffn + 2 * d  # attention, gated MLP, 2 RMSNorms
    expected = layers * block + d + 2 * vocab * d  # final norm; untied embedding and output layer
    assert expected == 8_030_261_248  # the safetensors total of meta-llama/Meta-Llama-3-8B
    assert model.parameter_count(tables.models)["Llama3 8B"] == expected


def test_qwen_counts_its_qkv_bias(tables):
    d, ffn, vocab, layers = 4096, 11008, 151936, 32
    block = 4 * d * d + 3 * d + 3 * d * ffn + 2 * d  # Q, K, V biases of width d each
    assert model.parameter_count(tables.models)["Qwen1.5 7B"] == layers * block + d + 2 * vocab * d


def test_cerebras_counts_biases_layernorm_positions_and_ties_embeddings(tables):
    d, ffn, vocab, positions, layers = 5120, 20480, 50257, 2048, 40
    attention = 4 * d * d + 3 * d + d  # QKV bias and output bias
    mlp = 2 * d * ffn + ffn + d  # up and down with biases
    norms = 2 * (2 * d)  # two LayerNorms with scale and bias
    expected = layers * (attention + mlp + norms) + 2 * d + vocab * d + positions * d
    assert expected == 12_853_386_240
    assert model.parameter_count(tables.models)["Cerebras GPT 13B"] == expected


def test_baichuan2_by_hand_as_no_exact_published_size_exists(tables):
    d, ffn, vocab, layers = 5120, 13696, 125696, 40
    expected = layers * (4 * d * d + 3 * d * ffn + 2 * d) + d + 2 * vocab * d
    assert model.parameter_count(tables.models)["Baichuan2 13B"] == expected == 13_896_668_160
    assert pd.isna(tables.models.set_index("model").loc["Baichuan2 13B", "published_params"])


def test_parameter_counts_within_one_percent_of_published_sizes(tables):
    published = tables.models.set_index("model")["published_params"].dropna()
    assert len(published) == 11  # Llama2 7B and Llama 3.2 3B have exact published sizes too
    counted = model.parameter_count(tables.models)[published.index]
    assert ((counted / published - 1).abs() < 0.01).all(), (counted / published - 1)


def test_head_dim_sets_the_attention_width_where_config_json_gives_it(tables):
    """Mistral NeMo 12B: 32 heads of 128, not 5,120 / 32 = 160: Q and output are 5,120 × 4,096,
    K and V 5,120 × 1,024; the count then matches the published 12,247,782,400 exactly."""
    block = 2 * 5120 * 4096 + 2 * 5120 * 1024 + 3 * 5120 * 14336 + 2 * 5120
    expected = 40 * block + 5120 + 2 * 131072 * 5120
    assert model.parameter_count(tables.models)["Mistral NeMo 12B"] == expected == 12_247_782_400
    attention = model.flops_per_token(tables.models, 1024).loc["Mistral NeMo 12B", "flops_attention"]
    assert attention == 12 * 40 * 4096 * 1024


def test_tying_the_embeddings_removes_one_vocabulary_matrix(tables):
    models = tables.models.copy()
    models.loc[models["model"] == "Llama3 8B", "tied_embeddings"] = True
    untied, tied = model.parameter_count(tables.models)["Llama3 8B"], model.parameter_count(models)["Llama3 8B"]
    assert untied - tied == 128256 * 4096


# --- FLOPs and peak ----------------------------------------------------------------------------

def test_flops_per_token_palm_and_6n_side_by_side(tables):
    at_1024 = model.flops_per_token(tables.models, 1024).loc["Llama3 8B"]
    assert at_1024["flops_6n"] == 6 * 8_030_261_248 == 48_181_567_488
    assert at_1024["flops_attention"] == 12 * 32 * 4096 * 1024 == 1_610_612_736
    assert at_1024["flops_palm"] == 49_792_180_224
    assert at_1024["flops"] == LLAMA3_FLOPS  # the count the MFU uses: no input lookup


def test_row_flops_use_the_rows_own_sequence_length(tables):
    flops = model.row_flops(tables.guide, tables.models)
    cerebras = tables.guide["model"] == "Cerebras GPT 13B"
    long = flops[cerebras & (tables.guide["sequence_length"] == 2048)].iloc[0]
    short = flops[cerebras & (tables.guide["sequence_length"] == 1024)].iloc[0]
    assert long["flops_attention"] == 2 * short["flops_attention"] == 12 * 40 * 5120 * 2048
    assert long["flops_6n"] == short["flops_6n"]


def test_peak_is_gpus_times_peak_per_gpu(tables):
    peak = model.peak_flops(tables.guide, tables.accelerators)
    assert peak[tables.guide["accelerator"] == "2xlarge"].iloc[0] == pytest.approx(8 * 362.1 * TFLOPS)
    assert peak[tables.guide["accelerator"] == "8xlarge"].iloc[0] == pytest.approx(32 * 362.1 * TFLOPS)


# --- MFU of both readings ----------------------------------------------------------------------

def test_reported_mfu_llama3_about_150_percent(result):
    llama = row(result, "Llama3 8B", "2xlarge")
    expected = 93291 * LLAMA3_FLOPS / (8 * 362.1 * TFLOPS)
    assert llama["mfu_reported"] == pytest.approx(expected)
    assert 1.45 < expected < 1.55
    assert llama["mfu_reported_6n"] == pytest.approx(93291 * 48_181_567_488 / (8 * 362.1 * TFLOPS))


def test_reported_mfu_mistral_about_300_percent(result):
    mistral = row(result, "Mistral 7B", "2xlarge")
    flops = 6 * (32 * (2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336) + 32000 * 4096) + 12 * 32 * 4096 * 1024
    assert mistral["mfu_reported"] == pytest.approx(197489 * flops / (8 * 362.1 * TFLOPS))
    assert 2.9 < mistral["mfu_reported"] < 3.2


def test_time_based_reading_for_llama3_is_25_to_36_percent(result):
    llama = result[result["model"] == "Llama3 8B"].set_index("accelerator")
    assert llama.loc["2xlarge", "throughput_from_time"] == pytest.approx(287113 * 1024 / (220 * 60))
    expected = 287113 * 1024 / (220 * 60) * LLAMA3_FLOPS / (8 * 362.1 * TFLOPS)
    assert llama.loc["2xlarge", "mfu_from_time"] == pytest.approx(expected)
    assert llama["mfu_from_time"].between(0.25, 0.36).all()
    assert llama["mfu_from_time"].min() == pytest.approx(
        287113 * 1024 / (78 * 60) * LLAMA3_FLOPS / (32 * 362.1 * TFLOPS))


def test_unknown_dataset_size_stays_unknown(result):
    unknown = result[result["model"].isin(["Baichuan2 13B", "Cerebras GPT 13B"])]
    assert len(unknown) == 6
    assert unknown[["run_tokens", "throughput_from_time", "mfu_from_time", "tokens_ratio"]].isna().all().all()
    assert (unknown["check_mfu_from_time"] == UNKNOWN).all()
    assert (unknown["check_tokens"] == UNKNOWN).all()


def test_assumption_changes_the_reading(tables):
    guide, datasets = tables.guide, tables.datasets
    two = time_based_throughput(guide, datasets, epochs=2)
    one = time_based_throughput(guide, datasets)
    assert two[0] == pytest.approx(2 * one[0])
    # A confirmed size for Baichuan2 fills its rows; the others are untouched.
    filled = run_tokens(guide, datasets, train_samples={"Baichuan2 13B": 10_000})
    baichuan = guide["model"] == "Baichuan2 13B"
    assert (filled[baichuan] == 10_000 * 1024).all()
    assert filled[~baichuan].equals(run_tokens(guide, datasets)[~baichuan])
    # Epochs per model.
    per_model = run_tokens(guide, datasets, epochs={"Llama3 8B": 3, "Mistral 7B": 1})
    assert per_model[0] == 3 * 287113 * 1024
    assert per_model[guide["model"] == "Mistral 7B"].iloc[0] == 18612 * 1024
    assert (per_model[guide["model"] == "Qwen1.5 7B"] == 18612 * 1024).all()  # left out: one epoch


def test_audit_passes_the_assumption_on(tables):
    result = audit(tables, epochs=4, train_samples={"Cerebras GPT 13B": 26_000})
    llama = row(result, "Llama3 8B", "2xlarge")
    assert llama["run_tokens"] == 4 * 287113 * 1024
    assert llama["tokens_ratio"] == pytest.approx(93291 * 220 * 60 / (4 * 287113 * 1024))
    assert llama["check_tokens"] == PASS  # 1.05: within a factor of 2
    cerebras = row(result, "Cerebras GPT 13B", "4xlarge")
    assert cerebras["throughput_from_time"] == pytest.approx(4 * 26_000 * 1024 / (81 * 60))
    assert cerebras["check_mfu_from_time"] == PASS


# --- checks ------------------------------------------------------------------------------------

def test_mfu_check_flags_all_but_cerebras(result):
    flagged = result["check_mfu_reported"] == FLAG
    assert set(result.loc[~flagged, "model"]) == {"Cerebras GPT 13B"}
    assert flagged.sum() == 15


def test_tokens_check_compares_throughput_times_time_with_run_tokens(result):
    llama = row(result, "Llama3 8B", "2xlarge")
    assert llama["tokens_ratio"] == pytest.approx(93291 * 220 * 60 / (287113 * 1024))  # about 4.2
    assert llama["check_tokens"] == FLAG


def test_vram_growth_flags_mistral_on_8xlarge_only(result):
    flagged = result[result["check_vram_growth"] == FLAG]
    assert list(zip(flagged["model"], flagged["accelerator"])) == [("Mistral 7B", "8xlarge")]
    # Smallest flavor of each model and sequence length has nothing to compare with.
    assert row(result, "Llama3 8B", "2xlarge")["check_vram_growth"] == NOT_APPLICABLE
    assert row(result, "Cerebras GPT 13B", "8xlarge", 2048)["check_vram_growth"] == NOT_APPLICABLE
    assert row(result, "Cerebras GPT 13B", "8xlarge", 1024)["check_vram_growth"] == PASS


def test_counts_and_summary_follow_the_verdicts(result):
    counts = check_counts(result)
    assert counts.loc["check_mfu_reported", [PASS, FLAG]].tolist() == [3, 15]
    assert counts.loc["check_vram_capacity", PASS] == 18
    assert counts[[PASS, FLAG, UNKNOWN, NOT_APPLICABLE]].sum(axis=1).eq(18).all()
    summary = column_reliability(result).set_index("column")
    assert summary.loc["Throughput", "rows flagged"] == 15
    assert summary.loc["Throughput", "use it?"].startswith("no")
    assert summary.loc["Training time", "rows checked"] == 18  # the start-up check needs no dataset size
    assert summary.loc["Training time", "rows flagged"] == (result["check_startup"] == FLAG).sum() == 5
    assert summary.loc["Training time", "use it?"].startswith("yes")
    assert "5 rows are mostly start-up" in summary.loc["Training time", "use it?"]
    assert summary.loc["VRAM usage", "rows flagged"] == 1


# --- changing data/ changes the verdicts ------------------------------------------------------

def test_a_lower_throughput_passes_the_mfu_check(data_copy):
    edit_csv(data_copy / "parameter_guide.csv", "Mistral 7B", "throughput_tokens_per_s", 50000)
    result = audit(load(data_copy))
    mistral = result[result["model"] == "Mistral 7B"]
    assert (mistral["check_mfu_reported"] == PASS).all()
    assert row(result, "Llama3 8B", "2xlarge")["check_mfu_reported"] == FLAG


def test_a_higher_peak_passes_the_mfu_check(tables):
    # Validation refuses a flavor whose peak is not an MI250's (tests/test_data_edits.py), so the
    # audit's arithmetic is tested on the loaded tables with a higher peak.
    faster = tables.accelerators.assign(peak_bf16_tflops_per_gpu=1307.4)
    result = audit(dataclasses.replace(tables, accelerators=faster))
    llama = result[result["model"] == "Llama3 8B"]
    assert (llama["check_mfu_reported"] == PASS).all()
    assert llama["mfu_reported"].iloc[0] == pytest.approx(93291 * LLAMA3_FLOPS / (8 * 1307.4 * TFLOPS))


def test_an_architecture_change_changes_the_verdict(data_copy):
    edit_csv(data_copy / "models.csv", "Llama3 8B", "layers", 16)
    tables = load(data_copy)
    block = 2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336 + 2 * 4096
    params = 16 * block + 4096 + 2 * 128256 * 4096
    assert model.parameter_count(tables.models)["Llama3 8B"] == params
    llama = row(audit(tables), "Llama3 8B", "2xlarge")
    matmul = 16 * (block - 2 * 4096) + 128256 * 4096  # no norms, no input lookup
    expected = 93291 * (6 * matmul + 12 * 16 * 4096 * 1024) / (8 * 362.1 * TFLOPS)
    assert llama["mfu_reported"] == pytest.approx(expected)
    assert expected < 1 and llama["check_mfu_reported"] == PASS


def test_vram_above_the_flavor_is_flagged(tables):
    # The first row is Llama3 8B on a 2xlarge: one MiB more than the flavor has. Validation refuses
    # such a CSV (test_hostile_data.py), so the audit's own check is tested on the loaded tables.
    guide = tables.guide.copy()
    guide.loc[0, "vram_mib"] = 1_048_321
    result = audit(dataclasses.replace(tables, guide=add_derived(guide, tables.accelerators)))
    llama = result["model"] == "Llama3 8B"
    assert (result.loc[llama & (result["accelerator"] == "2xlarge"), "check_vram_capacity"] == FLAG).all()
    assert (result.loc[llama & (result["accelerator"] != "2xlarge"), "check_vram_capacity"] == PASS).all()
    assert (result.loc[~llama, "check_vram_capacity"] == PASS).all()


# --- start-up, step times, epochs and the summary -----------------------------------------------

def test_implied_step_time_against_the_hardware_floor(result):
    llama = row(result, "Llama3 8B", "2xlarge")
    assert llama["implied_step_s"] == pytest.approx(128 * 1024 / 93291)
    assert llama["floor_step_s"] == pytest.approx(128 * 1024 * LLAMA3_FLOPS / (8 * 362.1 * TFLOPS))
    flagged = result["check_mfu_reported"] == FLAG
    assert (result.loc[flagged, "implied_step_s"] < result.loc[flagged, "floor_step_s"]).all()


def test_startup_check_flags_rows_that_are_mostly_start_up(result):
    flagged = result[result["check_startup"] == FLAG]
    assert (flagged["startup_share"] >= 0.5).all()
    assert ("Mistral 7B", "8xlarge") in set(zip(flagged["model"], flagged["accelerator"]))
    assert row(result, "Llama2 13B", "2xlarge")["check_startup"] == PASS


def test_summary_points_follow_the_verdicts(result, data_copy):
    points = summary_points(result)
    assert points["throughput"].startswith("It cannot be taken at face value: 15 of 18 rows")
    assert "Mistral 7B on 8xlarge" in points["vram"] and "Mistral 7B on 8xlarge" in points["training_time"]
    assert points["training_time"].startswith("It is plausible")
    # Lower every throughput below peak: the point turns round.
    guide = pd.read_csv(data_copy / "parameter_guide.csv", dtype=str, keep_default_na=False)
    guide["throughput_tokens_per_s"] = "20000"  # 7% to 55% of peak, within what validation allows
    guide.to_csv(data_copy / "parameter_guide.csv", index=False, lineterminator="\n")
    assert summary_points(audit(load(data_copy)))["throughput"].startswith("It is physically possible in every row")


def test_three_epochs_are_shown_beside_one(tables):
    table = epochs_comparison(tables).set_index("epochs")
    assert table.loc[1, "rows above 100% of peak"] == 0
    assert table.loc[3, "rows above 100% of peak"] >= 1  # Llama3 8B on 2xlarge: 3 epochs cannot fit in 220 min
    assert table.loc[3, "time model: MFU"] > table.loc[1, "time model: MFU"]


# --- what the audit page shows ------------------------------------------------------------------

def test_page_values_by_hand(tables, result):
    """The page's numbers, by hand where it is short, else as the page showed them before they
    moved into the package (data/ as of this commit)."""
    values = page_values(tables, result)
    assert {f"summary_{key}" for key in summary_points(result)} <= set(values)
    assert (values["epochs"], values["tolerance"], values["check_count"]) == ("1 epoch", "2", "6")
    # Llama3 8B on 2xlarge and 8xlarge: 93,291 and 394,605 tokens/s on 8 and 32 MI250s.
    low = 93_291 * LLAMA3_FLOPS / (8 * 362.1 * TFLOPS)
    high = 394_605 * LLAMA3_FLOPS / (32 * 362.1 * TFLOPS)
    assert values["first_model"] == "Llama3 8B"
    assert values["first_model_mfu"] == f"{min(low, high):.0%} to {max(low, high):.0%}" == "150% to 159%"
    # The vendor's Parallelization page: batch 512 of 1,024 tokens on 16 MI250s in 24.6 s per step.
    assert (values["sync_batch"], values["sync_gpus"], values["sync_seconds"]) == ("512", "16", "24.6")
    assert values["sync_mfu"] == f"{512 * 1024 / 24.6 * LLAMA3_FLOPS / (16 * 362.1 * TFLOPS):.0%}" == "17%"
    assert values["summary_flagged_count"] == "15" and values["implied_batch_high"] == "1,024"
    assert (values["tutorial_agree"], values["tutorial_pairs"], values["tutorial_odd"]) == (
        "11", "12", "Mistral 7B on 4xlarge")
    assert (values["widest_model"], values["widest_min"], values["widest_max"]) == ("Mistral 7B", "11.8", "40.2")
    assert values["default_epochs"] == "3 in 5 of 6 scripts; 1 in tutorial/train_gpt.py"
    assert (values["three_over"], values["three_mfu"], values["epochs_verdict"]) == ("1", "87%", "one epoch")
    assert values["vram_growth"].startswith("It falls on a larger flavor, although the batch grows, for "
                                            "Mistral 7B on 8xlarge:")
    assert all(isinstance(value, str) for value in values.values())  # {glue:text} shows text as given


def test_page_values_follow_the_epochs_assumption(tables):
    """Three epochs per training time: the tokens ratio in epochs of the dataset stays the same."""
    three = page_values(tables, audit(tables, epochs=3), epochs=3)
    assert three["epochs"] == "3 epochs"
    assert (three["widest_min"], three["widest_max"]) == ("11.8", "40.2")


def test_page_views_keep_every_guide_row_and_name_their_columns(tables, result):
    labels = {"model": "Model", "accelerator": "Flavor", "sequence_length": "Sequence length (tokens)"}
    reported = audit_module.reported_view(result, labels)
    assert len(reported) == 18 and reported["Peak BF16 (PFLOP/s)"].iloc[0] == pytest.approx(8 * 362.1 / 1000)
    assert list(audit_module.verdicts_view(result, labels).columns) == list(audit_module.SHORT_CHECK_NAMES.values())
    flops = audit_module.flops_view(tables)
    assert flops.loc[("Llama3 8B", 1024), "Used here (GFLOP per token)"] == LLAMA3_FLOPS / 1e9
    assert flops.loc[("Llama3 8B", 1024), "Counted vs published (%)"] == 0  # 8,030,261,248 both ways
