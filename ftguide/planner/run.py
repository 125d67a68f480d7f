"""A plan for the reader's run: the kernel's answer, with its options as a table for pages."""

from dataclasses import dataclass

import pandas as pd

from ftguide.planner import kernel
from ftguide.planner.coefficients import coefficients
from ftguide.planner.inputs import INPUTS
from ftguide.planner.kernel import choices

__all__ = ["DEFAULTS", "Plan", "coefficients", "hardware_choices", "options_frame", "plan", "with_example"]

DEFAULTS = {spec.name: spec.default for spec in INPUTS if spec.default is not None}
# Measurements the FLOP count is set beside on the planner page. LoRA on GPT-3 175B trained 25%
# faster than full fine-tuning (Hu et al. 2021, section 4.2); QLoRA on Qwen-7B took 5% (8,192
# tokens) to 2.5 times (256 tokens) LoRA's time (QwenLM/Qwen README, "Profiling of Memory and Speed").
LORA_MEASURED_SPEEDUP = 1.25
QLORA_MEASURED_SLOWDOWN = (1.05, 2.5)


@dataclass(frozen=True)
class Plan:
    """kernel.plan's answer (what `plan --json` prints), with its options as a table for pages."""

    json: dict

    inputs = property(lambda self: self.json["inputs"])
    recommended = property(lambda self: self.json["recommended"])
    reason = property(lambda self: self.json["reason"])
    notes = property(lambda self: self.json["notes"])

    @property
    def options(self) -> pd.DataFrame:
        return options_frame(self.json["options"])

    def to_json(self) -> dict:
        return self.json


def options_frame(options: list) -> pd.DataFrame:
    return pd.DataFrame(options).set_index("hardware")


def plan(tables, model_name, *, coefficients_=None, hardware_choice=None, **given) -> Plan:
    """Fit, time and cost of a run of `model_name` on each hardware option.

    `given` takes the inputs of ftguide.planner.inputs by name (samples or tokens, sequence_length,
    epochs, method, batch, price, deadline, budget); `hardware_choice` is the input `hardware`.
    PlanError names the first bad input and what is allowed.
    """
    coeffs = coefficients_ or coefficients(tables)
    checked = kernel.check_inputs(coeffs, {**given, "model": model_name, "hardware": hardware_choice})
    return Plan(kernel.plan(coeffs, checked))


def with_example(coeffs, model=None, samples=None, tokens=None) -> dict:
    """The reader's model and size, each taken from the example where not given (coefficients'
    `example`, from data/: the first tutorial dataset of known size, else a million tokens), so a
    page names no model of its own."""
    example = coeffs["example"]
    size = ({"samples": samples, "tokens": tokens} if samples is not None or tokens is not None
            else {"samples": example.get("samples"), "tokens": example.get("tokens")})
    return {"model": example["model"] if model is None else model, **size}


def hardware_choices(coeffs) -> list:
    return choices(coeffs, {"choices": "hardware"})

