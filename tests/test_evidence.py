"""The planner's error on public measurements: the leave-one-source-out fits against hand arithmetic,
and the published shares against the data."""

import math
from dataclasses import replace

import pandas as pd
import pytest

from ftguide import evidence
from ftguide.planner import kernel
from ftguide.planner.coefficients import coefficients


def test_an_unstated_knob_takes_its_stacks_default_else_the_planners_and_says_so():
    defaults = {"tt": [{"knob": "optimizer", "value": "adamw-bf16", "applies_to": "lora"},
                       {"knob": "sharding", "value": "sharded", "applies_to": "multi-gpu"},
                       {"knob": "loss", "value": "fused", "applies_to": "full-one-gpu"}]}
    row = {"method": "lora", "stack": "tt", "gpus": 1, "checkpointing": "none", "optimizer": "unstated",
           "loss": float("nan"), "lora_rank": 64.0, "lora_targets": "attention", "qlora_format": "",
           "sharding": "unstated"}
    run, assumed = evidence.run_of(row, defaults)
    # The stack's LoRA optimizer; its loss default is for full fine-tuning on one GPU only, its
    # sharding for several GPUs: the planner's defaults stand in.
    assert run == {"method": "lora", "checkpointing": "none", "optimizer": "adamw-bf16", "loss": "full",
                   "lora_rank": 64, "lora_targets": "attention", "qlora_format": "nf4-dq", "sharding": "sharded",
                   "adamw_step": "in-place"}
    # LoRA has no QLoRA format
    assert assumed == ["optimizer (stack)", "loss (planner)", "sharding (planner)", "adamw_step (planner)"]
    run, _ = evidence.run_of({**row, "method": "full", "gpus": 4, "sharding": ""}, defaults)
    assert (run["optimizer"], run["loss"], run["sharding"]) == ("adamw", "full", "sharded")


def test_the_planner_takes_the_stacks_default_only_where_the_reader_set_nothing(tables):
    coeffs = coefficients(tables)
    given = {"model": "Llama3 8B", "samples": "1000", "method": "lora", "stack": "torchtune",
             "hardware": "1x RTX 4090"}
    stacked = kernel.plan(coeffs, kernel.check_inputs(coeffs, given))["options"][0]["knobs"]
    assert (stacked["optimizer"], stacked["loss"], stacked["lora_rank"]) == ("adamw-bf16", "fused", 8)
    mine = kernel.plan(coeffs, kernel.check_inputs(coeffs, {**given, "lora_rank": "32"}))["options"][0]["knobs"]
    assert (mine["optimizer"], mine["lora_rank"]) == ("adamw-bf16", 32)
    plain = kernel.plan(coeffs, kernel.check_inputs(coeffs, {**given, "stack": ""}))["options"][0]["knobs"]
    assert (plain["optimizer"], plain["loss"], plain["lora_rank"]) == ("adamw", "full", 16)


def test_the_reserve_is_a_fixed_part_and_a_share_fitted_without_the_source_it_predicts():
    """Sources b, c and e lie on measured = 2 GiB + 1.10 x modelled; a is far above it, d counts tensors
    alone. The median regression finds the line despite a, and never uses the source it predicts."""
    runs = pd.DataFrame({"source": ["a", "b", "b", "c", "d", "e"], "stack": ["hf", "hf", "hf", "tt", "hf", "other"],
                         "modelled_gib": [10.0, 10.0, 20.0, 40.0, 10.0, 60.0],
                         "memory_kind": ["unstated", "reserved", "reserved", "unstated", "allocated", "reserved"],
                         "batch_lengths": ["fixed"] * 6})
    runs["peak_memory_gib"] = 2 + 1.1 * runs["modelled_gib"]
    runs.loc[runs["source"].isin(["a", "d"]), "peak_memory_gib"] = 50.0
    line = runs[runs["source"].isin(["b", "c", "e"])]
    assert evidence.fit_reserve(line["peak_memory_gib"], line["modelled_gib"]) == pytest.approx((2.0, 0.1))
    # A constant residual is a share of 0 and its median.
    assert evidence.fit_reserve(pd.Series([5.0, 9.0, 13.0]), pd.Series([2.0, 6.0, 10.0])) == (3.0, 0.0)
    # Source a, stack hf: the share from b, c and e, the fixed part from b (the same stack), not from a.
    fixed, share, label = evidence.reserve_without(runs, "a", "hf")
    assert (fixed, share, label) == (pytest.approx(2.0), pytest.approx(0.1), "same stack")
    # Source c is the only tt stack: every other source's rows, a's among them, which do not move the line.
    fixed, share, label = evidence.reserve_without(runs, "c", "tt")
    assert (fixed, share, label) == (pytest.approx(2.0), pytest.approx(0.1), "every stack")
    # A run measured as allocated memory is predicted without a reserve.
    assert evidence.reserve_without(runs, "d", "hf", "allocated") == (0.0, 0.0, "none (allocated)")
    # 'other' names no stack: e pools every other stack.
    assert evidence.reserve_without(runs, "e", "other")[2] == "every stack"
    # Without b, a's row alone sets the fixed part of stack hf: 50 GiB less its modelled 10 and their share.
    fixed, share, label = evidence.reserve_without(runs[runs["source"] != "b"], "x", "hf")
    assert fixed == pytest.approx(50 - (1 + share) * 10) and label == "same stack"
    # Reserved memory on varying lengths is the allocator's cache, not a reserve: it moves no fit.
    cached = runs.assign(batch_lengths=["fixed"] * 5 + ["varying"])
    cached.loc[5, "peak_memory_gib"] = 500.0
    without_e = evidence.reserve_without(runs[runs["source"] != "e"], "c", "tt")
    assert evidence.reserve_without(cached, "c", "tt") == without_e


def curve_range(fit: dict, work: float, method: str = "full") -> tuple:
    """The (low, high) MFU the planner reads from a fitted curve (kernel.mfu_range)."""
    return tuple(kernel.mfu_range({"mfu_curve": fit}, work, method)[:2])


def test_the_utilisation_fit_recovers_a_known_curve_and_never_exceeds_peak():
    work = pd.Series([1e12, 4e12, 1.6e13, 6.4e13, 2.56e14, 1e15, 1e12, 6.4e13])
    qlora = pd.Series([False] * 6 + [True, True])
    mfu = 0.5 * work / (work + 2e13) * pd.Series(1.0, index=work.index).where(~qlora, 0.8)
    fit = evidence.fit_mfu(work, mfu, qlora)
    assert fit["ceiling"] == pytest.approx(0.5, rel=1e-2) and fit["half_work"] == pytest.approx(2e13, rel=1e-2)
    assert fit["qlora"] == pytest.approx(math.log(0.8), abs=1e-2)  # QLoRA's dequantisation: 20% slower here
    exact = {**fit, "low": 0.0, "high": 0.0}
    low, high = curve_range(exact, 2e13)
    assert low == pytest.approx(0.25, rel=1e-2) == pytest.approx(high, rel=1e-2)  # half the ceiling at half_work
    assert curve_range(exact, 2e13, "qlora")[0] == pytest.approx(math.exp(fit["qlora"]) * low)
    # Far more work than any fixed cost: the ceiling, never more.
    assert curve_range(exact, 1e20)[1] == pytest.approx(fit["ceiling"], rel=1e-6)
    # Runs faster than the peak allows cannot lift the ceiling above 1, nor the range above 1.
    assert evidence.fit_mfu(work, mfu * 3, qlora)["ceiling"] == 1.0
    assert curve_range({**fit, "low": 0.0, "high": 2.0}, 1e20) == (pytest.approx(fit["ceiling"] * math.exp(0.0)), 1.0)
    # No QLoRA run to fit on: no QLoRA factor.
    assert evidence.fit_mfu(work[~qlora], mfu[~qlora], qlora[~qlora])["qlora"] == 0


def test_the_range_is_what_the_curve_missed_on_sources_it_was_not_fitted_on():
    """Two sources on one curve and a third twice as fast: fitted without the third, the curve
    misses it by ln 2, and that miss sets the range's high end, though the curve fitted on all
    three runs through the middle."""
    work = [1e12, 1e13, 1e14, 1e15]
    rows = [{"source": source, "gpu": "G", "gpus": 1, "method": "full", "flops_per_micro_batch": w,
             "hardware_share": 1.0, "hardware_work": w, "compute_mfu": speed * 0.4 * w / (w + 1e13),
             "compute_utilisation": speed * 0.4 * w / (w + 1e13)}
            for source, speed in (("a", 1.0), ("b", 1.0), ("c", 2.0)) for w in work]
    curve = evidence.mfu_curve(pd.DataFrame(rows))
    assert curve["high"] == pytest.approx(math.log(2), abs=0.05)
    assert curve["sources"] == 3 and curve["rows"] == 12
    # One source alone has nothing unseen: its own residuals set the range, here none.
    alone = evidence.mfu_curve(pd.DataFrame(rows[:4]))
    assert alone["low"] == pytest.approx(0, abs=1e-3) and alone["high"] == pytest.approx(0, abs=1e-3)


def test_a_sources_own_runs_never_set_its_throughput_range(tables):
    """Scaling one source's measured speeds tenfold must not move the range predicted for it: the
    curve it is judged on is fitted on the other sources alone."""
    runs = evidence.throughput_table(tables)
    source = runs["source"].iloc[0]
    changed = tables.finetune_measurements.copy()
    faster = changed["source"] == source
    changed.loc[faster, "tokens_per_s_per_gpu"] *= 10
    again = evidence.throughput_table(replace(tables, finetune_measurements=changed))
    mine = runs["source"] == source
    assert again.loc[mine, "predicted_low"].tolist() == pytest.approx(runs.loc[mine, "predicted_low"].tolist())
    assert not again.loc[~mine, "predicted_low"].tolist() == pytest.approx(runs.loc[~mine, "predicted_low"].tolist())


def test_a_sources_own_runs_never_set_its_memory_reserve(tables):
    memory = evidence.memory_table(tables)
    source = memory["source"].iloc[0]
    changed = tables.finetune_measurements.copy()
    changed.loc[changed["source"] == source, "peak_memory_gib"] *= 3
    again = evidence.memory_table(replace(tables, finetune_measurements=changed))
    mine = memory["source"] == source
    assert again.loc[mine, "reserve_gib"].tolist() == pytest.approx(memory.loc[mine, "reserve_gib"].tolist())


def test_modelled_memory_is_the_kernels(tables):
    """Llama3 8B, LoRA rank 16 on one GPU, micro-batch 2 of 2,048 tokens, 8-bit AdamW, chunked loss."""
    row = next(r for r in tables.models.to_dict(orient="records") if r["model"] == "Llama3 8B")
    m = kernel.model_coefficients(row)
    run = {"method": "lora", "checkpointing": "full", "optimizer": "adamw-8bit", "loss": "chunked", "lora_rank": 16,
           "lora_targets": "all-linear", "qlora_format": "nf4-dq", "sharding": "replicated"}
    adapters = 16 * m["adapter_params_per_rank"]
    states = 2 * m["params"] + 6 * adapters
    # Recomputation (a gated MLP 14,336 wide in the layer rebuilt), no scores (FlashAttention), BF16 logits.
    per_token = 32 * 2 * 4096 + 18 * 4096 + 8 * 14336 + 2 * 128256
    expected = (states + 2 * 2048 * per_token) / 2**30
    measured = {"gpus": 1, "sequence_length": 2048, "micro_batch": 2}
    assert evidence.modelled_gib(m, measured, run) == pytest.approx(expected)


def test_fsdp_cpu_offload_leaves_two_gathered_layers_on_the_device(tables):
    """Llama2 70B QLoRA with FSDP's CPU offload (fsdp_qlora's default): the two layers a device has
    gathered, not a shard of the 35 GB base (23 GiB on each of two GPUs, before any activation: more
    than the 24 GB cards it was measured on leave)."""
    row = next(r for r in tables.models.to_dict(orient="records") if r["model"] == "Llama2 70B")
    m = kernel.model_coefficients(row)
    run = {"method": "qlora", "optimizer": "offloaded", "lora_rank": 64, "lora_targets": "all-linear",
           "qlora_format": "nf4-dq", "sharding": "sharded"}
    everything = kernel.state_bytes(m, run)
    assert kernel.device_state_bytes(m, run, 2) == pytest.approx(2 * everything / m["layers"])
    assert kernel.device_state_bytes(m, {**run, "optimizer": "adamw"}, 2) > 23 * 2**30


def test_a_run_accumulating_under_fsdp_no_sync_keeps_the_blocks_unsharded_bf16_gradients(tables):
    """Llama2 7B LoRA on two GPUs (LitGPT's 2023 FSDP runs): beside its half of the BF16 base, each
    GPU holds the blocks' full BF16 gradients, frozen weights included, in place of its shard of the
    adapters' gradients; the embeddings hold none. A full fine-tune's unsharded gradients are held
    with the activations, not with the optimizer step, which comes once they are reduce-scattered."""
    row = next(r for r in tables.models.to_dict(orient="records") if r["model"] == "Llama2 7B")
    m = kernel.model_coefficients(row)
    run = {"method": "lora", "checkpointing": "full", "optimizer": "adamw-bf16", "loss": "chunked", "lora_rank": 8,
           "lora_targets": "attention", "qlora_format": "nf4", "sharding": "sharded"}
    measured = {"gpus": 2, "sequence_length": 1304, "micro_batch": 1}
    without = evidence.modelled_gib(m, {**measured, "fsdp_no_sync": "no"}, run)
    blocks = m["params"] - m["embedding_params"]
    adapters_shard = 2 * kernel.adapter_parameters(m, run) / 2
    assert evidence.modelled_gib(m, {**measured, "fsdp_no_sync": "yes"}, run) - without == pytest.approx(
        (2 * blocks - adapters_shard) / 2**30)
    full = {**run, "method": "full", "adamw_step": "foreach"}
    assert kernel.no_sync_gradient_bytes(m, full) == 2 * m["params"]
    step = kernel.optimizer_step_bytes(m, full, 2)  # BF16 square roots of a half of the moments
    activations = kernel.sample_bytes(m, 1304, full, scores_kept=False)
    states = kernel.device_state_bytes(m, full, 2)
    assert evidence.modelled_gib(m, {**measured, "fsdp_no_sync": "yes"}, full) == pytest.approx(
        (states + max(activations + 2 * m["params"] - 2 * m["params"] / 2, step)) / 2**30)


def test_fsdp1s_cpu_offload_holds_every_gradient_shard_beside_the_activations(tables):
    """Llama2 13B fully fine-tuned on two GPUs with FSDP1's CPU offload (universal-llm-trainer): each
    GPU also holds its half of the BF16 gradients to the end of the backward pass, 13 GB, beside the
    activations; FSDP2 (torchtune) drops them."""
    row = next(r for r in tables.models.to_dict(orient="records") if r["model"] == "Llama2 13B")
    m = kernel.model_coefficients(row)
    run = {"method": "full", "checkpointing": "full", "optimizer": "offloaded", "loss": "full-16bit",
           "lora_rank": 8, "lora_targets": "attention", "qlora_format": "nf4", "sharding": "sharded",
           "adamw_step": "foreach"}
    measured = {"gpus": 2, "sequence_length": 8192, "micro_batch": 2, "grad_accum": 32, "fsdp_no_sync": "no"}
    fsdp2 = evidence.modelled_gib(m, {**measured, "fsdp1_offload": "no"}, run)
    fsdp1 = evidence.modelled_gib(m, {**measured, "fsdp1_offload": "yes"}, run)
    assert (fsdp1 - fsdp2) * 2**30 == pytest.approx(2 * m["params"] / 2)
    assert kernel.held_gradient_shard_bytes(m, run, 2) == kernel.GRADIENT_BYTES * m["params"] / 2


def test_a_zero3_optimizer_step_adds_one_sub_groups_fp32_gradients_when_larger_than_the_activations(tables):
    """Qwen 1.8B full fine-tuning on one GPU under ZeRO-3, sub-groups of 10^9 parameters: the step
    casts 10^9 gradients to FP32 (4 GB), more than a 256-token micro-batch's activations, so the
    peak is the states and that; a tiny sub-group leaves the activations' peak."""
    m = kernel.model_coefficients(next(r for r in tables.models.to_dict(orient="records") if r["model"] == "Qwen 1.8B"))
    run = {"method": "full", "checkpointing": "full", "optimizer": "adamw", "loss": "full", "lora_rank": 8,
           "lora_targets": "all-linear", "qlora_format": "nf4", "sharding": "sharded"}
    measured = {"gpus": 1, "sequence_length": 256, "micro_batch": 1}
    without = evidence.modelled_gib(m, measured, run)
    states = 16 * m["params"] / 2**30
    with_step = evidence.modelled_gib(m, {**measured, "zero3_sub_group_size": 1e9}, run)
    assert with_step == pytest.approx(states + 4e9 / 2**30)
    assert evidence.modelled_gib(m, {**measured, "zero3_sub_group_size": 10.0}, run) == pytest.approx(without)
    # Four GPUs: each steps its own share, a quarter of the parameters, smaller than 10^9.
    assert kernel.fp32_gradient_group_bytes(m, run, 4, 1e9) == pytest.approx(4 * m["params"] / 4)


def test_torchs_foreach_adamw_step_adds_the_square_roots_of_the_second_moments(tables):
    """Qwen 1.8B full fine-tuning on one GPU stepped by PyTorch's foreach AdamW with BF16 moments
    (ms-swift's runs): the step takes 2 bytes per parameter beside the 8 of the states, more than a
    256-token micro-batch; FP32 moments take 4; in place, or with 8-bit AdamW, nothing; a LoRA run's
    adapters take less than its micro-batch, so its peak is unchanged; sharded over 2 GPUs, each
    steps half."""
    m = kernel.model_coefficients(next(r for r in tables.models.to_dict(orient="records") if r["model"] == "Qwen 1.8B"))
    run = {"method": "full", "checkpointing": "full", "optimizer": "adamw-bf16", "loss": "full", "lora_rank": 8,
           "lora_targets": "all-linear", "qlora_format": "nf4", "sharding": "replicated", "adamw_step": "foreach"}
    measured = {"gpus": 1, "sequence_length": 256, "micro_batch": 1}
    assert evidence.modelled_gib(m, measured, run) == pytest.approx((8 + 2) * m["params"] / 2**30)
    assert evidence.modelled_gib(m, measured, {**run, "adamw_step": "in-place"}) < 8.5 * m["params"] / 2**30
    assert kernel.optimizer_step_bytes(m, {**run, "optimizer": "adamw"}, 1) == 4 * m["params"]
    assert kernel.optimizer_step_bytes(m, {**run, "optimizer": "adamw-8bit"}, 1) == 0
    assert kernel.optimizer_step_bytes(m, {**run, "sharding": "sharded"}, 2) == 2 * m["params"] / 2
    lora = {**run, "method": "lora", "lora_targets": "attention"}
    assert evidence.modelled_gib(m, measured, lora) == pytest.approx(
        evidence.modelled_gib(m, measured, {**lora, "adamw_step": "in-place"}))


def test_a_run_of_one_micro_batch_a_step_runs_its_forward_pass_without_its_gradients(tables):
    """Llama 3.2 3B in full on one GPU, BF16 AdamW, 2 x 4,096 tokens (torchtune's 'Optimization flags'
    runs): with accumulation the BF16 gradients (2 bytes a parameter) are held beside the
    micro-batch's activations; a step of one micro-batch makes them as it frees the activations, so
    its peak is the larger of the two; stepped in the backward pass they are never all held."""
    m = kernel.model_coefficients(next(r for r in tables.models.to_dict(orient="records")
                                       if r["model"] == "Llama 3.2 3B"))
    run = {"method": "full", "checkpointing": "full", "optimizer": "adamw-bf16", "loss": "chunked", "lora_rank": 8,
           "lora_targets": "all-linear", "qlora_format": "nf4", "sharding": "replicated", "adamw_step": "in-place"}
    measured = {"gpus": 1, "sequence_length": 4096, "micro_batch": 2}
    activations = 2 * kernel.sample_bytes(m, 4096, run, scores_kept=False)
    grads = 2 * m["params"]
    accumulated = evidence.modelled_gib(m, {**measured, "grad_accum": 2}, run)
    assert accumulated == pytest.approx((8 * m["params"] + activations) / 2**30)
    one_step = evidence.modelled_gib(m, {**measured, "grad_accum": 1}, run)
    assert one_step == pytest.approx((6 * m["params"] + max(activations, grads)) / 2**30)
    in_backward = evidence.modelled_gib(m, {**measured, "grad_accum": 1}, {**run, "adamw_step": "in-backward"})
    assert in_backward == pytest.approx((6 * m["params"] + activations) / 2**30)
    assert in_backward < one_step < accumulated


def test_qlora_on_bitsandbytes_before_0_43_2_keeps_its_projections_inputs(tables):
    """Llama2 7B QLoRA on one GPU without recomputation (LitGPT's 2023 runs): each layer also keeps the
    BF16 inputs of its 4-bit projections (attention 4,096, output projection 4,096, MLP 4,096, down
    projection 11,008), 2 bytes each, for every token; a LoRA run does not."""
    row = next(r for r in tables.models.to_dict(orient="records") if r["model"] == "Llama2 7B")
    m = kernel.model_coefficients(row)
    run = {"method": "qlora", "checkpointing": "none", "optimizer": "adamw", "loss": "chunked", "lora_rank": 8,
           "lora_targets": "attention", "qlora_format": "nf4", "sharding": "replicated"}
    measured = {"gpus": 1, "sequence_length": 1304, "micro_batch": 1}
    kept = evidence.modelled_gib(m, measured, {**run, "qlora_keeps_inputs": True}) - evidence.modelled_gib(
        m, measured, {**run, "qlora_keeps_inputs": False})
    assert kept == pytest.approx(1304 * 32 * 2 * (3 * 4096 + 11008) / 2**30)
    lora = {**run, "method": "lora", "qlora_keeps_inputs": True}
    assert evidence.modelled_gib(m, measured, lora) == evidence.modelled_gib(
        m, measured, {**lora, "qlora_keeps_inputs": False})


def test_offloaded_recomputation_keeps_only_the_layer_rebuilt_on_the_device(tables):
    """unsloth's offloaded checkpointing keeps each layer's input in CPU memory: of full recomputation's
    activations the device keeps the layer rebuilt (Llama3 8B: 18·h + 8·f), not the 32 inputs (2·h each)."""
    row = next(r for r in tables.models.to_dict(orient="records") if r["model"] == "Llama3 8B")
    m = kernel.model_coefficients(row)
    full = kernel.activation_bytes_per_token(m, 2048, "full", scores_kept=False)
    offloaded = kernel.activation_bytes_per_token(m, 2048, "offloaded", scores_kept=False)
    assert offloaded == 18 * 4096 + 8 * 14336
    assert full - offloaded == 32 * 2 * 4096


def test_a_paged_optimizers_moments_and_a_trained_embeddings_original_are_counted_as_they_live(tables):
    row = next(r for r in tables.models.to_dict(orient="records") if r["model"] == "Llama3 8B")
    m = kernel.model_coefficients(row)
    full = {"method": "full", "optimizer": "paged-adamw-8bit"}
    assert kernel.state_bytes(m, full) == 4 * m["params"]  # BF16 weights and gradients; moments paged out
    lora = {"method": "lora", "optimizer": "adamw", "lora_rank": 8, "lora_targets": "all-linear+embeddings"}
    trained = 8 * m["adapter_params_per_rank"] + m["embedding_params"]
    # The frozen base keeps the original embeddings beside their trained copy (PEFT modules_to_save).
    assert kernel.state_bytes(m, lora) == 2 * m["params"] + 16 * trained


def test_each_memory_miss_gets_the_first_class_its_own_data_supports():
    memory = pd.DataFrame({
        "id": ["one", "two", "big", "cache", "knob", "q", "under", "over", "context", "cached"],
        "source": ["s", "s", "s", "r", "t", "t", "t", "t", "r", "r"],
        "model": ["m", "m", "m", "m", "m", "m", "m", "n", "n", "n"],
        "method": ["lora", "lora", "lora", "lora", "lora", "qlora", "lora", "lora", "lora", "lora"],
        "gpus": [1, 2, 2, 1, 1, 1, 1, 1, 1, 1],
        "peak_memory_gib": [10.0, 9.0, 12.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0],
        # "context" keeps 0.5 GiB beyond its tensors, less than the reserve's fixed 2: reserved memory has
        # no CUDA context; "cached" keeps 3, more than that part, and is over for another reason.
        "modelled_gib": [8.0] * 8 + [9.5, 7.0], "reserve_fixed_gib": [2.0] * 10,
        "error": [0.0, -0.5, -0.5, -0.3, 0.3, -0.3, -0.3, 0.3, 0.3, 0.3], "within": [True] + [False] * 9,
        "memory_kind": ["allocated"] * 3 + ["reserved"] + ["unstated"] * 4 + ["reserved"] * 2,
        "assumed": ["none"] * 4 + ["sharding (stack)", "none", "loss (stack)", "none", "none", "none"],
        "batch_lengths": ["fixed"] * 10, "cached": [False] * 10})
    varying = memory.iloc[[3]].assign(id="varying", batch_lengths="varying", cached=True, error=0.3)  # either sign
    memory = pd.concat([memory, varying], ignore_index=True)
    misses = evidence.memory_misses(memory)
    assert misses.set_index("id")["class"].to_dict() == {
        "two": "under", "big": "above its one-GPU run", "cache": "allocator cache", "knob": "knob assumed",
        "q": "QLoRA buffers", "under": "under", "over": "over", "context": "no CUDA context", "cached": "over",
        "varying": "varying lengths"}
    classes = evidence.miss_classes(misses)
    assert classes.loc["under", "runs"] == 2
    assert classes.loc["under", "why, and in which sources"] == "a cost the kernel does not model (s, t)"
    assert classes["runs"].sum() == len(misses)


def test_the_allocators_cache_is_the_median_reserved_over_allocated_of_the_other_sources():
    cache = pd.DataFrame({"source": ["a", "a", "b", "c"], "batch_lengths": ["varying", "varying", "varying", "fixed"],
                          "allocated_mib": [100.0, 100.0, 100.0, 100.0], "reserved_mib": [150.0, 170.0, 200.0, 900.0]})
    assert evidence.cache_factor(cache) == {"factor": 1.7, "runs": 3, "low": 1.5, "high": 2.0}  # fixed lengths left out
    assert evidence.cache_factor(cache, "b") == {"factor": 1.6, "runs": 2, "low": 1.5, "high": 1.7}
    assert evidence.cache_factor(cache[cache["source"] == "a"], "a")["factor"] == 1.0  # nothing left: no cache


def test_reserved_memory_on_varying_lengths_is_the_tensors_times_the_cache_and_sets_no_reserve(tables):
    memory = evidence.memory_table(tables)
    cached = memory[evidence.is_cached(memory)]
    assert len(cached) > 0 and set(cached["batch_lengths"]) == {"varying"}
    assert set(cached["memory_kind"]) == {"reserved"}
    for _, row in cached.iterrows():
        factor = evidence.cache_factor(tables.allocator_cache, row["source"])["factor"]
        card = tables.gpus.set_index("gpu").loc[row["gpu"], "memory_mib"] / 1024
        assert row["predicted_gib"] == pytest.approx(min(card, row["modelled_gib"] * factor))
    # The cached runs' memory moves no one else's reserve.
    doubled = cached["id"].tolist()
    edited = tables.finetune_measurements.copy()
    edited.loc[edited["id"].isin(doubled), "peak_memory_gib"] *= 2
    again = evidence.memory_table(replace(tables, finetune_measurements=edited))
    others = ~memory["id"].isin(doubled)
    assert again.loc[others, "predicted_gib"].tolist() == memory.loc[others, "predicted_gib"].tolist()
    assert evidence.reserve(replace(tables, finetune_measurements=edited)) == evidence.reserve(tables)


CACHE = {"factor": 1.7, "runs": 3, "low": 1.5, "high": 2.0}


def test_the_page_summary_states_the_median_width_of_the_predicted_range(tables):
    throughput = evidence.throughput_table(tables)
    width = (throughput["predicted_high"] / throughput["predicted_low"]).median()
    curve = evidence.mfu_fits(tables)["every GPU"]
    memory = evidence.memory_table(tables)
    summary = evidence.summary(memory, throughput, evidence.reserve(tables), curve, CACHE)
    cached = memory[evidence.is_cached(memory)]
    assert (summary["cache_factor"], summary["cache_runs"], summary["cache_low"]) == ("1.70", "3", "1.50")
    assert (summary["cached_rows"], summary["cached_within"]) == (f"{len(cached)}", f"{cached['within'].sum()}")
    assert summary["range_width"] == f"{width:.1f}" and 1 < width < 5  # a range, and not an absurd one
    assert summary["mfu_ceiling"] == f"{curve['ceiling']:.0%}" and 0 < curve["ceiling"] <= 1


def test_a_run_measured_twice_is_found_and_the_widest_gap_stated():
    """Two rows of one source, the same configuration at two commits, are one run measured twice;
    a row with another micro-batch is another run. The page states the widest gap, or n/a."""
    run = {knob: "x" for knob in evidence.KNOBS}
    base = {"source": "s", "model": "M", "gpu": "G", "gpus": 1, "method": "lora", "sequence_length": 2048,
            "memory_kind": "reserved", "batch_lengths": "varying", "cached": True, "run": run}
    memory = pd.DataFrame([{**base, "micro_batch": 1, "commit": "a", "peak_memory_gib": 18.9},
                           {**base, "micro_batch": 1, "commit": "b", "peak_memory_gib": 27.7},
                           {**base, "micro_batch": 2, "commit": "b", "peak_memory_gib": 43.1}])
    twice = evidence.measured_twice(memory)
    assert len(twice) == 1 and (twice.iloc[0]["low"], twice.iloc[0]["high"]) == (18.9, 27.7)
    throughput = pd.DataFrame({"source": ["s"], "inside": [True], "predicted_low": [1.0], "predicted_high": [2.0]})
    memory = memory.assign(within=True, error=0.0)
    reserve = {"fixed_gib": 2.0, "share": 0.06}
    curve = {"ceiling": 0.4, "half_work": 1.6e13, "qlora": 0.0}
    summary = evidence.summary(memory, throughput, reserve, curve, CACHE)
    assert (summary["twice_method"], summary["twice_micro"], summary["twice_low"], summary["twice_high"]) == (
        "LoRA", "1", "18.9", "27.7")
    assert (summary["reserve_fixed"], summary["reserve_share"]) == ("2.0", "6.0%")
    assert (summary["mfu_ceiling"], summary["half_work"], summary["qlora_factor"]) == ("40%", "16", "1.00")
    assert evidence.summary(memory[memory["commit"] == "b"], throughput, reserve, curve, CACHE)["twice_low"] == "n/a"


def test_a_multi_gpu_run_is_predicted_as_a_plan_its_arithmetic_plus_the_kernels_communication(tables):
    """Qwen 72B LoRA under ZeRO-3 on four A100 80GB of one node (600 GB/s both ways): per micro-step
    two all-gathers of the BF16 weights and a reduce-scatter of the adapters' gradients, each moving
    3/4 of its bytes at 300 GB/s. The curve is fitted on the measured time less that; the range adds
    it to the arithmetic at the slow end and hides it at the fast end."""
    runs = evidence.throughput_table(tables)
    row = runs[runs["id"] == "qwen-72b-lora-zero3-a100-80gb-4gpu-s256"].iloc[0]
    m = kernel.model_coefficients(next(r for r in tables.models.to_dict(orient="records") if r["model"] == row.model))
    moved = 2 * kernel.weight_bytes(m, row.run) + 2 * kernel.trained_parameters(m, row.run)
    per_token = 3 / 4 * moved / 300e9 / (row.micro_batch * row.sequence_length)
    assert row.communication_s_per_token == pytest.approx(per_token) and per_token > 0
    at_peak = row.flops_per_token / row.peak_flops
    assert row.compute_mfu == pytest.approx(at_peak / (1 / row.tokens_per_s_per_gpu - per_token))
    assert row.predicted_low == pytest.approx(1 / (at_peak / row.mfu_low + per_token))
    assert row.predicted_high == pytest.approx(1 / max(at_peak / row.mfu_high, per_token))
    one_gpu = runs[runs["gpus"] == 1]
    assert (one_gpu["communication_s_per_token"] == 0).all()
    assert one_gpu["compute_mfu"].tolist() == pytest.approx(one_gpu["mfu"].tolist())


def test_runs_that_ran_are_judged_against_their_cards_memory():
    """A 24 GiB card: a run predicted above it would have been refused, one within the median error
    (10% here) of it called tight, the others fit."""
    gpus = pd.DataFrame({"gpu": ["G"], "memory_mib": [24 * 1024]})
    memory = pd.DataFrame({"gpu": ["G"] * 4, "predicted_gib": [25.0, 23.0, 12.0, 20.0],
                           "error": [0.1, -0.1, 0.05, -0.2]})
    assert evidence.verdicts_on_runs_that_ran(memory, gpus).tolist() == ["no", "tight", "fits", "fits"]


def test_how_often_fits_was_too_kind_is_counted_against_the_median_band():
    memory = pd.DataFrame({"error": [0.0, -0.1, 0.1, -0.5, 0.2],
                           "peak_memory_gib": [10.0, 11.0, 9.0, 20.0, 10.0],
                           "predicted_gib": [10.0, 10.0, 10.0, 10.0, 12.5]})
    beyond = evidence.beyond_the_band(memory)
    assert beyond["band"] == pytest.approx(0.1)
    assert beyond["share_over"] == pytest.approx(0.2)  # only 20 where 10 were predicted is above 10 x 1.1
    assert beyond["tenth"] == pytest.approx(1.1 + 0.6 * (2.0 - 1.1))  # numpy's linear 90th percentile
