// An MLX LoRA adapter as mlx-lm's trainer saves it: adapter_config.json
// ("fine_tune_type": "lora", "lora_parameters": {"rank", "scale", ...}) and
// adapters.safetensors holding, for each adapted linear layer PATH,
// PATH.lora_a [in, rank] and PATH.lora_b [rank, out]. The layer computes
//   y = W x + scale * (x A) B,   i.e. W' = W + scale * (A B)^T
// (mlx-lm's LoRALinear and its fuse()).
//
// Both files come from the user's disk or a download: every field and
// tensor is checked (types, ranks, shapes, complete pairs, a rank the
// config names) and anything else, DoRA's magnitudes or a full fine-tune
// included, is refused with a message naming the file, the field or
// tensor, the value and the limit.
#ifndef MLXPACK_FORMAT_LORA_ADAPTER_H_
#define MLXPACK_FORMAT_LORA_ADAPTER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mlxpack/status.h"

namespace mlxpack {

// One adapted layer: A and B as floats.
struct LoraModule {
  std::string path;      // "model.layers.0.self_attn.q_proj"
  int in = 0, out = 0;   // the layer's input and output features
  std::vector<float> a;  // [in, rank], row-major
  std::vector<float> b;  // [rank, out], row-major
};

struct LoraAdapter {
  int rank = 0;
  float scale = 0;
  std::vector<LoraModule> modules;  // sorted by path
};

// The files of an adapter directory.
inline constexpr const char* kAdapterConfigFile = "adapter_config.json";
inline constexpr const char* kAdapterWeightsFile = "adapters.safetensors";
// The same two files bundled in a pack (spec/FORMAT.md §6.6).
inline constexpr const char* kBundledAdapterConfig = "adapter/adapter_config.json";
inline constexpr const char* kBundledAdapterWeights = "adapter/adapters.safetensors";
// Limits: adapter_config.json 1 MiB, adapters.safetensors 4 GiB, rank 4096.
inline constexpr uint64_t kMaxAdapterConfigBytes = uint64_t{1} << 20;
inline constexpr uint64_t kMaxAdapterWeightsBytes = uint64_t{4} << 30;
inline constexpr int kMaxLoraRank = 4096;

// Parses the two files' bytes; `label` names where they came from (a
// directory or "pack:adapter/"). Errors: InvalidArgument, Unsupported for
// a fine-tune type other than LoRA.
Result<LoraAdapter> parse_lora_adapter(std::string_view config_json, std::string_view safetensors,
                                       const std::string& label);

// Reads DIR/adapter_config.json and DIR/adapters.safetensors (within the
// limits above) and parses them. IOError/NotFound name the missing file.
Result<LoraAdapter> read_lora_adapter(const std::string& dir);

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_LORA_ADAPTER_H_
