"""The two readings of the guide's speed that the audit, cost and planner pages share.

- reported: the guide's throughput column (a per-step figure, pad tokens counted).
- from training time: the tokens one run processes (epochs x training samples x sequence length,
  samples padded to the sequence length) divided by the guide's training time. This rests on an
  assumption the guide does not state (how many epochs of which dataset the time covers), so it is
  a parameter here, and rows whose dataset size is unknown get NaN rather than a guess.
"""

import pandas as pd

READINGS = {
    "reported": "the guide's throughput column",
    "from_time": "tokens of the run ÷ the guide's training time",
}


def run_tokens(guide: pd.DataFrame, datasets: pd.DataFrame, epochs: float = 1) -> pd.Series:
    """Tokens processed in a run of `epochs` over the model's tutorial dataset, padded."""
    samples = guide["model"].map(datasets.set_index("model")["train_samples"]).astype("Float64")
    return (samples * guide["sequence_length"] * epochs).astype(float)


def time_based_throughput(guide: pd.DataFrame, datasets: pd.DataFrame, epochs: float = 1) -> pd.Series:
    """Tokens per second implied by the training time; NaN where the dataset size is unknown."""
    return run_tokens(guide, datasets, epochs) / (guide["training_time_min"] * 60)
