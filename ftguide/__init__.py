"""Load, validate and analyse the MoAI LLM fine-tuning parameter guide."""

from ftguide.data import DATA_DIR, DataError, load, validate

__all__ = ["DATA_DIR", "DataError", "load", "validate"]
