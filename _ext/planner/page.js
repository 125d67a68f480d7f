// The planner page: builds the form from the declared inputs, reads it, and shows kernel.plan's
// answer. The build bundles this file after kernel.mjs (whose functions it calls by name) into
// _static/planner.js; the coefficients are in the page itself (#planner-coefficients), so the
// planner works from a file:// address too. No number, sentence or formula is written here.

const $ = (id) => document.getElementById(id);
const form = $("planner-form"), result = $("planner-result"), fields = $("planner-fields");
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.textContent = text;
  return node;
}

function choiceLabels(spec) {
  const names = choices(C, spec);
  if (spec.choices === "models" || spec.choices === "catalog") return names.map((name) => [name, name]);
  if (spec.choices !== "hardware") return names.map((name) => [name, C.choices[spec.choices][name]]);
  return names.map((name) => [name, Object.hasOwn(C.hardware_groups, name) ? C.hardware_groups[name]
    : render(TEXT.hardware_option, { name, ...C.hardware[name] })]);
}

// One field per declared input; the inputs of a group (samples or tokens) share one text field.
function buildField(group) {
  const spec = group[0], field = spec.group || spec.name, id = `planner-${field}`;
  const box = element(group.length > 1 ? "fieldset" : "div", { class: "planner-field" });
  const described = spec.kind === "choice" ? `${id}-error` : `${id}-hint ${id}-error`;
  if (group.length > 1) {
    box.append(element("legend", {}, TEXT.group_legend));
    for (const member of group) {
      const choice = element("span", { class: "planner-choice" });
      choice.append(element("input", { type: "radio", id: `${id}-${member.name}`, name: `${field}_kind`, value: member.name }),
        element("label", { for: `${id}-${member.name}` }, member.name));
      box.append(choice);
    }
  }
  box.append(element("label", { for: id, id: `${id}-label` }, spec.label));
  if (spec.kind === "choice") {
    const select = element("select", { id, name: field, "aria-describedby": described });
    // A stack's knob may be left to the chosen stack (empty: its default, else the planner's).
    if (STACK_KNOBS.includes(spec.name)) select.add(new Option(render(TEXT.stack_default_option, spec), ""));
    else if (spec.default === null) select.add(new Option(spec.empty, "")); // optional: empty means any
    for (const [value, text] of choiceLabels(spec)) select.add(new Option(text, value));
    box.append(select);
  } else if (spec.kind === "config") {
    box.append(element("textarea", { id, name: field, rows: "3", spellcheck: "false", "aria-describedby": described }),
      element("p", { id: `${id}-hint`, class: "planner-hint" }));
  } else {
    box.append(element("input", { type: "text", id, name: field, autocomplete: "off", "aria-describedby": described,
      inputmode: spec.kind === "whole" ? "numeric" : "decimal" }), element("p", { id: `${id}-hint`, class: "planner-hint" }));
  }
  box.append(element("p", { id: `${id}-error`, class: "planner-error" }));
  sectionOf(spec).append(box);
}

// The stack's knobs sit in a section of their own, closed until the reader opens it.
function sectionOf(spec) {
  if (spec.section !== "stack") return fields;
  let stack = $("planner-stack-knobs"); // not "planner-stack": the stack input's own field
  if (!stack) {
    const details = element("details", { class: "planner-stack" });
    details.append(element("summary", {}, TEXT.stack_summary));
    stack = element("div", { class: "planner-fields", id: "planner-stack-knobs" });
    details.append(stack);
    fields.after(details);
  }
  return stack;
}

const groupsOf = () => groups(C.inputs);

function sizeKind(group) {
  const checked = group.find((spec) => $(`planner-${spec.group}-${spec.name}`).checked);
  return (checked || group[0]).name;
}

function showHints() {
  for (const group of groupsOf()) {
    const spec = group.length > 1 ? C.inputs.find((s) => s.name === sizeKind(group)) : group[0];
    const field = spec.group || spec.name;
    if (spec.kind === "choice") continue;
    $(`planner-${field}-label`).textContent = spec.label;
    $(`planner-${field}-hint`).textContent = render(spec.empty ? TEXT.hint : TEXT.hint_required, spec);
  }
}

// The form's texts, by input name: only the chosen member of a group.
function given() {
  const out = {};
  for (const group of groupsOf()) {
    const field = group[0].group || group[0].name;
    const name = group.length > 1 ? sizeKind(group) : group[0].name;
    out[name] = form.elements[field].value;
  }
  return out;
}

function showErrors(errors) {
  for (const group of groupsOf()) {
    const field = group[0].group || group[0].name;
    const input = $(`planner-${field}`), message = $(`planner-${field}-error`);
    message.textContent = errors[field] || "";
    if (errors[field]) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

// One table of the plan: a row per option, the given columns, in a box that scrolls on its own.
function tableHtml(p, cells, keys, id) {
  const head = keys.map((key) => `<th scope="col">${escape(C.columns[key])}</th>`).join("");
  const rows = p.options.map((o, n) => `<tr${o.hardware === p.recommended ? ' class="planner-pick"' : ""}>` +
    `<th scope="row">${escape(o.hardware)}</th>` + keys.map((key) => `<td>${escape(cells[n][key])}</td>`).join("") +
    "</tr>").join("");
  return `<div class="planner-table" role="region" tabindex="0" aria-labelledby="${id}">` +
    `<table class="ftguide-table"><caption id="${id}">${escape(heading(p.inputs))}</caption>` +
    `<thead><tr><th scope="col">${escape(TEXT.hardware_column)}</th>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
}

// The columns a reader decides on, then the details folded away; a column with nothing to say is dropped.
function planHtml(p) {
  const cells = p.options.map(option_cells);
  const shown = shown_columns(cells);
  const details = shown.filter((key) => C.detail_columns.includes(key));
  const notes = p.notes.map((note) => `<li>${escape(note)}</li>`).join("");
  const label = p.recommended ? `<strong>${escape(TEXT.recommended_label)}</strong> ` : "";
  const answers = [p.fewest_gpus_reason, p.cheapest_reason].map((text) => `<li>${escape(text)}</li>`).join("");
  return `<p class="planner-reason">${label}${escape(p.reason)}</p><ul class="planner-answers">${answers}</ul>` +
    tableHtml(p, cells, shown.filter((key) => !details.includes(key)), "planner-caption") +
    // A phone shows the first options only (planner.css) until the reader opens this.
    `<details class="planner-all"><summary>${escape(render(TEXT.show_all, { count: p.options.length }))}</summary></details>` +
    (details.length ? `<details class="planner-details"><summary>${escape(TEXT.details)}</summary>` +
      tableHtml(p, cells, details, "planner-details-caption") + "</details>" : "") +
    (notes ? `<ul class="planner-notes">${notes}</ul>` : "") + `<p class="planner-hint">${escape(TEXT.table_hint)}</p>`;
}

let shown = null;
function update() {
  showHints();
  const texts = given();
  const query = new URLSearchParams(Object.entries(texts).filter(([, text]) => text.trim() !== "")).toString();
  history.replaceState(history.state, "", `${location.pathname}${query ? "?" + query : ""}${location.hash}`);
  const read = read_inputs(C, texts);
  showErrors(read.errors || {});
  const json = read.errors ? { errors: read.errors } : plan(C, read.inputs);
  const html = read.errors ? `<p class="planner-invalid">${escape(TEXT.no_plan)}</p>` : planHtml(json);
  $("planner-summary").textContent = read.errors ? TEXT.summary_invalid : summary_line(json);
  result.dataset.json = JSON.stringify(json);
  result.dataset.query = query;
  if (html !== shown) { // unchanged text is not announced again
    result.innerHTML = html;
    shown = html;
  }
}

// A value from the address that the list does not have stays visible, so its message shows.
function choose(select, value) {
  if (![...select.options].some((o) => o.value === value)) select.add(new Option(value, value));
  select.value = value;
}

function fill(params) {
  const names = C.inputs.map((spec) => spec.name);
  const fromAddress = names.some((name) => params.has(name));
  const start = fromAddress ? Object.fromEntries(params) : { ...C.example };
  for (const group of groupsOf()) {
    const spec = group.find((s) => s.name in start) || group[0];
    const field = spec.group || spec.name;
    if (group.length > 1) $(`planner-${field}-${spec.name}`).checked = true;
    const open = spec.kind !== "choice" || STACK_KNOBS.includes(spec.name);
    const value = start[spec.name] ?? (open ? "" : spec.default ?? "");
    if (spec.kind === "choice") choose($(`planner-${field}`), value);
    else $(`planner-${field}`).value = value;
  }
}

function start() {
  form.append(element("p", { id: "planner-summary", class: "planner-summary", "aria-hidden": "true" }));
  use(JSON.parse($("planner-coefficients").textContent));
  for (const group of groupsOf()) buildField(group);
  fill(new URLSearchParams(location.search));
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  form.addEventListener("submit", (event) => { event.preventDefault(); update(); });
  form.hidden = false;
  result.hidden = false;
  update();
}

if (form && result && $("planner-coefficients")) start();
