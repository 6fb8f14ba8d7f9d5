// The generation runtime: a model from a .mlxpack or a Hugging Face / MLX
// directory (through the loader's ModelSource), its tokenizer and chat
// template, and one session's KV cache.
//
// Contract:
//   - open() reads config.json (architecture, shapes), binds every tensor in
//     place (no weight is dequantized or copied, except a directory's
//     misaligned tensors) and checks each shape against the config.
//   - generate() appends `input` to the session's context, then samples up to
//     max_tokens tokens, calling on_token for each as it is produced. The KV
//     cache persists across calls (chat turns) until reset(). When the
//     context is full, StreamingLLM eviction keeps the first
//     num_sink_tokens positions and drops eviction_batch_percent of the rest.
//   - Not thread-safe: one Runtime serves one conversation at a time. Its
//     forward pass uses `threads` threads internally.
//   - Errors are Status/Result; no exception escapes. This header is C++17.
#ifndef MLXPACK_RUNTIME_H_
#define MLXPACK_RUNTIME_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mlxpack/export.h"
#include "mlxpack/status.h"
#include "mlxpack/tokenizer.h"

namespace mlxpack {

// The KV cache's entries. F16 (as llama.cpp's default) halves the bytes
// attention reads per cached position and the cache's memory; F32 keeps
// keys and values exactly as computed; Q8_0 (llama.cpp's q8_0 cache type:
// int8 in groups of up to 32 values of a head with an F16 scale each) takes
// about a quarter of F32's memory, at the cost of a rounding error of up to
// half a step, max|group| / 254, per entry.
enum class KvCacheType { kF16, kF32, kQ8_0 };

struct RuntimeOptions {
  int threads = 0;                  // 0 = one per CPU this process may use
  int context_size = 0;             // 0 = min(max_position_embeddings, 4096)
  int num_sink_tokens = 4;
  int eviction_batch_percent = 10;  // of the non-sink positions, 1..100
  int prefill_batch = 128;          // prompt tokens per forward pass
  KvCacheType kv_cache_type = KvCacheType::kF16;
};

// Options added after RuntimeOptions' layout was fixed by the ABI (1.0):
// passed to the open() overload that takes them.
struct AdapterOptions {
  // A LoRA adapter as mlx-lm's trainer saves it (a directory holding
  // adapter_config.json and adapters.safetensors), applied at run time:
  // the base weights stay in place and each adapted layer adds
  // scale * (x A) B, as `mlx_lm.generate --adapter-path` does. "" = the
  // adapter a pack bundles (spec/FORMAT.md §6.6), if any.
  std::string adapter_path;
  // Leave a pack's bundled adapter unapplied.
  bool ignore_bundled_adapter = false;
};

// Speculative decoding (Runtime::set_speculation): proposals checked by the
// model in one batch, the output the same as without them.
struct SpeculativeOptions {
  // A smaller model with the same tokenizer whose greedy tokens are the
  // proposals (mlx_lm.generate's --draft-model); "" = none.
  std::string draft_model;
  // Prompt-lookup decoding instead: the proposals are the tokens that
  // followed the latest earlier occurrence of the context's last
  // 1..prompt_lookup_ngram tokens (longest first); 0 = off.
  int prompt_lookup_ngram = 0;
  // Tokens proposed per step, 1..64; 0 = 3 with a draft model
  // (mlx_lm's default), 10 with prompt lookup (transformers').
  int num_draft_tokens = 0;
};

// What the last generate() did with its proposals.
struct SpeculationStats {
  int num_draft_tokens = 0;  // per proposal at most; 0 = speculation off
  int drafted = 0;        // tokens proposed
  int accepted = 0;       // of those, the ones generated
  int model_passes = 0;   // the model's decode passes (batches of proposals or single steps)
  double draft_s = 0;     // spent proposing
  // The first decode step's time, run without proposals: a generation
  // without speculation would take about generated_tokens of these.
  double single_step_s = 0;
};

struct GenerationOptions {
  int max_tokens = 500;
  float temperature = 0.0f;  // 0 = greedy
  float top_p = 1.0f;
  int top_k = 0;             // 0 = no limit
  uint64_t seed = 0;
  int logprobs = 0;          // top candidates reported per token
};

// Samplers added after GenerationOptions' layout was fixed by the ABI
// (1.0): passed to the generate() overload that takes them.
struct LogitFilters {
  // Keep only tokens whose probability (after temperature) is at least
  // min_p times the most likely one's; 0 = off. Ignored when greedy.
  float min_p = 0.0f;
  // Divides positive logits and multiplies negative ones of every token
  // among the last `repetition_context` tokens of the context (prompt and
  // generated), before sampling, greedy included; 1 = off.
  float repetition_penalty = 1.0f;
  int repetition_context = 64;
};

struct TokenEvent {
  int32_t id = 0;
  float logprob = 0.0f;  // of the chosen token under the model (log-softmax)
  std::vector<std::pair<int32_t, float>> top_logprobs;  // when logprobs > 0
  bool is_stop = false;  // an EOS id: generation ends after this event
};

struct StageSeconds {
  double embedding = 0, attention = 0, mlp = 0, lm_head = 0, sampling = 0;
};

struct GenerationStats {
  int prompt_tokens = 0;
  int generated_tokens = 0;
  double time_to_first_token_s = 0;  // from generate() to the first sampled token
  double prefill_s = 0;
  double decode_s = 0;
  int evictions = 0;
  bool stopped_at_eos = false;
  StageSeconds stages;
};

class MLXPACK_API Runtime {
 public:
  // Errors: the model root missing or malformed (the loader's errors), an
  // unsupported architecture (naming it and listing the supported ones), a
  // tensor whose shape does not match config.json (naming tensor and both
  // shapes), a missing tokenizer, bad options (naming option, value, limit),
  // a KV cache larger than the machine's memory.
  static Result<std::unique_ptr<Runtime>> open(const std::string& model_root, const RuntimeOptions& options = {});
  // With an adapter: also its errors (a file missing, a field or tensor out
  // of bounds, a layer the model lacks or of another shape), prefixed with
  // its path.
  static Result<std::unique_ptr<Runtime>> open(const std::string& model_root, const RuntimeOptions& options,
                                               const AdapterOptions& adapters);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const Tokenizer& tokenizer() const;
  // The chat template's source, bos and eos tokens; empty source if none.
  const std::string& chat_template_source() const;
  const std::string& bos_token() const;
  const std::string& eos_token() const;

  std::string architecture() const;      // config.json model_type
  std::string weights_summary() const;   // e.g. "affine 4-bit g64 (84), F32 (2)"
  uint64_t weight_bytes() const;         // bytes of weights used in place
  uint64_t kv_cache_bytes() const;       // reserved for the whole context
  KvCacheType kv_cache_type() const;
  int context_size() const;
  int context_length() const;            // positions now in the KV cache
  int vocab_size() const;
  int bos_token_id() const;              // -1 if the model has none
  const std::vector<int32_t>& eos_token_ids() const;
  const char* kernel_name() const;       // "avx512-bf16", "avx512-vnni", "avx2" or "scalar"

  // Feeds `input` (appended to the context) and generates. on_token returns
  // false to stop early. Errors (InvalidArgument): an empty input, an id
  // outside the vocabulary, more input than the context can hold beside its
  // sink tokens.
  Status generate(const std::vector<int32_t>& input, const GenerationOptions& options,
                  const std::function<bool(const TokenEvent&)>& on_token, GenerationStats* stats);
  // The same with min-p and a repetition penalty. Errors add
  // (InvalidArgument): min_p outside [0, 1], repetition_penalty outside
  // (0, 100], repetition_context outside [0, 1048576].
  Status generate(const std::vector<int32_t>& input, const GenerationOptions& options, const LogitFilters& filters,
                  const std::function<bool(const TokenEvent&)>& on_token, GenerationStats* stats);

  // Feeds tokens without generating (e.g. a stop token closing a chat turn).
  Status feed(const std::vector<int32_t>& input);

  // Forgets the conversation: empties the KV cache.
  void reset();

  // Speculative decoding from now on (options as SpeculativeOptions; all
  // default = off). Greedy and seeded sampling give the same tokens as
  // without it: each position of a proposal batch is sampled as a single
  // step would be, and the proposal is kept up to the first token that
  // differs. Errors: both a draft model and prompt lookup, a count out of
  // range, a draft model that cannot be opened (its errors, with its path)
  // or whose tokenizer's size differs from this model's. The draft model
  // uses this runtime's threads, context size and KV cache type.
  Status set_speculation(const SpeculativeOptions& options);
  const SpeculationStats& speculation_stats() const;

 private:
  struct MLXPACK_LOCAL Impl;
  MLXPACK_LOCAL explicit Runtime(std::unique_ptr<Impl> impl);
  MLXPACK_LOCAL static Result<std::unique_ptr<Runtime>> open_unguarded(const std::string& model_root,
                                                                        const RuntimeOptions& options,
                                                                        const AdapterOptions& adapters);
  std::unique_ptr<Impl> impl_;
};

// Turns generated token ids into text as they arrive: a character that
// spans several tokens is printed once complete, and SentencePiece-style
// leading spaces come out as they do in the full decode.
class MLXPACK_API TextStreamer {
 public:
  // `anchor`: the last token before the generated ones (e.g. the prompt's
  // last), or -1.
  TextStreamer(const Tokenizer& tokenizer, int32_t anchor);
  // Text that `id` completes (may be empty while a character is incomplete).
  std::string push(int32_t id);
  // Whatever is still held back (an incomplete character at the end).
  std::string flush();

 private:
  MLXPACK_LOCAL std::string decode_segment() const;
  const Tokenizer& tokenizer_;
  std::vector<int32_t> segment_;  // anchor (if any) + tokens since the last line end
  bool has_anchor_ = false;
  size_t emitted_ = 0;  // bytes of decode_segment() already returned
};

}  // namespace mlxpack

#endif  // MLXPACK_RUNTIME_H_
