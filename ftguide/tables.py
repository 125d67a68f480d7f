"""HTML tables for the pages: pandas Styler with units in headers and thousands separators."""

import pandas as pd


def styled(frame: pd.DataFrame, caption: str, table_id: str, percent=(), decimals=None):
    """A Styler with a fixed id (so builds are reproducible) and readable numbers."""
    styler = frame.style.set_uuid(table_id).set_caption(caption)
    styler = styler.format(thousands=",", precision=0, na_rep="n/a")
    if decimals:
        styler = styler.format(decimals, subset=list(decimals), thousands=",", na_rep="n/a")
    if percent:
        styler = styler.format("{:.1%}", subset=list(percent), na_rep="n/a")
    return styler.set_table_attributes('class="ftguide-table"')
