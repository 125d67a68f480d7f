"""The planner in the reader's browser (issue 15) against the planner in Python.

The built planner page is opened once in the session's Chromium; for each case of a grid that
covers every model, method and hardware choice, the form's fields are set as a reader sets them
and the result's data-json must equal `planner.plan(...).to_json()` (what `python -m ftguide plan
--json` prints): the same keys, equal strings, booleans and None, numbers within 0.5%. Then bad
input, the address as the plan's state, a phone's width and a browser without JavaScript.
"""

import json
import math
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("playwright.sync_api")

from ftguide import cli, planner  # noqa: E402
from tests.conftest import serve  # noqa: E402

PAGE = "notebooks/planner.html"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
FIELDS = ["model", "size", "sequence_length", "epochs", "method", "hardware", "batch", "price", "deadline", "budget"]


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
    """Form texts: every model, method and hardware choice; samples and tokens; sequence length,
    epochs, batch, price, deadline and budget set and unset; a run nothing fits and a tie."""
    coeffs = planner.coefficients(tables)
    models, methods, choices = list(coeffs["models"]), list(planner.METHODS), planner.hardware_choices(coeffs)
    cases = [{"model": models[i % len(models)], "method": methods[i % 3], "hardware": choices[i * 3 % len(choices)],
              "size_kind": "tokens" if i % 2 else "samples",
              "size": str([287113, 18612, 5000, 1_000_000][i % 4] * (1000 if i % 2 else 1)),
              "sequence_length": ["", "512", "2048", "4096", "1024", "8192"][i % 6], "epochs": ["", "2", "0.5"][i % 3],
              "batch": ["", "64", "256", "100"][i % 4], "price": "2.5" if i % 5 == 0 else "",
              "deadline": ["", "3", "", "0.5"][i % 4], "budget": ["", "", "50", "1000"][i % 4]}
             for i in range(2 * len(choices) * 3 // 2)]
    # A sequence no device holds, on one flavor: "Nothing fits" and what would.
    cases.append(dict(cases[0], model=models[1], sequence_length="131072", hardware=choices[3], method="full"))
    # One token at one price: the 8-GPU nodes differ by less than a cent and a hundredth of an hour.
    cases.append(dict(cases[0], size_kind="tokens", size="1", price="1", hardware="gpu-nodes", deadline="", budget=""))
    # Gradient accumulation: on the 8-GPU nodes the largest micro-batch that fits is below a device's
    # share of the batch, so the share is split into equal micro-batches.
    cases.append(dict(cases[0], model=models[-1], method="qlora", sequence_length="4096", hardware="gpu-nodes",
                      size_kind="tokens", size="200000000", batch="", epochs="", price="", deadline="", budget=""))
    return cases


def python_plan(tables, texts: dict) -> dict:
    def given(name, kind=float):
        return kind(texts[name]) if texts[name] else None
    result = planner.plan(tables, texts["model"], **{texts["size_kind"]: int(texts["size"])},
                          sequence_length=given("sequence_length", int), epochs=given("epochs"),
                          method=texts["method"], hardware_choice=texts["hardware"], batch=given("batch", int),
                          price=given("price"), deadline=given("deadline"), budget=given("budget"))
    return json.loads(json.dumps(result.to_json()))


def differences(python, page, path="plan") -> list[str]:
    """Where the page's JSON differs from Python's: keys, strings, booleans, None exactly; numbers
    within 0.5% relative."""
    if isinstance(python, dict):
        if not isinstance(page, dict) or set(python) != set(page):
            return [f"{path}: keys {sorted(python)} != {sorted(page) if isinstance(page, dict) else page!r}"]
        return [d for key in python for d in differences(python[key], page[key], f"{path}.{key}")]
    if isinstance(python, list):
        if not isinstance(page, list) or len(python) != len(page):
            return [f"{path}: {python!r} != {page!r}"]
        return [d for n, (a, b) in enumerate(zip(python, page)) for d in differences(a, b, f"{path}[{n}]")]
    if python is None or isinstance(python, (bool, str)) or isinstance(page, bool) or not isinstance(page, (int, float)):
        return [] if python == page and type(python) is type(page) else [f"{path}: {python!r} != {page!r}"]
    return [] if math.isclose(python, page, rel_tol=0.005) else [f"{path}: {python!r} != {page!r}"]


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
    cases = grid(tables)
    expected = [python_plan(tables, texts) for texts in cases]
    coeffs = planner.coefficients(tables)
    assert len(cases) >= 30
    assert {c["model"] for c in cases} == set(coeffs["models"])
    assert {c["method"] for c in cases} == set(planner.METHODS)
    assert {c["hardware"] for c in cases} == set(planner.hardware_choices(coeffs))
    assert {c["size_kind"] for c in cases} == {"samples", "tokens"}
    reasons = [plan["reason"] for plan in expected]
    assert any(r.startswith("Nothing fits") for r in reasons) and any("(tied with" in r for r in reasons)
    assert any(r.startswith("None fits in memory and meets") for r in reasons)
    for texts, python in zip(cases, expected):
        shown = json.loads(page.evaluate(SET_FORM, texts))
        assert differences(python, shown) == [], texts
    assert errors == []


def test_the_table_is_planner_option_table(planner_page, tables):
    page, _ = planner_page
    texts = grid(tables)[0]
    page.evaluate(SET_FORM, texts)
    result = planner.plan(tables, texts["model"], samples=int(texts["size"]), method=texts["method"],
                          hardware_choice=texts["hardware"], price=float(texts["price"]))
    table = planner.option_table(result)
    assert table["Fits in memory"].eq("yes").all(), "a case where every option fits (integer micro-batches)"
    header = page.locator("#planner-result thead th").all_inner_texts()
    assert [h.replace("\n", " ") for h in header] == [table.index.name, *table.columns]
    rows = page.locator("#planner-result tbody tr")
    assert rows.count() == len(table)
    for n, (name, row) in enumerate(table.iterrows()):
        cells = rows.nth(n).locator("th, td").all_inner_texts()
        assert cells == [name, *map(str, row)]
    assert page.locator("#planner-result .planner-reason").inner_text().endswith(result.reason)


def cli_message(argv: list[str], capsys) -> str:
    """What the command line says to these arguments, without its 'error: '."""
    with pytest.raises(SystemExit):
        cli.main(["plan", *argv])
    return capsys.readouterr().err.strip().removeprefix("error: ")


@pytest.mark.parametrize("field, text, argv", [
    ("size", "0", ["--samples", "0"]),
    ("size", "", []),
    ("sequence_length", "abc", ["--samples", "5", "--sequence-length", "abc"]),
    ("deadline", "-1", ["--samples", "5", "--deadline=-1"]),
    ("epochs", "1e400", ["--samples", "5", "--epochs", "1e400"]),
])
def test_bad_input_shows_the_command_lines_message_beside_the_field(planner_page, tables, capsys, field, text, argv):
    page, _ = planner_page
    texts = grid(tables)[0]
    page.evaluate(SET_FORM, texts)
    assert page.locator("#planner-result table").count() == 1
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
    assert page.locator("#planner-result table").count() == 1


def test_the_address_keeps_the_plan(browser, site_url, tables):
    context, page, errors = open_planner(browser, site_url)
    models = list(planner.coefficients(tables)["models"])
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


def test_the_form_fits_a_phone(browser, site_url):
    context, page, errors = open_planner(browser, site_url, PHONE, "?model=Llama2+13B&samples=1000&deadline=1")
    assert page.evaluate("[document.documentElement.scrollWidth, innerWidth]") == [PHONE["width"]] * 2
    box = page.locator("#planner-form").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    table = page.locator("#planner-result .planner-table")
    assert table.get_attribute("tabindex") == "0" and table.get_attribute("aria-labelledby")
    assert page.locator("#planner-result").get_attribute("aria-live") == "polite"
    page.focus("#planner-deadline")  # by keyboard: clear the deadline and the plan follows
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    page.wait_for_function("JSON.parse(document.getElementById('planner-result').dataset.json).inputs.deadline === null")
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
