// llama.cpp's side of the generation benchmark: the same measurement as
// generation_bench (a prompt as one batch, then greedy decode steps one
// token at a time, best of N) on a GGUF file, through node-llama-cpp's
// prebuilt llama.cpp (the npm registry is reachable where GitHub is not;
// its CPU backend ships one library per x86-64 level and loads the best
// this CPU runs). The figures are llama.cpp's own timings
// (llama_perf_context_print: "prompt eval" and "eval"), so JavaScript's
// per-call overhead is not in them.
//
// Caveat, measured: node-llama-cpp attaches no persistent ggml thread
// pool, so with more than one thread llama.cpp starts its threads for every
// graph, i.e. every decode step: 2-thread decode of the 110M 4-bit model
// ran at 73 tok/s against 242 on one thread. One-thread decode and
// multi-thread prefill (one graph per batch) are llama.cpp's real speed;
// multi-thread decode is not, and the script says so.
//
//   node bench/llama_cpp_bench.mjs FILE.gguf [--threads 2] [--prompt-tokens 128]
//        [--decode-tokens 64] [--repeat 3] [--vocab 32000]
// (node-llama-cpp must resolve: run from, or with NODE_PATH at, a directory
// where it is installed; bench/run_generation_bench.sh installs it.)
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const args = process.argv.slice(2);
const file = args[0];
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const threads = opt("--threads", 2), promptTokens = opt("--prompt-tokens", 128);
const decodeTokens = opt("--decode-tokens", 64), repeat = opt("--repeat", 3);
const vocab = opt("--vocab", 32000);
if (!file) {
  console.error("usage: node bench/llama_cpp_bench.mjs FILE.gguf [--threads N] [--prompt-tokens N] [--decode-tokens N] [--repeat N] [--vocab N]");
  process.exit(2);
}

// llama_perf_context_print's lines, e.g.
// "prompt eval time =  76.32 ms /   128 tokens (...)", "eval time = 263.94 ms /    64 runs (...)"
const timings = [];
const logger = (level, message) => {
  const m = /(prompt eval|\beval) time =\s*([\d.]+) ms \/\s*(\d+) (tokens|runs)/.exec(message);
  if (m) timings.push({ kind: m[1].trim(), ms: Number(m[2]), count: Number(m[3]) });
  else if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) console.error(message);
};
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.info, logger, maxThreads: threads });
const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
const context = await model.createContext({
  contextSize: promptTokens + decodeTokens + 16,
  batchSize: promptTokens,
  threads: { ideal: threads, min: threads },
  performanceTracking: true,
});
const sequence = context.getSequence();
// Ids from the middle of the vocabulary (no control tokens); a small
// vocabulary (stories260K's 512) from id 3 on.
const promptId = vocab > 21000 ? (i) => 1000 + ((i * 37) % 20000) : (i) => 3 + ((i * 37) % (vocab - 3));
const prompt = Array.from({ length: promptTokens }, (_, i) => promptId(i));
let bestPrefill = 0, bestDecode = 0;
for (let r = 0; r < repeat; r++) {
  await sequence.clearHistory();
  timings.length = 0;
  await context.printTimings();  // resets llama.cpp's counters
  timings.length = 0;
  await sequence.evaluateWithoutGeneratingNewTokens(prompt);
  let n = 0;
  for await (const token of sequence.evaluate([prompt[promptTokens - 1]], { temperature: 0 })) {
    void token;
    if (++n >= decodeTokens) break;
  }
  await context.printTimings();
  const pre = timings.find((t) => t.kind === "prompt eval");
  const dec = timings.find((t) => t.kind === "eval");
  if (pre && pre.count > 0) bestPrefill = Math.max(bestPrefill, pre.count / (pre.ms / 1e3));
  if (dec && dec.count > 0) bestDecode = Math.max(bestDecode, dec.count / (dec.ms / 1e3));
}
if (bestPrefill === 0 || bestDecode === 0) {
  console.error(`llama_cpp_bench: no timings from llama.cpp for ${file}`);
  process.exit(1);
}
console.log(
  `model=${file} engine=llama.cpp threads=${threads} prefill_tps=${bestPrefill.toFixed(1)} decode_tps=${bestDecode.toFixed(2)}` +
    (threads > 1 ? " decode_note=thread_start_per_step" : ""));
await context.dispose();
await model.dispose();
