// libFuzzer target: arbitrary bytes as a --q-recipe JSON file, through the
// quantization planner, then a decision for every tensor of a small model.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "convert/quant_plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = [] {
    const char* tmp = std::getenv("TMPDIR");
    return std::string(tmp != nullptr ? tmp : "/tmp") + "/mlxpack-fuzz-recipe-" + std::to_string(::getpid()) + ".json";
  }();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  using mlxpack::DType;
  static const std::vector<mlxpack::InputTensor> tensors = {
      {"model.embed_tokens.weight", DType::kBF16, {512, 64}, 65536},
      {"model.layers.0.self_attn.q_proj.weight", DType::kF32, {64, 64}, 16384},
      {"model.layers.0.mlp.down_proj.weight", DType::kF16, {64, 172}, 22016},
      {"model.layers.1.self_attn.o_proj.weight", DType::kF32, {64, 128}, 32768},
      {"model.norm.weight", DType::kF32, {64}, 256},
      {"lm_head.weight", DType::kF32, {512, 64}, 131072},
  };
  mlxpack::QuantOptions options;
  options.quantize_linear = true;
  options.recipe = path;
  auto planner = mlxpack::QuantPlanner::create(options, 2, tensors);
  std::remove(path.c_str());  // read by create(); leave nothing behind in TMPDIR
  if (!planner.is_ok()) return 0;
  for (const auto& t : tensors) {
    const mlxpack::QuantDecision d = planner->decide(t);
    if (d.spec && !mlxpack::check_quant_spec(*d.spec).is_ok()) __builtin_trap();  // only valid specs come out
  }
  return 0;
}
