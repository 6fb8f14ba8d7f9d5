// A GGUF's architecture metadata as the Hugging Face config.json and
// generation_config.json, and its tensors under Hugging Face's names.
//
// Architectures are rows of data (gguf_architecture.cpp): llama (also
// Mistral, SmolLM and TinyLlama, which llama.cpp writes as llama), qwen2,
// qwen3, phi3. llama.cpp's converter reorders the rows of a llama model's
// q_proj and k_proj (Hugging Face's rotary halves back to Meta's
// interleaved pairs); the plan carries the inverse permutation so the
// result is the model transformers would load.
#ifndef MLXPACK_CONVERT_GGUF_GGUF_ARCHITECTURE_H_
#define MLXPACK_CONVERT_GGUF_GGUF_ARCHITECTURE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "convert/gguf/gguf_metadata.h"
#include "convert/gguf/gguf_tokenizer.h"

namespace mlxpack {

struct GgufTensorPlan {
  size_t index = 0;             // into GgufFile::tensors
  std::string name;             // Hugging Face name, e.g. model.layers.0.self_attn.q_proj.weight
  std::vector<uint64_t> rows_from;  // output row r is GGUF row rows_from[r]; empty: as stored
};

struct GgufModelPlan {
  std::string architecture;            // GGUF's general.architecture
  nlohmann::ordered_json config;       // config.json without "quantization"
  std::string generation_config_json;
  std::vector<GgufTensorPlan> tensors;  // in GGUF order
};

// Reads a tensor's bytes (for metadata carried as tensors: rope_freqs).
using GgufTensorReader = std::function<Result<std::string>(const GgufTensorInfo&)>;

// InvalidArgument for missing or out-of-range hyperparameters, tensor names
// that are not the architecture's, shapes that disagree with the config;
// Unsupported for another architecture, rope scaling this importer cannot
// express in config.json, or per-layer head counts.
Result<GgufModelPlan> plan_gguf_model(const GgufMetadata& meta, const GgufTokenizer& tokenizer,
                                      const GgufTensorReader& read);

// The other direction (export): how a config.json model_type is written.
struct GgufArchitectureFor {
  std::string gguf;           // general.architecture (mistral is written as llama)
  bool permuted_qk = false;   // llama.cpp expects Meta's interleaved q/k rows
  bool fused_gate_up = false;
};
std::optional<GgufArchitectureFor> gguf_architecture_for(const std::string& model_type);

// The GGUF name of a Hugging Face tensor ("model.layers.3.mlp.up_proj.weight"
// -> "blk.3.ffn_up.weight"); empty if it has none.
std::string gguf_tensor_name(const std::string& hf_name, bool fused_gate_up, uint64_t layers);

// For llama's q/k: from[r] is the GGUF row that holds Hugging Face row r.
std::vector<uint64_t> llama_qk_gguf_rows(uint64_t heads, uint64_t head_dim);

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_GGUF_GGUF_ARCHITECTURE_H_
