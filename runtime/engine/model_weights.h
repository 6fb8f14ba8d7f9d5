// Binds a model's tensors (from a ModelSource: pack or directory) to the
// layers the config describes, checking every shape against the config.
// Matrices stay in the mapping; only vectors (norm weights, linear biases)
// are copied to float, which is a few hundred KB even for large models.
#ifndef MLXPACK_RUNTIME_ENGINE_MODEL_WEIGHTS_H_
#define MLXPACK_RUNTIME_ENGINE_MODEL_WEIGHTS_H_

#include <string>
#include <utility>
#include <vector>

#include "mlxpack/model_source.h"
#include "runtime/engine/model_config.h"
#include "runtime/kernels/linear.h"

namespace mlxpack::engine {

// A norm's weight (for kRmsUnitOffset already 1 + w) and, for LayerNorm,
// its bias.
struct Norm {
  std::vector<float> weight;
  std::vector<float> bias;
};

struct LayerWeights {
  Norm attn_norm;
  Norm mlp_norm;       // kSequential and kSandwich
  Norm attn_post_norm;  // kSandwich: on the attention's output
  Norm mlp_post_norm;   // kSandwich: on the MLP's output
  Norm q_norm;  // qk_norm architectures, head_dim each
  Norm k_norm;
  // Either q/k/v or one fused qkv (rows: q, then k, then v).
  kernels::Weight q, k, v, qkv;
  kernels::Weight o;
  // Either gate/up or one fused gate_up (rows: gate, then up); kPlain
  // uses gate (fc1) and down (fc2).
  kernels::Weight gate, up, gate_up;
  kernels::Weight down;
  // Sparse layers: the router [num_experts, hidden] and each expert's
  // projections, views into the stacked tensors (mlx-lm's switch_mlp) or
  // Hugging Face's per-expert ones.
  kernels::Weight router;
  std::vector<kernels::Weight> expert_gate, expert_up, expert_down;
  // Owned storage of the linear biases the Weights point at.
  std::vector<std::vector<float>> bias_storage;
};

struct ModelWeights {
  kernels::Weight embed;    // [vocab, hidden]
  kernels::Weight lm_head;  // [vocab, hidden]; the embedding when tied
  std::vector<float> lm_head_bias;  // linear_biases architectures
  Norm final_norm;
  std::vector<LayerWeights> layers;
  uint64_t weight_bytes = 0;  // bytes of the matrices used in place
  std::string description;    // e.g. "affine 4-bit g64 (196 tensors), F16 (3 tensors)"
};

// Every dense linear layer bound in `weights` under its module path
// ("model.layers.3.self_attn.q_proj", "lm_head"), for adapters to find the
// layers they name. Experts are not listed. Pointers into `weights`.
std::vector<std::pair<std::string, kernels::Weight*>> linear_modules(const ModelConfig& config, ModelWeights* weights);

// Errors name the tensor and, for a mismatch, its shape and the shape the
// config implies (InvalidArgument); a missing tensor (NotFound) names the
// model; a dtype the runtime cannot use (Unsupported) names it.
Result<ModelWeights> bind_weights(const ModelSource& source, const ModelConfig& config);

}  // namespace mlxpack::engine

#endif  // MLXPACK_RUNTIME_ENGINE_MODEL_WEIGHTS_H_
