// Drafters propose the tokens likely to follow a context, for speculative
// decoding (Leviathan et al., "Fast Inference from Transformers via
// Speculative Decoding", 2023): the model runs its last token and a
// proposal in one batch, samples each position in turn and keeps the
// proposal up to the first token it did not sample itself. What is
// generated does not depend on the drafter, only how many passes of the
// model it takes.
#ifndef MLXPACK_RUNTIME_ENGINE_DRAFTER_H_
#define MLXPACK_RUNTIME_ENGINE_DRAFTER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/engine/transformer.h"

namespace mlxpack::engine {

class Drafter {
 public:
  virtual ~Drafter() = default;
  // Up to `n` tokens (n >= 1) to follow `context`: every token of the
  // conversation since the last reset(), in order (the front may be
  // trimmed away between calls), its last one not yet run by the model.
  virtual void draft(const std::vector<int32_t>& context, int n, std::vector<int32_t>* out) = 0;
  // The conversation starts over.
  virtual void reset() {}
};

// Prompt-lookup decoding (Saxena, 2023; transformers'
// prompt_lookup_num_tokens): the tokens that followed the latest earlier
// occurrence of the context's last g tokens, for g from max_ngram down to
// 1; nothing when none recurs. Summaries, code edits and quotations repeat
// their input, and then whole runs of tokens are accepted at once.
class PromptLookupDrafter : public Drafter {
 public:
  explicit PromptLookupDrafter(int max_ngram) : max_ngram_(max_ngram) {}
  void draft(const std::vector<int32_t>& context, int n, std::vector<int32_t>* out) override;
  // Tokens searched, the most recent: bounds a call's time on long chats.
  static constexpr size_t kWindow = size_t{1} << 16;

 private:
  int max_ngram_;
};

// A smaller model's greedy continuation. Its KV cache follows the context:
// a call rolls back the proposals the context did not keep, runs the
// tokens the cache lacks, then proposes one token per step. It evicts by
// the Runtime's policy when full (context_window.h).
class ModelDrafter : public Drafter {
 public:
  // `vocab`: the generating model's; a proposal stops at an id outside it.
  ModelDrafter(std::unique_ptr<Transformer> model, int sinks, int eviction_batch_percent, int vocab);
  void draft(const std::vector<int32_t>& context, int n, std::vector<int32_t>* out) override;
  void reset() override;
  const Transformer& model() const { return *model_; }

 private:
  // Runs tokens[0..n) in chunks the context can take; logits_ then holds
  // the last one's.
  void feed(const int32_t* tokens, size_t n);
  std::unique_ptr<Transformer> model_;
  int sinks_;
  int eviction_batch_percent_;
  int vocab_;
  size_t synced_ = 0;             // context[0..synced_) is in the cache
  std::vector<int32_t> pending_;  // proposals run after those, in order
  std::vector<float> logits_;
};

}  // namespace mlxpack::engine

#endif  // MLXPACK_RUNTIME_ENGINE_DRAFTER_H_
