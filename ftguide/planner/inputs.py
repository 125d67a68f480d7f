"""The one declaration of a run's inputs: name, unit, kind, range, default, help and label.

The command line's options, the browser form (through `describe`, written into the page at build
time) and `plan --json`'s `inputs` are all made from INPUTS; the kernel checks every input against
it, so the command line and the form refuse the same texts with the same message.
"""

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path

from ftguide.planner.kernel import format_general


@dataclass(frozen=True)
class Input:
    name: str  # the key in plan --json's inputs; the option is --name with - for _
    label: str  # the form's label
    help: str
    kind: str = "number"  # "whole", "number" or "choice"
    low: float = 0
    high: float = 0
    unit: str = ""
    default: object = None  # None: optional with no default (no limit, each option's own price)
    empty: str = ""  # what an empty field means, for the form's hint
    choices: str = ""  # "models", "hardware", "catalog" (the GPUs) from the data; else a list of kernel.CHOICES
    group: str = ""  # inputs of one group are alternatives: give exactly one (samples or tokens)
    replaces: str = ""  # given, this input takes the place of that one (a config.json of the model)
    required: bool = False
    section: str = "run"  # "stack": the training stack's knobs, grouped apart on the form (empty: the
    # chosen stack's default, where it has one, else `default`)

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def expected(self) -> str:
        if self.kind == "choice":
            return ""
        if self.kind == "config":
            return "a config.json of a dense decoder (hidden_size, num_hidden_layers, num_attention_heads, " \
                "intermediate_size, vocab_size)"
        kind = "a whole number" if self.kind == "whole" else "a number"
        unit = f" {self.unit}" if self.unit else ""
        return f"{kind} from {format_general(self.low)} to {format_general(self.high)}{unit}"


# The ranges: wide enough for any real fine-tuning run, narrow enough that a typo (a price in cents,
# tokens in scientific notation gone wrong) is refused rather than printed.
INPUTS = (
    Input("model", "Model", "a model of data/models.csv", kind="choice", choices="models", required=True),
    Input("config", "Or a model's config.json (pasted)", "a Hugging Face config.json of a dense decoder, in place of "
          "--model", kind="config", replaces="model", empty="the model above"),
    Input("samples", "Samples per epoch", "training samples per epoch", kind="whole", low=1, high=1e10,
          group="size"),
    Input("tokens", "Tokens per epoch (pad tokens included)", "tokens per epoch, pad tokens included",
          kind="whole", low=1, high=1e13, group="size"),
    Input("sequence_length", "Sequence length (tokens per sample, padded)", "tokens per sample, padded",
          kind="whole", low=1, high=131072, unit="tokens", default=1024, empty="1,024"),
    Input("mean_sample_length", "Mean sample length (tokens before padding, optional)",
          "tokens in a sample before padding, on average: given, samples are packed into sequences of the "
          "sequence length with no pad tokens (with --samples)", kind="whole", low=1, high=131072, unit="tokens",
          empty="every sample padded to the sequence length"),
    Input("epochs", "Epochs", "epochs of your run", low=0.01, high=100, default=1.0, empty="1"),
    Input("method", "Method", "full fine-tuning, LoRA or QLoRA", kind="choice", choices="methods",
          default="full", empty="full"),
    Input("stack", "Training stack", "the training stack whose defaults fill the knobs you leave empty (data/"
          "stack_defaults.csv); 'planner' keeps the planner's own", kind="choice", choices="stacks",
          default="planner", empty="planner", section="stack"),
    Input("checkpointing", "Activation recomputation", "activation recomputation (checkpointing)",
          kind="choice", choices="checkpointing", default="full", empty="the stack's default, else full",
          section="stack"),
    Input("optimizer", "Optimizer state", "optimizer and the precision of its state", kind="choice",
          choices="optimizers", default="adamw", empty="the stack's default, else adamw", section="stack"),
    Input("loss", "Loss", "how the loss handles the logits", kind="choice", choices="losses", default="full",
          empty="the stack's default, else full", section="stack"),
    Input("lora_rank", "LoRA rank", "rank of the LoRA adapters", kind="whole", low=1, high=4096, default=16,
          empty="the stack's default, else 16", section="stack"),
    Input("lora_targets", "LoRA targets", "projections LoRA adapts", kind="choice", choices="lora_targets",
          default="all-linear", empty="the stack's default, else all-linear", section="stack"),
    Input("qlora_format", "QLoRA base format", "number format of QLoRA's frozen base", kind="choice",
          choices="qlora_formats", default="nf4-dq", empty="the stack's default, else nf4-dq", section="stack"),
    Input("sharding", "Sharding", "weights, gradients and optimizer state sharded or replicated", kind="choice",
          choices="sharding", default="sharded", empty="the stack's default, else sharded", section="stack"),
    Input("adamw_step", "AdamW step", "how AdamW steps: PyTorch's default (foreach) takes a copy of the second "
          "moments; in the backward pass (torchtune) the gradients are never all held, and nothing accumulates",
          kind="choice", choices="adamw_steps", default="in-place",
          empty="the stack's default, else in-place", section="stack"),
    Input("hardware", "Hardware", "every option, a group of them, or one option", kind="choice",
          choices="hardware", default="all", empty="all"),
    Input("gpu", "GPU (optional)", "only the options of this GPU", kind="choice", choices="catalog",
          empty="any"),
    Input("gpus", "GPUs (optional)", "only the options of this many GPUs", kind="whole", low=1, high=1024,
          unit="GPUs", empty="any"),
    Input("batch", "Global batch (samples)", "global batch in samples", kind="whole", low=1, high=1_000_000,
          unit="samples", default=128, empty="128"),
    Input("micro_batch", "Micro-batch (samples per device and step, optional)",
          "samples each device takes in one step", kind="whole", low=1, high=65536, unit="samples",
          empty="the largest that fits"),
    Input("price", "Price (USD per GPU-hour, optional)", "USD per GPU-hour for every option", low=0.01,
          high=1000, unit="USD per GPU-hour", empty="each option's listed price"),
    Input("deadline", "Deadline (hours, optional)", "hours", low=0.01, high=100000, unit="hours", empty="none"),
    Input("budget", "Budget (USD, optional)", "USD", low=0.01, high=1e9, unit="USD", empty="none"),
)
BY_NAME = {spec.name: spec for spec in INPUTS}


def describe() -> list:
    """The declaration as plain data: what the kernel checks against, and the form is built from."""
    return [{**asdict(spec), "option": spec.option, "expected": spec.expected} for spec in INPUTS]


def add_arguments(parser, choices_help: dict) -> None:
    """One option per input; every check is the kernel's (after the data is read), so the command
    line takes texts. `choices_help` lists the values of each choice input, for --help."""
    groups = {}
    for spec in INPUTS:
        target = parser
        if spec.group:  # one group per name (setdefault would add an empty group each time: --help fails)
            if spec.group not in groups:
                groups[spec.group] = parser.add_mutually_exclusive_group()
            target = groups[spec.group]
        detail = choices_help.get(spec.choices) or spec.expected
        default = f"; default {spec.empty}" if spec.empty else ""
        reader = {"type": file_text, "metavar": "PATH"} if spec.kind == "config" else {"metavar": spec.name.upper()}
        target.add_argument(spec.option, dest=spec.name, help=f"{spec.help} ({detail}{default})", **reader)


def file_text(path: str) -> str:
    """An argparse type: the text of a file (a config.json), read as UTF-8."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise argparse.ArgumentTypeError(f"found {path!r}; expected a readable UTF-8 file (a config.json)") from None


def given(args) -> dict:
    """The texts the command line received, by input name (None where not given)."""
    return {spec.name: getattr(args, spec.name) for spec in INPUTS}
