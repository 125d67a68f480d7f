// ftguide/planner/kernel.py for the reader's browser, name for name: pure functions, no page code.
// Its constants and every sentence come from the coefficients the build exports from Python (`use`);
// numbers are formatted by Intl.NumberFormat, which the Python side mirrors. A change there comes
// here too: tests/test_planner_kernel.py compares the two over generated inputs.

let C = null; // the coefficients: models, hardware, guide, constants, text, columns, inputs
let TEXT = null;

export class PlanError extends Error {}

export function use(coeffs) {
  C = coeffs;
  TEXT = coeffs.text;
}

// --- text ----------------------------------------------------------------------------------------

export function render(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name]));
}

const FORMATS = new Map();
function formatter(key, options) {
  if (!FORMATS.has(key)) FORMATS.set(key, new Intl.NumberFormat("en-US", { roundingMode: "halfEven", ...options }));
  return FORMATS.get(key);
}

export function format_number(x, decimals = 0) {
  return formatter(`f${decimals}`, { minimumFractionDigits: decimals, maximumFractionDigits: decimals }).format(x);
}

export function format_percent(x, decimals = 0) {
  return formatter(`p${decimals}`, { style: "percent", minimumFractionDigits: decimals, maximumFractionDigits: decimals }).format(x);
}

export function format_general(x) {
  return formatter("g", { maximumSignificantDigits: 6 }).format(x);
}

const HIDDEN = [[0x00, 0x1f], [0x7f, 0xa0], [0xad, 0xad], [0x1680, 0x1680], [0x180e, 0x180e], [0x2000, 0x200f],
  [0x2028, 0x202f], [0x205f, 0x206f], [0x3000, 0x3000], [0xfeff, 0xfeff], [0xfff9, 0xfffb]];

function hidden(code) {
  return HIDDEN.some(([low, high]) => low <= code && code <= high);
}

const hex = (code, width) => code.toString(16).padStart(width, "0");

export function quote(value) {
  if (typeof value !== "string") return String(value);
  const mark = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = "";
  for (const char of value) {
    const code = char.codePointAt(0);
    if (char === "\\" || char === mark) out += "\\" + char;
    else if (char === "\n" || char === "\r" || char === "\t") out += { "\n": "\\n", "\r": "\\r", "\t": "\\t" }[char];
    else if (hidden(code)) out += code < 0x100 ? `\\x${hex(code, 2)}` : code < 0x10000 ? `\\u${hex(code, 4)}` : `\\U${hex(code, 8)}`;
    else out += char;
  }
  return mark + out + mark;
}

export function listing(names) {
  return [...names].join(TEXT.list);
}

// --- the reader's inputs -----------------------------------------------------------------------

export const NUMBER_PATTERN = "^([+-]?)([0-9]{1,3}(?:([, _])[0-9]{3}(?:\\3[0-9]{3})*)|[0-9]+)?(?:\\.([0-9]+))?(?:[eE]([+-]?[0-9]+)| ?([kMGB]))?$";
const NUMBER = new RegExp(NUMBER_PATTERN);
export const SUFFIXES = { k: "e3", M: "e6", G: "e9", B: "e9" };
export const BLANKS = " \t";
const strip = (text) => text.replace(/^[ \t]+|[ \t]+$/g, "");

export function read_number(text) {
  const match = NUMBER.exec(strip(text));
  if (!match || (match[2] === undefined && match[4] === undefined)) return NaN;
  const [, sign, whole, separator, fraction, exponent, suffix] = match;
  const digits = separator ? (whole || "0").split(separator).join("") : (whole || "0");
  const scale = exponent !== undefined ? `e${exponent}` : suffix !== undefined ? SUFFIXES[suffix] : "";
  return Number(`${sign}${digits}.${fraction || "0"}${scale}`);
}

export function check_number(spec, raw) {
  let value = typeof raw === "string" ? read_number(raw) : raw;
  if (typeof value !== "number") value = NaN;
  const ok = Number.isFinite(value) && spec.low <= value && value <= spec.high &&
    (spec.kind !== "whole" || value === Math.floor(value));
  if (!ok) return [null, render(TEXT.found, { name: spec.name, found: quote(raw), expected: spec.expected })];
  return [value, null];
}

export const PLANNER_STACK = "planner";
export const STACK_KNOBS = ["checkpointing", "optimizer", "loss", "lora_rank", "lora_targets", "qlora_format", "sharding",
  "adamw_step"];
export const UNUSED_KNOBS = { full: ["lora_rank", "lora_targets", "qlora_format"], lora: ["qlora_format"], qlora: [] };

export function choices(coeffs, spec) {
  if (spec.choices === "models") return Object.keys(coeffs.models);
  if (spec.choices === "hardware") return [...Object.keys(coeffs.hardware_groups), ...Object.keys(coeffs.hardware)];
  if (spec.choices === "catalog") return unique(Object.values(coeffs.hardware).map((hw) => hw.gpu));
  return Object.keys(coeffs.choices[spec.choices]);
}

export function unique(values) {
  return [...new Set(values)];
}

export function check_choice(coeffs, spec, raw) {
  const allowed = choices(coeffs, spec);
  if (typeof raw === "string" && allowed.includes(raw)) return [raw, null];
  const expected = render(TEXT.one_of, { choices: listing(allowed.map(quote)) });
  return [null, render(TEXT.found, { name: spec.name, found: quote(raw), expected })];
}

export const CONFIG_FIELDS = {
  layers: ["num_hidden_layers", 1, 1000], hidden_size: ["hidden_size", 1, 131072],
  attention_heads: ["num_attention_heads", 1, 1024], ffn_size: ["intermediate_size", 1, 1048576],
  vocab_size: ["vocab_size", 1, 4194304],
};
export const CONFIG_OPTIONAL = { kv_heads: ["num_key_value_heads", 1, 1024], head_dim: ["head_dim", 1, 4096] };
export const MOE_KEYS = ["num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts"];

export function is_finite_number(value) {
  return typeof value === "number" && Number.isFinite(value);
}

export function is_whole_in(value, low, high) {
  return is_finite_number(value) && low <= value && value <= high && value === Math.floor(value);
}

export function config_value(config, key, low, high) {
  const value = Object.hasOwn(config, key) ? config[key] : undefined;
  if (is_whole_in(value, low, high)) return [value, null];
  const shown = is_finite_number(value) ? format_general(value) : value === undefined || value === null ? TEXT.missing
    : typeof value === "string" ? quote(value) : TEXT.not_number;
  return [null, render(TEXT.config_field, { key, value: shown, low: format_number(low), high: format_number(high) })];
}

export function parse_json(text) {
  try { return JSON.parse(text); } catch { return null; }
}

export function check_config(raw) {
  const config = typeof raw === "string" ? parse_json(raw) : raw;
  if (config === null && typeof raw === "string") return [null, TEXT.config_json];
  if (typeof config !== "object" || config === null || Array.isArray(config)) return [null, TEXT.config_object];
  const own = (key) => (Object.hasOwn(config, key) ? config[key] : undefined);
  const moe = MOE_KEYS.find((key) => is_whole_in(own(key), 2, Infinity));
  if (moe !== undefined) return [null, render(TEXT.config_moe, { key: moe, value: format_general(config[moe]) })];
  const row = {};
  for (const [column, [key, low, high]] of Object.entries(CONFIG_FIELDS)) {
    const [value, error] = config_value(config, key, low, high);
    if (error) return [null, error];
    row[column] = value;
  }
  for (const [column, [key, low, high]] of Object.entries(CONFIG_OPTIONAL)) {
    row[column] = null;
    if (own(key) !== undefined && own(key) !== null) {
      const [value, error] = config_value(config, key, low, high);
      if (error) return [null, error];
      row[column] = value;
    }
  }
  if (row.kv_heads === null) row.kv_heads = row.attention_heads;
  if (row.kv_heads > row.attention_heads || row.attention_heads % row.kv_heads) {
    return [null, render(TEXT.config_heads, { heads: row.attention_heads, kv: row.kv_heads })];
  }
  if (row.head_dim === null && row.hidden_size % row.attention_heads) {
    return [null, render(TEXT.config_width, { hidden: row.hidden_size, heads: row.attention_heads })];
  }
  const name = [own("_name_or_path"), own("model_type")].find((value) => typeof value === "string" && strip(value));
  row.name = name !== undefined ? [...quote(name)].slice(1, -1).slice(0, 80).join("") : "config.json";
  row.tied_embeddings = own("tie_word_embeddings") === true;
  row.qkv_bias = own("attention_bias") === true || own("model_type") === "qwen2";
  row.linear_bias = own("mlp_bias") === true;
  row.mlp = "gated";
  row.norm = "rmsnorm";
  row.learned_positions = 0;
  row.logit_softcapping = is_finite_number(own("final_logit_softcapping"));
  return [row, null];
}

export function check_value(coeffs, spec, raw) {
  if (spec.kind === "choice") return check_choice(coeffs, spec, raw);
  if (spec.kind === "config") return check_config(raw);
  return check_number(spec, raw);
}

export function is_given(raw) {
  return raw !== undefined && raw !== null && !(typeof raw === "string" && strip(raw) === "");
}

export function read_inputs(coeffs, given) {
  const inputs = {}, errors = {};
  const replaced = new Set(coeffs.inputs.filter((spec) => spec.replaces && is_given(given[spec.name])).map((spec) => spec.replaces));
  for (const group of groups(coeffs.inputs)) {
    const present = group.filter((spec) => is_given(given[spec.name]));
    if (group.length > 1 && present.length !== 1) {
      const name = group.map((spec) => spec.name).join("/");
      const expected = group.map((spec) => `${spec.name}: ${spec.expected}`).join("; ");
      errors[group[0].group] = render(TEXT.give_one, { name, expected });
      continue;
    }
    for (const spec of group) {
      if (replaced.has(spec.name)) continue;
      const field = spec.group || spec.name;
      let raw = given[spec.name];
      if (!is_given(raw)) {
        if (group.length === 1 && spec.required) {
          raw = "";
        } else {
          if (group.length === 1) inputs[spec.name] = spec.default;
          continue;
        }
      }
      const [value, error] = check_value(coeffs, spec, raw);
      if (error) errors[field] = error;
      else inputs[spec.name] = value;
    }
  }
  if (!Object.keys(errors).length && (inputs.stack ?? PLANNER_STACK) !== PLANNER_STACK) {
    for (const knob of STACK_KNOBS) if (!is_given(given[knob])) inputs[knob] = null;
  }
  let found = errors;
  if (!Object.keys(found).length) {
    found = check_selection(coeffs, inputs);
    if (!Object.keys(found).length) found = check_packing(inputs);
  }
  return Object.keys(found).length ? { errors: found } : { inputs };
}

export function check_selection(coeffs, inputs) {
  const hw = coeffs.hardware;
  let names = chosen_hardware(coeffs, inputs.hardware);
  const gpu = inputs.gpu ?? null, count = inputs.gpus ?? null;
  const where = { hardware: quote(inputs.hardware), gpu: "" };
  if (gpu !== null) {
    const offered = unique(names.map((name) => hw[name].gpu));
    if (!offered.includes(gpu)) {
      return { gpu: render(TEXT.selection, { ...where, name: "gpu", found: quote(gpu), choices: listing(offered.map(quote)) }) };
    }
    names = names.filter((name) => hw[name].gpu === gpu);
    where.gpu = render(TEXT.selection_gpu, { gpu: quote(gpu) });
  }
  if (count !== null) {
    const offered = unique(names.map((name) => hw[name].gpus)).sort((a, b) => a - b);
    if (!offered.includes(count)) {
      return { gpus: render(TEXT.selection, { ...where, name: "gpus", found: format_number(count),
        choices: listing(offered.map((n) => format_number(n))) }) };
    }
  }
  return {};
}

export function check_packing(inputs) {
  const mean = inputs.mean_sample_length ?? null;
  if (mean !== null && mean > inputs.sequence_length) {
    return { mean_sample_length: render(TEXT.packing_longer, {
      name: "mean_sample_length", found: format_number(mean), length: format_number(inputs.sequence_length) }) };
  }
  return {};
}

export function groups(specs) {
  const out = [];
  for (const spec of specs) {
    if (spec.group && out.length && out[out.length - 1][0].group === spec.group) out[out.length - 1].push(spec);
    else out.push([spec]);
  }
  return out;
}

export function check_inputs(coeffs, given) {
  const read = read_inputs(coeffs, given);
  if ("errors" in read) throw new PlanError(Object.values(read.errors)[0]);
  return read.inputs;
}

// --- a model's architecture ----------------------------------------------------------------------

export function architecture(config) {
  let head = config.head_dim;
  if (!(typeof head === "number" && head === head)) head = Math.floor(config.hidden_size / config.attention_heads);
  return {
    layers: config.layers, hidden_size: config.hidden_size, attention_heads: config.attention_heads, head_dim: head,
    attention_width: config.attention_heads * head, kv_width: config.kv_heads * head, ffn_size: config.ffn_size,
    ffn_matrices: config.mlp === "gated" ? 3 : 2, vocab_size: config.vocab_size,
  };
}

export function block_matmul_parameters(a) {
  const d = a.hidden_size;
  return a.layers * (2 * d * a.attention_width + 2 * d * a.kv_width + a.ffn_matrices * d * a.ffn_size);
}

export function matmul_parameters(a) {
  return block_matmul_parameters(a) + a.vocab_size * a.hidden_size;
}

export function parameter_count(config) {
  const a = architecture(config);
  const [d, width, kv, ffn, matrices] = [a.hidden_size, a.attention_width, a.kv_width, a.ffn_size, a.ffn_matrices];
  const biases = (config.qkv_bias ? width + 2 * kv : 0) + (config.linear_bias ? d + (matrices - 1) * ffn + d : 0);
  const norm = config.norm === "layernorm" ? 2 * d : d;
  const block = 2 * d * width + 2 * d * kv + matrices * d * ffn + biases + 2 * norm;
  const embeddings = a.vocab_size * d * (config.tied_embeddings ? 1 : 2) + config.learned_positions * d;
  return a.layers * block + norm + embeddings;
}

export function adapter_parameters_per_rank(a, targets = "all-linear") {
  const d = a.hidden_size;
  let per_layer = (d + a.attention_width) * 2 + (d + a.kv_width) * 2;
  if (targets !== "attention") per_layer += a.ffn_matrices * (d + a.ffn_size);
  return a.layers * per_layer;
}

export function embedding_parameters(config) {
  return config.vocab_size * config.hidden_size * (config.tied_embeddings ? 1 : 2);
}

export function model_coefficients(config) {
  const a = architecture(config);
  const out = {
    params: parameter_count(config), matmul_params: matmul_parameters(a),
    block_matmul_params: block_matmul_parameters(a), adapter_params_per_rank: adapter_parameters_per_rank(a),
    attention_adapter_params_per_rank: adapter_parameters_per_rank(a, "attention"),
    embedding_params: embedding_parameters(config), logit_softcapping: config.logit_softcapping === true,
  };
  for (const key of ["layers", "hidden_size", "attention_width", "attention_heads", "vocab_size", "ffn_size",
                     "ffn_matrices"]) out[key] = a[key];
  return out;
}

// --- FLOPs, bytes, states -------------------------------------------------------------------------

export function attention_flops(layers, attention_width, sequence_length) {
  return 12 * layers * attention_width * sequence_length;
}

export const FULL = { method: "full" };

export function adapter_parameters(m, run) {
  const attention_only = run.lora_targets === "attention";
  const per_rank = attention_only ? m.attention_adapter_params_per_rank : m.adapter_params_per_rank;
  return run.lora_rank * per_rank;
}

export function embeddings_trained(m, run) {
  return run.lora_targets === "all-linear+embeddings" ? m.embedding_params : 0;
}

export function flops_per_token(m, sequence_length, run = FULL) {
  const k = C.constants;
  const attention = attention_flops(m.layers, m.attention_width, sequence_length);
  if (run.method === "full") return k.matmul_flops.full * m.matmul_params + attention;
  const output_trained = embeddings_trained(m, run) ? 2 * m.vocab_size * m.hidden_size : 0;
  const frozen = k.matmul_flops[run.method] * m.matmul_params;
  return frozen + output_trained + 6 * adapter_parameters(m, run) + attention;
}

export function recomputed_flops_per_token(m, sequence_length, run) {
  const k = C.constants;
  const attention = k.causal_share * attention_flops(m.layers, m.attention_width, sequence_length) / 3;
  if (run.checkpointing === "selective") return attention;
  if (run.checkpointing !== "full" && run.checkpointing !== "offloaded") return 0;
  const adapters = run.method !== "full" ? adapter_parameters(m, run) : 0;
  return k.recomputed_forward_flops * (m.block_matmul_params + adapters) + attention;
}

export function hardware_flops_per_token(m, sequence_length, run) {
  const attention = attention_flops(m.layers, m.attention_width, sequence_length);
  return flops_per_token(m, sequence_length, run) - (1 - C.constants.causal_share) * attention
    + recomputed_flops_per_token(m, sequence_length, run);
}

export function hardware_share(m, sequence_length, run) {
  return hardware_flops_per_token(m, sequence_length, run) / flops_per_token(m, sequence_length, run);
}

export function activation_bytes_per_token(m, sequence_length, checkpointing = "full", scores_kept = true,
  keeps_inputs = false) {
  const k = C.constants;
  let scores = scores_kept ? k.attention_bytes_per_head_token * m.attention_heads * sequence_length : 0;
  if (checkpointing === "selective") scores = 0;
  const mlp = k.activation_bytes_per_ffn_matrix * (m.ffn_matrices - 1) * m.ffn_size;
  let layer = k.activation_bytes_per_hidden * m.hidden_size + mlp + scores;
  if (keeps_inputs) layer += k.saved_input_bytes * (2 * m.hidden_size + m.attention_width + m.ffn_size);
  if (checkpointing === "full") return m.layers * k.checkpoint_bytes_per_hidden * m.hidden_size + layer;
  if (checkpointing === "offloaded") return layer;
  return m.layers * layer;
}

export function logit_bytes_per_token(m, loss = "full") {
  const kept = C.constants.loss_bytes[loss] > 0;
  const softcap = m.logit_softcapping && kept ? C.constants.softcap_bytes : 0;
  return (C.constants.loss_bytes[loss] + softcap) * m.vocab_size;
}

export function sample_bytes(m, sequence_length, run, scores_kept = true) {
  const keeps_inputs = run.method === "qlora" && run.qlora_keeps_inputs === true;
  const per_token = activation_bytes_per_token(m, sequence_length, run.checkpointing, scores_kept, keeps_inputs) +
    logit_bytes_per_token(m, run.loss);
  return per_token * sequence_length;
}

export function state_bytes(m, run) {
  const k = C.constants;
  const per_trained = k.optimizer_bytes[run.optimizer];
  if (run.method === "full") return per_trained * m.params;
  const trained = adapter_parameters(m, run) + embeddings_trained(m, run);
  const frozen = m.params; // the whole base, the original of any trained copy included
  if (run.method === "lora") return k.frozen_bf16_bytes * frozen + per_trained * trained;
  const blocks = m.block_matmul_params;
  return k.qlora_bits[run.qlora_format] / 8 * blocks + k.frozen_bf16_bytes * (frozen - blocks) + per_trained * trained;
}

export function device_state_bytes(m, run, devices, gathers = true) {
  if (run.optimizer === "offloaded") return C.constants.gathered_layers * state_bytes(m, run) / m.layers;
  const never_held = run.adamw_step === "in-backward" ? gradient_bytes(m, run, devices) : 0;
  if (run.sharding === "sharded" && devices > 1) {
    return state_bytes(m, run) / devices + (gathers ? gathered_bytes(m, run) : 0) - never_held;
  }
  return state_bytes(m, run) - never_held;
}
export function trained_on_device(m, run, devices) {
  if (run.optimizer === "offloaded") return 0;
  return trained_parameters(m, run) / (run.sharding === "sharded" ? devices : 1);
}
export function gradient_bytes(m, run, devices) {
  return C.constants.gradient_bytes * trained_on_device(m, run, devices);
}
export function released_gradient_bytes(m, run, devices, grad_accum) {
  if (grad_accum !== 1 || run.adamw_step === "in-backward") return 0;
  return gradient_bytes(m, run, devices);
}

export function gathered_bytes(m, run) {
  const k = C.constants;
  return (k.gathered_layers * weight_bytes(m, run) + k.communicated_bytes * trained_parameters(m, run)) / m.layers;
}

// --- time: never faster than the hardware --------------------------------------------------------

export function compute_seconds(tokens, flops_per_token_, gpus, peak_per_gpu) {
  return tokens * flops_per_token_ / (gpus * peak_per_gpu);
}

export function utilisation(tokens_per_s, flops_per_token_, peak_flops) {
  return tokens_per_s * flops_per_token_ / peak_flops;
}

export function bounded_seconds(at_peak_s, mfu, overhead_s = 0.0) {
  if (!(mfu > 0)) throw new PlanError(TEXT.mfu_positive);
  return Math.max(overhead_s, 0.0) + at_peak_s / Math.min(mfu, 1.0);
}

// (shortest, longest, central) seconds of a run for its MFU range (low, high, central); the shortest
// hides the communication behind the arithmetic, the longest and the central add all of it.
export function run_seconds(at_peak_s, mfus, startup_s, communication_s) {
  const [mfu_low, mfu_high, mfu] = mfus;
  const [short_s, long_s, central_s] = [mfu_high, mfu_low, mfu].map((value) => bounded_seconds(at_peak_s, value, startup_s));
  return [Math.max(short_s, Math.max(startup_s, 0.0) + communication_s), long_s + communication_s, central_s + communication_s];
}

// --- communication: sharded state over the links of data/gpus.csv -----------------------------------

export function weight_bytes(m, run) {
  const k = C.constants;
  if (run.method === "full") return k.communicated_bytes * m.params;
  const adapters = k.communicated_bytes * adapter_parameters(m, run);
  if (run.method === "lora") return k.communicated_bytes * m.params + adapters;
  const blocks = m.block_matmul_params;
  return k.qlora_bits[run.qlora_format] / 8 * blocks + k.communicated_bytes * (m.params - blocks) + adapters;
}

export function trained_parameters(m, run) {
  if (run.method === "full") return m.params;
  return adapter_parameters(m, run) + embeddings_trained(m, run);
}

export function collective_seconds(size_bytes, hw) {
  const per_node = Math.min(hw.gpus, C.constants.gpus_per_node);
  const nodes = Math.ceil(hw.gpus / per_node);
  const inside = per_node > 1 ? (per_node - 1) / per_node * size_bytes / (hw.intra_node_gb_s / 2 * 1e9) : 0.0;
  const across = nodes > 1 ? (nodes - 1) / nodes * size_bytes / per_node / (hw.inter_node_gb_s * 1e9) : 0.0;
  return inside + across;
}

export function communication_seconds(m, hw, run, split, tokens) {
  const k = C.constants;
  if (hw.gpus < 2 || hw.intra_node_gb_s === null) return 0.0;
  const micro_steps = tokens / ((split.micro_batch || 1) * run.sequence_length * hw.devices);
  const gradients = collective_seconds(k.communicated_bytes * trained_parameters(m, run), hw);
  if (run.sharding === "sharded") {
    return micro_steps * (k.gathers_per_micro_step * collective_seconds(weight_bytes(m, run), hw) + gradients);
  }
  return micro_steps / (split.grad_accum || 1) * 2 * gradients;
}

export function tensor_room(hw, states_mib) {
  return (hw.device_memory_mib - hw.reserve_mib) / (1 + hw.reserve_share) - states_mib;
}
export function with_reserve(hw, tensors_mib) {
  return hw.reserve_mib + (1 + hw.reserve_share) * tensors_mib;
}
export function longest_sequence(m, hw, run, states_mib, step_mib, high) {
  const room = tensor_room(hw, states_mib);
  const fits = (length) => sample_bytes(m, length, run, hw.attention_scores_kept) / C.constants.mib <= room;
  if (step_mib > room || !fits(1)) return 0;
  let low = 1, up = high + 1;
  while (up - low > 1) {
    const middle = Math.floor((low + up) / 2);
    if (fits(middle)) low = middle;
    else up = middle;
  }
  return low;
}

// --- one option ------------------------------------------------------------------------------------

export function mfu_range(hw, flops_per_micro_batch, method = "full", hardware_share = 1.0) {
  const curve = hw.mfu_curve;
  if (curve === undefined || curve === null) return [hw.mfu_low, hw.mfu_high, hw.mfu];
  const work = flops_per_micro_batch * hardware_share;
  const centre = Math.log(curve.ceiling) + Math.log(work / (work + curve.half_work))
    + (method === "qlora" ? curve.qlora : 0.0);
  const utilisations = [curve.low, curve.high, 0.0].map((shift) => Math.min(Math.exp(centre + shift), 1.0));
  return utilisations.map((used) => Math.min(used / hardware_share, 1.0));
}

export function fit_verdict(needed_mib, have_mib, fits, band) {
  if (!fits) return "no";
  return needed_mib * (1 + band) > have_mib ? "tight" : "fits";
}

export function run_tokens(inputs) {
  if (!("samples" in inputs)) return inputs.tokens * inputs.epochs;
  const mean = inputs.mean_sample_length ?? null;
  return inputs.samples * (mean === null ? inputs.sequence_length : mean) * inputs.epochs;
}

export function chosen_hardware(coeffs, choice) {
  const names = Object.keys(coeffs.hardware);
  if (choice === "all") return names;
  if (Object.hasOwn(coeffs.group_kinds, choice)) {
    return names.filter((name) => coeffs.group_kinds[choice].includes(coeffs.hardware[name].kind));
  }
  return [choice];
}

export function selected_hardware(coeffs, inputs) {
  const gpu = inputs.gpu ?? null, count = inputs.gpus ?? null;
  return chosen_hardware(coeffs, inputs.hardware).filter((name) => (gpu === null || coeffs.hardware[name].gpu === gpu) &&
    (count === null || coeffs.hardware[name].gpus === count));
}

export function accumulation_steps(per_device, largest) {
  let steps = Math.ceil(per_device / largest);
  while (per_device % steps) steps += 1;
  return steps;
}

export function batch_split(hw, inputs, largest, one_step, one_step_only = false) {
  const per_device = Math.ceil(inputs.batch / hw.devices);
  const fixed = inputs.micro_batch;
  const single = fixed === null ? per_device : fixed;
  if (per_device <= single && single <= one_step) {
    return { micro_batch: single, grad_accum: 1, global_batch: single * hw.devices };
  }
  if (one_step_only || largest < 1 || (fixed !== null && fixed > largest)) return { micro_batch: null, grad_accum: null, global_batch: null };
  const steps = fixed === null ? accumulation_steps(per_device, largest) : Math.ceil(per_device / fixed);
  const micro = fixed === null ? Math.floor(per_device / steps) : fixed;
  return { micro_batch: micro, grad_accum: steps, global_batch: micro * steps * hw.devices };
}

export function model_of(coeffs, inputs) {
  return "model" in inputs ? coeffs.models[inputs.model] : model_coefficients(inputs.config);
}

export function model_name(inputs) {
  return "model" in inputs ? inputs.model : render(TEXT.config_name, { name: inputs.config.name });
}

export function no_sync_gradient_bytes(m, run) {
  const trained_all = run.method === "full" || embeddings_trained(m, run);
  return C.constants.frozen_bf16_bytes * (trained_all ? m.params : m.params - m.embedding_params);
}

export function held_gradient_shard_bytes(m, run, devices) {
  return C.constants.gradient_bytes * trained_parameters(m, run) / devices;
}

export function fp32_gradient_group_bytes(m, run, devices, sub_group_size) {
  return C.constants.fp32_bytes * Math.min(sub_group_size, trained_parameters(m, run) / devices);
}

export function optimizer_step_bytes(m, run, devices) {
  if (run.adamw_step !== "foreach") return 0;
  return (C.constants.second_moment_bytes[run.optimizer] ?? 0) * trained_on_device(m, run, devices);
}

export function peak_bytes(states, per_sample, micro_batch, step, released = 0) {
  return states + Math.max(micro_batch * per_sample - released, step);
}
export function largest_micro_batch(room, per_sample, step, released = 0) {
  return step <= room ? Math.max(Math.floor((room + released) / per_sample), 0) : 0;
}

export function stack_default(defaults, knob, method, devices) {
  const scope = devices === 1 ? "one-gpu" : "multi-gpu";
  for (const row of defaults) {
    if (row.knob === knob && ["all", method, scope, method + "-" + scope].includes(row.applies_to)) return row.value;
  }
  return null;
}

export function run_knobs(coeffs, inputs, devices) {
  const defaults = coeffs.stack_defaults[inputs.stack] ?? [];
  const planner = Object.fromEntries(coeffs.inputs.map((spec) => [spec.name, spec.default]));
  const run = { ...inputs };
  for (const knob of STACK_KNOBS) {
    if (run[knob] === null || run[knob] === undefined) {
      const value = stack_default(defaults, knob, run.method, devices);
      run[knob] = value === null ? planner[knob] : value;
    }
  }
  return run;
}

export function option(coeffs, name, inputs) {
  const m = model_of(coeffs, inputs), hw = coeffs.hardware[name], MIB = C.constants.mib;
  const run = run_knobs(coeffs, inputs, hw.devices);
  const length = inputs.sequence_length, tokens = run_tokens(inputs);
  const states_mib = device_state_bytes(m, run, hw.devices, hw.gathers_layers) / MIB;
  const per_sample_mib = sample_bytes(m, length, run, hw.attention_scores_kept) / MIB;
  const step_mib = optimizer_step_bytes(m, run, hw.devices) / MIB; // taken once the activations are freed
  // What a step of one micro-batch releases: on a GPU stack (PyTorch's zero_grad); the MoAI platform's
  // memory is known only as a whole, fitted on the guide's figures.
  const released_mib = hw.frees_gradients ? released_gradient_bytes(m, run, hw.devices, 1) / MIB : 0;
  const room = tensor_room(hw, states_mib);
  const largest = largest_micro_batch(room, per_sample_mib, step_mib);
  const one_step = largest_micro_batch(room, per_sample_mib, step_mib, released_mib);
  const split = batch_split(hw, inputs, largest, one_step, run.adamw_step === "in-backward");
  const fits = split.micro_batch !== null;
  const per_device = Math.ceil(inputs.batch / hw.devices);
  // Where it does not fit, the memory of the smallest micro-batch it could take: in the backward pass, its share.
  const smallest = run.adamw_step === "in-backward" ? Math.max(per_device, inputs.micro_batch || 1) : null;
  const micro = split.micro_batch || smallest || inputs.micro_batch || 1;
  const released_at = split.grad_accum === 1 || (!fits && per_device <= micro) ? released_mib : 0;
  const peak_mib = peak_bytes(states_mib, per_sample_mib, micro, step_mib, released_at);
  const needed_mib = with_reserve(hw, peak_mib);
  const flops = flops_per_token(m, length, run);
  const at_peak_s = compute_seconds(tokens, flops, hw.gpus, hw.peak_tflops_per_gpu * 1e12);
  const startup_s = hw.startup_min * 60;
  const work = (split.micro_batch || 1) * length * flops;
  const [mfu_low, mfu_high, mfu] = mfu_range(hw, work, inputs.method, hardware_share(m, length, run));
  const communication_s = communication_seconds(m, hw, run, split, tokens);
  const [hours_low, hours_high, hours] = run_seconds(at_peak_s, [mfu_low, mfu_high, mfu], startup_s, communication_s)
    .map((s) => s / 3600);
  const alone = per_device === 1 ? released_mib : 0; // a sample alone is a step of one micro-batch
  const longest = longest_sequence(m, hw, run, states_mib - alone, step_mib + alone, sequence_length_limit(coeffs));
  const price = inputs.price === null ? hw.price : inputs.price;
  const out = {
    hardware: name, kind: hw.kind, gpu: hw.gpu, gpus: hw.gpus, devices: hw.devices,
    knobs: Object.fromEntries(STACK_KNOBS.map((knob) => [knob, run[knob]])), fits, ...split,
    largest_micro_batch: split.grad_accum === 1 ? one_step : largest,
    max_sequence_length: longest, nodes: hw.nodes,
    optimizer_steps: fits ? Math.ceil(tokens / length / split.global_batch) : null,
    tokens_per_step: fits ? split.global_batch * length : null,
    memory_per_device_mib: hw.device_memory_mib,
    memory_needed_mib: needed_mib, memory_gib: needed_mib / 1024,
    states_mib, reserve_mib: needed_mib - peak_mib,
    flops_per_token: flops, hours_at_peak: at_peak_s / 3600, startup_h: startup_s / 3600,
    communication_h: communication_s / 3600,
    hours_low, hours_high, hours,
    price_per_gpu_hour: price, ...costs(price, hw.gpus, [hours, hours_low, hours_high], tokens),
    price_source: inputs.price === null ? hw.price_source : TEXT.your_price,
    mfu_low, mfu_high, mfu, mfu_source: hw.mfu_source,
    measured: hw.measured, evidence: hw.mfu_source,
    caveats: hw.caveats.filter((c) => ["any", run.method, run.optimizer].includes(c.applies_to))
      .map((c) => ({ caveat: c.caveat, source: c.source })),
  };
  out.fit = fit_verdict(out.memory_needed_mib, hw.device_memory_mib, fits, coeffs.memory_band);
  out.meets_deadline = inputs.deadline === null || out.hours_high <= inputs.deadline;
  out.meets_budget = inputs.budget === null || (price !== null && out.cost_high <= inputs.budget);
  return Object.assign(out, guide_figures(coeffs, name, inputs, out.hours_at_peak));
}

export function sequence_length_limit(coeffs) {
  return coeffs.inputs.find((spec) => spec.name === "sequence_length").high;
}

export function costs(price, gpus, hours, tokens) {
  const [cost, cost_low, cost_high] = hours.map((h) => (price === null ? null : price * gpus * h));
  return {
    cost, cost_low, cost_high,
    cost_per_m_tokens_low: price === null ? null : cost_low / tokens * 1e6,
    cost_per_m_tokens_high: price === null ? null : cost_high / tokens * 1e6,
  };
}

export function guide_figures(coeffs, name, inputs, hours_at_peak) {
  const out = { guide_batch: null };
  for (const reading of ["reported", "from_time"]) {
    out[`guide_hours_${reading}`] = null;
    out[`guide_hours_${reading}_source`] = null;
  }
  const row = coeffs.guide.find((r) => r.model === inputs.model && "model" in inputs && r.hardware === name &&
    r.sequence_length === inputs.sequence_length);
  if (row === undefined || inputs.method !== "full") return out;
  out.guide_batch = row.batch;
  const tokens = run_tokens(inputs);
  for (const reading of ["reported", "from_time"]) {
    if (row[reading] !== null) {
      const source = tokens / row[reading] / 3600;
      out[`guide_hours_${reading}_source`] = source;
      out[`guide_hours_${reading}`] = Math.max(source, hours_at_peak);
    }
  }
  return out;
}

export function evaluate(coeffs, inputs) {
  return selected_hardware(coeffs, inputs).map((name) => option(coeffs, name, inputs));
}

// --- the choice -------------------------------------------------------------------------------------

export function round_half_even(x) {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function first_best(options, key, better) {
  let best = options[0];
  for (const o of options.slice(1)) if (better(o[key], best[key])) best = o;
  return best;
}

export function recommend(coeffs, inputs, options) {
  const ok = options.filter((o) => o.fits && o.meets_deadline && o.meets_budget && o.cost !== null && o.measured);
  if (!ok.length) return [null, why_none(coeffs, inputs, options)];
  const rank = ok.map((o) => [round_half_even(o.cost_high * 100), round_half_even(o.hours_high * 100)]);
  const order = ok.map((_, i) => i).sort((i, j) => rank[i][0] - rank[j][0] || rank[i][1] - rank[j][1]);
  const best = ok[order[0]];
  const same = (i) => rank[i][0] === rank[order[0]][0] && rank[i][1] === rank[order[0]][1];
  const tied = order.slice(1).filter(same).map((i) => ok[i].hardware);
  return [best.hardware, render(TEXT.recommended, {
    hardware: best.hardware, tie: tied.length ? render(TEXT.tie, { names: listing(tied) }) : "",
    limits: limits_text(inputs), hours_low: format_number(best.hours_low, 1),
    hours_high: format_number(best.hours_high, 1), cost_low: format_number(best.cost_low, 2),
    cost_high: format_number(best.cost_high, 2), mfu_low: format_percent(best.mfu_low),
    mfu_high: format_percent(best.mfu_high),
  }) + render(TEXT.price_evidence, { price: format_number(best.price_per_gpu_hour, 2), price_source: best.price_source,
    evidence: best.evidence })];
}

export function ranked_first(options, keys) {
  const rank = options.map((o) => keys.map((key) => round_half_even(o[key] * 100)));
  let best = 0;
  for (let i = 1; i < options.length; i++) {
    const j = keys.findIndex((_, n) => rank[i][n] !== rank[best][n]);
    if (j >= 0 && rank[i][j] < rank[best][j]) best = i;
  }
  return options[best];
}

export function answer_cost(o) {
  if (o.cost_low === null) return TEXT.unpriced;
  return render(TEXT.cost_span, { low: format_number(o.cost_low, 2), high: format_number(o.cost_high, 2) });
}

export function answer(template, o, limit) {
  if (o === null) return render(TEXT[template + "_none"], { limit });
  return render(TEXT[template], { limit, hardware: o.hardware,
    hours_low: format_number(o.hours_low, 1), hours_high: format_number(o.hours_high, 1), cost: answer_cost(o) });
}

export function fewest_gpus(inputs, options) {
  const ok = options.filter((o) => o.fits && o.meets_deadline && o.measured);
  const best = ok.length ? ranked_first(ok, ["gpus", "hours_high"]) : null;
  const limit = inputs.deadline === null ? "" : render(TEXT.within_deadline, { deadline: format_general(inputs.deadline) });
  return [best && best.hardware, answer("fewest", best, limit)];
}

export function cheapest_within(inputs, options) {
  const ok = options.filter((o) => o.fits && o.meets_budget && o.cost !== null && o.measured);
  const best = ok.length ? ranked_first(ok, ["cost_high", "hours_high"]) : null;
  const limit = inputs.budget === null ? "" : render(TEXT.within_budget, { budget: format_number(inputs.budget, 2) });
  return [best && best.hardware, answer("cheapest_pick", best, limit)];
}

export function limit_parts(inputs) {
  const parts = [];
  if (inputs.deadline !== null) parts.push(render(TEXT.deadline, { deadline: format_general(inputs.deadline) }));
  if (inputs.budget !== null) parts.push(render(TEXT.budget, { budget: format_number(inputs.budget, 2) }));
  return parts.join(TEXT.and);
}

export function limits_text(inputs) {
  const parts = limit_parts(inputs);
  return parts ? render(TEXT.limits, { parts }) : "";
}

export function why_none(coeffs, inputs, options) {
  const fitting = options.filter((o) => o.fits);
  if (!fitting.length) {
    const one_step = options.filter((o) => o.knobs.adamw_step === "in-backward" && o.largest_micro_batch >= 1);
    if (one_step.length) { // it fits but for the batch: a step in the backward pass cannot accumulate
      const best = first_best(one_step, "largest_micro_batch", (a, b) => a > b);
      return render(TEXT.no_accumulation, {
        share: format_number(Math.ceil(inputs.batch / best.devices)), hardware: best.hardware,
        largest: format_number(best.largest_micro_batch), batch: format_number(best.largest_micro_batch * best.devices),
      });
    }
    const room = options.map((o) => ({ ...o, room: o.memory_per_device_mib - (o.states_mib + o.reserve_mib) }));
    const worst = first_best(room, "room", (a, b) => a > b);
    const fixed = inputs.micro_batch;
    return render(fixed === null ? TEXT.nothing_fits : TEXT.nothing_fits_micro, {
      needed: format_number(worst.memory_needed_mib / 1024, 1), hardware: worst.hardware,
      memory: format_number(worst.memory_per_device_mib / 1024, 1), micro: format_number(fixed || 1),
      tries: what_would_fit(coeffs, inputs),
    });
  }
  const unmeasured = fitting.filter((o) => o.meets_deadline && o.meets_budget && o.cost !== null).map((o) => o.hardware);
  if (unmeasured.length) return render(TEXT.none_measured, { names: listing(unmeasured) });
  const priced = fitting.filter((o) => o.cost !== null);
  if (!priced.length) return render(TEXT.none_priced, { names: listing(fitting.map((o) => o.hardware)) });
  const advice = [];
  if (inputs.deadline !== null) {
    const fastest = first_best(fitting, "hours_high", (a, b) => a < b);
    advice.push(render(TEXT.fastest, { hardware: fastest.hardware, hours: format_number(fastest.hours_high, 1) }));
  }
  if (inputs.budget !== null) {
    const cheapest = first_best(priced, "cost_high", (a, b) => a < b);
    advice.push(render(TEXT.cheapest, { hardware: cheapest.hardware, cost: format_number(cheapest.cost_high, 2) }));
  }
  const best = first_best(fitting_shares(inputs, priced), "share", (a, b) => a > b);
  if (best.share > 0) advice.push(render(TEXT.cut, { share: format_percent(best.share), hardware: best.hardware }));
  else advice.push(TEXT.no_share);
  return render(TEXT.none_meets, { parts: limit_parts(inputs), advice: advice.join(TEXT.advice_separator) });
}

export function fitting_shares(inputs, fitting) {
  return fitting.map((o) => {
    const compute_h = o.hours_high - o.startup_h;
    let share = 1.0;
    if (inputs.deadline !== null) share = Math.min(share, (inputs.deadline - o.startup_h) / compute_h);
    if (inputs.budget !== null) {
      const affordable_h = inputs.budget / (o.price_per_gpu_hour * o.gpus);
      share = Math.min(share, (affordable_h - o.startup_h) / compute_h);
    }
    return { hardware: o.hardware, share: Math.max(share, 0.0) };
  });
}

export function what_would_fit(coeffs, inputs) {
  const fitting = (changes) => evaluate(coeffs, { ...inputs, ...changes }).filter((o) => o.fits);
  const tries = [];
  if (inputs.micro_batch !== null) {
    const own = evaluate(coeffs, { ...inputs, micro_batch: null }).filter((o) => o.fits);
    if (own.length) {
      const best = first_best(own, "largest_micro_batch", (a, b) => a > b);
      tries.push(render(TEXT.micro_fits, { micro: format_number(best.largest_micro_batch), hardware: best.hardware }));
    }
  }
  const method = Object.keys(coeffs.methods).find((m) => m !== inputs.method && fitting({ method: m }).length);
  if (method !== undefined) tries.push(render(TEXT.method_fits, { method: coeffs.methods[method] }));
  if (inputs.hardware !== "all" || (inputs.gpu ?? null) !== null || (inputs.gpus ?? null) !== null) {
    const anywhere = fitting({ hardware: "all", gpu: null, gpus: null });
    if (anywhere.length) tries.push(render(TEXT.hardware_fits, { hardware: anywhere[0].hardware }));
  }
  let length = Math.floor(inputs.sequence_length / 2);
  while (length >= 1 && !fitting({ sequence_length: length }).length) length = Math.floor(length / 2);
  if (length >= 1) tries.push(render(TEXT.length_fits, { length: format_number(length) }));
  return tries.length ? tries.join(TEXT.advice_separator) : TEXT.nothing_in_data;
}

export function knob_notes(inputs, options) {
  if ((inputs.stack ?? PLANNER_STACK) === PLANNER_STACK) return [];
  const left = STACK_KNOBS.filter((knob) => (inputs[knob] ?? null) === null && !UNUSED_KNOBS[inputs.method].includes(knob));
  const by_values = new Map();
  for (const o of options) {
    const values = left.filter((knob) => knob !== "sharding" || o.devices > 1)
      .map((knob) => `${knob} ${o.knobs[knob]}`).join(", ");
    if (!by_values.has(values)) by_values.set(values, []);
    by_values.get(values).push(o.hardware);
  }
  return [...by_values].filter(([values]) => values)
    .map(([values, names]) => render(TEXT.note_knobs, { stack: quote(inputs.stack), knobs: values, names: listing(names) }));
}

export function notes_for(inputs, options) {
  const notes = [];
  if (inputs.price !== null) notes.push(render(TEXT.note_price, { price: format_number(inputs.price, 2) }));
  notes.push(...knob_notes(inputs, options));
  const raised = options.filter((o) => o.fits && o.global_batch > inputs.batch).map((o) => o.hardware);
  if (raised.length) notes.push(render(TEXT.note_batch, { names: listing(raised) }));
  const above_peak = options.filter((o) => o.guide_hours_reported_source !== null &&
    o.guide_hours_reported_source < o.hours_at_peak).map((o) => o.hardware);
  if (above_peak.length) notes.push(render(TEXT.note_guide, { names: listing(above_peak) }));
  const unpriced = options.filter((o) => o.cost === null).map((o) => o.hardware);
  if (unpriced.length) notes.push(render(TEXT.note_unpriced, { names: listing(unpriced) }));
  if (inputs.method === "qlora") notes.push(TEXT.note_qlora);
  const communicating = new Map(); // by the state's sharding, which a stack's default may set per option
  for (const o of options) {
    if (o.communication_h > 0) {
      if (!communicating.has(o.knobs.sharding)) communicating.set(o.knobs.sharding, []);
      communicating.get(o.knobs.sharding).push(o.hardware);
    }
  }
  for (const [sharding, names] of communicating) {
    notes.push(render(TEXT.note_communication, { names: listing(names), sharding: C.choices.sharding[sharding] }));
  }
  const flavors = options.filter((o) => o.kind === "MoAI flavor");
  if (flavors.length) notes.push(render(TEXT.note_startup_moai, { minutes: format_number(flavors[0].startup_h * 60, 1) }));
  if (flavors.length < options.length) notes.push(TEXT.note_startup_gpu);
  const caveats = new Map();
  for (const o of options) {
    for (const c of o.caveats) {
      if (!caveats.has(c.caveat)) caveats.set(c.caveat, [c, []]);
      caveats.get(c.caveat)[1].push(o.hardware);
    }
  }
  for (const [c, names] of caveats.values()) {
    notes.push(render(TEXT.note_caveat, { names: listing(names), caveat: c.caveat, source: c.source }));
  }
  return notes;
}

export function plan(coeffs, inputs) {
  const options = evaluate(coeffs, inputs);
  const [recommended, reason] = recommend(coeffs, inputs, options);
  const [fewest, fewest_reason] = fewest_gpus(inputs, options);
  const [cheapest, cheapest_reason] = cheapest_within(inputs, options);
  return { inputs, options, recommended, reason, notes: notes_for(inputs, options), fewest_gpus: fewest,
    fewest_gpus_reason: fewest_reason, cheapest, cheapest_reason };
}

// --- the plan for people ------------------------------------------------------------------------------

export function heading(inputs) {
  const kind = "samples" in inputs ? "samples" : "tokens";
  const packed = kind === "samples" && (inputs.mean_sample_length ?? null) !== null;
  const values = { count: format_number(inputs[kind]) };
  if (packed) values.mean = format_number(inputs.mean_sample_length);
  const size = render(TEXT[packed ? "size_packed" : `size_${kind}`], values);
  return render(TEXT.heading, {
    model: model_name(inputs), method: C.methods[inputs.method], size,
    length: format_number(inputs.sequence_length), epochs: format_general(inputs.epochs),
    batch: format_number(inputs.batch),
  });
}

export function span(low, high, decimals, percent = false) {
  if (low === null) return TEXT.not_known;
  const shown = percent ? format_percent : format_number;
  return render(TEXT.span, { low: shown(low, decimals), high: shown(high, decimals) });
}

export function option_cells(o) {
  const guide = o.guide_hours_reported;
  const reported = guide === null ? TEXT.none : guide === o.guide_hours_reported_source ? format_number(guide, 2)
    : render(TEXT.guide_raised, { hours: format_number(guide, 2), source: format_number(o.guide_hours_reported_source, 2) });
  return {
    gpus: format_number(o.gpus), fits: o.fits ? TEXT.yes : TEXT.no,
    split: o.fits ? render(TEXT.split, { micro: format_number(o.micro_batch), accumulation: format_number(o.grad_accum) })
      : TEXT.none,
    memory: render(TEXT.memory, { needed: format_number(o.memory_needed_mib / 1024, 1),
      have: format_number(o.memory_per_device_mib / 1024, 1) }),
    mfu: span(o.mfu_low, o.mfu_high, 0, true),
    hours: span(o.hours_low, o.hours_high, 2), cost: span(o.cost_low, o.cost_high, 2),
    cost_per_m_tokens: span(o.cost_per_m_tokens_low, o.cost_per_m_tokens_high, 3),
    meets_limits: o.fits ? (o.meets_deadline && o.meets_budget ? TEXT.yes : TEXT.no) : TEXT.none,
    guide_from_time: o.guide_hours_from_time === null ? TEXT.none : format_number(o.guide_hours_from_time, 2),
    guide_reported: reported,
    measured: o.measured ? TEXT.yes : TEXT.unmeasured,
    largest_micro: format_number(o.largest_micro_batch),
    longest: format_number(o.max_sequence_length),
    communication: o.communication_h > 0 ? format_number(o.communication_h, 2) : TEXT.none,
  };
}

export function shown_columns(cells) {
  return Object.keys(C.columns).filter((key) => cells.some((row) => row[key] !== TEXT.none));
}

export function summary_line(result) {
  const pick = result.options.find((o) => o.hardware === result.recommended);
  if (pick === undefined) return TEXT.summary_none;
  return render(TEXT.summary, {
    hardware: pick.hardware, hours_low: format_number(pick.hours_low, 1), hours_high: format_number(pick.hours_high, 1),
    cost_low: format_number(pick.cost_low, 2), cost_high: format_number(pick.cost_high, 2),
  });
}
