// Small random models of every supported architecture, written as Hugging
// Face directories, and a straightforward reference forward pass (double
// accumulation, written from the transformers modelling code, sharing
// nothing with runtime/engine) to check the runtime against.
#ifndef MLXPACK_TESTS_RUNTIME_TINY_MODEL_H_
#define MLXPACK_TESTS_RUNTIME_TINY_MODEL_H_

#include <map>
#include <string>
#include <vector>

#include "mlxpack/dtype.h"

namespace mlxpack::test {

struct TinySpec {
  std::string model_type = "llama";  // llama, mistral, qwen2, qwen3, phi3
  int hidden = 64;
  int intermediate = 128;
  int layers = 2;
  int heads = 4;
  int kv_heads = 2;
  int head_dim = 16;
  int vocab = 96;
  bool tie_embeddings = false;
  bool attention_bias = false;  // Llama's q/k/v/o biases
  int sliding_window = 0;       // mistral/qwen2
  bool llama3_rope = false;
  double partial_rotary = 1.0;
  int max_positions = 256;
  DType dtype = DType::kF32;
  uint64_t seed = 1;
};

using Tensors = std::map<std::string, std::vector<float>>;

// Writes config.json, generation_config.json, model.safetensors and a small
// tokenizer.json into `dir`; returns the weights as floats (after rounding
// to `dtype`), keyed by tensor name.
Tensors write_tiny_model(const std::string& dir, const TinySpec& spec);

// Logits (vocab floats per position) of every position of `tokens`, from
// scratch, as transformers computes them.
std::vector<std::vector<double>> reference_logits(const TinySpec& spec, const Tensors& w,
                                                  const std::vector<int>& tokens);

}  // namespace mlxpack::test

#endif  // MLXPACK_TESTS_RUNTIME_TINY_MODEL_H_
