"""kernel.mjs against kernel.py: the same answers for the same inputs, with no site build.

kernel.mjs is loaded as it is, as a module, into a blank Chromium page with the coefficients the
build would write into the planner page; for every generated set of form texts (fixed seed) the
two kernels read the inputs, plan, and write the table's cells and heading. Strings and errors must
be equal, numbers equal to a relative 1e-9.
"""

import base64
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ftguide.planner import kernel
from ftguide.planner.coefficients import coefficients
from tests.helpers import ROOT

pytest.importorskip("playwright.sync_api")

KERNEL = ROOT / "_ext" / "planner" / "kernel.mjs"
RELATIVE = 1e-9


@pytest.fixture(scope="module")
def coeffs(tables):
    # Through JSON, as the page receives them.
    return json.loads(json.dumps(coefficients(tables), allow_nan=False))


@pytest.fixture(scope="module")
def js(browser, coeffs):
    """A blank page with kernel.mjs imported as `window.kernel` and the coefficients in use."""
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    url = "data:text/javascript;base64," + base64.b64encode(KERNEL.read_bytes()).decode()
    page.evaluate("async ([url, coeffs]) => { window.kernel = await import(url); window.coeffs = coeffs; "
                  "kernel.use(coeffs); }", [url, coeffs])
    yield page
    page.close()
    assert errors == []


def differences(python, script, path="") -> list:
    """Where two JSON values differ: keys, strings, booleans and None exactly, numbers to 1e-9."""
    if isinstance(python, dict):
        if not isinstance(script, dict) or list(python) != list(script):
            return [f"{path}: keys {list(python)} != {script if not isinstance(script, dict) else list(script)}"]
        return [d for key in python for d in differences(python[key], script[key], f"{path}.{key}")]
    if isinstance(python, (list, tuple)):
        if not isinstance(script, list) or len(python) != len(script):
            return [f"{path}: {python!r} != {script!r}"]
        return [d for n, (a, b) in enumerate(zip(python, script)) for d in differences(a, b, f"{path}[{n}]")]
    numbers = isinstance(python, (int, float)) and not isinstance(python, bool)
    if numbers and isinstance(script, (int, float)) and not isinstance(script, bool):
        same = math.isclose(python, script, rel_tol=RELATIVE, abs_tol=0)
        return [] if same else [f"{path}: {python!r} != {script!r}"]
    return [] if python == script and type(python) is type(script) else [f"{path}: {python!r} != {script!r}"]


def python_answer(coeffs, texts: dict) -> dict:
    read = kernel.read_inputs(coeffs, texts)
    if "errors" in read:
        return {"read": read}
    result = kernel.plan(coeffs, read["inputs"])
    cells = [kernel.option_cells(o) for o in result["options"]]
    return {"read": read, "plan": result, "cells": cells, "heading": kernel.heading(read["inputs"]),
            "columns": kernel.shown_columns(cells), "summary": kernel.summary_line(result)}


SCRIPT_ANSWER = """(texts) => {
  const read = kernel.read_inputs(coeffs, texts);
  if ("errors" in read) return { read };
  const result = kernel.plan(coeffs, read.inputs);
  const cells = result.options.map(kernel.option_cells);
  return { read, plan: result, cells, heading: kernel.heading(read.inputs), columns: kernel.shown_columns(cells),
           summary: kernel.summary_line(result) };
}"""


def script_answer(js, texts: dict) -> dict:
    """The browser kernel's answer with the coefficients in use in the page (`use_coefficients`)."""
    return js.evaluate(SCRIPT_ANSWER, texts)


def use_coefficients(js, coeffs: dict) -> None:
    js.evaluate("(c) => { window.coeffs = c; kernel.use(c); }", coeffs)


# --- generated form texts -------------------------------------------------------------------------

def written(number: float, whole: bool):
    """A number as a reader might write it: plain, grouped, with a suffix or an exponent."""
    plain = f"{int(number)}" if whole else f"{number:g}"
    ways = [st.just(plain), st.just(f"{int(number):,}") if whole else st.just(plain)]
    if whole and number >= 1000 and number % 1000 == 0:
        ways.append(st.just(f"{int(number) // 1000}k"))
    if whole and number >= 1_000_000 and number % 100_000 == 0:
        ways.append(st.just(f"{number / 1e6:g}M"))
    if whole:
        ways.append(st.just(f"{int(number):_}"))
        ways.append(st.just(f"{int(number):,}".replace(",", " ")))
    return st.one_of(ways)


# What a reader may type by mistake: other scripts' digits, hidden characters, quotes, words.
ODD = st.text(alphabet=st.sampled_from(list("0123456789.,-+eEkM _'\"\\ab") + ["\u200b", "\u00a0", "\ufeff", "\u0661",
                                                                               "\uff11", "\n", "\t", "\x1b", "\u202e"]),
              max_size=8)


def number_text(low: float, high: float, whole: bool):
    values = (st.integers(int(max(low, 1)), int(min(high, 10**12))).map(float) if whole
              else st.floats(low, min(high, 1e6), allow_nan=False))
    return values.flatmap(lambda number: written(number, whole))


LLAMA3_CONFIG = {"_name_or_path": "meta-llama/Meta-Llama-3-8B", "model_type": "llama", "hidden_size": 4096,
                 "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
                 "intermediate_size": 14336, "vocab_size": 128256, "tie_word_embeddings": False}
CONFIGS = [json.dumps(LLAMA3_CONFIG), json.dumps({**LLAMA3_CONFIG, "num_local_experts": 8}),
           json.dumps({**LLAMA3_CONFIG, "hidden_size": 4096.0, "head_dim": 128, "_name_or_path": "a\u200bb"}),
           json.dumps({k: v for k, v in LLAMA3_CONFIG.items() if k != "vocab_size"}),
           json.dumps({**LLAMA3_CONFIG, "num_key_value_heads": 7}), json.dumps({**LLAMA3_CONFIG, "hidden_size": 4097}),
           json.dumps({**LLAMA3_CONFIG, "vocab_size": "big"}), "{not json", "[1, 2]", "NaN", "null", "1e400",
           json.dumps({**LLAMA3_CONFIG, "num_hidden_layers": 1e400}).replace("Infinity", "1e400"),
           json.dumps({**LLAMA3_CONFIG, "final_logit_softcapping": 30.0}),
           json.dumps({**LLAMA3_CONFIG, "final_logit_softcapping": None})]
BAD_NUMBERS = st.one_of(ODD, st.sampled_from(["0", "-5", "1e400", "nan", "inf", "2.5", "1e30"]))


@st.composite
def form_texts(draw, coeffs):
    """Mostly runs a reader would plan (so every kind of answer is reached), one field in four
    states typed wrong or left empty."""
    specs = {spec["name"]: spec for spec in coeffs["inputs"]}
    size = draw(st.sampled_from(["samples", "tokens"]))
    # A stack's knob is now and then left empty, to take the chosen stack's default.
    texts = {name: draw(st.sampled_from(kernel.choices(coeffs, spec) + ([""] if name in kernel.STACK_KNOBS else [])))
             for name, spec in specs.items() if spec["kind"] == "choice"}
    # The GPU and its count narrow the hardware: mostly left empty, now and then one it does not offer.
    texts["gpu"], texts["gpus"] = "", ""
    if draw(st.integers(0, 4)) == 0:
        texts["gpu"] = draw(st.sampled_from(kernel.choices(coeffs, specs["gpu"])))
        texts["hardware"] = draw(st.sampled_from(["all", "gpus", texts["hardware"]]))
    if draw(st.integers(0, 4)) == 0:
        texts["gpus"] = draw(st.sampled_from(["1", "8", "16", "3"]))
        texts["hardware"] = draw(st.sampled_from(["all", "gpus"]))
    texts[size] = draw(st.integers(1, 300_000).map(str) if size == "samples"
                       else st.integers(1, 10**10).flatmap(lambda n: written(n, True)))
    lengths = ["", "128", "512", "1024", "2,048", "4096", "8k", "32768", "131072"]
    texts["sequence_length"] = draw(st.sampled_from(lengths))
    for name, spec in specs.items():  # every other declared input, a new one included
        if name not in texts and not spec["group"] and spec["kind"] not in ("choice", "config") and name != "gpus":
            high = min(spec["high"], 64) if name == "micro_batch" else spec["high"]
            texts[name] = draw(st.one_of(st.just(""), number_text(spec["low"], high, spec["kind"] == "whole")))
    if draw(st.integers(0, 4)) == 0:  # a config.json in place of the model, now and then
        texts["config"] = draw(st.sampled_from(CONFIGS))
    broken = draw(st.sampled_from([None, None, None, *texts]))
    if broken is not None:
        texts[broken] = draw(st.one_of(st.just(""), BAD_NUMBERS, number_text(1, 10**6, True)))
    return texts


def test_the_browser_kernel_reads_plans_and_writes_as_python_does(js, coeffs):
    """At least 500 generated form states: errors, plans, cells and headings all equal."""
    seen = {"errors": 0, "plans": 0, "nothing fits": 0, "none meets": 0, "recommended": 0}

    @settings(max_examples=520, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(texts=form_texts(coeffs))
    def same(texts):
        python = python_answer(coeffs, texts)
        script = script_answer(js, texts)
        assert differences(python, script) == [], texts
        if "plan" not in python:
            seen["errors"] += 1
            return
        seen["plans"] += 1
        reason = python["plan"]["reason"]
        seen["nothing fits"] += reason.startswith("Nothing fits")
        seen["none meets"] += reason.startswith("None fits")
        seen["recommended"] += python["plan"]["recommended"] is not None

    same()
    # The generated states reach every branch: refused inputs, plans, and each kind of answer.
    assert sum((seen["errors"], seen["plans"])) >= 500 and min(seen.values()) >= 5, seen


def test_options_without_a_price_are_shown_and_never_recommended_alike(js, coeffs):
    """An option the price tier does not list: its cost is unknown in both kernels, it is never the
    pick, and a price given by the reader makes it comparable again."""
    unpriced = json.loads(json.dumps(coeffs))
    cheapest = next(name for name, hw in coeffs["hardware"].items() if hw["kind"] == "GPU node" and hw["price"])
    unpriced["hardware"][cheapest]["price"] = None
    cases = [{"model": m, "samples": "287,113", "deadline": d, "budget": b, "price": p, "hardware": h}
             for m in list(coeffs["models"])[:2] for d in ("", "0.5") for b in ("", "20")
             for p in ("", "2") for h in ("gpu-nodes", cheapest)]
    use_coefficients(js, unpriced)
    try:
        for texts in cases:
            python = python_answer(unpriced, texts)
            assert differences(python, script_answer(js, texts)) == [], texts
            if not texts["price"]:
                assert python["plan"]["recommended"] != cheapest
    finally:
        use_coefficients(js, coeffs)


def test_a_step_in_the_backward_pass_is_planned_alike(js, coeffs):
    """torchtune's single-GPU full fine-tune steps in the backward pass and cannot accumulate: a batch
    that fits in one micro-batch, and one that does not (answered as such), agree in both."""
    for batch in ("1", "8", "64", "4096"):
        texts = {"model": "Llama3 8B", "samples": "10,000", "method": "full", "stack": "torchtune", "gpus": "1",
                 "hardware": "gpus", "batch": batch}
        python = python_answer(coeffs, texts)
        assert differences(python, script_answer(js, texts)) == [], texts
        assert all(o["knobs"]["adamw_step"] == "in-backward" for o in python["plan"]["options"])
    assert "cannot accumulate gradients" in python["plan"]["reason"]


@pytest.mark.parametrize("value", [2.675, 0.125, 1.005, 0.585, 1234567.5, 0, 1e21, 99.995, 1 / 3, 287113, 0.01])
def test_numbers_are_written_alike(js, value):
    """Intl.NumberFormat rounds the shortest decimal that reads back as the number, a tie to even:
    the Python side does the same (2.675 is 2.68 in both, where Python's own format says 2.67)."""
    python = [kernel.format_number(value, d) for d in (0, 1, 2, 3)]
    python += [kernel.format_percent(value), kernel.format_general(value)]
    script = js.evaluate("(x) => [0, 1, 2, 3].map((d) => kernel.format_number(x, d))"
                         ".concat([kernel.format_percent(x), kernel.format_general(x)])", value)
    assert python == script


@pytest.mark.parametrize("text", ["50,000", "50 000", "50_000", "50k", "1.2M", "2e5", ".5", "5.", "1,2345", "١٢٣",
                                  "１２３", "\ufeff5", " 7 ", "5\n", "1e400", "nan", "-3", "1,000.5", "12 k", "B", ""])
def test_texts_read_as_the_same_number(js, text):
    python = kernel.read_number(text)
    script = js.evaluate("(t) => { const x = kernel.read_number(t); return Number.isNaN(x) ? 'NaN' : x; }", text)
    assert (script == "NaN" and math.isnan(python)) or script == python, (text, python, script)


@pytest.mark.parametrize("text", ["plain", "it's", "say \"hi\"", "both ' and \"", "a\u200bb", "\x1b]0;x\x07",
                                  "\u00a0", "tab\there", "back\\slash", "\U0001f600", "\u202eevil"])
def test_what_the_reader_typed_is_quoted_alike(js, text):
    assert kernel.quote(text) == js.evaluate("(t) => kernel.quote(t)", text)


def test_model_arithmetic_is_the_same(js, tables):
    """Every model of models.csv counted in both: parameters, matrix weights, adapters, widths."""
    configs = json.loads(tables.models.to_json(orient="records"))
    python = [kernel.model_coefficients(config) for config in configs]
    assert differences(python, js.evaluate("(configs) => configs.map(kernel.model_coefficients)", configs)) == []


def test_no_sync_gradients_are_the_same(js, tables):
    """The unsharded gradients of FSDP's no_sync (the evidence's measured runs use it) agree in both."""
    models = [kernel.model_coefficients(row) for row in tables.models.to_dict(orient="records")]
    runs = [{"method": "lora", "lora_targets": "attention"}, {"method": "full", "lora_targets": "attention"},
            {"method": "lora", "lora_targets": "all-linear+embeddings"}]
    python = [[kernel.no_sync_gradient_bytes(m, run) for run in runs] for m in models]
    script = js.evaluate("([models, runs]) => models.map((m) => runs.map((r) => kernel.no_sync_gradient_bytes(m, r)))",
                         [models, runs])
    assert differences(python, script) == []


def test_fsdp1_offloads_held_gradient_shards_are_the_same(js, tables):
    """The gradient shards FSDP1's CPU offload holds to the end of the backward pass (the evidence's
    measured runs use it) agree in both."""
    models = [kernel.model_coefficients(row) for row in tables.models.to_dict(orient="records")]
    cases = [[{"method": "full", "lora_targets": "attention"}, 2],
             [{"method": "lora", "lora_rank": 64, "lora_targets": "all-linear"}, 8],
             [{"method": "qlora", "lora_rank": 8, "lora_targets": "all-linear+embeddings"}, 1]]
    python = [[kernel.held_gradient_shard_bytes(m, *case) for case in cases] for m in models]
    script = js.evaluate("([models, cases]) => models.map((m) => cases.map(([r, d]) => "
                         "kernel.held_gradient_shard_bytes(m, r, d)))", [models, cases])
    assert differences(python, script) == []


def test_zero3_fp32_gradient_groups_are_the_same(js, tables):
    """The FP32 gradients of one ZeRO-3 sub-group (the evidence's measured runs use it) agree in both."""
    models = [kernel.model_coefficients(row) for row in tables.models.to_dict(orient="records")]
    full = {"method": "full", "lora_targets": "attention"}
    cases = [[full, 1, 1e9], [full, 8, 1e9],
             [{"method": "lora", "lora_rank": 64, "lora_targets": "all-linear"}, 4, 1e9],
             [{"method": "lora", "lora_rank": 8, "lora_targets": "all-linear+embeddings"}, 2, 1e6]]
    python = [[kernel.fp32_gradient_group_bytes(m, *case) for case in cases] for m in models]
    script = js.evaluate("([models, cases]) => models.map((m) => cases.map(([r, d, s]) => "
                         "kernel.fp32_gradient_group_bytes(m, r, d, s)))", [models, cases])
    assert differences(python, script) == []


def test_optimizer_steps_are_the_same(js, tables):
    """What the optimizer step takes (PyTorch's foreach AdamW) agrees in both."""
    models = [kernel.model_coefficients(row) for row in tables.models.to_dict(orient="records")]
    full = {"method": "full", "lora_targets": "attention", "sharding": "replicated", "adamw_step": "foreach"}
    cases = [[{**full, "optimizer": "adamw"}, 1], [{**full, "optimizer": "adamw-bf16", "sharding": "sharded"}, 8],
             [{**full, "optimizer": "paged-adamw-8bit"}, 1], [{**full, "optimizer": "offloaded"}, 2],
             [{**full, "optimizer": "adamw", "adamw_step": "in-place"}, 1],
             [{"method": "lora", "lora_rank": 64, "lora_targets": "all-linear+embeddings", "optimizer": "adamw-bf16",
               "sharding": "replicated", "adamw_step": "foreach"}, 2]]
    python = [[kernel.optimizer_step_bytes(m, *case) for case in cases] for m in models]
    script = js.evaluate("([models, cases]) => models.map((m) => cases.map(([r, d]) => "
                         "kernel.optimizer_step_bytes(m, r, d)))", [models, cases])
    assert differences(python, script) == []


def test_gradients_held_and_released_are_the_same(js, tables):
    """The gradients a device holds, what a step of one micro-batch releases, and the largest
    micro-batch with and without that release agree in both."""
    models = [kernel.model_coefficients(row) for row in tables.models.to_dict(orient="records")]
    full = {"method": "full", "lora_targets": "attention", "optimizer": "adamw-bf16", "sharding": "replicated",
            "adamw_step": "in-place"}
    cases = [[full, 1, 1], [full, 1, 4], [{**full, "sharding": "sharded"}, 8, 1],
             [{**full, "optimizer": "offloaded"}, 2, 1], [{**full, "adamw_step": "in-backward"}, 1, 1],
             [{"method": "lora", "lora_rank": 64, "lora_targets": "all-linear+embeddings", "optimizer": "adamw",
               "sharding": "replicated", "adamw_step": "foreach"}, 2, 1]]
    python = [[[kernel.gradient_bytes(m, r, d), kernel.released_gradient_bytes(m, r, d, a),
                kernel.device_state_bytes(m, r, d)] for r, d, a in cases] for m in models]
    script = js.evaluate("([models, cases]) => models.map((m) => cases.map(([r, d, a]) => "
                         "[kernel.gradient_bytes(m, r, d), kernel.released_gradient_bytes(m, r, d, a), "
                         "kernel.device_state_bytes(m, r, d)]))", [models, cases])
    assert differences(python, script) == []
    hws = [{"device_memory_mib": memory, "reserve_mib": fixed, "reserve_share": share}
           for memory in (24564.0, 81559.0) for fixed in (0.0, 2240.5) for share in (0.0, 0.06)]
    python = [[kernel.tensor_room(hw, 1234.5), kernel.with_reserve(hw, 777.25)] for hw in hws]
    script = js.evaluate("(hws) => hws.map((hw) => [kernel.tensor_room(hw, 1234.5), kernel.with_reserve(hw, 777.25)])",
                         hws)
    assert differences(python, script) == []
    rooms = [[room, per_sample, step, released] for room in (-5.0, 0.0, 900.5, 40000.0)
             for per_sample in (1.5, 700.0) for step in (0.0, 1000.0) for released in (0.0, 300.0)]
    python = [kernel.largest_micro_batch(*r) for r in rooms]
    script = js.evaluate("(rooms) => rooms.map((r) => kernel.largest_micro_batch(...r))", rooms)
    assert differences(python, script) == []


def test_a_gpus_mfu_range_is_computed_alike(js, coeffs):
    """Each GPU option's MFU range, from far less work than any measured run to far more."""
    works = [1e11, 1e12, 1e13, 1e14, 3e14, 1e15, 1e16]
    names = [name for name, hw in coeffs["hardware"].items() if hw["kind"] != "MoAI flavor"]
    python = [[kernel.mfu_range(coeffs["hardware"][name], work, method) for work in works
               for method in ("full", "qlora")] for name in names]
    script = js.evaluate("([names, works]) => names.map((n) => works.flatMap((w) => ['full', 'qlora'].map((m) => "
                         "kernel.mfu_range(coeffs.hardware[n], w, m))))", [names, works])
    assert differences(python, script) == []


def test_the_arithmetic_the_gpu_does_is_the_same(js, tables):
    """Every model, method and recomputation, at a short and a long sequence: the causal half of the
    attention and what recomputation adds, and the MFU a curve gives at that share of arithmetic."""
    models = [kernel.model_coefficients(row) for row in tables.models.to_dict(orient="records")]
    runs = [{"method": method, "checkpointing": ck, "lora_rank": 8, "lora_targets": targets}
            for method in ("full", "lora", "qlora") for ck in ("full", "offloaded", "selective", "none")
            for targets in ("attention", "all-linear")]
    cases = [[m, length, run] for m in models for length in (512, 32768) for run in runs]
    python = [[kernel.hardware_flops_per_token(*case), kernel.hardware_share(*case)] for case in cases]
    script = js.evaluate("(cases) => cases.map((c) => [kernel.hardware_flops_per_token(...c), "
                         "kernel.hardware_share(...c)])", cases)
    assert differences(python, script) == []
    curve = {"mfu_curve": {"ceiling": 0.9, "half_work": 1e13, "qlora": 0.2, "low": -0.7, "high": 0.5}}
    shares = [[work, method, share] for work in (1e12, 1e14, 1e16) for method in ("full", "qlora")
              for share in (0.5, 1.0, 1.4)]
    python = [kernel.mfu_range(curve, *case) for case in shares]
    script = js.evaluate("([curve, cases]) => cases.map((c) => kernel.mfu_range(curve, ...c))", [curve, shares])
    assert differences(python, script) == []


def test_activations_with_and_without_qloras_kept_inputs_are_the_same(js, tables):
    models = [kernel.model_coefficients(row) for row in tables.models.to_dict(orient="records")]
    cases = [["none", False, False], ["none", False, True], ["full", True, True], ["selective", True, False],
             ["offloaded", False, False]]
    python = [[kernel.activation_bytes_per_token(m, 2048, *case) for case in cases] for m in models]
    script = js.evaluate("([models, cases]) => models.map((m) => cases.map((c) => "
                         "kernel.activation_bytes_per_token(m, 2048, ...c)))", [models, cases])
    assert differences(python, script) == []


def test_an_mfu_of_zero_is_refused_in_both(js):
    with pytest.raises(kernel.PlanError, match=kernel.TEXT["mfu_positive"]):
        kernel.bounded_seconds(10.0, 0)
    message = js.evaluate("() => { try { kernel.bounded_seconds(10, 0); } catch (e) { return e.message; } }")
    assert message == kernel.TEXT["mfu_positive"]


def test_the_number_pattern_is_one(js):
    assert js.evaluate("() => [kernel.NUMBER_PATTERN, kernel.SUFFIXES, kernel.BLANKS]") == [
        kernel.NUMBER_PATTERN, kernel.SUFFIXES, kernel.BLANKS]
