"""The planner's error on public measurements: the leave-one-source-out fits against hand arithmetic,
and the published shares against the data."""

import math

import pandas as pd
import pytest

from ftguide import evidence
from ftguide.planner import kernel


def test_an_unstated_knob_takes_the_planners_default_and_says_so():
    run, assumed = evidence.run_of({"method": "lora", "checkpointing": "none", "optimizer": "unstated",
                                    "loss": float("nan"), "lora_rank": 64.0, "lora_targets": "attention",
                                    "qlora_format": "", "sharding": "replicated"})
    assert run == {"method": "lora", "checkpointing": "none", "optimizer": "adamw", "loss": "full", "lora_rank": 64,
                   "lora_targets": "attention", "qlora_format": "nf4-dq", "sharding": "replicated"}
    assert assumed == ["optimizer", "loss"]  # a LoRA run has no QLoRA format to state


def test_the_reserve_is_fitted_without_the_source_it_predicts():
    runs = pd.DataFrame({"source": ["a", "a", "b", "c"], "stack": ["hf", "hf", "hf", "tt"],
                         "peak_memory_gib": [10.0, 12.0, 20.0, 9.0], "modelled_gib": [8.0, 9.0, 16.0, 8.5]})
    # Source a, stack hf: only b's row (20 - 16 = 4) may set its reserve, not its own (2, 3).
    assert evidence.reserve_without(runs, "a", "hf") == (4.0, "same stack")
    # Source c is the only tt stack: the median of every other source's residual (2, 3, 4) = 3.
    assert evidence.reserve_without(runs, "c", "tt") == (3.0, "every stack")


def test_the_utilisation_fit_recovers_a_known_power_law_and_never_exceeds_peak():
    tokens = pd.Series([512.0, 1024, 2048, 4096, 8192])
    mfu = 0.02 * tokens ** 0.3
    fit = evidence.fit_mfu(tokens, mfu)
    assert fit["a"] == pytest.approx(math.log(0.02)) and fit["b"] == pytest.approx(0.3)
    assert fit["low"] == pytest.approx(0, abs=1e-9) and fit["high"] == pytest.approx(0, abs=1e-9)
    low, high = evidence.mfu_range(fit, 2048)
    assert low == pytest.approx(0.02 * 2048 ** 0.3) == pytest.approx(high)
    # Outside the tokens it was fitted on, the curve holds its end instead of extrapolating.
    assert evidence.mfu_range(fit, 65536) == evidence.mfu_range(fit, 8192)
    assert evidence.mfu_range({**fit, "a": 5.0}, 2048) == (1.0, 1.0)


def test_modelled_memory_is_the_kernels(tables):
    """Llama3 8B, LoRA rank 16 on one GPU, micro-batch 2 of 2,048 tokens, 8-bit AdamW, chunked loss."""
    row = next(r for r in tables.models.to_dict(orient="records") if r["model"] == "Llama3 8B")
    m = kernel.model_coefficients(row)
    run = {"method": "lora", "checkpointing": "full", "optimizer": "adamw-8bit", "loss": "chunked", "lora_rank": 16,
           "lora_targets": "all-linear", "qlora_format": "nf4-dq", "sharding": "replicated"}
    adapters = 16 * m["adapter_params_per_rank"]
    states = 2 * m["params"] + 6 * adapters
    per_token = 32 * 2 * 4096 + 34 * 4096 + 2 * 128256  # recomputation, no scores (FlashAttention), bf16 logits
    expected = (states + 2 * 2048 * per_token) / 2**30
    measured = {"gpus": 1, "sequence_length": 2048, "micro_batch": 2}
    assert evidence.modelled_gib(m, measured, run) == pytest.approx(expected)


def test_the_misses_list_only_misses_with_measured_against_predicted_first():
    memory = pd.DataFrame({"id": ["a", "b"], "within": [True, False], "peak_memory_gib": [10.0, 20.0],
                           "predicted_gib": [10.5, 26.0], "error": [0.05, 0.3],
                           **{column: ["x", "y"] for column in ["model", "gpu", "method", "sequence_length",
                                                                "micro_batch", "stack", "memory_kind", "source",
                                                                "assumed"]}})
    misses = evidence.memory_misses(memory)
    assert list(misses.index) == ["b"]
    assert list(misses.columns[:5]) == ["Model", "GPU", "Measured (GiB)", "Predicted (GiB)", "Error (%)"]
