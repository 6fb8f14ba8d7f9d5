// Writes a GGUF file (llama.cpp's format, version 3) of a Llama-shaped
// Hugging Face directory (model.safetensors or shards with their index;
// F32, F16 or BF16 tensors) as F32, BF16, Q8_0 or Q4_0, so the generation
// benchmark can run llama.cpp on the same shape side by side with mlxpack.
// Speed only: q and k are not permuted into llama.cpp's rotary layout
// (random synthetic weights have no outputs to get right), everything else
// follows llama.cpp's convert script: tensor names, shapes (fastest
// dimension first), the llama metadata, the vocabulary from tokenizer.json
// (SentencePiece-style, or byte-level BPE with its merges as "gpt2"),
// Q8_0 / Q4_0 blocks as ggml quantizes them. Embeddings, norms stay F32 at
// F32 (norms F32 at BF16, as the convert script keeps 1-D tensors);
// quantized files quantize every 2-D weight (as llama-quantize does for
// the pure types).
//
// Streams: one tensor at a time is read, converted and written (a 1B
// model's 2.5 GB of BF16 did not fit the one Buffer the first version read
// the whole file into), so memory is the largest tensor, not the model.
//
//   node bench/make_gguf.mjs MODEL_DIR OUT.gguf f32|bf16|q8_0|q4_0
import fs from "node:fs";
import path from "node:path";

const [dir, out, type] = process.argv.slice(2);
if (!dir || !out || !["f32", "bf16", "q8_0", "q4_0"].includes(type)) {
  console.error("usage: node bench/make_gguf.mjs MODEL_DIR OUT.gguf f32|bf16|q8_0|q4_0");
  process.exit(2);
}
const config = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
if (config.model_type !== "llama") throw new Error(`${dir}: model_type ${config.model_type}, only llama`);

// --- safetensors: headers only; tensor bytes are read when written ---
function readAt(fd, position, length) {
  const b = Buffer.alloc(length);
  for (let done = 0; done < length;) {
    const n = fs.readSync(fd, b, done, length - done, position + done);
    if (n === 0) throw new Error(`short read at ${position + done}`);
    done += n;
  }
  return b;
}
const indexPath = path.join(dir, "model.safetensors.index.json");
const files = fs.existsSync(indexPath)
  ? [...new Set(Object.values(JSON.parse(fs.readFileSync(indexPath, "utf8")).weight_map))]
  : ["model.safetensors"];
const where = new Map();  // tensor name -> { fd, file, dtype, shape, start, length }
for (const f of files) {
  const fd = fs.openSync(path.join(dir, f), "r");
  const headerLen = Number(readAt(fd, 0, 8).readBigUInt64LE(0));
  const header = JSON.parse(readAt(fd, 8, headerLen).toString("utf8"));
  for (const [name, t] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [a, b] = t.data_offsets;
    where.set(name, { fd, file: f, dtype: t.dtype, shape: t.shape, start: 8 + headerLen + a, length: b - a });
  }
}
function info(name) {
  const t = where.get(name);
  if (!t) throw new Error(`${dir}: no tensor ${name}`);
  if (!["F32", "F16", "BF16"].includes(t.dtype)) throw new Error(`${dir}/${t.file}: ${name} is ${t.dtype}`);
  return t;
}
const f16 = new Float32Array(65536);  // every F16 bit pattern as a float
for (let h = 0; h < 65536; h++) {
  const e = (h >> 10) & 31, m = h & 1023, sign = h & 0x8000 ? -1 : 1;
  f16[h] = sign * (e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15));
}
// The tensor's values as floats, and its raw bytes.
function load(name) {
  const t = info(name);
  const raw = readAt(t.fd, t.start, t.length);
  const n = t.length / (t.dtype === "F32" ? 4 : 2);
  let data;
  if (t.dtype === "F32") {
    data = new Float32Array(raw.buffer, raw.byteOffset, n);
  } else {
    const h = new Uint16Array(raw.buffer, raw.byteOffset, n);
    data = new Float32Array(n);
    if (t.dtype === "BF16") {
      const bits = new Uint32Array(data.buffer);
      for (let i = 0; i < n; i++) bits[i] = h[i] << 16;
    } else {
      for (let i = 0; i < n; i++) data[i] = f16[h[i]];
    }
  }
  return { raw, dtype: t.dtype, data };
}

// --- quantization (ggml's reference quantize_row_q8_0 / q4_0) ---
const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
function toHalf(x) {  // round to nearest even
  f32buf[0] = x;
  const v = u32buf[0], sign = (v >>> 16) & 0x8000, a = v & 0x7fffffff;
  if (a >= 0x477ff000) return sign | 0x7c00;
  if (a < 0x38800000) {
    if (a < 0x33000000) return sign;
    const e = a >>> 23, m = (a & 0x7fffff) | 0x800000, s = 126 - e;
    let h = m >>> s;
    const rem = m & ((1 << s) - 1), half = 1 << (s - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (a >>> 13) - (112 << 10);
  const rem = a & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}
function quantize(data, kind) {
  const blocks = data.length / 32;
  if (kind === "q8_0") {
    const outBuf = Buffer.alloc(blocks * 34);
    for (let b = 0; b < blocks; b++) {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(data[b * 32 + j]));
      const d = amax / 127, id = d ? 1 / d : 0;
      outBuf.writeUInt16LE(toHalf(d), b * 34);
      for (let j = 0; j < 32; j++) outBuf.writeInt8(Math.round(data[b * 32 + j] * id), b * 34 + 2 + j);
    }
    return outBuf;
  }
  const outBuf = Buffer.alloc(blocks * 18);
  for (let b = 0; b < blocks; b++) {
    let amax = 0, max = 0;
    for (let j = 0; j < 32; j++) {
      const v = data[b * 32 + j];
      if (Math.abs(v) > amax) { amax = Math.abs(v); max = v; }
    }
    const d = max / -8, id = d ? 1 / d : 0;
    outBuf.writeUInt16LE(toHalf(d), b * 18);
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(15, Math.trunc(data[b * 32 + j] * id + 8.5));
      const q1 = Math.min(15, Math.trunc(data[b * 32 + 16 + j] * id + 8.5));
      outBuf[b * 18 + 2 + j] = q0 | (q1 << 4);
    }
  }
  return outBuf;
}

// --- the tensors, in llama.cpp's names ---
const GGML = { F32: 0, Q4_0: 2, Q8_0: 8, BF16: 30 };
const tensors = [];
function add(name, hfName, quantizable) {
  const t = info(hfName);
  const dims = [...t.shape].reverse();  // fastest first
  const n = dims.reduce((a, b) => a * b, 1);
  const quant = quantizable && (type === "q8_0" || type === "q4_0") && dims.length === 2;
  const bf16 = type === "bf16" && dims.length === 2;
  const ggmlType = quant ? (type === "q8_0" ? GGML.Q8_0 : GGML.Q4_0) : bf16 ? GGML.BF16 : GGML.F32;
  const size = ggmlType === GGML.Q8_0 ? (n / 32) * 34 : ggmlType === GGML.Q4_0 ? (n / 32) * 18 : ggmlType === GGML.BF16 ? 2 * n : 4 * n;
  tensors.push({ name, dims, ggmlType, size, bytes: () => encode(hfName, ggmlType) });
}
function toBF16(data) {  // round to nearest even (NaN stays NaN)
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const outBuf = Buffer.alloc(2 * data.length);
  for (let i = 0; i < data.length; i++) {
    const v = bits[i];
    const h = (v & 0x7fffffff) > 0x7f800000 ? (v >>> 16) | 0x40 : (v + 0x7fff + ((v >>> 16) & 1)) >>> 16;
    outBuf.writeUInt16LE(h & 0xffff, 2 * i);
  }
  return outBuf;
}
function encode(hfName, ggmlType) {
  const t = load(hfName);
  if (ggmlType === GGML.Q8_0) return quantize(t.data, "q8_0");
  if (ggmlType === GGML.Q4_0) return quantize(t.data, "q4_0");
  if (ggmlType === GGML.BF16) return t.dtype === "BF16" ? t.raw : toBF16(t.data);
  return Buffer.from(t.data.buffer, t.data.byteOffset, 4 * t.data.length);
}
add("token_embd.weight", "model.embed_tokens.weight", true);
for (let i = 0; i < config.num_hidden_layers; i++) {
  const p = `model.layers.${i}.`;
  add(`blk.${i}.attn_norm.weight`, p + "input_layernorm.weight", false);
  add(`blk.${i}.attn_q.weight`, p + "self_attn.q_proj.weight", true);
  add(`blk.${i}.attn_k.weight`, p + "self_attn.k_proj.weight", true);
  add(`blk.${i}.attn_v.weight`, p + "self_attn.v_proj.weight", true);
  add(`blk.${i}.attn_output.weight`, p + "self_attn.o_proj.weight", true);
  add(`blk.${i}.ffn_norm.weight`, p + "post_attention_layernorm.weight", false);
  add(`blk.${i}.ffn_gate.weight`, p + "mlp.gate_proj.weight", true);
  add(`blk.${i}.ffn_up.weight`, p + "mlp.up_proj.weight", true);
  add(`blk.${i}.ffn_down.weight`, p + "mlp.down_proj.weight", true);
}
add("output_norm.weight", "model.norm.weight", false);
if (!config.tie_word_embeddings) add("output.weight", "lm_head.weight", true);

// --- the vocabulary: SentencePiece-style tokenizer.json, or byte-level
// BPE (Llama 3's) written as llama.cpp's "gpt2" model with its merges ---
const tok = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
const bpe = tok.model.type === "BPE" && !tok.model.byte_fallback;
const tokens = new Array(config.vocab_size).fill(null);
for (const [piece, id] of Object.entries(tok.model.vocab)) if (id < tokens.length) tokens[id] = piece;
for (const a of tok.added_tokens ?? []) if (a.id < tokens.length) tokens[a.id] = a.content;
const special = new Set((tok.added_tokens ?? []).filter((a) => a.special).map((a) => a.id));
const types = tokens.map((t, id) => {
  if (t === null) return 5;  // unused
  if (id === 0 && !bpe) return 2;  // unknown
  if (special.has(id)) return 3;  // control
  if (bpe) return 1;
  return /^<0x[0-9A-F]{2}>$/.test(t) ? 6 : 1;  // byte : normal
});
const pieces = tokens.map((t, id) => t ?? `[PAD${id}]`);
const merges = bpe ? tok.model.merges.map((m) => (Array.isArray(m) ? m.join(" ") : m)) : [];

// --- GGUF ---
const parts = [];
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
const f32 = (v) => { const b = Buffer.alloc(4); b.writeFloatLE(v); parts.push(b); };
const str = (s) => { const b = Buffer.from(s, "utf8"); u64(b.length); parts.push(b); };
const T = { U32: 4, I32: 5, F32: 6, STRING: 8, ARRAY: 9 };
const kv = [
  ["general.architecture", T.STRING, "llama"],
  ["general.name", T.STRING, path.basename(dir)],
  ["general.file_type", T.U32, { f32: 0, q4_0: 2, q8_0: 7, bf16: 32 }[type]],
  ["general.alignment", T.U32, 32],
  ["llama.context_length", T.U32, config.max_position_embeddings],
  ["llama.embedding_length", T.U32, config.hidden_size],
  ["llama.block_count", T.U32, config.num_hidden_layers],
  ["llama.feed_forward_length", T.U32, config.intermediate_size],
  ["llama.attention.head_count", T.U32, config.num_attention_heads],
  ["llama.attention.head_count_kv", T.U32, config.num_key_value_heads ?? config.num_attention_heads],
  ["llama.rope.dimension_count", T.U32, config.head_dim ?? config.hidden_size / config.num_attention_heads],
  ["llama.rope.freq_base", T.F32, config.rope_theta ?? 10000],
  ["llama.attention.layer_norm_rms_epsilon", T.F32, config.rms_norm_eps],
  ["tokenizer.ggml.model", T.STRING, bpe ? "gpt2" : "llama"],
  ...(bpe ? [["tokenizer.ggml.pre", T.STRING, "llama-bpe"]] : []),
  ["tokenizer.ggml.tokens", T.ARRAY, [T.STRING, pieces]],
  ...(bpe ? [["tokenizer.ggml.merges", T.ARRAY, [T.STRING, merges]]]
    : [["tokenizer.ggml.scores", T.ARRAY, [T.F32, pieces.map((_, i) => -i)]]]),
  ["tokenizer.ggml.token_type", T.ARRAY, [T.I32, types]],
  ["tokenizer.ggml.bos_token_id", T.U32, config.bos_token_id ?? 1],
  ["tokenizer.ggml.eos_token_id", T.U32, config.eos_token_id ?? 2],
  ...(bpe ? [] : [["tokenizer.ggml.unknown_token_id", T.U32, 0]]),
];
parts.push(Buffer.from("GGUF", "ascii"));
u32(3);
u64(tensors.length);
u64(kv.length);
const scalar = (t, v) => (t === T.STRING ? str(v) : t === T.F32 ? f32(v) : t === T.I32 ? (() => { const b = Buffer.alloc(4); b.writeInt32LE(v); parts.push(b); })() : u32(v));
for (const [key, t, v] of kv) {
  str(key);
  u32(t);
  if (t === T.ARRAY) {
    u32(v[0]);
    u64(v[1].length);
    for (const e of v[1]) scalar(v[0], e);
  } else {
    scalar(t, v);
  }
}
let offset = 0;
const align = (n) => Math.ceil(n / 32) * 32;
for (const t of tensors) {
  str(t.name);
  u32(t.dims.length);
  for (const d of t.dims) u64(d);
  u32(t.ggmlType);
  u64(offset);
  t.offset = offset;
  offset = align(offset + t.size);
}
let head = Buffer.concat(parts);
head = Buffer.concat([head, Buffer.alloc(align(head.length) - head.length)]);
// Written beside the output and renamed: a failed write (a full disk)
// leaves neither a partial OUT nor the temporary file.
const tmp = out + ".tmp";
try {
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, head);
    let written = 0;
    for (const t of tensors) {
      if (t.offset > written) fs.writeSync(fd, Buffer.alloc(t.offset - written));
      const bytes = t.bytes();
      if (bytes.length !== t.size) throw new Error(`${t.name}: ${bytes.length} bytes, expected ${t.size}`);
      for (let done = 0; done < bytes.length;) done += fs.writeSync(fd, bytes, done, bytes.length - done);
      written = t.offset + t.size;
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, out);
} catch (e) {
  fs.rmSync(tmp, { force: true });
  console.error(`make_gguf: writing ${out}: ${e.message}`);
  process.exit(4);
}
console.log(`${out}: ${tensors.length} tensors, ${type}, ${(fs.statSync(out).size / 1048576).toFixed(1)} MiB`);
