#include "runtime/engine/rope.h"

#include <cmath>

namespace mlxpack::engine {

Rope::Rope(const ModelConfig& c, bool local) : rotary_dim_(c.rotary_dim) {
  const int half = rotary_dim_ / 2;
  const double theta = local ? c.local_rope_theta : c.rope_theta;
  const RopeScaling scaling = local ? RopeScaling::kNone : c.rope_scaling;
  inv_freq_.resize(half);
  for (int i = 0; i < half; ++i) {
    double f = 1.0 / std::pow(theta, (2.0 * i) / rotary_dim_);
    if (scaling == RopeScaling::kLinear) {
      f /= c.rope_factor;
    } else if (scaling == RopeScaling::kLlama3) {
      // transformers' _compute_llama3_parameters.
      const double low_wavelen = c.rope_original_max_positions / c.rope_low_freq_factor;
      const double high_wavelen = c.rope_original_max_positions / c.rope_high_freq_factor;
      const double wavelen = 2.0 * M_PI / f;
      if (wavelen > low_wavelen) {
        f /= c.rope_factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (c.rope_original_max_positions / wavelen - c.rope_low_freq_factor) /
                              (c.rope_high_freq_factor - c.rope_low_freq_factor);
        f = (1.0 - smooth) * f / c.rope_factor + smooth * f;
      }
    }
    inv_freq_[i] = f;
  }
}

void Rope::angles(double position, float* cos_out, float* sin_out) const {
  for (size_t i = 0; i < inv_freq_.size(); ++i) {
    const double a = position * inv_freq_[i];
    cos_out[i] = static_cast<float>(std::cos(a));
    sin_out[i] = static_cast<float>(std::sin(a));
  }
}

void Rope::apply(float* v, int heads, int head_dim, const float* cos, const float* sin) const {
  const int half = rotary_dim_ / 2;
  for (int h = 0; h < heads; ++h) {
    float* x = v + static_cast<size_t>(h) * head_dim;
    for (int i = 0; i < half; ++i) {
      const float x0 = x[i], x1 = x[i + half];
      x[i] = x0 * cos[i] - x1 * sin[i];
      x[i + half] = x0 * sin[i] + x1 * cos[i];
    }
  }
}

void Rope::apply_rows(float* const* rows, int n, const float* cos, const float* sin) const {
  const int half = rotary_dim_ / 2;
  for (int i = 0; i < half; ++i) {
    float* a = rows[i];
    float* b = rows[i + half];
    const float c = cos[i], sn = sin[i];
    for (int s = 0; s < n; ++s) {
      const float x0 = a[s], x1 = b[s];
      a[s] = x0 * c - x1 * sn;
      b[s] = x0 * sn + x1 * c;
    }
  }
}

}  // namespace mlxpack::engine
