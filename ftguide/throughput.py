"""The two readings of the guide's speed that the audit, cost and planner pages share.

- reported: the guide's throughput column (a per-step figure, pad tokens counted).
- from training time: the tokens one run processes (epochs x training samples x sequence length,
  samples padded to the sequence length) divided by the guide's training time. This rests on an
  assumption the guide does not state (how many epochs of which dataset the time covers), so it is
  a parameter here, and rows whose dataset size is unknown get NaN rather than a guess.
"""

from collections.abc import Mapping

import pandas as pd

READINGS = {
    "reported": "the guide's throughput column",
    "from_time": "tokens of the run ÷ the guide's training time",
}
# Why a page has no training-time figure to show: the reading needs a dataset's size.
NO_DATASET_SIZE = "no tutorial dataset's size is known (data/datasets.csv)"
# Each reading's short name, in tables, legends and figure titles.
READING_NAMES = {"reported": "reported throughput", "from_time": "training-time reading"}


def run_tokens(guide: pd.DataFrame, datasets: pd.DataFrame, epochs=1, train_samples=None) -> pd.Series:
    """Tokens processed in a run of `epochs` over the model's tutorial dataset, padded.

    `epochs` is one number or a mapping model -> epochs (one epoch for models it leaves out);
    `train_samples` (model -> samples)
    overrides the dataset sizes in datasets.csv, e.g. once a blank one is confirmed.
    """
    sizes = datasets.set_index("model")["train_samples"].astype("Float64")
    if train_samples:
        sizes = pd.Series(train_samples, dtype="Float64").combine_first(sizes)
    samples = guide["model"].map(sizes).astype("Float64")
    # A mapping sets epochs per model; models it leaves out keep the default of one epoch.
    per_row_epochs = guide["model"].map(epochs).fillna(1) if isinstance(epochs, Mapping) else epochs
    return (samples * guide["sequence_length"] * per_row_epochs).astype(float)


def time_based_throughput(guide: pd.DataFrame, datasets: pd.DataFrame, epochs=1,
                          train_samples=None) -> pd.Series:
    """Tokens per second implied by the training time; NaN where the dataset size is unknown."""
    return run_tokens(guide, datasets, epochs, train_samples) / (guide["training_time_min"] * 60)
