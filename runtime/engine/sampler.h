// Picks the next token from logits: greedy at temperature 0 (lowest id on a
// tie), else temperature, then top-k, then top-p (nucleus) over what is
// left, then min-p (tokens at least min_p times as likely as the best), then
// a draw from a seeded SplitMix64 stream, so a seed gives the
// same tokens on every machine and build.
#ifndef MLXPACK_RUNTIME_ENGINE_SAMPLER_H_
#define MLXPACK_RUNTIME_ENGINE_SAMPLER_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace mlxpack::engine {

struct SamplerOptions {
  float temperature = 0.0f;
  float top_p = 1.0f;
  int top_k = 0;  // 0 = all
  uint64_t seed = 0;
  float min_p = 0.0f;  // 0 = off
};

// The repetition penalty of llama.cpp and transformers: every distinct id
// among `recent` gets logit / penalty if its logit is positive, logit *
// penalty otherwise. `logits` has `vocab` entries; ids outside are ignored.
void apply_repetition_penalty(float* logits, int vocab, const int32_t* recent, size_t count, float penalty);

class Sampler {
 public:
  explicit Sampler(const SamplerOptions& options);
  int sample(const float* logits, int vocab);

 private:
  double uniform();  // [0, 1)
  SamplerOptions options_;
  uint64_t state_;
  std::vector<std::pair<float, int>> candidates_;  // reused: no allocation per token
};

// Log-probabilities under the model's own distribution: the log-softmax of
// the raw logits, log p(i) = logits[i] - log(sum of exp(logits)). The chosen
// token's logprob and the top candidates come from one object, so they agree
// to the last bit. The sum is taken once per token, one of two ways:
//   kFast   the active kernels' float exp_sum: microseconds, for the chosen
//           token's logprob on every decoded token;
//   kExact  exponentials and sum in double: a few times slower, used when the
//           caller asked for top candidates, whose printed digits must not
//           depend on the kernels.
// `scratch` receives the float exponentials (kFast only).
class LogSoftmax {
 public:
  enum class Sum { kFast, kExact };
  LogSoftmax(const float* logits, int vocab, Sum sum, std::vector<float>* scratch);
  float operator()(int id) const { return static_cast<float>(logits_[id] - log_total_); }
  // The n most likely tokens with their log-probabilities, best first
  // (lowest id on a tie).
  std::vector<std::pair<int, float>> top(int n) const;

 private:
  const float* logits_;
  int vocab_;
  double log_total_;
};

}  // namespace mlxpack::engine

#endif  // MLXPACK_RUNTIME_ENGINE_SAMPLER_H_
