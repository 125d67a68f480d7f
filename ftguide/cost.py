"""Money: cost of a run and cost per million tokens, from a price per GPU-hour."""

import pandas as pd


def price_per_gpu_hour(prices: pd.DataFrame) -> pd.Series:
    """Per-GPU price of each listing (node prices are divided by the node's GPUs)."""
    return prices["price_per_instance_hour"] / prices["gpus_per_instance"]


def mi250_assumption(prices: pd.DataFrame) -> dict:
    """The assumed MI250 price per GPU-hour and its low-high range, with date and source."""
    row = prices[(prices["gpu"] == "MI250") & (prices["kind"] == "assumption")].iloc[0]
    return {
        "price": row["price_per_instance_hour"] / row["gpus_per_instance"],
        "low": row["price_low"],
        "high": row["price_high"],
        "currency": row["currency"],
        "date_seen": row["date_seen"],
        "source": row["source"],
    }


def run_cost(price_per_gpu_hour: float, gpus, minutes):
    """Price x GPUs x hours: 8 GPUs at 2.00 per GPU-hour for 220 minutes cost 58.67."""
    return price_per_gpu_hour * gpus * minutes / 60


def cost_per_million_tokens(price_per_gpu_hour: float, gpus, tokens_per_s):
    """What one million tokens cost at the given cluster throughput."""
    seconds = 1e6 / tokens_per_s
    return price_per_gpu_hour * gpus * seconds / 3600
