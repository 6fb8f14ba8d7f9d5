// Greedy token ids from llama.cpp for the GGUF interoperability check
// (bench/run_gguf_interop.sh): the prompt ids as given (no BOS added),
// then N tokens at temperature 0, printed comma-separated like
// `mlxpack run --output-ids`.
//   node llama_cpp_greedy.mjs FILE.gguf --prompt-ids 1 [--tokens 64] [--context 512]
// (run where node-llama-cpp is installed.)
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const args = process.argv.slice(2);
const file = args[0];
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const prompt = String(opt("--prompt-ids", "1")).split(",").map(Number);
const tokens = Number(opt("--tokens", 64));
const contextSize = Number(opt("--context", 512));
if (!file) {
  console.error("usage: node llama_cpp_greedy.mjs FILE.gguf --prompt-ids 1,2 [--tokens N] [--context N]");
  process.exit(2);
}
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: 1 });
const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
const context = await model.createContext({ contextSize, threads: { ideal: 1, min: 1 } });
const sequence = context.getSequence();
const out = [];
for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
  out.push(token);
  if (out.length >= tokens) break;
}
console.log(out.join(","));
