// Rotary position embedding as Hugging Face's Llama family applies it
// ("rotate_half": dimension i pairs with i + rotary_dim/2), with the
// frequency schedules of rope_scaling "linear" and "llama3".
#ifndef MLXPACK_RUNTIME_ENGINE_ROPE_H_
#define MLXPACK_RUNTIME_ENGINE_ROPE_H_

#include <vector>

#include "runtime/engine/model_config.h"

namespace mlxpack::engine {

class Rope {
 public:
  // `local`: the RoPE of Gemma 3's local layers (base local_rope_theta, no
  // rope_scaling); otherwise rope_theta with rope_scaling.
  explicit Rope(const ModelConfig& config, bool local = false);

  int rotary_dim() const { return rotary_dim_; }
  // cos/sin of every frequency at `position` (may be negative: un-rotation).
  void angles(double position, float* cos_out, float* sin_out) const;
  // Rotates `heads` vectors of head_dim floats in place with precomputed angles.
  void apply(float* v, int heads, int head_dim, const float* cos, const float* sin) const;
  // The same rotation of `n` vectors of one head stored dimension-major:
  // dimension d of vector s is rows[d][s]. Every vector turns by the same
  // angles (a KV cache's kept keys after an eviction).
  void apply_rows(float* const* rows, int n, const float* cos, const float* sin) const;

 private:
  int rotary_dim_ = 0;
  std::vector<double> inv_freq_;
};

}  // namespace mlxpack::engine

#endif  // MLXPACK_RUNTIME_ENGINE_ROPE_H_
