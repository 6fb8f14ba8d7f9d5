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
  AdapterOptions adapters;
  SpeculativeOptions speculative;
  bool prompt_lookup = false;
  GenerationOptions generation;
  LogitFilters filters;
  std::string system;
  bool verbose = false;
  bool no_verify = false;
};

// Registers --model-root (--model, -m), --max-tokens, --temp, --top-p,
// --top-k, --min-p, --repetition-penalty (--repeat-penalty),
// --repeat-last-n, --seed, --context-size (-c, --ctx-size),
// --num-sink-tokens, --eviction-batch-percent, --kv-cache-type, --system
// (--system-prompt), --threads, --adapter-path, --draft-model,
// --num-draft-tokens, --prompt-lookup, --prompt-lookup-ngram, --verbose on
// `cmd`: the seed tool's names
// with mlx_lm's and llama.cpp's spellings beside them.
void add_generation_flags(CLI::App* cmd, GenerationFlags* flags);

// Unless flags.no_verify: when the model root is a pack, checks every
// checksum on one thread, so a corrupt pack fails before the first token
// with Corruption naming the entry. The pages read are the ones generation
// needs anyway. A directory has no checksums to check.
Status verify_before_run(const GenerationFlags& flags);

// Runtime::open (and set_speculation when a flag asks for it) with
// verify_before_run on another thread meanwhile, so the
// checksums cost no time to first token while the open (tokenizer parsing,
// weight views) takes longer (1B-shaped 4-bit pack, 665 MiB: the process
// to its first token in 1.12-1.20 s with the check, 1.11-1.41 s without;
// two verify threads competing with the open added ~150 ms). A corrupt
// pack is reported before any error of the open.
Result<std::unique_ptr<Runtime>> open_verified(const GenerationFlags& flags);

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
