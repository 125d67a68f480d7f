// The planner of ftguide/planner.py in the reader's browser (issue 15): no server, no library.
// Everything that does not depend on the reader's inputs comes from planner-coefficients.json,
// written from data/ at build time (_ext/planner_data.py); the arithmetic that does is written
// here once more, name for name, and tests/test_planner_form.py holds it equal to `plan --json`.
(function () {
  "use strict";
  const DATA_URL = new URL("planner-coefficients.json", document.currentScript.src);
  const NUMBER_FIELDS = ["size", "sequence_length", "epochs", "batch", "price", "deadline", "budget"];
  let C = null; // the coefficients

  // --- Python's number formats: f"{x:,.2f}", f"{x:.0%}", f"{x:g}", repr(text) ----------------

  // The exact decimal digits of |x| (a double's expansion ends within 100 decimals at the sizes
  // here) and where the point goes, then rounding as Python does: a tie goes to the even digit.
  function exactDigits(x) {
    const [whole, fraction] = Math.abs(x).toFixed(100).split(".");
    return { digits: whole + fraction, point: whole.length };
  }

  function roundAt(digits, keep) { // the first `keep` digits, rounded; one longer on a carry
    let kept = digits.slice(0, keep);
    const rest = digits.slice(keep);
    const odd = Number(kept[kept.length - 1] || 0) % 2 === 1;
    if (rest[0] > "5" || (rest[0] === "5" && (/[1-9]/.test(rest.slice(1)) || odd))) {
      kept = (BigInt(kept || "0") + 1n).toString().padStart(kept.length, "0");
    }
    return kept;
  }

  function group(whole) {
    return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function fixed(x, decimals, grouping = true) { // f"{x:,.2f}" and the like
    const { digits, point } = exactDigits(x);
    const kept = roundAt(digits, point + decimals);
    let whole = kept.slice(0, kept.length - decimals).replace(/^0+(?=\d)/, "") || "0";
    if (grouping) whole = group(whole);
    const sign = x < 0 || Object.is(x, -0) ? "-" : "";
    return sign + whole + (decimals ? "." + kept.slice(kept.length - decimals) : "");
  }

  const percent = (x) => fixed(x * 100, 0, false) + "%"; // f"{x:.0%}"
  const money = (x) => `${fixed(x, 2)} USD`; // planner.money
  const whole = (n) => group(String(n)); // f"{n:,}" of a whole number

  function general(x) { // f"{x:g}": six significant digits, trailing zeros dropped
    if (x === 0) return "0";
    const { digits, point } = exactDigits(x);
    const leading = digits.length - digits.replace(/^0+/, "").length;
    let exponent = point - leading - 1;
    let kept = roundAt(digits.slice(leading), 6);
    if (kept.length > 6) { kept = kept.slice(0, 6); exponent += 1; }
    const sign = x < 0 ? "-" : "";
    const trim = (text) => (text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text);
    if (exponent >= -4 && exponent < 6) {
      const padded = exponent >= 0 ? kept.padEnd(exponent + 1, "0") : "0".repeat(-exponent) + kept;
      const at = Math.max(exponent, 0) + 1;
      return sign + trim(padded.slice(0, at) + "." + padded.slice(at));
    }
    const mantissa = trim(kept[0] + "." + kept.slice(1));
    return `${sign}${mantissa}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }

  function repr(text) { // Python's repr of a str
    const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
    const escaped = text.replace(/[\\\u0000-\u001f\u007f]/g, (c) =>
      ({ "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" })[c] || "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0"));
    return quote + (quote === "'" ? escaped.replace(/'/g, "\\'") : escaped) + quote;
  }

  // Python's float(text): what the command line accepts as a number (underscores between digits).
  function pyFloat(text) {
    const t = text.trim();
    const digits = "\\d(?:_?\\d)*";
    const number = new RegExp(`^[+-]?(?:${digits}(?:\\.(?:${digits})?)?|\\.${digits})(?:[eE][+-]?${digits})?$`);
    if (number.test(t)) return Number(t.replace(/_/g, ""));
    return /^[+-]?(inf|infinity|nan)$/i.test(t) ? Infinity : NaN;
  }

  // --- the inputs, checked as the command line checks them ------------------------------------

  // One input's text: its value, or the command line's message naming it.
  function number(name, text) {
    const rule = C.cli.numbers[name];
    const value = pyFloat(text);
    const ok = Number.isFinite(value) && rule.low <= value && value <= rule.high &&
      (!rule.whole || Number.isInteger(value));
    if (ok) return { value };
    return { error: `argument ${rule.option}: found ${repr(text)}; expected ${rule.expected}` };
  }

  function oneOf(name, value, allowed) {
    if (allowed.includes(value)) return { value };
    if (name === "method") {
      return { error: `argument --method: invalid choice: ${repr(value)} (choose from ${allowed.map(repr).join(", ")}) (--method: one of ${allowed.join(", ")})` };
    }
    const listed = name === "model" ? allowed.map(repr).join(", ") : allowed.join(", ");
    return { error: `argument --${name}: found ${repr(value)}; expected one of ${listed}` };
  }

  // The form's texts -> (inputs as check_inputs returns them, or errors by field).
  function checkInputs(texts) {
    const errors = {}, values = {};
    const take = (field, result) => ("error" in result ? (errors[field] = result.error) : (values[field] = result.value));
    take("model", oneOf("model", texts.model, Object.keys(C.models)));
    if (texts.size.trim() === "") errors.size = C.cli.size_required;
    else take("size", number(texts.size_kind, texts.size));
    for (const name of ["sequence_length", "epochs", "batch", "price", "deadline", "budget"]) {
      if (texts[name].trim() !== "") take(name, number(name, texts[name]));
    }
    take("method", oneOf("method", texts.method, Object.keys(C.methods)));
    take("hardware", oneOf("hardware", texts.hardware, C.cli.hardware_choices));
    if (Object.keys(errors).length) return { errors };
    const d = C.defaults, given = (name, fallback) => (name in values ? values[name] : fallback);
    return {
      inputs: {
        model: values.model, [texts.size_kind]: values.size,
        sequence_length: given("sequence_length", d.sequence_length), epochs: given("epochs", d.epochs),
        method: values.method, hardware: values.hardware, batch: given("batch", d.batch),
        price: given("price", null), deadline: given("deadline", null), budget: given("budget", null),
      },
    };
  }

  // --- the arithmetic of ftguide/planner.py -----------------------------------------------------

  function chosenHardware(choice) {
    const kinds = { moai: "MoAI flavor", "gpu-nodes": "GPU node" };
    const names = Object.keys(C.hardware);
    if (choice === "all") return names;
    if (choice in kinds) return names.filter((name) => C.hardware[name].kind === kinds[choice]);
    return [choice];
  }

  function runTokens(i) {
    const perEpoch = "samples" in i ? i.samples * i.sequence_length : i.tokens;
    return perEpoch * i.epochs;
  }

  function flopsPerToken(m, method, length) {
    const k = C.constants;
    const adapters = method === "full" ? 0 : 6 * k.lora_rank * m.adapter_params_per_rank;
    return k.matmul_flops[method] * m.matmul_params + adapters + 12 * m.layers * m.attention_width * length;
  }

  function stateBytes(m, method) {
    const k = C.constants;
    if (method === "full") return k.state_bytes * m.params;
    const adapters = k.adapter_bytes * k.lora_rank * m.adapter_params_per_rank;
    if (method === "lora") return k.frozen_bf16_bytes * m.params + adapters;
    const rest = m.params - m.block_matmul_params;
    return k.nf4_bytes * m.block_matmul_params + k.frozen_bf16_bytes * rest + adapters;
  }

  function sampleBytes(m, length, scoresKept) {
    const k = C.constants;
    const scores = scoresKept ? k.attention_bytes_per_head_token * m.attention_heads * length : 0;
    const perToken = m.layers * k.checkpoint_bytes_per_hidden * m.hidden_size +
      k.activation_bytes_per_hidden * m.hidden_size + scores + k.logit_bytes * m.vocab_size;
    return perToken * length;
  }

  function evaluate(i) {
    const m = C.models[i.model], tokens = runTokens(i);
    return chosenHardware(i.hardware).map((name) => {
      const row = option(m, C.hardware[name], tokens, i.sequence_length, i.method, i);
      return { hardware: name, ...row, ...guideFigures(name, tokens, row.hours_at_peak, i) };
    });
  }

  // planner.accumulation_steps: the fewest steps that split a device's share into equal micro-batches.
  function accumulationSteps(perDevice, largest) {
    let steps = Math.ceil(perDevice / largest);
    while (perDevice % steps) steps += 1;
    return steps;
  }

  function option(m, hw, tokens, length, method, i) {
    const MIB = C.constants.mib, devices = hw.devices;
    const statesMib = stateBytes(m, method) / devices / MIB;
    const perSampleMib = sampleBytes(m, length, hw.attention_scores_kept) / MIB;
    const freeMib = hw.device_memory_mib - hw.reserve_mib - statesMib;
    const largest = Math.max(Math.floor(freeMib / perSampleMib), 0);
    const perDevice = Math.ceil(i.batch / devices);
    const fits = largest >= 1;
    const gradAccum = fits ? accumulationSteps(perDevice, largest) : null;
    const micro = fits ? perDevice / gradAccum : null;
    const globalBatch = fits ? micro * gradAccum * devices : null;
    const flops = flopsPerToken(m, method, length);
    const peak = hw.gpus * hw.peak_tflops_per_gpu * 1e12;
    const secondsAtPeak = tokens * flops / peak;
    const startupS = hw.startup_min * 60;
    const hoursLow = (startupS + secondsAtPeak / Math.min(hw.mfu_high, 1.0)) / 3600;
    const hoursHigh = (startupS + secondsAtPeak / Math.min(hw.mfu_low, 1.0)) / 3600;
    const hours = (startupS + secondsAtPeak / Math.min(hw.mfu, 1.0)) / 3600;
    const price = i.price === null ? hw.price : i.price;
    const samples = tokens / length;
    const out = {
      kind: hw.kind, gpu: hw.gpu, gpus: hw.gpus, devices, fits,
      micro_batch: micro, grad_accum: gradAccum, global_batch: globalBatch, largest_micro_batch: largest,
      optimizer_steps: fits ? Math.ceil(samples / globalBatch) : null,
      tokens_per_step: fits ? globalBatch * length : null,
      memory_per_device_mib: hw.device_memory_mib,
      memory_needed_mib: hw.reserve_mib + statesMib + perSampleMib * (micro || 1),
      states_mib: statesMib, reserve_mib: hw.reserve_mib,
      flops_per_token: flops, hours_at_peak: secondsAtPeak / 3600, startup_h: startupS / 3600,
      hours_low: hoursLow, hours_high: hoursHigh, hours,
      price_per_gpu_hour: price, cost: price * hw.gpus * hours,
      cost_low: price * hw.gpus * hoursLow, cost_high: price * hw.gpus * hoursHigh,
      cost_per_m_tokens_low: price * hw.gpus * hoursLow / tokens * 1e6,
      cost_per_m_tokens_high: price * hw.gpus * hoursHigh / tokens * 1e6,
      price_source: i.price === null ? hw.price_source : "your price",
      mfu_low: hw.mfu_low, mfu_high: hw.mfu_high, mfu: hw.mfu, mfu_source: hw.mfu_source,
    };
    out.meets_deadline = i.deadline === null || out.hours_high <= i.deadline;
    out.meets_budget = i.budget === null || out.cost_high <= i.budget;
    return out;
  }

  function guideFigures(name, tokens, hoursAtPeak, i) {
    const out = { guide_batch: null };
    for (const reading of ["reported", "from_time"]) {
      out[`guide_hours_${reading}`] = null;
      out[`guide_hours_${reading}_source`] = null;
    }
    const row = C.guide.find((r) => r.model === i.model && r.hardware === name && r.sequence_length === i.sequence_length);
    if (!row || i.method !== "full") return out;
    out.guide_batch = row.batch;
    for (const reading of ["reported", "from_time"]) {
      if (row[reading] !== null) {
        const source = tokens / row[reading] / 3600;
        out[`guide_hours_${reading}_source`] = source;
        out[`guide_hours_${reading}`] = Math.max(source, hoursAtPeak);
      }
    }
    return out;
  }

  // --- the choice -------------------------------------------------------------------------------

  const rint = (y) => { const r = Math.round(y); return r - y === 0.5 && r % 2 !== 0 ? r - 1 : r; };
  const round2 = (x) => rint(x * 100) / 100; // numpy's round(x, 2)
  const first = (rows, key, better) => rows.reduce((best, row) => (better(row[key], best[key]) ? row : best));

  function recommend(i, options) {
    const ok = options.filter((o) => o.fits && o.meets_deadline && o.meets_budget);
    if (!ok.length) return [null, whyNone(i, options)];
    const ranked = ok.map((o) => ({ o, cents: round2(o.cost_high), hundredths: round2(o.hours_high) }))
      .sort((a, b) => a.cents - b.cents || a.hundredths - b.hundredths);
    const best = ranked[0];
    const tied = ranked.slice(1).filter((r) => r.cents === best.cents && r.hundredths === best.hundredths);
    const tie = tied.length ? ` (tied with ${tied.map((r) => r.o.hardware).join(", ")})` : "";
    const b = best.o;
    return [b.hardware, `${b.hardware}${tie}: the cheapest option that fits in memory` + limitsText(i) +
      `, ${fixed(b.hours_low, 1)}-${fixed(b.hours_high, 1)} h and ${fixed(b.cost_low, 2)}-${money(b.cost_high)}` +
      ` over an MFU of ${percent(b.mfu_low)}-${percent(b.mfu_high)}.`];
  }

  function limitsText(i) {
    const parts = [];
    if (i.deadline !== null) parts.push(`the deadline of ${general(i.deadline)} h`);
    if (i.budget !== null) parts.push(`the budget of ${money(i.budget)}`);
    return parts.length ? " and meets " + parts.join(" and ") + " even at its low MFU" : "";
  }

  function whyNone(i, options) {
    const fitting = options.filter((o) => o.fits);
    if (!fitting.length) {
      const room = options.map((o) => ({ ...o, room: o.memory_per_device_mib - (o.states_mib + o.reserve_mib) }));
      const worst = first(room, "room", (a, b) => a > b);
      return `Nothing fits in memory: even one sample per device needs ${fixed(worst.memory_needed_mib / 1024, 1)} ` +
        `GiB on ${worst.hardware}, which has ${fixed(worst.memory_per_device_mib / 1024, 1)} GiB per device. ` +
        whatWouldFit(i);
    }
    const advice = [];
    if (i.deadline !== null) {
      const fastest = first(fitting, "hours_high", (a, b) => a < b);
      advice.push(`the fastest option that fits, ${fastest.hardware}, needs up to ${fixed(fastest.hours_high, 1)} h`);
    }
    if (i.budget !== null) {
      const cheapest = first(fitting, "cost_high", (a, b) => a < b);
      advice.push(`the cheapest, ${cheapest.hardware}, costs up to ${money(cheapest.cost_high)}`);
    }
    const share = first(fittingShare(fitting, i), "share", (a, b) => a > b);
    advice.push(`or cut the run to ${percent(share.share)} of its tokens on ${share.hardware}`);
    return "None fits in memory and" + limitsText(i).replace(/^ and/, "") + ": " + advice.join("; ") + ".";
  }

  function fittingShare(fitting, i) {
    return fitting.map((o) => {
      const computeH = o.hours_high - o.startup_h;
      let share = 1.0;
      if (i.deadline !== null) share = Math.min(share, (i.deadline - o.startup_h) / computeH);
      if (i.budget !== null) {
        const affordableH = i.budget / (o.price_per_gpu_hour * o.gpus);
        share = Math.min(share, (affordableH - o.startup_h) / computeH);
      }
      return { hardware: o.hardware, share: Math.max(share, 0) };
    });
  }

  function whatWouldFit(i) {
    const tries = [];
    const anyFits = (changes) => evaluate({ ...i, ...changes }).filter((o) => o.fits);
    for (const method of Object.keys(C.methods)) {
      if (method !== i.method && anyFits({ method }).length) {
        tries.push(`${C.methods[method]} fits`);
        break;
      }
    }
    if (i.hardware !== "all") {
      const fitting = anyFits({ hardware: "all" });
      if (fitting.length) tries.push(`${fitting[0].hardware} fits`);
    }
    let length = Math.floor(i.sequence_length / 2);
    while (length >= 1 && !anyFits({ sequence_length: length }).length) length = Math.floor(length / 2);
    if (length >= 1) tries.push(`a sequence of ${whole(length)} tokens fits`);
    return "What would fit: " + (tries.length ? tries.join("; ") : "nothing in data/") + ".";
  }

  function notesFor(i, options) {
    const notes = [];
    if (i.price !== null) notes.push(`Your price, ${money(i.price)} per GPU-hour, replaces every option's listed price.`);
    const names = (rows) => rows.map((o) => o.hardware).join(", ");
    const batchRaised = options.filter((o) => o.fits && o.global_batch > i.batch);
    if (batchRaised.length) {
      notes.push(`The global batch is raised on ${names(batchRaised)} so that every device gets a whole number ` +
        "of samples: that changes the optimisation, not only the speed.");
    }
    const guideRaised = options.filter((o) => o.guide_hours_reported_source !== null && o.guide_hours_reported_source < o.hours_at_peak);
    if (guideRaised.length) {
      notes.push(`The guide's reported throughput on ${names(guideRaised)} implies more than 100% of peak: its ` +
        "hours are raised to the run's arithmetic at 100% of peak, and its own figure is kept beside (see the audit page).");
    }
    if (i.method === "qlora") {
      notes.push("QLoRA is timed like LoRA: dequantising the 4-bit weights costs extra time that the model " +
        "does not count, so its QLoRA times are a lower bound.");
    }
    return notes;
  }

  function plan(inputs) {
    const options = evaluate(inputs);
    const [recommended, reason] = recommend(inputs, options);
    return { inputs, options, recommended, reason, notes: notesFor(inputs, options) };
  }

  // --- the page ---------------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);
  const form = $("planner-form"), result = $("planner-result");
  const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const span = (low, high, format) => `${format(low)}-${format(high)}`;

  // The columns of planner.option_table.
  const COLUMNS = [
    ["GPUs", (o) => String(o.gpus)],
    ["Fits in memory", (o) => (o.fits ? "yes" : "no")],
    ["Micro-batch x accumulation", (o) => (o.fits ? `${o.micro_batch} x ${o.grad_accum}` : "-")],
    ["Memory per device (GiB)", (o) => `${fixed(o.memory_needed_mib / 1024, 1)} of ${fixed(o.memory_per_device_mib / 1024, 1)}`],
    ["MFU", (o) => span(o.mfu_low, o.mfu_high, percent)],
    ["Hours", (o) => span(o.hours_low, o.hours_high, (x) => fixed(x, 2))],
    ["Cost (USD)", (o) => span(o.cost_low, o.cost_high, (x) => fixed(x, 2))],
    ["USD per 1M tokens", (o) => span(o.cost_per_m_tokens_low, o.cost_per_m_tokens_high, (x) => fixed(x, 3))],
    ["Meets limits", (o) => (o.fits ? (o.meets_deadline && o.meets_budget ? "yes" : "no") : "-")],
    ["Guide's hours (from time)", (o) => (o.guide_hours_from_time === null ? "-" : fixed(o.guide_hours_from_time, 2))],
    ["Guide's hours (throughput)", (o) => (o.guide_hours_reported === null ? "-"
      : o.guide_hours_reported === o.guide_hours_reported_source ? fixed(o.guide_hours_reported, 2)
        : `${fixed(o.guide_hours_reported, 2)} (source: ${fixed(o.guide_hours_reported_source, 2)})`)],
  ];

  function heading(i) { // planner.format_plan's first line
    const size = "samples" in i ? `${whole(i.samples)} samples` : `${whole(i.tokens)} tokens`;
    return `${i.model}, ${C.methods[i.method]}: ${size} per epoch at ${whole(i.sequence_length)} tokens, ` +
      `${general(i.epochs)} epoch(s), global batch ${whole(i.batch)}`;
  }

  function planHtml(p) {
    const head = COLUMNS.map(([name]) => `<th scope="col">${escape(name)}</th>`).join("");
    const rows = p.options.map((o) => `<tr${o.hardware === p.recommended ? ' class="planner-pick"' : ""}>` +
      `<th scope="row">${escape(o.hardware)}</th>` +
      COLUMNS.map(([, cell]) => `<td>${escape(cell(o))}</td>`).join("") + "</tr>").join("");
    const notes = p.notes.map((note) => `<li>${escape(note)}</li>`).join("");
    return `<p class="planner-reason">${p.recommended ? "<strong>Recommended:</strong> " : ""}${escape(p.reason)}</p>` +
      `<div class="planner-table" role="region" tabindex="0" aria-labelledby="planner-caption">` +
      `<table class="ftguide-table"><caption id="planner-caption">${escape(heading(p.inputs))}</caption>` +
      `<thead><tr><th scope="col">Hardware</th>${head}</tr></thead><tbody>${rows}</tbody></table></div>` +
      (notes ? `<ul class="planner-notes">${notes}</ul>` : "") +
      "<p class=\"planner-hint\">Hours and costs span the MFU range each option's evidence allows (low MFU = high figure).</p>";
  }

  function texts() {
    const data = new FormData(form);
    const out = { size_kind: data.get("size_kind") === "tokens" ? "tokens" : "samples" };
    for (const name of ["model", "method", "hardware", ...NUMBER_FIELDS]) out[name] = String(data.get(name) ?? "");
    return out;
  }

  // The inputs as a query string (?model=Llama3+8B&samples=287113...): the empty ones left out.
  function query(t) {
    const params = new URLSearchParams();
    for (const name of ["model", "size", "sequence_length", "epochs", "method", "hardware", "batch", "price", "deadline", "budget"]) {
      if (t[name].trim() !== "") params.set(name === "size" ? t.size_kind : name, t[name]);
    }
    return params.toString();
  }

  function showErrors(errors) {
    for (const name of ["model", "method", "hardware", ...NUMBER_FIELDS]) {
      const field = $(`planner-${name}`), message = $(`planner-${name}-error`);
      message.textContent = errors[name] || "";
      if (errors[name]) field.setAttribute("aria-invalid", "true");
      else field.removeAttribute("aria-invalid");
    }
  }

  let shown = null;
  function update() {
    const t = texts();
    $("planner-size-label").textContent = t.size_kind === "tokens" ? "Tokens per epoch (pad tokens included)" : "Samples per epoch";
    const q = query(t);
    history.replaceState(history.state, "", `${location.pathname}${q ? "?" + q : ""}${location.hash}`);
    const checked = checkInputs(t);
    showErrors(checked.errors || {});
    let html, json;
    if (checked.errors) {
      json = { errors: checked.errors };
      html = '<p class="planner-invalid">No plan: correct the input marked above (the message beside it says what is allowed).</p>';
    } else {
      json = plan(checked.inputs);
      html = planHtml(json);
    }
    result.dataset.json = JSON.stringify(json);
    result.dataset.query = q;
    if (html !== shown) { // unchanged text is not announced again
      result.innerHTML = html;
      shown = html;
    }
  }

  function addOptions(select, entries) {
    for (const [value, text] of entries) select.add(new Option(text, value));
  }

  // A value from the address that the list does not have stays visible, so its message shows.
  function choose(select, value) {
    if (![...select.options].some((o) => o.value === value)) select.add(new Option(`${value} (not available)`, value));
    select.value = value;
  }

  function fill(params) {
    addOptions($("planner-model"), Object.keys(C.models).map((name) => [name, name]));
    addOptions($("planner-method"), Object.entries(C.methods));
    addOptions($("planner-hardware"), [...Object.entries(C.cli.hardware_groups),
      ...Object.keys(C.hardware).map((name) => [name, `${name} (${C.hardware[name].kind}, ${C.hardware[name].gpus} × ${C.hardware[name].gpu})`])]);
    const d = C.defaults, n = C.cli.numbers;
    const hints = {
      size: `${n.samples.expected} samples, or ${n.tokens.expected} tokens`,
      sequence_length: `${n.sequence_length.expected}; empty: ${whole(d.sequence_length)}`,
      epochs: `${n.epochs.expected}; empty: ${general(d.epochs)}`,
      batch: `${n.batch.expected}; empty: ${whole(d.batch)}`,
      price: `${n.price.expected}; empty: each option's listed price`,
      deadline: `${n.deadline.expected}; empty: none`,
      budget: `${n.budget.expected}; empty: none`,
    };
    for (const [name, hint] of Object.entries(hints)) $(`planner-${name}-hint`).textContent = `Allowed: ${hint}.`;
    const fromAddress = ["model", "samples", "tokens"].some((name) => params.has(name));
    const start = fromAddress ? Object.fromEntries(params) : { ...C.example };
    choose($("planner-model"), start.model ?? "");
    choose($("planner-method"), start.method ?? d.method);
    choose($("planner-hardware"), start.hardware ?? d.hardware);
    const kind = "tokens" in start && !("samples" in start) ? "tokens" : "samples";
    $(`planner-size-${kind}`).checked = true;
    $("planner-size").value = start[kind] ?? "";
    for (const name of NUMBER_FIELDS.slice(1)) $(`planner-${name}`).value = start[name] ?? "";
  }

  async function start() {
    try {
      const response = await fetch(DATA_URL);
      C = await response.json();
    } catch (error) {
      result.hidden = false;
      result.textContent = "The planner's data could not be loaded; the worked examples below still apply.";
      return;
    }
    fill(new URLSearchParams(location.search));
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    form.addEventListener("submit", (event) => { event.preventDefault(); update(); });
    form.hidden = false;
    result.hidden = false;
    update();
  }

  if (form && result) start();
})();
