"""The planner form on the built page, end to end: the kernel's parity with Python is
tests/test_planner_kernel.py; here, that the page wires it up. A few form states as a reader
types them must give what `plan --json` prints; the table is option_table; a bad input shows the
command line's message beside its field; the address keeps the plan; a phone, no JavaScript, and a
file:// address.
"""

import json
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("playwright.sync_api")

from ftguide import cli
from ftguide.planner import kernel
from ftguide.planner.coefficients import coefficients
from ftguide.planner.run import plan
from ftguide.planner.text import option_table
from tests.helpers import DESKTOP, PHONE, at_a_phone, serve
from tests.test_planner_kernel import differences

PAGE = "notebooks/planner.html"


@pytest.fixture(scope="module")
def site_url(built_site):
    with serve(built_site) as url:
        yield url


def open_planner(browser, site_url, viewport=DESKTOP, query="", **context_options):
    context = browser.new_context(viewport=viewport, **context_options)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto(f"{site_url}{PAGE}{query}")
    if context_options.get("java_script_enabled", True):
        page.wait_for_selector("#planner-form:not([hidden])")
    return context, page, errors


@pytest.fixture(scope="module")
def planner_page(browser, site_url):
    context, page, errors = open_planner(browser, site_url)
    yield page, errors
    context.close()


def grid(tables) -> list[dict]:
    """Form texts: each method, samples and tokens, limits set and unset, a number as a reader
    writes it, a run nothing fits, and gradient accumulation on the 8-GPU nodes."""
    models = list(coefficients(tables)["models"])
    base = {"model": models[0], "method": "full", "hardware": "all", "size_kind": "samples", "size": "287,113",
            "sequence_length": "", "epochs": "", "batch": "", "price": "", "deadline": "3", "budget": "", "gpu": "",
            "gpus": ""}
    return [base,
            dict(base, method="lora", size_kind="tokens", size="50M", deadline="", budget="100", price="2.5"),
            dict(base, model=models[1], sequence_length="131072", hardware="xlarge"),
            dict(base, model=models[-1], method="qlora", sequence_length="4096", hardware="gpu-nodes",
                 size_kind="tokens", size="2e8", deadline="")]


def python_plan(tables, texts: dict) -> dict:
    given = {name: texts[name] for name in texts if name not in ("size", "size_kind")}
    given[texts["size_kind"]] = texts["size"]
    result = plan(tables, given.pop("model"), hardware_choice=given.pop("hardware"), **given)
    return json.loads(json.dumps(result.to_json()))


SET_FORM = """(texts) => {
  const form = document.getElementById("planner-form");
  for (const [name, value] of Object.entries(texts)) {
    if (name === "size_kind") document.getElementById(`planner-size-${value}`).checked = true;
    else form.elements[name].value = value;
  }
  form.dispatchEvent(new Event("input", { bubbles: true }));  // what typing in a field sends
  return document.getElementById("planner-result").dataset.json;
}"""


def test_the_page_computes_what_plan_json_prints(planner_page, tables):
    page, errors = planner_page
    for texts in grid(tables):
        shown = json.loads(page.evaluate(SET_FORM, texts))
        assert differences(python_plan(tables, texts), shown) == [], texts
    assert errors == []


def test_the_table_is_option_table(planner_page, tables):
    page, _ = planner_page
    texts = grid(tables)[0]
    page.evaluate(SET_FORM, texts)
    result = plan(tables, texts["model"], samples=texts["size"], deadline=texts["deadline"])
    table = option_table(result)
    # The columns a reader decides on, then the details (folded away), as option_table orders them.
    main, details = (page.locator("#planner-result table").nth(n) for n in (0, 1))
    header = main.locator("thead th").all_text_contents() + details.locator("thead th").all_text_contents()[1:]
    assert [h.replace("\n", " ") for h in header] == [table.index.name, *table.columns]
    assert main.locator("tbody tr").count() == details.locator("tbody tr").count() == len(table)
    for n, (name, row) in enumerate(table.iterrows()):
        cells = (main.locator("tbody tr").nth(n).locator("th, td").all_text_contents()
                 + details.locator("tbody tr").nth(n).locator("td").all_text_contents())
        assert cells == [name, *map(str, row)]
    assert page.locator("#planner-result .planner-reason").inner_text().endswith(result.reason)
    assert page.locator("#planner-caption").inner_text() == kernel.heading(result.inputs)


def cli_message(argv: list[str], capsys) -> str:
    """What the command line says to these arguments, as the form words it: 'error: argument
    --samples: found ...' is 'samples: found ...' beside the field."""
    assert cli.main(["plan", *argv]) == 2
    option, _, rest = capsys.readouterr().err.strip().removeprefix("error: argument ").partition(": ")
    return "/".join(part.removeprefix("--").replace("-", "_") for part in option.split("/")) + ": " + rest


@pytest.mark.parametrize("field, text, argv", [
    ("size", "0", ["--samples", "0"]),
    ("size", "", []),
    ("size", "5\u200b", ["--samples", "5\u200b"]),
    ("sequence_length", "abc", ["--samples", "5", "--sequence-length", "abc"]),
    ("deadline", "-1", ["--samples", "5", "--deadline=-1"]),
    ("epochs", "1e400", ["--samples", "5", "--epochs", "1e400"]),
    ("gpus", "3", ["--samples", "5", "--gpus", "3"]),  # a count no option of the catalog has
])
@pytest.mark.usefixtures("cli_reuses_tables")
def test_bad_input_shows_the_command_lines_message_beside_the_field(planner_page, tables, capsys, field, text, argv):
    page, _ = planner_page
    texts = grid(tables)[0]
    page.evaluate(SET_FORM, texts)
    assert page.locator("#planner-result table").count() >= 1
    page.fill(f"#planner-{field}", text)  # typed, as a reader does
    field_element = page.locator(f"#planner-{field}")
    message = page.locator(f"#planner-{field}-error")
    assert message.inner_text() == cli_message(["--model", texts["model"], *argv], capsys)
    assert field_element.get_attribute("aria-invalid") == "true"
    assert f"planner-{field}-error" in field_element.get_attribute("aria-describedby").split()
    assert page.locator("#planner-result table").count() == 0, "the last plan is shown as if current"
    assert "errors" in json.loads(page.locator("#planner-result").get_attribute("data-json"))
    assert "NaN" not in page.locator("body").inner_text()
    page.fill(f"#planner-{field}", texts[field])
    assert field_element.get_attribute("aria-invalid") is None and message.inner_text() == ""
    assert page.locator("#planner-result table").count() >= 1


def test_the_address_keeps_the_plan(browser, site_url, tables):
    context, page, errors = open_planner(browser, site_url)
    models = list(coefficients(tables)["models"])
    page.select_option("#planner-model", models[-1])
    page.check("#planner-size-tokens")
    page.fill("#planner-size", "123456789")
    page.select_option("#planner-method", "lora")
    page.fill("#planner-deadline", "2.5")
    # The page's own location: Playwright's page.url learns of replaceState only later.
    query = parse_qs(urlsplit(page.evaluate("location.href")).query)
    assert query["model"] == [models[-1]] and query["tokens"] == ["123456789"] and "samples" not in query
    assert query["method"] == ["lora"] and query["deadline"] == ["2.5"]
    shown = page.locator("#planner-result").get_attribute("data-json")
    page.reload()
    page.wait_for_selector("#planner-form:not([hidden])")
    assert page.input_value("#planner-model") == models[-1] and page.is_checked("#planner-size-tokens")
    assert page.input_value("#planner-size") == "123456789" and page.input_value("#planner-deadline") == "2.5"
    assert page.locator("#planner-result").get_attribute("data-json") == shown
    context.close()
    assert errors == []


@at_a_phone
def test_the_form_fits_a_phone(browser, site_url):
    context, page, errors = open_planner(browser, site_url, PHONE, "?model=Llama2+13B&samples=1000&deadline=1")
    assert page.evaluate("[document.documentElement.scrollWidth, innerWidth]") == [PHONE["width"]] * 2
    box = page.locator("#planner-form").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    table = page.locator("#planner-result .planner-table").first
    assert table.get_attribute("tabindex") == "0" and table.get_attribute("aria-labelledby")
    assert page.locator("#planner-result").get_attribute("aria-live") == "polite"
    page.focus("#planner-deadline")  # by keyboard: clear the deadline and the plan follows
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    page.wait_for_function(
        "JSON.parse(document.getElementById('planner-result').dataset.json).inputs.deadline === null")
    context.close()
    assert errors == []


def test_without_javascript_the_worked_examples_remain(browser, site_url):
    context, page, _ = open_planner(browser, site_url, java_script_enabled=False)
    assert page.locator("#planner-form").count() == 1 and not page.locator("#planner-form").is_visible()
    assert not page.locator("#planner-result").is_visible()
    assert "needs JavaScript" in page.locator("article").inner_text()
    assert page.locator("h2", has_text="Worked examples").is_visible()
    assert page.locator("table[id*='plan-examples'] tbody tr").count() >= 1
    context.close()


def test_the_planner_works_from_a_file_address(browser, built_site, tables):
    """The page opened from disk, as the build's file:// link opens it: no fetch to fail."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto((built_site / PAGE).as_uri())
    page.wait_for_selector("#planner-form:not([hidden])")
    example = coefficients(tables)["example"]
    shown = json.loads(page.locator("#planner-result").get_attribute("data-json"))
    assert shown["inputs"]["model"] == example["model"] and shown["options"]
    context.close()
    assert errors == []


def test_the_form_is_in_the_first_screen_and_its_answer_fits(browser, site_url):
    """At 1280 px the form starts in the first screen and the plan's table needs no sideways scroll."""
    context, page, errors = open_planner(browser, site_url)
    assert page.locator("#planner-form").bounding_box()["y"] < DESKTOP["height"]
    box = page.locator("#planner-result .planner-table").first
    assert box.evaluate("(node) => node.scrollWidth <= node.clientWidth")
    context.close()
    assert errors == []


@at_a_phone
def test_on_a_phone_the_summary_stays_in_view_while_the_reader_types(browser, site_url):
    """At 390 px the one-line summary stays in view while the reader types, and a number written as
    a reader writes it (50k) is read as the command line reads it."""
    context, page, errors = open_planner(browser, site_url, PHONE)
    page.fill("#planner-size", "50k")
    page.focus("#planner-deadline")
    summary = page.locator("#planner-summary")
    top = summary.bounding_box()["y"]
    assert 0 <= top < PHONE["height"], "the summary is not in view while a field is being typed in"
    shown = json.loads(page.locator("#planner-result").get_attribute("data-json"))
    assert shown["inputs"]["samples"] == 50_000
    assert summary.inner_text() == kernel.summary_line(shown)
    context.close()
    assert errors == []
