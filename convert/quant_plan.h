// Which tensors `convert` quantizes, and how.
//
// The rule (documented in README.md, "convert"), applied to any
// architecture:
//   - only float tensors (F32, F16, BF16) of rank >= 2 whose name ends in
//     ".weight" are candidates; norms (a name containing "norm") and biases
//     never are;
//   - embeddings (a name containing "embed", "wte" or "wpe") are quantized
//     only when embedding quantization is asked for; every other candidate
//     is a linear layer (attention and MLP projections, lm_head, experts);
//   - a candidate whose last dimension is not a multiple of its group size
//     stays unquantized, as mlx-lm leaves it;
//   - mixture-of-experts routers ("*.mlp.gate", "*.block_sparse_moe.gate")
//     get 8 bits, group size 64, as mlx-lm's quant_predicate gives them
//     (recipe overrides still apply).
// The layer's path is the name without ".weight" (e.g.
// "model.layers.0.mlp.down_proj"); recipes match against it.
#ifndef MLXPACK_CONVERT_QUANT_PLAN_H_
#define MLXPACK_CONVERT_QUANT_PLAN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "convert/affine_quant.h"
#include "mlxpack/dtype.h"
#include "mlxpack/status.h"

namespace mlxpack {

// An input tensor as planning sees it: no bytes.
struct InputTensor {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<uint64_t> shape;
  uint64_t size_bytes = 0;
};

struct QuantOptions {
  bool quantize_linear = false;
  QuantSpec linear;                     // default 4 bits, group 64 (mlx-lm's)
  // Embeddings: with this spec if set; otherwise, when linear layers are
  // quantized, like them (mlx-lm's nn.quantize quantizes every module with
  // to_quantized, nn.Embedding included, under the same divisibility rule)
  // unless float_embeddings asks to leave them float.
  std::optional<QuantSpec> embedding;
  bool float_embeddings = false;
  std::string recipe;                   // "", a name (mixed_2_6, ...) or a JSON file
  bool any() const { return quantize_linear || embedding.has_value() || !recipe.empty(); }
};

enum class TensorRole { kLinear, kEmbedding, kOther };
TensorRole classify_tensor(const InputTensor& t);

// The module path of a ".weight" tensor: the name without the suffix.
std::string layer_path(const std::string& tensor_name);

struct QuantDecision {
  std::optional<QuantSpec> spec;  // set: quantize with it
  std::string note;               // why a candidate stays float (for reports and info)
};

class QuantPlanner {
 public:
  // Loads the recipe (a named mlx-lm recipe, or a JSON file of the form
  //   {"default": {"bits": 4, "group_size": 64},
  //    "overrides": [{"pattern": "lm_head", "bits": 6},
  //                  {"pattern": "*.o_proj", "quantize": false}]}
  // where patterns are globs over layer paths and the last match wins).
  // `num_layers` is config.json's num_hidden_layers (for mixed recipes).
  // InvalidArgument for unknown recipe names, malformed files, bad specs,
  // or a pattern that matches no tensor of `tensors`.
  static Result<QuantPlanner> create(const QuantOptions& options, int64_t num_layers,
                                     const std::vector<InputTensor>& tensors);

  QuantDecision decide(const InputTensor& t) const;

  // The spec written as the config's top-level "quantization".
  QuantSpec default_spec() const { return default_; }
  // True when every quantized layer gets its own config entry (recipes).
  bool per_layer_config() const { return !options_.recipe.empty(); }

 private:
  struct Override {
    std::string pattern;
    std::optional<QuantSpec> spec;  // nullopt: keep float
  };
  std::optional<QuantSpec> linear_spec(const std::string& path) const;

  QuantOptions options_;
  QuantSpec default_;
  bool linear_enabled_ = false;
  std::string named_recipe_;  // mixed_*
  int low_bits_ = 0, high_bits_ = 0;
  int64_t num_layers_ = 0;
  std::vector<Override> overrides_;
};

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_QUANT_PLAN_H_
