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
  LogitFilters filters;
  std::string system;
  bool verbose = false;
};

// Registers --model-root (--model, -m), --max-tokens, --temp, --top-p,
// --top-k, --min-p, --repetition-penalty (--repeat-penalty),
// --repeat-last-n, --seed, --context-size (-c, --ctx-size),
// --num-sink-tokens, --eviction-batch-percent, --kv-cache-type, --system
// (--system-prompt), --threads, --verbose on `cmd`: the seed tool's names
// with mlx_lm's and llama.cpp's spellings beside them.
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

// Maximum prompt read from standard input by `-p -` (as a chat line).
inline constexpr uint64_t kMaxStdinPromptBytes = 16ull << 20;

// Peak resident set size of this process, bytes.
uint64_t peak_rss_bytes();

}  // namespace mlxpack::cli

#endif  // MLXPACK_CLI_GENERATION_COMMON_H_
