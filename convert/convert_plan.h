// Step one of `convert`: what becomes of each input tensor. A job per input
// tensor (copied, cast to another float dtype, or quantized with a spec),
// plus one for an untied lm_head; and the output tensors the jobs produce,
// sorted by name. Nothing here reads tensor bytes.
#ifndef MLXPACK_CONVERT_CONVERT_PLAN_H_
#define MLXPACK_CONVERT_CONVERT_PLAN_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "convert/converter.h"
#include "convert/quant_plan.h"
#include "format/lora_adapter.h"
#include "mlxpack/model_source.h"

namespace mlxpack {

// What config.json says that planning acts on.
struct ConfigFacts {
  std::optional<QuantSpec> quantization;  // set when the input is MLX-quantized
  int64_t num_hidden_layers = 0;
  bool tie_word_embeddings = false;
  int64_t num_experts = 0;  // num_local_experts / num_experts; 0: not a mixture of experts
};

// How one input tensor (or a stack of them) becomes one or three output
// tensors.
struct Job {
  size_t input = 0;           // index into ConvertPlan::inputs
  // Mixture-of-experts inputs stacked along a new first dimension, as
  // mlx-lm's switch_mlp holds them (input == parts[0]); empty otherwise.
  std::vector<size_t> parts;
  std::vector<uint64_t> shape;  // the input's shape, or [parts, ...] when stacked
  std::string base;           // output name (copy/cast) or layer path (quantize)
  DType dtype = DType::kF32;  // output float dtype
  bool cast = false;
  std::optional<QuantSpec> spec;
  const LoraModule* lora = nullptr;  // fused into the weight first (ConvertPlan::adapter's)
};

// One output tensor: part `part` of job `job` (0 = weight or the plain
// tensor, 1 = scales, 2 = biases).
struct OutTensor {
  std::string name;
  DType dtype;
  std::vector<uint64_t> shape;
  uint64_t size_bytes;
  uint64_t parameters;  // what mlx-lm counts: a packed weight counts its unpacked elements
  size_t job = 0;
  int part = 0;
};

struct ConvertPlan {
  std::vector<InputTensor> inputs;  // the source's tensors, sorted by name
  std::vector<Job> jobs;
  std::vector<OutTensor> outs;      // sorted by name
  bool quantizing = false;          // quantization asked for, of a float input
  bool untied = false;              // an lm_head is written from the embedding
  QuantSpec default_spec;           // the config's top-level "quantization"
  bool per_layer_config = false;    // every quantized layer gets a config entry
  std::shared_ptr<const LoraAdapter> adapter;  // ConvertOptions::adapter_path's, when given
};

// Hugging Face's per-expert tensors, PREFIX.experts.E.NAME.KIND for E in
// [0, num_experts), become PREFIX.switch_mlp.NAME'.KIND stacked in expert
// order, as mlx-lm's sanitize does (NAME' is gate_proj, down_proj and
// up_proj for Mixtral's w1, w2 and w3, else NAME). A set that is not
// complete, or whose experts differ in shape or dtype, is left as it is.
struct ExpertStack {
  std::string name;           // the stacked tensor's name
  std::vector<size_t> parts;  // inputs, expert 0 first
};
std::vector<ExpertStack> find_expert_stacks(const std::vector<InputTensor>& inputs, int64_t num_experts);

// Plans the conversion of `in`. Fills `report`'s tensor counts and
// kept_float. InvalidArgument: requantizing an already quantized input with
// other settings; --no-tie-word-embeddings on a model that is not tied; a job
// that cannot fit in this machine's memory; two outputs of one name;
// quantization asked for but no tensor quantized; an adapter (read from
// options.adapter_path, with its own errors) that names a layer the input
// lacks, of another shape, or already quantized; and the planner's errors.
Result<ConvertPlan> plan_conversion(const ModelSource& in, const ConfigFacts& config, const ConvertOptions& options,
                                    ConvertReport* report);

// Elements of a tensor of `shape` (shapes here are validated: no overflow).
uint64_t element_count(const std::vector<uint64_t>& shape);

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_CONVERT_PLAN_H_
