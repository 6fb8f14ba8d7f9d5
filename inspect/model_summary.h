// What `mlxpack info` reports: facts about the model (from its bundled
// config, generation config and tokenizer config), its tensors (count,
// parameters, bits per weight) and, for a pack, the container (from the
// index). A pack and a model directory give the same fields. Reads no
// tensor data, so its cost does not grow with the weights.
#ifndef MLXPACK_INSPECT_MODEL_SUMMARY_H_
#define MLXPACK_INSPECT_MODEL_SUMMARY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mlxpack/loader.h"
#include "mlxpack/model_source.h"

namespace mlxpack {

struct QuantizationSummary {
  int64_t bits = 0;
  int64_t group_size = 0;
  std::string mode;  // "affine" unless config says otherwise
};

struct NamedSize {
  std::string name;
  uint64_t size_bytes = 0;         // original
  uint64_t stored_size_bytes = 0;  // in the pack
};

struct TensorSummary {
  std::string name;
  DType dtype = DType::kU8;
  std::vector<uint64_t> shape;
  uint64_t size_bytes = 0;
  std::optional<uint64_t> offset;  // in the pack; absent for a directory
};

// A weight left in float in a quantized model.
struct UnquantizedLayer {
  std::string name;  // without ".weight"
  DType dtype = DType::kU8;
  std::vector<uint64_t> shape;
};

// Parameters of one storage kind ("BF16", "affine 4-bit g64", ...) and the
// bytes they take, scales and biases of quantized weights included.
struct StorageSummary {
  uint64_t parameters = 0;
  uint64_t bytes = 0;
  double bits_per_weight() const { return parameters ? 8.0 * static_cast<double>(bytes) / parameters : 0.0; }
};

struct ModelSummary {
  std::string path;
  std::optional<PackInfo> pack;  // absent for a model directory
  std::string architecture;  // architectures[0], else model_type
  std::string model_type;
  std::optional<int64_t> hidden_size, num_layers, num_attention_heads, num_kv_heads, vocab_size;
  std::optional<int64_t> context_length;  // max_position_embeddings
  std::optional<double> rope_theta;
  std::string rope_scaling;               // rope_scaling's type; "" when none
  std::optional<bool> tied_embeddings;    // tie_word_embeddings, else no lm_head.weight
  std::optional<double> partial_rotary_factor;  // the fraction of each head RoPE turns
  std::optional<int64_t> sliding_window;        // when the model uses one
  // Local (sliding-window) and global layers when they alternate (Gemma):
  // how many of each and what says so; "" when every layer is alike.
  std::string attention_layout;
  std::optional<int64_t> num_experts, experts_per_token;  // mixture of experts
  std::optional<QuantizationSummary> quantization;
  // In a quantized model: float ".weight" tensors of rank >= 2 (norms aside)
  // that have no ".scales", i.e. layers left unquantized, with their shapes.
  std::vector<UnquantizedLayer> unquantized_layers;
  // Layers whose quantization differs from the default (per-layer config entries).
  std::map<std::string, QuantizationSummary> layer_quantization;
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  bool has_chat_template = false;
  // Fields of config.json or generation_config.json that are wrongly typed
  // or out of bounds (the file's facts are then left out), one message each.
  std::vector<std::string> config_problems;
  std::vector<NamedSize> files;
  std::vector<NamedSize> sources;
  std::map<std::string, uint64_t> tensor_count_by_dtype;
  uint64_t tensor_bytes = 0;
  std::vector<TensorSummary> tensors;  // in the pack's order, or sorted by name
  uint64_t parameter_count = 0;
  std::map<std::string, StorageSummary> storage;  // by storage kind
  double bits_per_weight() const;                 // over all parameters
};

// Fills the model facts of `s` from the bundled JSON files (nullptr when a
// file is absent), read through format/hf_config.h. Any bytes are accepted:
// malformed JSON or a top level that is not an object is InvalidArgument; a
// config whose fields are wrongly typed is left out and its error recorded
// in `config_problems`. `label` names the pack or directory in messages.
Status interpret_model_files(const std::string* config, const std::string* generation_config,
                             const std::string* tokenizer_config, const std::string& label, ModelSummary* s);

// Fails only if a bundled JSON file the summary needs is unreadable
// (Corruption from the loader) or config.json is not a JSON object.
Result<ModelSummary> summarize(const Reader& reader);
// The same for a model directory (opened as ModelSource): its bundled
// files, its safetensors files and their tensors.
Result<ModelSummary> summarize(const ModelSource& source);

std::string summary_to_text(const ModelSummary& s, bool with_tensors);
std::string summary_to_json(const ModelSummary& s, bool with_tensors);

}  // namespace mlxpack

#endif  // MLXPACK_INSPECT_MODEL_SUMMARY_H_
