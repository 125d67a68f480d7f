"""HTML tables for the pages: pandas Styler with units in headers and thousands separators.

Every string in a table may come from data/ (a model name, a price's source, a changelog line), so
the cells, the row and column labels, the index names and the caption are all HTML-escaped: text
such as ``<script>`` shows as written and never runs in the reader's browser.
"""

import numbers
from html import escape

import pandas as pd


def styled(frame: pd.DataFrame, caption: str, table_id: str, percent=(), decimals=None):
    """A Styler with a fixed id (so builds are reproducible), readable numbers and escaped text."""
    # Styler escapes cells and labels but not index names or the caption: escape those here.
    frame = frame.rename_axis(index=_escaped_names(frame.index), columns=_escaped_names(frame.columns))
    styler = frame.style.set_uuid(table_id).set_caption(escape(str(caption)))
    styler = styler.format(never_zero("{:,.0f}"), na_rep="n/a", escape="html")
    if decimals:
        formats = {column: never_zero(form) for column, form in decimals.items()}
        styler = styler.format(formats, subset=list(decimals), na_rep="n/a", escape="html")
    if percent:
        styler = styler.format(never_zero("{:.1%}"), subset=list(percent), na_rep="n/a", escape="html")
    for axis in ("index", "columns"):
        styler = styler.format_index(escape="html", axis=axis, level=None)
    return styler.set_table_styles(text_column_styles(frame), overwrite=False).set_table_attributes(
        'class="ftguide-table"')


# Text is left-aligned. A column of short labels (a flavor, a file name) stays on one line like
# the numbers; a column of sentences wraps, no narrower than the stylesheet's --ftguide-text-min
# (_static/ftguide.css), so it reads as a paragraph rather than as a word a line.
SHORT_TEXT = 24  # characters: the longest cell of a column of labels
LABEL_CELL = [("text-align", "left")]
PROSE_CELL = [("white-space", "normal"), ("text-align", "left"), ("min-width", "var(--ftguide-text-min)")]


def text_column_styles(frame: pd.DataFrame) -> dict:
    """A style for the cells of each column that is not numbers (by column: an index may repeat
    a value, a date say, which per-cell classes do not allow)."""
    styles = {}
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            longest = frame[column].astype(str).str.len().max() if len(frame) else 0
            styles[column] = [{"selector": "td", "props": LABEL_CELL if longest <= SHORT_TEXT else PROSE_CELL},
                              {"selector": "th", "props": [("text-align", "left")]}]
    return styles


def never_zero(form: str):
    """A cell formatter using `form` ('{:,.0f}') that never shows a non-zero number as zero: 16
    samples over 32 GPUs is 0.5, not 0. Such a value gets two significant digits instead."""
    def show(value):
        if isinstance(value, bool) or not isinstance(value, numbers.Number):
            return value
        text = form.format(value)
        if value != 0 and not any(digit in text for digit in "123456789"):
            return f"{value * 100:.2g}%" if form.endswith("%}") else f"{value:.2g}"
        return text
    return show


def _escaped_names(labels: pd.Index) -> list:
    return [None if name is None else escape(str(name)) for name in labels.names]


class Folded:
    """A long reference table (prices, changes, misses) folded behind a disclosure that names it
    and its length: the page reads on past it, and one click opens the whole table."""

    def __init__(self, styler):
        self.styler = styler

    def _repr_html_(self) -> str:
        # The caption is escaped already (styled); a data cell cannot reach the summary.
        return (f'<details class="ftguide-folded"><summary>{self.styler.caption}: show all '
                f"{len(self.styler.data):,} rows</summary>\n{self.styler.to_html()}</details>")
