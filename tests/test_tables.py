"""Tables on the pages: no non-zero number is ever shown as zero."""

import re

import pandas as pd
from bs4 import BeautifulSoup

from ftguide.tables import Folded, styled


def cells(styler) -> list[str]:
    return re.findall(r">([^<>]*)</td>", styler.to_html())


def test_a_non_zero_value_is_never_shown_as_zero():
    frame = pd.DataFrame({"whole": [0.5, 0.0, 1234.4], "three": [0.0004, 0.5, 2.0],
                          "share": [0.00004, 0.25, 0.0]})
    shown = cells(styled(frame, "caption", "t", percent=["share"], decimals={"three": "{:,.3f}"}))
    # Row by row: 0.5 keeps its digit under the whole-number default, 0.0004 under three places and
    # 0.004% under one place of percent; true zeros stay zero and other values keep their format.
    assert shown == ["0.5", "0.0004", "0.004%", "0", "0.500", "25.0%", "1,234", "2.000", "0.0%"]


def test_text_and_missing_values_pass_through_escaped():
    frame = pd.DataFrame({"text": ["<b>", None], "number": [1.0, float("nan")]})
    assert cells(styled(frame, "caption", "t")) == ["&lt;b&gt;", "1", "n/a", "n/a"]


def test_guide_page_shows_half_a_sample_per_gpu(built_site):
    """Cerebras GPT 13B at batch 16 on 32 GPUs (8xlarge, 2048 tokens) runs 16 ÷ 32 = 0.5 samples per
    GPU. Read from the site the session builds anyway (running the page again costs seconds)."""
    html = (built_site / "notebooks" / "parameter-guide.html").read_text()
    table = BeautifulSoup(html, "html.parser").find("table", id="T_model-6")
    headers = [th.get_text(strip=True) for th in table.find("thead").find("tr").find_all("th")]
    rows = [[cell.get_text(strip=True) for cell in tr.find_all(["th", "td"])]
            for tr in table.find("tbody").find_all("tr")]
    per_gpu = [row[headers.index("Samples per GPU")] for row in rows]
    assert per_gpu == ["1", "1", "0.5"]


def test_sentences_wrap_labels_and_numbers_do_not():
    """A column of sentences gets a wrapping style of its own, a column of labels is only
    left-aligned (the stylesheet keeps it and the numbers on one line), also when the index repeats
    a value, as the changelog's dates do."""
    frame = pd.DataFrame({"tokens": [1.0, 2.0], "name": ["Llama3 8B", "Qwen1.5 7B"],
                          "note": ["short", "a sentence that is longer than any label"]}, index=["a", "a"])
    html = styled(frame, "caption", "t").to_html()
    assert re.search(r"#T_t td\.col2 \{\s*white-space: normal;", html)
    assert re.search(r"#T_t td\.col1 \{\s*text-align: left;\s*\}", html)
    assert "td.col0" not in html


def test_a_folded_table_is_closed_and_says_what_it_holds():
    frame = pd.DataFrame({"price": [1.0, 2.0, 3.0]}, index=["<a>", "b", "c"])
    page = BeautifulSoup(Folded(styled(frame, "Prices <b>", "t"))._repr_html_(), "html.parser")
    disclosure = page.find("details")
    assert "open" not in disclosure.attrs
    assert disclosure.find("summary").get_text() == "Prices <b>: show all 3 rows"
    assert len(disclosure.find("table", id="T_t").find("tbody").find_all("tr")) == 3
