// What `run` and `chat` share: the runtime flags, rendering messages through
// the model's chat template, and the closing statistics on stderr.
#ifndef MLXPACK_CLI_GENERATION_COMMON_H_
#define MLXPACK_CLI_GENERATION_COMMON_H_

#include <CLI/CLI.hpp>
#include <string>
#include <utility>
#include <vector>

#include "mlxpack/runtime.h"

namespace mlxpack::cli {

struct GenerationFlags {
  std::string model_root;
  RuntimeOptions runtime;
  GenerationOptions generation;
  std::string system;
  bool verbose = false;
};

// Registers --model-root, --max-tokens, --temp, --top-p, --top-k, --seed,
// --context-size, --num-sink-tokens, --eviction-batch-percent, --system,
// --threads, --verbose on `cmd`.
void add_generation_flags(CLI::App* cmd, GenerationFlags* flags);

// One chat message: role and content.
using Message = std::pair<std::string, std::string>;

// The model's chat template applied to `messages` with the generation
// prompt added, as transformers' apply_chat_template renders it.
// NotFound when the model has no chat template.
Result<std::string> render_chat(const Runtime& runtime, const std::vector<Message>& messages);

// "prompt tokens ... decode tokens/s ... peak RSS" (and with verbose the
// per-stage table) to stderr.
void print_stats(const Runtime& runtime, const GenerationStats& stats, bool verbose);

// Peak resident set size of this process, bytes.
uint64_t peak_rss_bytes();

}  // namespace mlxpack::cli

#endif  // MLXPACK_CLI_GENERATION_COMMON_H_
