// The same measurement as tokenizer_bench.cpp with the Hugging Face
// JavaScript implementation (@huggingface/tokenizers), for comparison.
//   node tokenizer_bench_reference.mjs MODULE_DIR TOKENIZER_DIR TEXT_FILE [REPEAT]
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const [moduleDir, tokDir, textPath, repeatArg] = process.argv.slice(2);
const require = createRequire(path.join(moduleDir, "package.json"));
const mod = require("@huggingface/tokenizers");
const Tokenizer = mod.Tokenizer ?? mod.default?.Tokenizer ?? mod.default;
const text = readFileSync(textPath, "utf8");
const bytes = Buffer.byteLength(text, "utf8");
const repeat = Number(repeatArg ?? 3);

let t0 = performance.now();
const json = JSON.parse(readFileSync(path.join(tokDir, "tokenizer.json"), "utf8"));
let config = {};
try { config = JSON.parse(readFileSync(path.join(tokDir, "tokenizer_config.json"), "utf8")); } catch {}
const tok = new Tokenizer(json, config);
const loadMs = performance.now() - t0;

let best = Infinity;
let ids = [];
for (let r = 0; r < repeat; ++r) {
  const s = performance.now();
  ids = tok.encode(text, { add_special_tokens: false }).ids;
  best = Math.min(best, performance.now() - s);
}
// FNV-1a over the ids' 32-bit little-endian bytes, as tokenizer_bench.cpp.
let h = 2166136261;
for (const id of ids) {
  for (let shift = 0; shift < 32; shift += 8) h = Math.imul(h ^ ((id >>> shift) & 0xff), 16777619) >>> 0;
}
const s = performance.now();
tok.decode(ids);
const decodeMs = performance.now() - s;
console.log(JSON.stringify({
  impl: "@huggingface/tokenizers",
  bytes, tokens: ids.length, ids_fnv1a: h, load_ms: +loadMs.toFixed(1),
  encode_mb_s: +(bytes / 1e6 / (best / 1e3)).toFixed(2),
  decode_mb_s: +(bytes / 1e6 / (decodeMs / 1e3)).toFixed(2),
}));
