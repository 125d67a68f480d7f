"""One definition of a fine-tuning run: pure scalar arithmetic and choice, no pandas, no numpy.

Everything a plan computes is written here once: a model's parameters, FLOPs and bytes per token,
its states, the batch split, time at a capped MFU, cost, the ranking, the notes and every sentence
the reader sees. `_ext/planner/kernel.mjs` mirrors it name for name for the reader's browser, and
`tests/test_planner_kernel.py` holds the two equal. The functions take plain numbers and mappings;
those that are pure arithmetic also take pandas Series, so the model's tables compute through them.

What depends on the data (models, hardware options, the declared inputs, the guide's readings) comes
in `coeffs` (ftguide.planner.coefficients); the sentences come from TEXT, exported with it.
"""

import json
import math
import re
from decimal import ROUND_HALF_EVEN, Decimal

MIB = 2**20
# Mixed-precision AdamW: BF16 weights and gradients (2 + 2 bytes), FP32 master weights (4) and two
# FP32 moments (8) per parameter (Rajbhandari et al. 2020, ZeRO, section 3.1). FP32 training needs
# 4 + 4 + 8: the same 16 bytes.
STATE_BYTES_PER_PARAM = 16
# Activations kept per token and layer without recomputation: 34·h + 5·a·T bytes for GPT's block
# (Korthikanti et al. 2022, equation 1, 16-bit, no tensor parallelism), whose MLP (f = 4h wide) keeps
# its input (2h), the GeLU's input (2f), the second matrix's input (2f) and a dropout mask (h): 3h + 4f
# of the 34h. A gated MLP (SwiGLU: down(act(gate(x)) · up(x))) keeps its input (2h), the gate's and the
# up projection's outputs, the activation's output and their product, the down projection's input
# (2f each): 3h + 8f with the mask. So 18·h + 4·f per MLP matrix beyond the first + 5·a·T; for GPT
# (f = 4h) the paper's 34·h. With full recomputation only each layer's BF16 input (2·h bytes) is kept,
# and one layer's activations are rebuilt at a time.
ACTIVATION_BYTES_PER_HIDDEN = 18
ACTIVATION_BYTES_PER_FFN_MATRIX = 4
# bitsandbytes before 0.43.2 kept each 4-bit projection's input for a backward pass that never used
# it ('fix QLoRA mem bug: delete useless buffered activation', bitsandbytes-foundation/bitsandbytes
# 9e753741: MatMul4Bit's 'ctx.tensors = (A, B)' became '(None, B)'). A QLoRA layer then keeps, beyond
# what the same LoRA layer keeps, the BF16 inputs of its projections: the attention's (h), its output
# projection's (the attention width), the MLP's (h) and its down projection's (f). Only measured runs
# that say so (data/finetune_measurements.csv, qlora_keeps_inputs); the planner plans current releases.
SAVED_INPUT_BYTES = 2
ATTENTION_BYTES_PER_HEAD_TOKEN = 5
CHECKPOINT_BYTES_PER_HIDDEN = 2
# Logits of the loss, bytes per token and vocabulary entry. full: BF16 logits (2), their FP32 copy
# (4) and the FP32 log-softmax kept for the backward pass (4), as Hugging Face's causal-LM loss
# computes it. chunked: the BF16 logits only, upcast one chunk at a time (torchtune's
# CEWithChunkedOutputLoss). fused: the loss computed with the output projection, chunk by chunk,
# so no logits of the whole sequence are kept (Liger's and unsloth's fused linear cross-entropy).
# full-16bit: a model whose own loss takes the cross-entropy of its 16-bit logits, run where nothing
# upcasts them: the logits (2), their shifted copy (2) and the 16-bit log-softmax kept (2). Qwen's
# modeling_qwen.py does so ('shift_logits = lm_logits[..., :-1, :].contiguous()', then
# CrossEntropyLoss, no float(); undefdev/Qwen-7B-Chat, a copy of the Hugging Face repository, at
# 04df5dd5), and under DeepSpeed, Accelerate turns on no autocast that would upcast the softmax
# ('self.distributed_type not in (DistributedType.DEEPSPEED, ...)' before 'self.native_amp = True';
# huggingface/accelerate src/accelerate/accelerator.py at b565a6c5).
LOSSES = {"full": "full logits (Transformers)", "full-16bit": "full logits in 16 bits (no FP32 upcast)",
          "chunked": "chunked (torchtune)", "fused": "fused (Liger, unsloth)"}
LOSS_BYTES = {"full": 10, "full-16bit": 6, "chunked": 2, "fused": 0}
# A model that soft-caps its logits (Gemma 2's final_logit_softcapping: divide, tanh, multiply;
# Gemma2ForCausalLM.forward in huggingface/transformers src/transformers/models/gemma2/modeling_gemma2.py
# at 006e8693) keeps the tanh's 16-bit output for its backward pass: 2 more bytes per token and
# vocabulary entry wherever the sequence's logits are kept, none where a fused loss never makes them.
SOFTCAP_BYTES = 2
LOGIT_BYTES = LOSS_BYTES["full"]
# Activation recomputation: full keeps each layer's input and rebuilds one layer at a time; offloaded
# recomputes as full but keeps each layer's input in CPU memory, so only the layer rebuilt is on the
# device (unsloth's use_gradient_checkpointing="unsloth": 'Saves VRAM by smartly offloading to RAM',
# 'hidden_states.to("cpu", non_blocking = True)', Unsloth_Offloaded_Gradient_Checkpointer in
# unslothai/unsloth unsloth/models/_utils.py at 6dad5dd9); selective drops the attention scores
# (Korthikanti et al. 2022, section 5); none keeps every layer.
CHECKPOINTING = {"full": "full recomputation", "offloaded": "full, layer inputs offloaded to the CPU (unsloth)",
                 "selective": "selective (attention only)", "none": "none"}
# Bytes per trainable parameter on the device: weights, gradients and optimizer state. adamw: BF16
# weights and gradients, FP32 master weights and moments, 2 + 2 + 4 + 8 (ZeRO, section 3.1); adamw-bf16:
# BF16 weights, gradients and moments, 2 + 2 + 4 (torchtune's bf16 recipes); 8-bit AdamW keeps 2
# bytes of moments (Dettmers et al. 2022, "8-bit Optimizers via Block-wise Quantization"); paged
# 8-bit AdamW keeps them in CUDA unified memory, outside PyTorch's allocator, which the driver moves to
# the CPU under memory pressure: they do not count against the device (2 + 2). offloaded: FSDP's CPU
# offload keeps weights, gradients and optimizer state in CPU memory; a device holds only the layers
# it has gathered (GATHERED_LAYERS), weights and gradients in BF16 (2 + 2).
OPTIMIZERS = {"adamw": "AdamW, FP32 master weights and moments", "adamw-bf16": "AdamW in BF16",
              "adamw-8bit": "8-bit AdamW", "paged-adamw-8bit": "paged 8-bit AdamW",
              "offloaded": "weights, gradients and optimizer state offloaded to the CPU (FSDP)"}
OPTIMIZER_BYTES = {"adamw": STATE_BYTES_PER_PARAM, "adamw-bf16": 8, "adamw-8bit": 6, "paged-adamw-8bit": 4,
                   "offloaded": 4}
# The layer FSDP computes and the one it prefetches (forward and backward prefetch, PyTorch's default):
# with BACKWARD_PRE 'at the peak, it holds the current set of parameters, next set of parameters, and
# current set of gradients in memory' (pytorch/pytorch torch/distributed/fsdp/api.py at 0aafd810,
# BackwardPrefetch). A sharded device holds them, unsharded, beside its shard; DeepSpeed ZeRO-3 bounds
# its gathered weights by stage3_max_live_parameters instead, not modelled apart.
GATHERED_LAYERS = 2
# LoRA: the frozen base in BF16, no gradients or optimizer state (Hu et al. 2021, section 4).
# QLoRA: block weights in 4-bit NormalFloat, 0.5 bits per parameter of FP32 block constants, or
# 0.127 with the constants quantized again (Dettmers et al. 2023, section 3); embeddings, output
# layer and norms stay in BF16. Embeddings and output layer trained in full are a trained copy beside
# the frozen original (PEFT's modules_to_save wraps the module and deep-copies it): the base keeps them.
FROZEN_BF16_BYTES = 2
QLORA_FORMATS = {"nf4-dq": "NF4, double quantization", "nf4": "NF4"}
QLORA_BITS = {"nf4-dq": 4 + 0.127, "nf4": 4 + 0.5}
NF4_BYTES = QLORA_BITS["nf4-dq"] / 8
# Adapters train like a small full model: with adamw, FP32 weights (4), gradients (4) and two moments (8).
ADAPTER_BYTES = OPTIMIZER_BYTES["adamw"]
# LoRA rank of the public reference setup, MLPerf Training llama2_70b_lora (r = 16), on every
# block projection (attention and feed-forward), as QLoRA does.
LORA_RANK = 16
LORA_TARGETS = {"all-linear": "every block projection", "attention": "the attention projections",
                "all-linear+embeddings": "every block projection, embeddings and output layer trained in full"}
# sharded: weights, gradients and optimizer state split over the devices (ZeRO-3, FSDP, the MoAI
# platform's distribute_param); replicated: every device holds them all (DDP).
SHARDING = {"sharded": "sharded over the devices (FSDP, ZeRO-3)", "replicated": "replicated on every device (DDP)"}
# FLOPs per matrix weight and token: forward 2, backward 4 (2 for the activations' gradients, 2 for
# the weights'). A frozen weight needs no weight gradient: 4 (Hu et al. 2021, section 4.2).
MATMUL_FLOPS = {"full": 6, "lora": 4, "qlora": 4}
# The arithmetic a GPU does differs from the model's count (flops_per_token) in two ways, so time is
# read from the utilisation of what it does. A causal attention kernel computes only the blocks at and
# below the diagonal, half the T×T product: FlashAttention's benchmark counts '4 * batch * seqlen**2 *
# nheads * headdim // (2 if causal else 1)' (Dao-AILab/flash-attention
# benchmarks/benchmark_flash_attention.py at c082294e). Activation recomputation runs the forward pass
# again: 2 FLOPs per weight and token and the attention's forward third (Korthikanti et al. 2022,
# section 5, "hardware FLOPs"); full and offloaded recompute every layer, selective the attention alone.
CAUSAL_SHARE = 0.5
RECOMPUTED_FORWARD_FLOPS = 2
# Sharded state moves every step: FSDP and ZeRO-3 all-gather the weights before the forward and again
# before the backward pass of each micro-batch, and reduce-scatter the gradients after it (Zhao et al.
# 2023, PyTorch FSDP; Rajbhandari et al. 2020, ZeRO, section 7.2.2: 3x the weights'
# volume); DDP all-reduces the gradients once per optimizer step. Weights and gradients move in BF16.
COMMUNICATED_BYTES = 2
GATHERS_PER_MICRO_STEP = 2
FP32_BYTES = 4
# torch.optim.AdamW's foreach implementation, PyTorch's default on CUDA, takes at its step the square
# root of the second moments of every parameter it steps at once: 'exp_avg_sq_sqrt =
# torch._foreach_sqrt(device_exp_avg_sqs)' (pytorch/pytorch torch/optim/adamw.py at 002d2f0b,
# _multi_tensor_adamw), a new tensor per parameter in the moments' dtype: FP32 beside FP32 master
# weights (adamw), BF16 beside BF16 ones (adamw-bf16). The fused implementation and other optimizers
# (DeepSpeed's, bitsandbytes') take none.
SECOND_MOMENT_BYTES = {"adamw": FP32_BYTES, "adamw-bf16": 2}
# in-backward: torchtune's optimizer_in_bwd steps each parameter 'as soon as its gradient is ready' and
# zeroes that gradient (register_optim_in_bwd_hooks, pytorch/torchtune torchtune/training/memory.py at
# 1814feb1), so the gradients are never all held; it 'Requires gradient_accumulation_steps=1'
# (recipes/configs/llama3_2/3B_full_single_device.yaml, same commit).
ADAMW_STEPS = {"in-place": "in place (fused AdamW, DeepSpeed's, Apex's, bitsandbytes')",
               "foreach": "PyTorch's default AdamW (foreach): a copy of the second moments at the step",
               "in-backward": "in the backward pass, each gradient freed once applied (torchtune's "
                              "optimizer_in_bwd; one micro-batch a step)"}
# Gradients: BF16, 2 bytes per trained parameter, within each optimizer's bytes per parameter (the 2 + 2
# + 12 of mixed precision). PyTorch frees them after every step ('set_to_none (bool): instead of setting
# to zero, set the grads to None', the default of zero_grad; pytorch/pytorch torch/optim/optimizer.py at
# 002d2f0b), so a step of one micro-batch makes them in its backward pass as it frees the activations:
# its forward pass runs without them. With accumulation the first micro-batch's gradients are held
# through the next ones' forward passes. A stack that keeps FP32 gradients frees 4 bytes, not 2: the
# planner then counts more than is held.
GRADIENT_BYTES = 2
GPUS_PER_NODE = 8
CONSTANTS = {"mib": MIB, "activation_bytes_per_hidden": ACTIVATION_BYTES_PER_HIDDEN,
             "activation_bytes_per_ffn_matrix": ACTIVATION_BYTES_PER_FFN_MATRIX, "saved_input_bytes": SAVED_INPUT_BYTES,
             "attention_bytes_per_head_token": ATTENTION_BYTES_PER_HEAD_TOKEN,
             "checkpoint_bytes_per_hidden": CHECKPOINT_BYTES_PER_HIDDEN, "loss_bytes": LOSS_BYTES,
             "frozen_bf16_bytes": FROZEN_BF16_BYTES, "qlora_bits": QLORA_BITS, "optimizer_bytes": OPTIMIZER_BYTES,
             "lora_rank": LORA_RANK, "matmul_flops": MATMUL_FLOPS,
             "gathered_layers": GATHERED_LAYERS, "communicated_bytes": COMMUNICATED_BYTES,
             "gathers_per_micro_step": GATHERS_PER_MICRO_STEP, "gpus_per_node": GPUS_PER_NODE,
             "fp32_bytes": FP32_BYTES, "second_moment_bytes": SECOND_MOMENT_BYTES, "gradient_bytes": GRADIENT_BYTES,
             "softcap_bytes": SOFTCAP_BYTES, "causal_share": CAUSAL_SHARE,
             "recomputed_forward_flops": RECOMPUTED_FORWARD_FLOPS}
METHODS = {"full": "full fine-tuning", "lora": "LoRA", "qlora": "QLoRA"}
# The values of each choice input, with what they mean (inputs.py names the list of each).
# A training stack's own defaults (data/stack_defaults.csv, in the coefficients): a knob the reader leaves
# empty takes the chosen stack's default for the run's method and GPU count; PLANNER_STACK keeps the
# planner's own defaults (inputs.py).
PLANNER_STACK = "planner"
STACK_KNOBS = ("checkpointing", "optimizer", "loss", "lora_rank", "lora_targets", "qlora_format", "sharding",
               "adamw_step")
# The knobs a method has no use for (a full fine-tune has no LoRA rank).
UNUSED_KNOBS = {"full": ("lora_rank", "lora_targets", "qlora_format"), "lora": ("qlora_format",), "qlora": ()}
CHOICES = {"methods": METHODS, "checkpointing": CHECKPOINTING, "optimizers": OPTIMIZERS, "losses": LOSSES,
           "lora_targets": LORA_TARGETS, "qlora_formats": QLORA_FORMATS, "sharding": SHARDING,
           "adamw_steps": ADAMW_STEPS}
HARDWARE_GROUPS = {"all": "every option", "moai": "the MoAI flavors", "gpus": "every GPU option (1 GPU to 4 nodes)",
                   "gpu-nodes": "the 8-GPU nodes", "gpu-clusters": "2 and 4 nodes of 8 GPUs"}
GROUP_KINDS = {"moai": ["MoAI flavor"], "gpus": ["GPU", "GPU node", "GPU cluster"], "gpu-nodes": ["GPU node"],
               "gpu-clusters": ["GPU cluster"]}

# Every sentence of a plan. {name} is filled in by `render`; numbers arrive formatted.
TEXT = {
    "found": "{name}: found {found}; expected {expected}",
    "one_of": "one of {choices}",
    "give_one": "{name}: give exactly one of them ({expected})",
    "recommended": "{hardware}{tie}: the cheapest option that fits in memory{limits}, {hours_low}-{hours_high} h "
                   "and {cost_low}-{cost_high} USD over an MFU of {mfu_low}-{mfu_high}.",
    "tie": " (tied with {names})",
    "limits": " and meets {parts} even at its low MFU",
    "deadline": "the deadline of {deadline} h",
    "budget": "the budget of {budget} USD",
    "and": " and ",
    "list": ", ",
    "nothing_fits": "Nothing fits in memory: even one sample per device needs {needed} GiB on {hardware}, "
                    "which has {memory} GiB per device. What would fit: {tries}.",
    "nothing_fits_micro": "Nothing fits in memory: a micro-batch of {micro} needs {needed} GiB per device on "
                          "{hardware}, which has {memory} GiB per device. What would fit: {tries}.",
    "no_accumulation": "Nothing fits in memory: an AdamW step in the backward pass cannot accumulate gradients, so "
                       "each device takes its share of the batch, {share} samples, in one micro-batch, and at most "
                       "{largest} fit on {hardware}. A global batch of {batch} or fewer fits there, or choose another "
                       "AdamW step.",
    "micro_fits": "the largest micro-batch that fits, {micro} on {hardware}",
    "method_fits": "{method} fits",
    "hardware_fits": "{hardware} fits",
    "length_fits": "a sequence of {length} tokens fits",
    "nothing_in_data": "nothing in data/",
    "none_meets": "None fits in memory and meets {parts}: {advice}.",
    "fastest": "the fastest option that fits, {hardware}, needs up to {hours} h",
    "cheapest": "the cheapest, {hardware}, costs up to {cost} USD",
    "cut": "or cut the run to {share} of its tokens on {hardware}",
    "none_measured": "{names} fit and meet your limits, but no measured run on their GPUs supports a time (or none "
                     "used as many GPUs), so none is recommended (the evidence page lists the GPUs measured).",
    "none_priced": "Nothing that fits has a price in the one tier used here ({names} fit): give your own price "
                   "per GPU-hour to compare them.",
    "note_unpriced": "The one price tier used here lists no price for {names}: their cost is unknown, and they are "
                     "not recommended, until you give a price.",
    "no_share": "no option can do any of the run's tokens within the limits: even the start-up takes longer",
    "advice_separator": "; ",
    "note_price": "Your price, {price} USD per GPU-hour, replaces every option's listed price.",
    "note_batch": "The global batch is raised on {names} so that every device gets a whole number of samples: "
                  "that changes the optimisation, not only the speed.",
    "note_guide": "The guide's reported throughput on {names} implies more than 100% of peak: its hours are "
                  "raised to the run's arithmetic at 100% of peak, and its own figure is kept beside (see the "
                  "audit page).",
    "note_knobs": "With stack {stack}, the knobs left empty take its defaults: {knobs} (on {names}).",
    "note_qlora": "QLoRA's FLOPs are LoRA's, though dequantising the 4-bit weights takes time they do not count: on "
                  "a GPU the curve's QLoRA factor (what measured QLoRA runs reached beside other runs of as much "
                  "arithmetic) times it; on a MoAI flavor it is timed like LoRA, a lower bound.",
    "heading": "{model}, {method}: {size} per epoch at {length} tokens, {epochs} epoch(s), global batch {batch}",
    "size_samples": "{count} samples",
    "size_tokens": "{count} tokens",
    "size_packed": "{count} samples of {mean} tokens on average, packed",
    "packing_longer": "{name}: found {found}; expected at most the sequence length ({length} tokens), which "
                      "cuts a longer sample",
    "your_price": "your price",
    "yes": "yes", "no": "no", "none": "-", "not_known": "n/a",
    "span": "{low}-{high}",
    "split": "{micro} x {accumulation}",
    "memory": "{needed} of {have}",
    "guide_raised": "{hours} (source: {source})",
    "mfu_positive": "MFU must be above 0",
    "selection": "{name}: found {found}; expected one of {choices} (what hardware {hardware}{gpu} offers)",
    "selection_gpu": " with gpu {gpu}",
    "price_evidence": " Price: {price} USD per GPU-hour ({price_source}); MFU: {evidence}.",
    "fewest": "Fewest GPUs that fit{limit}: {hardware} ({hours_low}-{hours_high} h, {cost}).",
    "fewest_none": "Fewest GPUs that fit{limit}: none on a measured GPU and scale.",
    "cheapest_pick": "Cheapest that fits{limit}: {hardware} ({cost}, {hours_low}-{hours_high} h).",
    "cheapest_pick_none": "Cheapest that fits{limit}: none on a measured, priced GPU and scale.",
    "within_deadline": " and meet the deadline of {deadline} h",
    "within_budget": " within the budget of {budget} USD",
    "cost_span": "{low}-{high} USD",
    "unpriced": "no price",
    "unmeasured": "no: never ranked",
    "note_caveat": "{names}: {caveat} (source: {source}).",
    "note_communication": "On {names} the hours add the communication of the state, {sharding}, at the "
                          "bandwidth of data/gpus.csv: within a node half the GPU-to-GPU column (it counts both "
                          "directions), across nodes the network column per GPU, hierarchically (inside the "
                          "nodes, then between them). The short time assumes it hidden behind the arithmetic, the "
                          "central and long ones not hidden at all; the measured MFU may already hold part of it.",
    "note_startup_moai": "The MoAI flavors' hours include a start-up of {minutes} min, fitted on the guide's "
                         "times (they include MoAI's compilation).",
    "note_startup_gpu": "The GPU options' hours include no start-up (assumed 0: no measurement in data/ times "
                        "loading and compiling a model on a GPU stack).",
    # The form in the browser.
    "hint": "Allowed: {expected}; empty: {empty}.",
    "hint_required": "Allowed: {expected}.",
    "config_json": "config: found text that is not JSON; expected the contents of a config.json",
    "config_object": "config: found JSON that is not an object; expected the contents of a config.json",
    "config_moe": "config: found a mixture-of-experts model ({key} {value}); expected a dense decoder (the planner "
                  "does not model experts)",
    "config_field": "config: found {key} {value}; expected a whole number from {low} to {high}",
    "config_heads": "config: found {heads} attention heads and {kv} key/value heads; expected key/value heads that "
                    "divide the attention heads",
    "config_width": "config: found hidden_size {hidden} for {heads} heads and no head_dim; expected a hidden size "
                    "the heads divide",
    "missing": "missing",
    "not_number": "(not a finite number)",
    "config_name": "{name} (config.json)",
    "stack_summary": "Training stack: its defaults, recomputation, optimizer, loss, LoRA, QLoRA, sharding, AdamW step",
    "stack_default_option": "the stack's default (else {default})",
    "group_legend": "Dataset size per epoch, given as",
    "hardware_column": "Hardware",
    "hardware_option": "{name} ({kind}, {gpus} × {gpu})",
    "recommended_label": "Recommended:",
    "no_plan": "No plan: correct the input marked above (the message beside it says what is allowed).",
    "summary": "{hardware}: {hours_low}-{hours_high} h, {cost_low}-{cost_high} USD",
    "summary_none": "No option meets your limits: see why below.",
    "summary_invalid": "No plan: an input needs correcting.",
    "details": "More columns: cost per 1M tokens, MFU, memory, micro-batch, the largest micro-batch and longest "
               "sequence that fit, communication, GPUs and the guide's own hours",
    "show_all": "Show all {count} options",
    "table_hint": "Hours and costs span the MFU range each option's evidence allows (low MFU = high figure).",
}
# The plan's table: a column's heading, then which cell of `option_cells` it shows.
# The columns a reader decides on come first; the rest are details (the page folds them away).
COLUMNS = {"fits": "Fits in memory", "hours": "Hours", "cost": "Cost (USD)", "meets_limits": "Meets limits",
           "measured": "Measured on this GPU",
           "cost_per_m_tokens": "USD per 1M tokens", "mfu": "MFU", "memory": "Memory per device (GiB)",
           "split": "Micro-batch x accumulation", "largest_micro": "Largest micro-batch that fits",
           "longest": "Longest sequence that fits (micro-batch 1)", "communication": "Communication (h)",
           "gpus": "GPUs", "guide_from_time": "Guide's hours (from time)",
           "guide_reported": "Guide's hours (throughput)"}
DETAIL_COLUMNS = ["cost_per_m_tokens", "mfu", "memory", "split", "largest_micro", "longest", "communication", "gpus",
                  "guide_from_time", "guide_reported"]


class PlanError(ValueError):
    """A planner input is missing or out of range; the message names it and what is allowed."""


# --- text -----------------------------------------------------------------------------------------

def render(template: str, values: dict) -> str:
    """The template with each {name} replaced by its value (no format specs: numbers come formatted)."""
    return re.sub(r"\{(\w+)\}", lambda match: str(values[match[1]]), template)


def _digits(x) -> Decimal:
    # The shortest decimal that reads back as x: what Intl.NumberFormat rounds (not the binary value).
    return x if isinstance(x, Decimal) else Decimal(repr(float(x)))


def _grouped(value: Decimal) -> str:
    return f"{value:,f}"


def format_number(x, decimals=0) -> str:
    """x with `decimals` decimals, grouped in thousands, a tie to the even digit: Intl.NumberFormat."""
    return _grouped(_digits(x).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN))


def format_percent(x, decimals=0) -> str:
    return format_number(_digits(x).scaleb(2), decimals) + "%"


def format_general(x) -> str:
    """Six significant digits at most, trailing zeros dropped, grouped: for the reader's own inputs."""
    value = _digits(x)
    if value.is_zero():
        return "0"
    rounded = value.quantize(Decimal(1).scaleb(value.adjusted() - 5), rounding=ROUND_HALF_EVEN)
    text = _grouped(rounded)
    return text.rstrip("0").rstrip(".") if "." in text else text


def quote(value) -> str:
    """What the reader typed, quoted as Python's repr does, with every character the eye cannot
    see (controls, format characters, separators other than the space) as an escape."""
    if not isinstance(value, str):
        return str(value)
    mark = '"' if "'" in value and '"' not in value else "'"
    out = []
    for char in value:
        code = ord(char)
        if char in ("\\", mark):
            out.append("\\" + char)
        elif char in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char])
        elif _hidden(code):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return mark + "".join(out) + mark


# Characters a reader cannot see: C0 and C1 controls, DEL, no-break and other spaces, zero-width and
# direction marks, line and paragraph separators, the byte-order mark, soft hyphen.
_HIDDEN = ((0x00, 0x1F), (0x7F, 0xA0), (0xAD, 0xAD), (0x1680, 0x1680), (0x180E, 0x180E), (0x2000, 0x200F),
           (0x2028, 0x202F), (0x205F, 0x206F), (0x3000, 0x3000), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB))


def _hidden(code: int) -> bool:
    return any(low <= code <= high for low, high in _HIDDEN)


def listing(names) -> str:
    return TEXT["list"].join(names)


# --- the reader's inputs -------------------------------------------------------------------------

# Numbers as a reader writes them: 50000, 50,000, 50 000, 50_000, 50k, 1.2M, 2e5. ASCII digits only,
# one group separator used throughout; the same pattern reads the same in Python and JavaScript.
NUMBER_PATTERN = (r"^([+-]?)([0-9]{1,3}(?:([, _])[0-9]{3}(?:\3[0-9]{3})*)|[0-9]+)?(?:\.([0-9]+))?"
                  r"(?:[eE]([+-]?[0-9]+)| ?([kMGB]))?$")
_NUMBER = re.compile(NUMBER_PATTERN)
SUFFIXES = {"k": "e3", "M": "e6", "G": "e9", "B": "e9"}
BLANKS = " \t"  # what is stripped around a text: not a no-break space, not a byte-order mark


def read_number(text: str) -> float:
    """The number a text means, or NaN (which no range admits)."""
    match = _NUMBER.fullmatch(text.strip(BLANKS))  # fullmatch: '$' alone would let a final newline in
    if not match or (match[2] is None and match[4] is None):
        return math.nan
    sign, whole, separator, fraction, exponent, suffix = match.groups()
    digits = (whole or "0").replace(separator, "") if separator else (whole or "0")
    scale = f"e{exponent}" if exponent else SUFFIXES[suffix] if suffix else ""
    return float(f"{sign}{digits}.{fraction or '0'}{scale}")


def check_number(spec: dict, raw):
    """One number input: its value (int when whole), or the error message for it."""
    value = read_number(raw) if isinstance(raw, str) else raw
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        value = math.nan
    ok = (math.isfinite(value) and spec["low"] <= value <= spec["high"]
          and (spec["kind"] != "whole" or value == math.floor(value)))
    if not ok:
        return None, render(TEXT["found"], {"name": spec["name"], "found": quote(raw), "expected": spec["expected"]})
    return (int(value) if spec["kind"] == "whole" else float(value)), None


def choices(coeffs: dict, spec: dict) -> list:
    """The values a choice input takes, from the data."""
    if spec["choices"] == "models":
        return list(coeffs["models"])
    if spec["choices"] == "hardware":
        return list(HARDWARE_GROUPS) + list(coeffs["hardware"])
    if spec["choices"] == "catalog":
        return unique(hw["gpu"] for hw in coeffs["hardware"].values())
    return list(coeffs["choices"][spec["choices"]])


def unique(values) -> list:
    return list(dict.fromkeys(values))


def check_choice(coeffs: dict, spec: dict, raw):
    allowed = choices(coeffs, spec)
    if isinstance(raw, str) and raw in allowed:
        return raw, None
    expected = render(TEXT["one_of"], {"choices": listing(quote(value) for value in allowed)})
    return None, render(TEXT["found"], {"name": spec["name"], "found": quote(raw), "expected": expected})


# A Hugging Face config.json in models.csv's terms: the columns and the keys they come from, with
# the ranges of a real dense decoder (a config outside them is refused, not planned).
CONFIG_FIELDS = {"layers": ("num_hidden_layers", 1, 1000), "hidden_size": ("hidden_size", 1, 131072),
                 "attention_heads": ("num_attention_heads", 1, 1024), "ffn_size": ("intermediate_size", 1, 1048576),
                 "vocab_size": ("vocab_size", 1, 4194304)}
CONFIG_OPTIONAL = {"kv_heads": ("num_key_value_heads", 1, 1024), "head_dim": ("head_dim", 1, 4096)}
MOE_KEYS = ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts")


def is_finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_whole_in(value, low, high) -> bool:
    return is_finite_number(value) and low <= value <= high and value == math.floor(value)


def config_value(config: dict, key: str, low, high):
    """A whole number of the config, or the message that refuses it."""
    value = config.get(key)
    if is_whole_in(value, low, high):
        return int(value), None
    shown = (format_general(value) if is_finite_number(value) else TEXT["missing"] if value is None
             else quote(value) if isinstance(value, str) else TEXT["not_number"])
    return None, render(TEXT["config_field"], {"key": key, "value": shown, "low": format_number(low),
                                               "high": format_number(high)})


def parse_json(text: str):
    """The JSON value of a text, or None: NaN and Infinity are not JSON."""
    def refuse(constant):
        raise ValueError(constant)
    try:
        return json.loads(text, parse_constant=refuse)
    except ValueError:
        return None


def check_config(raw):
    """A config.json (its text, or the parsed object) as a row of models.csv, or the message
    refusing it: a mixture of experts, a missing or impossible size."""
    config = parse_json(raw) if isinstance(raw, str) else raw
    if config is None and isinstance(raw, str):
        return None, TEXT["config_json"]
    if not isinstance(config, dict):
        return None, TEXT["config_object"]
    moe = next((key for key in MOE_KEYS if is_whole_in(config.get(key), 2, math.inf)), None)
    if moe is not None:
        return None, render(TEXT["config_moe"], {"key": moe, "value": format_general(config[moe])})
    row = {}
    for column, (key, low, high) in CONFIG_FIELDS.items():
        row[column], error = config_value(config, key, low, high)
        if error:
            return None, error
    for column, (key, low, high) in CONFIG_OPTIONAL.items():
        row[column] = None
        if config.get(key) is not None:
            row[column], error = config_value(config, key, low, high)
            if error:
                return None, error
    if row["kv_heads"] is None:
        row["kv_heads"] = row["attention_heads"]
    if row["kv_heads"] > row["attention_heads"] or row["attention_heads"] % row["kv_heads"]:
        return None, render(TEXT["config_heads"], {"heads": row["attention_heads"], "kv": row["kv_heads"]})
    if row["head_dim"] is None and row["hidden_size"] % row["attention_heads"]:
        return None, render(TEXT["config_width"], {"hidden": row["hidden_size"], "heads": row["attention_heads"]})
    name = next((value for value in (config.get("_name_or_path"), config.get("model_type"))
                 if isinstance(value, str) and value.strip(BLANKS)), None)
    row.update(name=quote(name)[1:-1][:80] if name else "config.json",
               tied_embeddings=config.get("tie_word_embeddings") is True,
               qkv_bias=config.get("attention_bias") is True or config.get("model_type") == "qwen2",
               linear_bias=config.get("mlp_bias") is True, mlp="gated", norm="rmsnorm", learned_positions=0,
               logit_softcapping=is_finite_number(config.get("final_logit_softcapping")))
    return row, None


def check_value(coeffs: dict, spec: dict, raw):
    if spec["kind"] == "choice":
        return check_choice(coeffs, spec, raw)
    if spec["kind"] == "config":
        return check_config(raw)
    return check_number(spec, raw)


def is_given(raw) -> bool:
    return raw is not None and not (isinstance(raw, str) and raw.strip(BLANKS) == "")


def read_inputs(coeffs: dict, given: dict) -> dict:
    """The reader's inputs as texts (form, command line) or values (Python): {"inputs": ...} with
    defaults filled in, in the declared order, or {"errors": {field: message}}."""
    inputs, errors = {}, {}
    # An input given in place of another (a config.json instead of a model of the list) sets it aside.
    replaced = {spec["replaces"] for spec in coeffs["inputs"] if spec["replaces"] and is_given(given.get(spec["name"]))}
    for group in groups(coeffs["inputs"]):
        present = [spec for spec in group if is_given(given.get(spec["name"]))]
        if len(group) > 1 and len(present) != 1:
            name = "/".join(spec["name"] for spec in group)
            expected = "; ".join(f"{spec['name']}: {spec['expected']}" for spec in group)
            errors[group[0]["group"]] = render(TEXT["give_one"], {"name": name, "expected": expected})
            continue
        for spec in group:
            if spec["name"] in replaced:
                continue
            field = spec["group"] or spec["name"]
            raw = given.get(spec["name"])
            if not is_given(raw):
                if len(group) == 1 and spec["required"]:
                    raw = ""  # refused below, with what is allowed
                else:
                    if len(group) == 1:
                        inputs[spec["name"]] = spec["default"]
                    continue
            value, error = check_value(coeffs, spec, raw)
            if error:
                errors[field] = error
            else:
                inputs[spec["name"]] = value
    if not errors and inputs.get("stack", PLANNER_STACK) != PLANNER_STACK:
        for knob in STACK_KNOBS:  # left empty: the stack's default, per option (run_knobs)
            if not is_given(given.get(knob)):
                inputs[knob] = None
    if not errors:
        errors = check_selection(coeffs, inputs) or check_packing(inputs)
    return {"errors": errors} if errors else {"inputs": inputs}


def check_selection(coeffs: dict, inputs: dict) -> dict:
    """gpu and gpus narrow the hardware chosen: a GPU or a count it does not offer is refused with
    what it offers."""
    hw, names = coeffs["hardware"], chosen_hardware(coeffs, inputs["hardware"])
    gpu, count = inputs.get("gpu"), inputs.get("gpus")
    where = {"hardware": quote(inputs["hardware"]), "gpu": ""}
    if gpu is not None:
        offered = unique(hw[name]["gpu"] for name in names)
        if gpu not in offered:
            return {"gpu": render(TEXT["selection"], {**where, "name": "gpu", "found": quote(gpu),
                                                      "choices": listing(quote(g) for g in offered)})}
        names = [name for name in names if hw[name]["gpu"] == gpu]
        where["gpu"] = render(TEXT["selection_gpu"], {"gpu": quote(gpu)})
    if count is not None:
        offered = sorted(unique(hw[name]["gpus"] for name in names))
        if count not in offered:
            return {"gpus": render(TEXT["selection"], {**where, "name": "gpus", "found": format_number(count),
                                                       "choices": listing(format_number(n) for n in offered)})}
    return {}


def check_packing(inputs: dict) -> dict:
    """Packed samples fill sequences of the sequence length: one longer than that would be cut."""
    mean = inputs.get("mean_sample_length")
    if mean is not None and mean > inputs["sequence_length"]:
        return {"mean_sample_length": render(TEXT["packing_longer"], {
            "name": "mean_sample_length", "found": format_number(mean),
            "length": format_number(inputs["sequence_length"])})}
    return {}


def groups(specs: list) -> list:
    """The declared inputs in order, those of one group (samples or tokens) together."""
    out = []
    for spec in specs:
        if spec["group"] and out and out[-1][0]["group"] == spec["group"]:
            out[-1].append(spec)
        else:
            out.append([spec])
    return out


def check_inputs(coeffs: dict, given: dict) -> dict:
    """read_inputs for Python callers: the inputs, or PlanError with the first message."""
    read = read_inputs(coeffs, given)
    if "errors" in read:
        raise PlanError(next(iter(read["errors"].values())))
    return read["inputs"]


# --- a model's architecture ----------------------------------------------------------------------

def architecture(config) -> dict:
    """The widths the counts need, from a row of models.csv: a head is hidden ÷ heads wide unless
    head_dim is set (Mistral NeMo, Gemma 2); a gated MLP has three matrices."""
    head = config.get("head_dim")
    if not (isinstance(head, (int, float)) and head == head):  # blank: None, NaN or pandas' NA
        head = config["hidden_size"] // config["attention_heads"]
    return {"layers": config["layers"], "hidden_size": config["hidden_size"],
            "attention_heads": config["attention_heads"], "head_dim": head,
            "attention_width": config["attention_heads"] * head, "kv_width": config["kv_heads"] * head,
            "ffn_size": config["ffn_size"], "ffn_matrices": 3 if config["mlp"] == "gated" else 2,
            "vocab_size": config["vocab_size"]}


def block_matmul_parameters(a: dict) -> int:
    """Weights of the blocks' projections: Q and output d×width, K and V d×kv_width, the MLP."""
    d = a["hidden_size"]
    return a["layers"] * (2 * d * a["attention_width"] + 2 * d * a["kv_width"] + a["ffn_matrices"] * d * a["ffn_size"])


def matmul_parameters(a: dict) -> int:
    """Weights that take part in a matrix multiplication: the blocks' and the output layer (tied or
    not); the input embedding is a lookup."""
    return block_matmul_parameters(a) + a["vocab_size"] * a["hidden_size"]


def parameter_count(config) -> int:
    """Every parameter, counted from a row of models.csv: projections, their biases, norms (a
    LayerNorm has a bias too), embeddings (once if tied) and learned positions."""
    a = architecture(config)
    d, width, kv = a["hidden_size"], a["attention_width"], a["kv_width"]
    ffn, matrices = a["ffn_size"], a["ffn_matrices"]
    biases = ((width + 2 * kv if config["qkv_bias"] else 0)
              + (d + (matrices - 1) * ffn + d if config["linear_bias"] else 0))
    norm = 2 * d if config["norm"] == "layernorm" else d
    block = 2 * d * width + 2 * d * kv + matrices * d * ffn + biases + 2 * norm
    embeddings = a["vocab_size"] * d * (1 if config["tied_embeddings"] else 2) + config["learned_positions"] * d
    return a["layers"] * block + norm + embeddings


def adapter_parameters_per_rank(a: dict, targets="all-linear") -> int:
    """LoRA adds r × (inputs + outputs) weights to every adapted block projection: the attention's
    four, and with all-linear the feed-forward's too."""
    d = a["hidden_size"]
    per_layer = (d + a["attention_width"]) * 2 + (d + a["kv_width"]) * 2
    if targets != "attention":
        per_layer += a["ffn_matrices"] * (d + a["ffn_size"])
    return a["layers"] * per_layer


def embedding_parameters(config) -> int:
    """The input embedding and the output layer (one matrix when tied)."""
    return config["vocab_size"] * config["hidden_size"] * (1 if config["tied_embeddings"] else 2)


def model_coefficients(config) -> dict:
    """What the plan needs of a model: parameters, matrix weights (all, and the blocks'), adapter
    weights per unit of rank, and the widths of the attention and activation terms."""
    a = architecture(config)
    return {"params": parameter_count(config), "matmul_params": matmul_parameters(a),
            "block_matmul_params": block_matmul_parameters(a),
            "adapter_params_per_rank": adapter_parameters_per_rank(a),
            "attention_adapter_params_per_rank": adapter_parameters_per_rank(a, "attention"),
            "embedding_params": embedding_parameters(config),
            "logit_softcapping": bool(config.get("logit_softcapping", False)),
            **{key: a[key] for key in ("layers", "hidden_size", "attention_width", "attention_heads", "vocab_size",
                                       "ffn_size", "ffn_matrices")}}


# --- FLOPs, bytes, states -----------------------------------------------------------------------

def attention_flops(layers, attention_width, sequence_length):
    """PaLM's 12·L·H·Q·T per token (Chowdhery et al. 2022, appendix B), the full T×T product."""
    return 12 * layers * attention_width * sequence_length


FULL = {"method": "full"}


def adapter_parameters(m, run: dict):
    """The adapters' weights: rank × their weights per unit of rank on the targeted projections."""
    attention_only = run["lora_targets"] == "attention"
    per_rank = m["attention_adapter_params_per_rank"] if attention_only else m["adapter_params_per_rank"]
    return run["lora_rank"] * per_rank


def embeddings_trained(m, run: dict):
    """Weights of the embeddings and output layer where LoRA trains them in full, else 0."""
    return m["embedding_params"] if run["lora_targets"] == "all-linear+embeddings" else 0


def flops_per_token(m, sequence_length, run=FULL):
    """Training FLOPs per token: the matrix weights at 6 (full) or 4 (frozen: no weight gradient),
    adapters at 6, an output layer trained in full at 6, and the attention scores."""
    attention = attention_flops(m["layers"], m["attention_width"], sequence_length)
    if run["method"] == "full":
        return MATMUL_FLOPS["full"] * m["matmul_params"] + attention
    output_trained = 2 * m["vocab_size"] * m["hidden_size"] if embeddings_trained(m, run) else 0
    frozen = MATMUL_FLOPS[run["method"]] * m["matmul_params"]
    return frozen + output_trained + 6 * adapter_parameters(m, run) + attention


def recomputed_flops_per_token(m, sequence_length, run: dict):
    """What activation recomputation adds per token: the blocks' forward pass again (their
    projections and adapters, and the causal attention's forward third) for full or offloaded
    recomputation, the attention's forward third alone for selective, nothing for none."""
    attention = CAUSAL_SHARE * attention_flops(m["layers"], m["attention_width"], sequence_length) / 3
    if run["checkpointing"] == "selective":
        return attention
    if run["checkpointing"] not in ("full", "offloaded"):
        return 0
    adapters = adapter_parameters(m, run) if run["method"] != "full" else 0
    return RECOMPUTED_FORWARD_FLOPS * (m["block_matmul_params"] + adapters) + attention


def hardware_flops_per_token(m, sequence_length, run: dict):
    """The arithmetic the GPU does per token: the model's (flops_per_token) with the causal half of
    the attention, and the recomputation."""
    attention = attention_flops(m["layers"], m["attention_width"], sequence_length)
    return (flops_per_token(m, sequence_length, run) - (1 - CAUSAL_SHARE) * attention
            + recomputed_flops_per_token(m, sequence_length, run))


def hardware_share(m, sequence_length, run: dict):
    """The GPU's arithmetic over the model's FLOPs (mfu_range reads the curve at it)."""
    return hardware_flops_per_token(m, sequence_length, run) / flops_per_token(m, sequence_length, run)


def activation_bytes_per_token(m, sequence_length, checkpointing="full", scores_kept=True, keeps_inputs=False):
    """Activations kept per token: with full recomputation each layer's input and one layer rebuilt,
    with the inputs offloaded the layer rebuilt alone, with none every layer (its MLP's share from its
    width and matrices, plain or gated); selective recomputation drops the attention scores (5·a·T),
    which FlashAttention never keeps. `keeps_inputs`:
    a QLoRA layer that also keeps its 4-bit projections' inputs (SAVED_INPUT_BYTES)."""
    scores = ATTENTION_BYTES_PER_HEAD_TOKEN * m["attention_heads"] * sequence_length if scores_kept else 0
    if checkpointing == "selective":
        scores = 0
    mlp = ACTIVATION_BYTES_PER_FFN_MATRIX * (m["ffn_matrices"] - 1) * m["ffn_size"]
    layer = ACTIVATION_BYTES_PER_HIDDEN * m["hidden_size"] + mlp + scores
    if keeps_inputs:
        layer += SAVED_INPUT_BYTES * (2 * m["hidden_size"] + m["attention_width"] + m["ffn_size"])
    if checkpointing == "full":
        return m["layers"] * CHECKPOINT_BYTES_PER_HIDDEN * m["hidden_size"] + layer
    if checkpointing == "offloaded":
        return layer
    return m["layers"] * layer


def logit_bytes_per_token(m, loss="full"):
    kept = LOSS_BYTES[loss] > 0  # a fused loss keeps no logits, capped or not
    return (LOSS_BYTES[loss] + SOFTCAP_BYTES * m["logit_softcapping"] * kept) * m["vocab_size"]


def sample_bytes(m, sequence_length, run: dict, scores_kept=True):
    """Activations and logits of one sample on a device."""
    keeps_inputs = run["method"] == "qlora" and run.get("qlora_keeps_inputs") is True
    per_token = (activation_bytes_per_token(m, sequence_length, run["checkpointing"], scores_kept, keeps_inputs)
                 + logit_bytes_per_token(m, run["loss"]))
    return per_token * sequence_length


def state_bytes(m, run: dict):
    """Bytes of the model's states in all, before sharding over the devices: what is trained at the
    optimizer's bytes per parameter, the frozen base in BF16 (LoRA) or 4-bit blocks (QLoRA)."""
    per_trained = OPTIMIZER_BYTES[run["optimizer"]]
    if run["method"] == "full":
        return per_trained * m["params"]
    trained = adapter_parameters(m, run) + embeddings_trained(m, run)
    frozen = m["params"]  # the whole base, the original of any trained copy included
    if run["method"] == "lora":
        return FROZEN_BF16_BYTES * frozen + per_trained * trained
    blocks = m["block_matmul_params"]
    return QLORA_BITS[run["qlora_format"]] / 8 * blocks + FROZEN_BF16_BYTES * (frozen - blocks) + per_trained * trained


def device_state_bytes(m, run: dict, devices: int, gathers=True):
    """The states one device holds: all of them when replicated; when sharded over several, a share
    of them and, on a GPU stack that gathers layer by layer (FSDP, ZeRO-3; `gathers`), the layers it
    has gathered (gathered_bytes); the gathered layers alone when they are offloaded to the CPU. The
    MoAI flavors' sharding is not described layer by layer: a share alone."""
    if run["optimizer"] == "offloaded":
        return GATHERED_LAYERS * state_bytes(m, run) / m["layers"]
    never_held = gradient_bytes(m, run, devices) if run.get("adamw_step") == "in-backward" else 0
    if run["sharding"] == "sharded" and devices > 1:
        return state_bytes(m, run) / devices + (gathered_bytes(m, run) if gathers else 0) - never_held
    return state_bytes(m, run) - never_held


def trained_on_device(m, run: dict, devices: int):
    """The trained parameters whose gradients and optimizer step a device holds: its share where they
    are sharded; none where the states are offloaded to the CPU, where the step runs."""
    if run["optimizer"] == "offloaded":
        return 0
    return trained_parameters(m, run) / (devices if run["sharding"] == "sharded" else 1)


def gradient_bytes(m, run: dict, devices: int):
    """The gradients of what a device trains (GRADIENT_BYTES)."""
    return GRADIENT_BYTES * trained_on_device(m, run, devices)


def released_gradient_bytes(m, run: dict, devices: int, grad_accum: int):
    """The gradients a step of one micro-batch does not hold in its forward pass (GRADIENT_BYTES): all of
    them; none with accumulation, nor in-backward, whose gradients are never all held."""
    if grad_accum != 1 or run.get("adamw_step") == "in-backward":
        return 0
    return gradient_bytes(m, run, devices)


def gathered_bytes(m, run: dict):
    """What a sharded device holds unsharded at its peak: the weights of the layer it computes and
    of the one it prefetches, as a pass gathers them (weight_bytes), and the current layer's
    gradients of its trained weights in BF16."""
    return (GATHERED_LAYERS * weight_bytes(m, run) + COMMUNICATED_BYTES * trained_parameters(m, run)) / m["layers"]


def no_sync_gradient_bytes(m, run: dict):
    """What FSDP's no_sync adds while gradients are accumulated: 'the full model gradients (instead of
    gradient shards)' (no_sync's docstring, pytorch/pytorch torch/distributed/fsdp/fully_sharded_data_parallel.py
    at 005df1d6), in BF16, of every unit that holds a trained weight; with use_orig_params a unit's frozen
    weights get gradients as if trained (PyTorch's FSDP docs, pytorch.org/docs/2.1/fsdp.html). So the whole
    model in a full fine-tune or where embeddings are trained, else the blocks (each holds adapters).
    Used for measured runs whose code says so (data/finetune_measurements.csv, fsdp_no_sync)."""
    trained_all = run["method"] == "full" or embeddings_trained(m, run)
    return FROZEN_BF16_BYTES * (m["params"] if trained_all else m["params"] - m["embedding_params"])


def held_gradient_shard_bytes(m, run: dict, devices: int):
    """What FSDP1's CPU offload keeps on a device until the backward pass ends: each unit's sharded
    gradient, in BF16 (GRADIENT_BYTES), though it has been copied to the CPU. _accumulate_sharded_grad
    keeps it as flat_param._saved_grad_shard and _offload_grad only copies it; prepare_gradient_for_optim
    drops it once the whole backward pass has run (torch/distributed/fsdp/_runtime_utils.py and
    _flat_param.py in torch 2.2.2 and 2.5.1). FSDP2 drops it after the copy. Used for measured runs
    whose code says so (data/finetune_measurements.csv, fsdp1_offload)."""
    return GRADIENT_BYTES * trained_parameters(m, run) / devices


def fp32_gradient_group_bytes(m, run: dict, devices: int, sub_group_size: float):
    """What DeepSpeed ZeRO-3's optimizer step adds: it steps a device's partition one sub-group at a
    time, first casting the sub-group's gradients to FP32 beside the BF16 ones
    (_prepare_fp32_grad_for_sub_group: 'self.flatten(self.averaged_gradients[sub_group_id]).to(
    self.fp32_partitioned_groups_flat[sub_group_id].dtype)'; microsoft/DeepSpeed
    deepspeed/runtime/zero/stage3.py at 02288bc1, v0.12.4): 4 bytes × the trained parameters of a
    sub-group, at most the device's share. Used for measured runs whose configuration says so
    (data/finetune_measurements.csv, zero3_sub_group_size)."""
    return FP32_BYTES * min(sub_group_size, trained_parameters(m, run) / devices)


def optimizer_step_bytes(m, run: dict, devices: int):
    """What the optimizer step takes beside the states, once the activations are freed: with
    PyTorch's foreach AdamW (adamw_step 'foreach'), the square roots of the second moments of the
    trained parameters a device steps (SECOND_MOMENT_BYTES, trained_on_device); else nothing."""
    if run.get("adamw_step") != "foreach":
        return 0
    return SECOND_MOMENT_BYTES.get(run["optimizer"], 0) * trained_on_device(m, run, devices)


def peak_bytes(states, per_sample, micro_batch: int, step, released=0):
    """A device's peak before the runtime reserve: its states, and the larger of the micro-batch's
    activations and logits and what the optimizer step takes (made once the activations are freed).
    `released`: the gradients the forward pass runs without (released_gradient_bytes), made in the
    backward pass as the activations are freed."""
    return states + max(micro_batch * per_sample - released, step)


def largest_micro_batch(room, per_sample, step, released=0) -> int:
    """The largest micro-batch whose peak fits in `room` beside the states; 0 if none, or if the
    optimizer step does not fit."""
    return max(math.floor((room + released) / per_sample), 0) if step <= room else 0


def stack_default(defaults: list, knob: str, method: str, devices: int):
    """A stack's own default for a knob in a run of `method` on `devices` devices, or None where it
    states none. `defaults`: the stack's rows of data/stack_defaults.csv ({knob, value, applies_to})."""
    scope = "one-gpu" if devices == 1 else "multi-gpu"
    for row in defaults:
        if row["knob"] == knob and row["applies_to"] in ("all", method, scope, method + "-" + scope):
            return row["value"]
    return None


def run_knobs(coeffs: dict, inputs: dict, devices: int) -> dict:
    """The run as the kernel computes it: each knob the reader set, else the chosen stack's default
    for the method and device count, else the planner's own default."""
    defaults = coeffs["stack_defaults"].get(inputs.get("stack"), [])
    planner = {spec["name"]: spec["default"] for spec in coeffs["inputs"]}
    run = dict(inputs)
    for knob in STACK_KNOBS:
        if run.get(knob) is None:
            value = stack_default(defaults, knob, run["method"], devices)
            run[knob] = planner[knob] if value is None else value
    return run


# --- time: never faster than the hardware ------------------------------------------------------

def compute_seconds(tokens, flops_per_token_, gpus, peak_per_gpu):
    """Seconds the model's arithmetic takes at 100% of peak: the floor for any training time."""
    return tokens * flops_per_token_ / (gpus * peak_per_gpu)


def utilisation(tokens_per_s, flops_per_token_, peak_flops):
    """MFU: the share of peak FLOP/s a speed needs; above 1 it is physically impossible."""
    return tokens_per_s * flops_per_token_ / peak_flops


def bounded_seconds(at_peak_s, mfu, overhead_s=0.0):
    """Start-up + the arithmetic at `mfu` of peak, the MFU capped at 1: a time implying more than
    100% of peak cannot happen, so it is never returned; a negative start-up counts as none."""
    if not mfu > 0:
        raise PlanError(TEXT["mfu_positive"])
    return max(overhead_s, 0.0) + at_peak_s / min(mfu, 1.0)


def run_seconds(at_peak_s, mfus, startup_s, communication_s):
    """(shortest, longest, central) seconds of a run for its MFU range (low, high, central): start-up
    and the arithmetic (bounded_seconds); the shortest hides the communication behind the arithmetic,
    the longest and the central add all of it."""
    mfu_low, mfu_high, mfu = mfus
    short_s, long_s, central_s = (bounded_seconds(at_peak_s, value, startup_s) for value in (mfu_high, mfu_low, mfu))
    return max(short_s, max(startup_s, 0.0) + communication_s), long_s + communication_s, central_s + communication_s


# --- communication: sharded state over the links of data/gpus.csv ---------------------------------

def weight_bytes(m, run: dict):
    """The weights as a pass gathers them, in BF16: the model, with LoRA's adapters beside it, and
    QLoRA's frozen blocks in their 4-bit format."""
    if run["method"] == "full":
        return COMMUNICATED_BYTES * m["params"]
    adapters = COMMUNICATED_BYTES * adapter_parameters(m, run)
    if run["method"] == "lora":
        return COMMUNICATED_BYTES * m["params"] + adapters
    blocks = m["block_matmul_params"]
    return QLORA_BITS[run["qlora_format"]] / 8 * blocks + COMMUNICATED_BYTES * (m["params"] - blocks) + adapters


def trained_parameters(m, run: dict):
    if run["method"] == "full":
        return m["params"]
    return adapter_parameters(m, run) + embeddings_trained(m, run)


def collective_seconds(size_bytes, hw: dict) -> float:
    """An all-gather or reduce-scatter of `size_bytes` over the option's GPUs at full bandwidth,
    hierarchically: (g-1)/g of it inside a node at half the GPU-to-GPU bandwidth (the column counts
    both directions), then (k-1)/k of each GPU's 1/g share across k nodes at the network bandwidth
    per GPU (one network card per GPU)."""
    per_node = min(hw["gpus"], GPUS_PER_NODE)
    nodes = math.ceil(hw["gpus"] / per_node)
    inside = (per_node - 1) / per_node * size_bytes / (hw["intra_node_gb_s"] / 2 * 1e9) if per_node > 1 else 0.0
    across = (nodes - 1) / nodes * size_bytes / per_node / (hw["inter_node_gb_s"] * 1e9) if nodes > 1 else 0.0
    return inside + across


def communication_seconds(m, hw: dict, run: dict, split: dict, tokens: float) -> float:
    """The run's communication: sharded, per micro-step two all-gathers of the weights and one
    reduce-scatter of the gradients; replicated, one all-reduce (twice a reduce-scatter's volume) of
    the gradients per optimizer step. 0 on one GPU, and where data/ has no bandwidth (the MoAI
    flavors: their fitted MFU holds the platform's own communication)."""
    if hw["gpus"] < 2 or hw["intra_node_gb_s"] is None:
        return 0.0
    micro_steps = tokens / ((split["micro_batch"] or 1) * run["sequence_length"] * hw["devices"])
    gradients = collective_seconds(COMMUNICATED_BYTES * trained_parameters(m, run), hw)
    if run["sharding"] == "sharded":
        return micro_steps * (GATHERS_PER_MICRO_STEP * collective_seconds(weight_bytes(m, run), hw) + gradients)
    return micro_steps / (split["grad_accum"] or 1) * 2 * gradients


def tensor_room(hw: dict, states_mib: float) -> float:
    """What a device's tensors may take beyond its states: its memory less the runtime reserve, a
    fixed part (reserve_mib) and a share of the tensors (reserve_share)."""
    return (hw["device_memory_mib"] - hw["reserve_mib"]) / (1 + hw["reserve_share"]) - states_mib


def with_reserve(hw: dict, tensors_mib: float) -> float:
    """A device's memory for its tensors' peak: the peak and the runtime reserve on it."""
    return hw["reserve_mib"] + (1 + hw["reserve_share"]) * tensors_mib


def longest_sequence(m, hw: dict, run: dict, states_mib: float, step_mib: float, high: int) -> int:
    """The longest sequence of which one sample fits on a device beside the states (micro-batch 1),
    up to `high`; 0 if none, or if the optimizer step does not fit. A sample's memory grows with its
    length, so halving finds it."""
    room = tensor_room(hw, states_mib)

    def fits(length):
        return sample_bytes(m, length, run, hw["attention_scores_kept"]) / MIB <= room

    if step_mib > room or not fits(1):
        return 0
    low, up = 1, high + 1  # fits(low); up is past the end or does not fit
    while up - low > 1:
        middle = (low + up) // 2
        if fits(middle):
            low = middle
        else:
            up = middle
    return low


# --- one option ---------------------------------------------------------------------------------

def mfu_range(hw: dict, flops_per_micro_batch: float, method: str = "full", hardware_share: float = 1.0) -> list:
    """[low, high, central] MFU of an option. A GPU of the catalog has the curve fitted on measured
    runs (ftguide.evidence) of the utilisation of the arithmetic it does: U = ceiling × work / (work +
    half_work), the work that arithmetic per micro-batch (the model's FLOPs × `hardware_share`, the
    ratio of hardware_flops_per_token to flops_per_token), times the QLoRA factor for a QLoRA run, its
    range what the curve's residuals on sources it was not fitted on span; the MFU is U ÷
    `hardware_share`. The work, not the tokens: a step's fixed costs (kernel launches, the optimizer,
    communication latency) are paid whatever the arithmetic, so a small model needs more tokens to
    hide them. QLoRA's factor is what its measured runs show beside the others of the same work, not
    a mechanism. A MoAI flavor has the fixed range of the guide's times. Never above 1."""
    curve = hw.get("mfu_curve")
    if curve is None:
        return [hw["mfu_low"], hw["mfu_high"], hw["mfu"]]
    work = flops_per_micro_batch * hardware_share
    centre = (math.log(curve["ceiling"]) + math.log(work / (work + curve["half_work"]))
              + (curve["qlora"] if method == "qlora" else 0.0))
    utilisations = (min(math.exp(centre + shift), 1.0) for shift in (curve["low"], curve["high"], 0.0))
    return [min(used / hardware_share, 1.0) for used in utilisations]


def fit_verdict(needed_mib: float, have_mib: float, fits: bool, band: float) -> str:
    """fits, tight (it fits, but not by more than the memory model's own error) or no."""
    if not fits:
        return "no"
    return "tight" if needed_mib * (1 + band) > have_mib else "fits"


def run_tokens(inputs: dict) -> float:
    """The tokens the run computes: padded samples count their pad tokens; packed samples (a mean sample
    length given) only their own, since packing fills each sequence with samples."""
    if "samples" not in inputs:
        return inputs["tokens"] * inputs["epochs"]
    mean = inputs.get("mean_sample_length")
    per_epoch = inputs["samples"] * (inputs["sequence_length"] if mean is None else mean)
    return per_epoch * inputs["epochs"]


def chosen_hardware(coeffs: dict, choice: str) -> list:
    names = list(coeffs["hardware"])
    if choice == "all":
        return names
    if choice in GROUP_KINDS:
        return [name for name in names if coeffs["hardware"][name]["kind"] in GROUP_KINDS[choice]]
    return [choice]


def selected_hardware(coeffs: dict, inputs: dict) -> list:
    """The hardware chosen, narrowed to the reader's GPU and count where given."""
    gpu, count = inputs.get("gpu"), inputs.get("gpus")
    return [name for name in chosen_hardware(coeffs, inputs["hardware"])
            if gpu in (None, coeffs["hardware"][name]["gpu"]) and count in (None, coeffs["hardware"][name]["gpus"])]


def accumulation_steps(per_device: int, largest: int) -> int:
    """The fewest accumulation steps that split a device's share of the batch into equal
    micro-batches no larger than the largest that fits (one sample a step at worst)."""
    steps = math.ceil(per_device / largest)
    while per_device % steps:
        steps += 1
    return steps


def batch_split(hw: dict, inputs: dict, largest: int, one_step: int, one_step_only=False) -> dict:
    """Micro-batch × accumulation × devices: the reader's batch, raised only where a device would
    otherwise get no sample, or where the reader's own micro-batch does not divide its share. A
    device's share in one micro-batch where it fits so (`one_step`: the largest that fits without
    accumulation, its gradients released), else in micro-batches no larger than `largest`; none
    where the stack cannot accumulate (`one_step_only`)."""
    per_device = math.ceil(inputs["batch"] / hw["devices"])
    fixed = inputs["micro_batch"]
    single = per_device if fixed is None else fixed
    if per_device <= single <= one_step:
        return {"micro_batch": single, "grad_accum": 1, "global_batch": single * hw["devices"]}
    if one_step_only or largest < 1 or (fixed is not None and fixed > largest):
        return {"micro_batch": None, "grad_accum": None, "global_batch": None}
    steps = accumulation_steps(per_device, largest) if fixed is None else math.ceil(per_device / fixed)
    micro = per_device // steps if fixed is None else fixed
    return {"micro_batch": micro, "grad_accum": steps, "global_batch": micro * steps * hw["devices"]}


def model_of(coeffs: dict, inputs: dict) -> dict:
    """The run's model: one of models.csv, or the reader's config.json."""
    return coeffs["models"][inputs["model"]] if "model" in inputs else model_coefficients(inputs["config"])


def model_name(inputs: dict) -> str:
    return inputs["model"] if "model" in inputs else render(TEXT["config_name"], {"name": inputs["config"]["name"]})


def option(coeffs: dict, name: str, inputs: dict) -> dict:
    """Memory, batch split, time, cost and the guide's own figures of one hardware option."""
    m, hw = model_of(coeffs, inputs), coeffs["hardware"][name]
    run = run_knobs(coeffs, inputs, hw["devices"])
    length, tokens = inputs["sequence_length"], run_tokens(inputs)
    states_mib = device_state_bytes(m, run, hw["devices"], hw["gathers_layers"]) / MIB
    per_sample_mib = sample_bytes(m, length, run, hw["attention_scores_kept"]) / MIB
    step_mib = optimizer_step_bytes(m, run, hw["devices"]) / MIB  # taken once the activations are freed
    # What a step of one micro-batch releases: on a GPU stack (PyTorch's zero_grad); the MoAI platform's
    # memory is known only as a whole, fitted on the guide's figures.
    released_mib = released_gradient_bytes(m, run, hw["devices"], 1) / MIB if hw["frees_gradients"] else 0
    room = tensor_room(hw, states_mib)
    largest = largest_micro_batch(room, per_sample_mib, step_mib)
    one_step = largest_micro_batch(room, per_sample_mib, step_mib, released_mib)
    split = batch_split(hw, inputs, largest, one_step, run["adamw_step"] == "in-backward")
    fits = split["micro_batch"] is not None
    per_device = math.ceil(inputs["batch"] / hw["devices"])
    # Where it does not fit, the memory of the smallest micro-batch it could take: in the backward pass, its share.
    smallest = max(per_device, inputs["micro_batch"] or 1) if run["adamw_step"] == "in-backward" else None
    micro = split["micro_batch"] or smallest or inputs["micro_batch"] or 1
    released_at = released_mib if split["grad_accum"] == 1 or (not fits and per_device <= micro) else 0
    peak_mib = peak_bytes(states_mib, per_sample_mib, micro, step_mib, released_at)
    needed_mib = with_reserve(hw, peak_mib)
    flops = flops_per_token(m, length, run)
    at_peak_s = compute_seconds(tokens, flops, hw["gpus"], hw["peak_tflops_per_gpu"] * 1e12)
    startup_s = hw["startup_min"] * 60
    work = (split["micro_batch"] or 1) * length * flops
    mfu_low, mfu_high, mfu = mfu_range(hw, work, inputs["method"], hardware_share(m, length, run))
    communication_s = communication_seconds(m, hw, run, split, tokens)
    hours_low, hours_high, hours = (s / 3600 for s in run_seconds(at_peak_s, (mfu_low, mfu_high, mfu), startup_s,
                                                                  communication_s))
    alone = released_mib if per_device == 1 else 0  # a sample alone is a step of one micro-batch
    longest = longest_sequence(m, hw, run, states_mib - alone, step_mib + alone, sequence_length_limit(coeffs))
    price = hw["price"] if inputs["price"] is None else inputs["price"]
    out = {
        "hardware": name, "kind": hw["kind"], "gpu": hw["gpu"], "gpus": hw["gpus"], "devices": hw["devices"],
        "knobs": {knob: run[knob] for knob in STACK_KNOBS}, "fits": fits, **split,
        "largest_micro_batch": one_step if split["grad_accum"] == 1 else largest,
        "max_sequence_length": longest, "nodes": hw["nodes"],
        "optimizer_steps": math.ceil(tokens / length / split["global_batch"]) if fits else None,
        "tokens_per_step": split["global_batch"] * length if fits else None,
        "memory_per_device_mib": hw["device_memory_mib"],
        "memory_needed_mib": needed_mib, "memory_gib": needed_mib / 1024,
        "states_mib": states_mib, "reserve_mib": needed_mib - peak_mib,
        "flops_per_token": flops, "hours_at_peak": at_peak_s / 3600, "startup_h": startup_s / 3600,
        "communication_h": communication_s / 3600,
        "hours_low": hours_low, "hours_high": hours_high, "hours": hours,
        "price_per_gpu_hour": price, **costs(price, hw["gpus"], [hours, hours_low, hours_high], tokens),
        "price_source": hw["price_source"] if inputs["price"] is None else TEXT["your_price"],
        "mfu_low": mfu_low, "mfu_high": mfu_high, "mfu": mfu, "mfu_source": hw["mfu_source"],
        "measured": hw["measured"], "evidence": hw["mfu_source"],
        "caveats": [{"caveat": c["caveat"], "source": c["source"]} for c in hw["caveats"]
                    if c["applies_to"] in ("any", run["method"], run["optimizer"])],
    }
    out["fit"] = fit_verdict(out["memory_needed_mib"], hw["device_memory_mib"], fits, coeffs["memory_band"])
    out["meets_deadline"] = inputs["deadline"] is None or out["hours_high"] <= inputs["deadline"]
    # Without a price the budget cannot be said to be met.
    out["meets_budget"] = inputs["budget"] is None or (price is not None and out["cost_high"] <= inputs["budget"])
    out.update(guide_figures(coeffs, name, inputs, out["hours_at_peak"]))
    return out


def sequence_length_limit(coeffs: dict) -> int:
    return next(spec["high"] for spec in coeffs["inputs"] if spec["name"] == "sequence_length")


def costs(price, gpus: int, hours: list, tokens: float) -> dict:
    """Cost of the run and of a million tokens at the central, short and long hours; None without
    a price (an option the price tier does not list, until the reader gives one)."""
    cost, cost_low, cost_high = (None if price is None else price * gpus * h for h in hours)
    return {"cost": cost, "cost_low": cost_low, "cost_high": cost_high,
            "cost_per_m_tokens_low": None if price is None else cost_low / tokens * 1e6,
            "cost_per_m_tokens_high": None if price is None else cost_high / tokens * 1e6}


def guide_figures(coeffs: dict, name: str, inputs: dict, hours_at_peak: float) -> dict:
    """The guide's own hours where it measured the configuration (same model, flavor and sequence
    length, full fine-tuning): each reading raised to 100% of peak if it is faster, its own figure
    kept beside. None elsewhere."""
    out = {"guide_batch": None}
    for reading in ("reported", "from_time"):
        out[f"guide_hours_{reading}"] = out[f"guide_hours_{reading}_source"] = None
    row = next((r for r in coeffs["guide"] if r["model"] == inputs.get("model") and r["hardware"] == name
                and r["sequence_length"] == inputs["sequence_length"]), None)
    if row is None or inputs["method"] != "full":
        return out
    out["guide_batch"] = row["batch"]
    tokens = run_tokens(inputs)
    for reading in ("reported", "from_time"):
        if row[reading] is not None:
            source = tokens / row[reading] / 3600
            out[f"guide_hours_{reading}_source"] = source
            out[f"guide_hours_{reading}"] = max(source, hours_at_peak)
    return out


def evaluate(coeffs: dict, inputs: dict) -> list:
    return [option(coeffs, name, inputs) for name in selected_hardware(coeffs, inputs)]


# --- the choice -----------------------------------------------------------------------------------

def round_half_even(x: float) -> float:
    """x to the nearest whole number, a tie to the even one (as numpy and Python round)."""
    return float(round(x))


def first_best(options: list, key: str, better) -> dict:
    """The first option whose `key` no later option beats."""
    best = options[0]
    for o in options[1:]:
        if better(o[key], best[key]):
            best = o
    return best


def recommend(coeffs: dict, inputs: dict, options: list) -> list:
    """[name, reason]: the option that fits in memory and meets the deadline and budget even at its
    low MFU, with the lowest cost at that MFU (then the fastest, then the first listed); ties named."""
    # Never recommended: what does not fit, misses a limit, has no price, or runs on a GPU no
    # measurement supports.
    ok = [o for o in options if o["fits"] and o["meets_deadline"] and o["meets_budget"] and o["cost"] is not None
          and o["measured"]]
    if not ok:
        return [None, why_none(coeffs, inputs, options)]
    rank = [(round_half_even(o["cost_high"] * 100), round_half_even(o["hours_high"] * 100)) for o in ok]
    order = sorted(range(len(ok)), key=lambda i: rank[i])
    best = ok[order[0]]
    tied = [ok[i]["hardware"] for i in order[1:] if rank[i] == rank[order[0]]]
    return [best["hardware"], render(TEXT["recommended"], {
        "hardware": best["hardware"], "tie": render(TEXT["tie"], {"names": listing(tied)}) if tied else "",
        "limits": limits_text(inputs), "hours_low": format_number(best["hours_low"], 1),
        "hours_high": format_number(best["hours_high"], 1), "cost_low": format_number(best["cost_low"], 2),
        "cost_high": format_number(best["cost_high"], 2), "mfu_low": format_percent(best["mfu_low"]),
        "mfu_high": format_percent(best["mfu_high"])}) + render(TEXT["price_evidence"], {
        "price": format_number(best["price_per_gpu_hour"], 2), "price_source": best["price_source"],
        "evidence": best["evidence"]})]


def ranked_first(options: list, keys) -> dict:
    """The option with the lowest keys (to the cent or the hundredth), the first listed on a tie."""
    rank = [tuple(round_half_even(o[key] * 100) for key in keys) for o in options]
    return options[min(range(len(options)), key=lambda i: rank[i])]


def answer_cost(o: dict) -> str:
    if o["cost_low"] is None:
        return TEXT["unpriced"]
    return render(TEXT["cost_span"], {"low": format_number(o["cost_low"], 2), "high": format_number(o["cost_high"], 2)})


def answer(template: str, o, limit: str) -> str:
    if o is None:
        return render(TEXT[template + "_none"], {"limit": limit})
    return render(TEXT[template], {"limit": limit, "hardware": o["hardware"],
                                   "hours_low": format_number(o["hours_low"], 1),
                                   "hours_high": format_number(o["hours_high"], 1), "cost": answer_cost(o)})


def fewest_gpus(inputs: dict, options: list) -> list:
    """[name, sentence]: the fewest GPUs on a measured GPU that fit and meet the deadline (at their
    low MFU), the fastest of them first."""
    ok = [o for o in options if o["fits"] and o["meets_deadline"] and o["measured"]]
    best = ranked_first(ok, ("gpus", "hours_high")) if ok else None
    limit = ("" if inputs["deadline"] is None
             else render(TEXT["within_deadline"], {"deadline": format_general(inputs["deadline"])}))
    return [best and best["hardware"], answer("fewest", best, limit)]


def cheapest_within(inputs: dict, options: list) -> list:
    """[name, sentence]: the cheapest option on a measured, priced GPU that fits and meets the budget
    (at its low MFU), the fastest first on a tie."""
    ok = [o for o in options if o["fits"] and o["meets_budget"] and o["cost"] is not None and o["measured"]]
    best = ranked_first(ok, ("cost_high", "hours_high")) if ok else None
    limit = ("" if inputs["budget"] is None
             else render(TEXT["within_budget"], {"budget": format_number(inputs["budget"], 2)}))
    return [best and best["hardware"], answer("cheapest_pick", best, limit)]


def limit_parts(inputs: dict) -> str:
    parts = []
    if inputs["deadline"] is not None:
        parts.append(render(TEXT["deadline"], {"deadline": format_general(inputs["deadline"])}))
    if inputs["budget"] is not None:
        parts.append(render(TEXT["budget"], {"budget": format_number(inputs["budget"], 2)}))
    return TEXT["and"].join(parts)


def limits_text(inputs: dict) -> str:
    parts = limit_parts(inputs)
    return render(TEXT["limits"], {"parts": parts}) if parts else ""


def why_none(coeffs: dict, inputs: dict, options: list) -> str:
    """Why nothing qualifies, and the smallest change that would make something qualify."""
    fitting = [o for o in options if o["fits"]]
    if not fitting:
        one_step = [o for o in options if o["knobs"]["adamw_step"] == "in-backward" and o["largest_micro_batch"] >= 1]
        if one_step:  # it fits but for the batch: a step in the backward pass cannot accumulate
            best = first_best(one_step, "largest_micro_batch", lambda a, b: a > b)
            return render(TEXT["no_accumulation"], {
                "share": format_number(math.ceil(inputs["batch"] / best["devices"])), "hardware": best["hardware"],
                "largest": format_number(best["largest_micro_batch"]),
                "batch": format_number(best["largest_micro_batch"] * best["devices"])})
        room = [{**o, "room": o["memory_per_device_mib"] - (o["states_mib"] + o["reserve_mib"])} for o in options]
        worst = first_best(room, "room", lambda a, b: a > b)
        fixed = inputs["micro_batch"]
        return render(TEXT["nothing_fits"] if fixed is None else TEXT["nothing_fits_micro"], {
            "needed": format_number(worst["memory_needed_mib"] / 1024, 1), "hardware": worst["hardware"],
            "memory": format_number(worst["memory_per_device_mib"] / 1024, 1), "micro": format_number(fixed or 1),
            "tries": what_would_fit(coeffs, inputs)})
    unmeasured = [o["hardware"] for o in fitting if o["meets_deadline"] and o["meets_budget"] and o["cost"] is not None]
    if unmeasured:  # they qualify but for the evidence (recommend passed them over for it alone)
        return render(TEXT["none_measured"], {"names": listing(unmeasured)})
    priced = [o for o in fitting if o["cost"] is not None]
    if not priced:
        return render(TEXT["none_priced"], {"names": listing(o["hardware"] for o in fitting)})
    advice = []
    if inputs["deadline"] is not None:
        fastest = first_best(fitting, "hours_high", lambda a, b: a < b)
        advice.append(render(TEXT["fastest"], {"hardware": fastest["hardware"],
                                               "hours": format_number(fastest["hours_high"], 1)}))
    if inputs["budget"] is not None:
        cheapest = first_best(priced, "cost_high", lambda a, b: a < b)
        advice.append(render(TEXT["cheapest"], {"hardware": cheapest["hardware"],
                                                "cost": format_number(cheapest["cost_high"], 2)}))
    best = first_best(fitting_shares(inputs, priced), "share", lambda a, b: a > b)
    if best["share"] > 0:
        advice.append(render(TEXT["cut"], {"share": format_percent(best["share"]), "hardware": best["hardware"]}))
    else:  # a share of 0% is no advice
        advice.append(TEXT["no_share"])
    return render(TEXT["none_meets"], {"parts": limit_parts(inputs), "advice": TEXT["advice_separator"].join(advice)})


def fitting_shares(inputs: dict, fitting: list) -> list:
    """The share of the run's tokens each option could do within the limits at its low MFU: the
    start-up is paid whatever the share."""
    out = []
    for o in fitting:
        compute_h = o["hours_high"] - o["startup_h"]
        share = 1.0
        if inputs["deadline"] is not None:
            share = min(share, (inputs["deadline"] - o["startup_h"]) / compute_h)
        if inputs["budget"] is not None:
            affordable_h = inputs["budget"] / (o["price_per_gpu_hour"] * o["gpus"])
            share = min(share, (affordable_h - o["startup_h"]) / compute_h)
        out.append({"hardware": o["hardware"], "share": max(share, 0.0)})
    return out


def what_would_fit(coeffs: dict, inputs: dict) -> str:
    """Try, in order: another method, any hardware, a shorter sequence."""
    def fitting(**changes):
        return [o for o in evaluate(coeffs, {**inputs, **changes}) if o["fits"]]

    tries = []
    if inputs["micro_batch"] is not None:
        own = [o for o in evaluate(coeffs, {**inputs, "micro_batch": None}) if o["fits"]]
        if own:
            best = first_best(own, "largest_micro_batch", lambda a, b: a > b)
            tries.append(render(TEXT["micro_fits"], {"micro": format_number(best["largest_micro_batch"]),
                                                     "hardware": best["hardware"]}))
    method = next((m for m in METHODS if m != inputs["method"] and fitting(method=m)), None)
    if method:
        tries.append(render(TEXT["method_fits"], {"method": METHODS[method]}))
    if inputs["hardware"] != "all" or inputs.get("gpu") is not None or inputs.get("gpus") is not None:
        anywhere = fitting(hardware="all", gpu=None, gpus=None)
        if anywhere:
            tries.append(render(TEXT["hardware_fits"], {"hardware": anywhere[0]["hardware"]}))
    length = inputs["sequence_length"] // 2
    while length >= 1 and not fitting(sequence_length=length):
        length //= 2
    if length >= 1:
        tries.append(render(TEXT["length_fits"], {"length": format_number(length)}))
    return TEXT["advice_separator"].join(tries) if tries else TEXT["nothing_in_data"]


def knob_notes(inputs: dict, options: list) -> list:
    """What a chosen stack's defaults set, for the knobs the reader left empty (they may differ with
    the number of GPUs): one note per set of values, naming its options. Sharding is not named for
    an option of one device, where there is nothing to shard."""
    if inputs.get("stack", PLANNER_STACK) == PLANNER_STACK:
        return []
    left = [knob for knob in STACK_KNOBS if inputs.get(knob) is None and knob not in UNUSED_KNOBS[inputs["method"]]]
    by_values = {}
    for o in options:
        values = ", ".join(f"{knob} {o['knobs'][knob]}" for knob in left if knob != "sharding" or o["devices"] > 1)
        by_values.setdefault(values, []).append(o["hardware"])
    return [render(TEXT["note_knobs"], {"stack": quote(inputs["stack"]), "knobs": values, "names": listing(names)})
            for values, names in by_values.items() if values]


def notes_for(inputs: dict, options: list) -> list:
    notes = []
    if inputs["price"] is not None:
        notes.append(render(TEXT["note_price"], {"price": format_number(inputs["price"], 2)}))
    notes += knob_notes(inputs, options)
    raised = [o["hardware"] for o in options if o["fits"] and o["global_batch"] > inputs["batch"]]
    if raised:
        notes.append(render(TEXT["note_batch"], {"names": listing(raised)}))
    above_peak = [o["hardware"] for o in options if o["guide_hours_reported_source"] is not None
                  and o["guide_hours_reported_source"] < o["hours_at_peak"]]
    if above_peak:
        notes.append(render(TEXT["note_guide"], {"names": listing(above_peak)}))
    unpriced = [o["hardware"] for o in options if o["cost"] is None]
    if unpriced:
        notes.append(render(TEXT["note_unpriced"], {"names": listing(unpriced)}))
    if inputs["method"] == "qlora":
        notes.append(TEXT["note_qlora"])
    communicating = {}  # by the state's sharding, which a stack's default may set per option
    for o in options:
        if o["communication_h"] > 0:
            communicating.setdefault(o["knobs"]["sharding"], []).append(o["hardware"])
    for sharding, names in communicating.items():
        notes.append(render(TEXT["note_communication"], {"names": listing(names), "sharding": SHARDING[sharding]}))
    flavors = [o for o in options if o["kind"] == "MoAI flavor"]
    if flavors:
        notes.append(render(TEXT["note_startup_moai"], {"minutes": format_number(flavors[0]["startup_h"] * 60, 1)}))
    if len(flavors) < len(options):
        notes.append(TEXT["note_startup_gpu"])
    caveats = {}  # each caveat once, with the options it concerns
    for o in options:
        for c in o["caveats"]:
            caveats.setdefault(c["caveat"], [c, []])[1].append(o["hardware"])
    for c, names in caveats.values():
        notes.append(render(TEXT["note_caveat"], {"names": listing(names), "caveat": c["caveat"],
                                                  "source": c["source"]}))
    return notes


def plan(coeffs: dict, inputs: dict) -> dict:
    """The plan for checked inputs, as `python -m ftguide plan --json` prints it."""
    options = evaluate(coeffs, inputs)
    recommended, reason = recommend(coeffs, inputs, options)
    fewest, fewest_reason = fewest_gpus(inputs, options)
    cheapest, cheapest_reason = cheapest_within(inputs, options)
    return {"inputs": inputs, "options": options, "recommended": recommended, "reason": reason,
            "notes": notes_for(inputs, options), "fewest_gpus": fewest, "fewest_gpus_reason": fewest_reason,
            "cheapest": cheapest, "cheapest_reason": cheapest_reason}


# --- the plan for people ----------------------------------------------------------------------------

def heading(inputs: dict) -> str:
    kind = "samples" if "samples" in inputs else "tokens"
    packed = kind == "samples" and inputs.get("mean_sample_length") is not None
    values = {"count": format_number(inputs[kind])}
    if packed:
        values["mean"] = format_number(inputs["mean_sample_length"])
    size = render(TEXT["size_packed" if packed else f"size_{kind}"], values)
    return render(TEXT["heading"], {
        "model": model_name(inputs), "method": METHODS[inputs["method"]], "size": size,
        "length": format_number(inputs["sequence_length"]), "epochs": format_general(inputs["epochs"]),
        "batch": format_number(inputs["batch"])})


def span(low, high, decimals: int, percent=False) -> str:
    if low is None:
        return TEXT["not_known"]
    shown = format_percent if percent else format_number
    return render(TEXT["span"], {"low": shown(low, decimals), "high": shown(high, decimals)})


def option_cells(o: dict) -> dict:
    """One option as the plan's table shows it, keyed as COLUMNS."""
    guide = o["guide_hours_reported"]
    reported = (TEXT["none"] if guide is None else format_number(guide, 2) if guide == o["guide_hours_reported_source"]
                else render(TEXT["guide_raised"], {"hours": format_number(guide, 2),
                                                   "source": format_number(o["guide_hours_reported_source"], 2)}))
    return {
        "gpus": format_number(o["gpus"]), "fits": TEXT["yes"] if o["fits"] else TEXT["no"],
        "split": render(TEXT["split"], {"micro": format_number(o["micro_batch"]),
                                        "accumulation": format_number(o["grad_accum"])}) if o["fits"] else TEXT["none"],
        "memory": render(TEXT["memory"], {"needed": format_number(o["memory_needed_mib"] / 1024, 1),
                                          "have": format_number(o["memory_per_device_mib"] / 1024, 1)}),
        "mfu": span(o["mfu_low"], o["mfu_high"], 0, percent=True),
        "hours": span(o["hours_low"], o["hours_high"], 2), "cost": span(o["cost_low"], o["cost_high"], 2),
        "cost_per_m_tokens": span(o["cost_per_m_tokens_low"], o["cost_per_m_tokens_high"], 3),
        "meets_limits": ((TEXT["yes"] if o["meets_deadline"] and o["meets_budget"] else TEXT["no"])
                         if o["fits"] else TEXT["none"]),
        "guide_from_time": (TEXT["none"] if o["guide_hours_from_time"] is None
                            else format_number(o["guide_hours_from_time"], 2)),
        "guide_reported": reported,
        "measured": TEXT["yes"] if o["measured"] else TEXT["unmeasured"],
        "largest_micro": format_number(o["largest_micro_batch"]),
        "longest": format_number(o["max_sequence_length"]),
        "communication": format_number(o["communication_h"], 2) if o["communication_h"] > 0 else TEXT["none"],
    }


def shown_columns(cells: list) -> list:
    """The columns of COLUMNS with something to say: one whose every cell is empty is dropped."""
    return [key for key in COLUMNS if any(row[key] != TEXT["none"] for row in cells)]


def summary_line(result: dict) -> str:
    """The plan in one line, for a reader who is still typing: the pick with its hours and cost."""
    pick = next((o for o in result["options"] if o["hardware"] == result["recommended"]), None)
    if pick is None:
        return TEXT["summary_none"]
    return render(TEXT["summary"], {"hardware": pick["hardware"], "hours_low": format_number(pick["hours_low"], 1),
                                    "hours_high": format_number(pick["hours_high"], 1),
                                    "cost_low": format_number(pick["cost_low"], 2),
                                    "cost_high": format_number(pick["cost_high"], 2)})
