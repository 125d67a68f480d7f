"""Pages read as narratives: each page's code stays within a budget (the logic lives in the
package, where it is tested), and the values and tables of ftguide.pages against hand counts."""

import re

import jupytext
import pandas as pd
import pytest

from ftguide import pages
from ftguide.data import allowed_values, column_labels, constraint_texts, schema
from tests.helpers import ROOT

# A page's budget: no function of its own, no code cell longer than a screen, a short page of code.
MAX_CELL_LINES = 15
MAX_PAGE_LINES = 120
KNOWN_EXCEPTIONS = set()  # every page keeps to the budget
PAGES = sorted(path for path in (ROOT / "notebooks").glob("*.md") if path.name not in KNOWN_EXCEPTIONS)


def code_cells(path) -> list[list[str]]:
    """The non-blank lines of each code cell of a page, as Jupytext reads it."""
    return [[line for line in cell.source.splitlines() if line.strip()]
            for cell in jupytext.read(path).cells if cell.cell_type == "code"]


def test_the_budget_covers_every_page_but_the_known_exception():
    assert {path.name for path in PAGES} | KNOWN_EXCEPTIONS == {p.name for p in (ROOT / "notebooks").glob("*.md")}
    assert len(PAGES) == 9


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_page_keeps_to_its_code_budget(page):
    cells = code_cells(page)
    defined = [line for cell in cells for line in cell if re.match(r"\s*(async\s+)?def |\s*class ", line)]
    assert defined == [], f"{page.name} defines a function or class: put it in the package"
    longest = max(cells, key=len)
    assert len(longest) <= MAX_CELL_LINES, f"{page.name}: a cell of {len(longest)} lines:\n" + "\n".join(longest)
    assert sum(map(len, cells)) <= MAX_PAGE_LINES, f"{page.name}: {sum(map(len, cells))} lines of code"


@pytest.mark.parametrize("code, complaint", [
    ("def f():\n    return 1", "defines a function"),
    ("\n".join(f"x{i} = {i}" for i in range(MAX_CELL_LINES + 1)), f"a cell of {MAX_CELL_LINES + 1} lines"),
    ("\n```\n\n```{code-cell} ipython3\n".join(f"x{i} = {i}" for i in range(MAX_PAGE_LINES + 1)),
     f"{MAX_PAGE_LINES + 1} lines of code"),
], ids=["def", "long cell", "long page"])
def test_a_page_over_budget_is_caught(tmp_path, code, complaint):
    page = tmp_path / "over.md"
    page.write_text(f"# Over budget\n\n```{{code-cell}} ipython3\n{code}\n```\n")
    with pytest.raises(AssertionError, match=complaint):
        test_page_keeps_to_its_code_budget(page)


# --- the parameter guide, the data dictionary and the changelog -----------------------------------

def test_guide_values_count_the_guide(tables):
    values = pages.guide_values(tables)
    guide = tables.guide
    assert values["n_rows"] == "18" == f"{len(guide)}"
    assert values["n_models"] == "6"
    assert values["platform_versions"] == "24.5.0"
    # 2xlarge: 8 MI250s, each two GCDs of 65,520 MiB: 16 × 65,520 = 1,048,320 MiB.
    assert values["flavor_list"].startswith("2xlarge = 8 MI250 GPUs (16 GCDs, 2 nodes, 1,048,320 MiB), 4xlarge")
    fullest = guide.loc[(guide["vram_mib"] / guide["flavor_memory_mib"]).idxmax()]
    assert values["fullest_row"] == f"{fullest['model']} on {fullest['accelerator']}" == "Cerebras GPT 13B on 4xlarge"
    assert (values["fullest_share"], values["emptiest_share"]) == ("84%", "27%")  # as the page showed them


def test_per_model_tables_go_from_the_smallest_flavor_up(tables):
    labels = column_labels()
    views = pages.per_model_tables(tables.guide, labels)
    assert [model for model, _ in views] == list(tables.guide["model"].unique())
    for _, view in views:
        assert list(view["MI250 GPUs"]) == sorted(view["MI250 GPUs"])
    assert len(pages.guide_table(tables.guide, labels)) == 18
    assert set(pages.guide_table(tables.guide, labels)[labels["advanced_parallelism"]]) <= {"yes", "no"}


def test_changes_newest_first_keep_same_day_order():
    changes = pd.DataFrame({"date": ["2026-01-01", "2026-02-01", "2026-01-01"], "file": ["a.csv", "b.csv", "a.csv"],
                            "rows": ["first", "second", "third"]})
    labels = {"date": "Date", "file": "File", "rows": "Rows"}
    assert list(pages.changes_table(changes, labels)["Rows"]) == ["second", "first", "third"]
    changes["description"] = ["one", "two", "three"]
    labels["description"] = "What changed"
    latest = pages.latest_changes(changes, labels, count=2)
    assert list(latest.columns) == ["File", "What changed"] and list(latest["What changed"]) == ["two", "one"]
    assert pages.changes_values(changes) == {"n_changes": "3", "n_files": "2", "latest_change": "2026-02-01"}


def field(name, resource="parameter_guide"):
    return schema().get_resource(resource).schema.get_field(name)


def test_allowed_values_name_every_constraint_of_the_schema():
    assert allowed_values(field("batch_size")) == "1 to 65,536; required"
    assert allowed_values(field("advanced_parallelism")) == "true or false; required"
    assert allowed_values(field("platform_version")) == r"text matching [0-9]+\.[0-9]+\.[0-9]+; required"
    assert allowed_values(field("position_encoding", "models")) == "one of rope, alibi, learned; required"
    assert allowed_values(field("applies_to", "software_caveats")).startswith("one of any, full, lora, qlora")
    assert allowed_values(field("train_samples", "datasets")) == "1 to 1,000,000,000; may be blank"
    # A refused cell's message quotes the same words, with its numbers as they are typed in a CSV.
    assert constraint_texts(field("batch_size"), number="{}")["range"] == "1 to 65536"


def test_the_dictionary_has_a_table_per_file_and_a_row_per_column():
    tables = pages.dictionary_tables(ROOT / "data")
    package = schema()
    assert [name for name, _, _ in tables] == [resource.name for resource in package.resources]
    name, caption, table = tables[0]
    assert caption.endswith("Each row is unique by: model, accelerator, batch_size, sequence_length.")
    assert list(table.index) == package.get_resource(name).schema.field_names
    assert table.loc["batch_size", "Allowed values"] == "1 to 65,536; required"
    unitless = dict((name, table) for name, _, table in tables)["changes"]
    assert "Unit" in table and "Unit" not in unitless and "Meaning" in unitless
