// Picks the next token from logits: greedy at temperature 0 (lowest id on a
// tie), else temperature, then top-k, then top-p (nucleus) over what is
// left, then a draw from a seeded SplitMix64 stream, so a seed gives the
// same tokens on every machine and build.
#ifndef MLXPACK_RUNTIME_ENGINE_SAMPLER_H_
#define MLXPACK_RUNTIME_ENGINE_SAMPLER_H_

#include <cstdint>
#include <utility>
#include <vector>

namespace mlxpack::engine {

struct SamplerOptions {
  float temperature = 0.0f;
  float top_p = 1.0f;
  int top_k = 0;  // 0 = all
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerOptions& options);
  int sample(const float* logits, int vocab);

  // The n most likely tokens with their log-probabilities under the model's
  // own distribution (log-softmax of the raw logits), best first.
  static std::vector<std::pair<int, float>> top_logprobs(const float* logits, int vocab, int n);

 private:
  double uniform();  // [0, 1)
  SamplerOptions options_;
  uint64_t state_;
  std::vector<std::pair<float, int>> candidates_;  // reused: no allocation per token
};

}  // namespace mlxpack::engine

#endif  // MLXPACK_RUNTIME_ENGINE_SAMPLER_H_
