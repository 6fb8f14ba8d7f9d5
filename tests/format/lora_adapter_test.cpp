// mlx-lm's LoRA adapter files: a good adapter is read as floats; each
// hostile or unsupported one is refused with its own message.
#include "format/lora_adapter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "format/safetensors.h"
#include "tests/support/test_files.h"

namespace mlxpack {
namespace {

std::string f32_bytes(const std::vector<float>& v) {
  std::string out(v.size() * 4, '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t b;
    std::memcpy(&b, &v[i], 4);
    for (int k = 0; k < 4; ++k) out[4 * i + k] = static_cast<char>(b >> (8 * k));
  }
  return out;
}

SafetensorsWriteTensor matrix(const std::string& name, uint64_t rows, uint64_t cols, float first = 0.5f) {
  std::vector<float> v(rows * cols, 0.25f);
  v[0] = first;
  return {name, DType::kF32, {rows, cols}, f32_bytes(v)};
}

const char* kConfig = R"({"fine_tune_type": "lora", "num_layers": 2,
                          "lora_parameters": {"rank": 2, "scale": 10.0, "dropout": 0.0}})";

std::vector<SafetensorsWriteTensor> good_tensors() {
  return {matrix("model.layers.0.self_attn.q_proj.lora_a", 8, 2, 1.5f),
          matrix("model.layers.0.self_attn.q_proj.lora_b", 2, 4, -2.0f)};
}

std::string error_of(const std::string& config, const std::vector<SafetensorsWriteTensor>& tensors) {
  auto r = parse_lora_adapter(config, encode_safetensors(tensors, {}), "ad");
  EXPECT_FALSE(r.is_ok());
  return r.is_ok() ? "" : r.status().message();
}

TEST(LoraAdapterFiles, ReadsPairsAsFloatsWithTheConfigsRankAndScale) {
  test::TempDir dir;
  test::write_file(dir.file("adapter_config.json"), kConfig);
  test::write_file(dir.file("adapters.safetensors"), encode_safetensors(good_tensors(), {}));
  auto a = read_lora_adapter(dir.path());
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  EXPECT_EQ(a->rank, 2);
  EXPECT_FLOAT_EQ(a->scale, 10.0f);
  ASSERT_EQ(a->modules.size(), 1u);
  const LoraModule& m = a->modules[0];
  EXPECT_EQ(m.path, "model.layers.0.self_attn.q_proj");
  EXPECT_EQ(m.in, 8);
  EXPECT_EQ(m.out, 4);
  ASSERT_EQ(m.a.size(), 16u);
  ASSERT_EQ(m.b.size(), 8u);
  EXPECT_FLOAT_EQ(m.a[0], 1.5f);
  EXPECT_FLOAT_EQ(m.b[0], -2.0f);
  EXPECT_FLOAT_EQ(m.b[7], 0.25f);
  // mlx-lm's default scale when the config names none.
  auto d = parse_lora_adapter(R"({"lora_parameters": {"rank": 2}})", encode_safetensors(good_tensors(), {}), "ad");
  ASSERT_TRUE(d.is_ok());
  EXPECT_FLOAT_EQ(d->scale, 20.0f);
}

TEST(LoraAdapterFiles, HostileAndUnsupportedAdaptersAreRefused) {
  auto t = good_tensors();
  EXPECT_EQ(error_of(R"({"fine_tune_type": "dora", "lora_parameters": {"rank": 2}})", t),
            "ad/adapter_config.json.fine_tune_type: \"dora\" is not supported; supported: \"lora\"");
  EXPECT_EQ(error_of(R"({"lora_parameters": {"rank": 0}})", t),
            "ad/adapter_config.json.lora_parameters.rank: value 0 is outside [1, 4096]");
  EXPECT_EQ(error_of(R"({"lora_parameters": {"rank": 100000}})", t),
            "ad/adapter_config.json.lora_parameters.rank: value 100000 is outside [1, 4096]");
  EXPECT_EQ(error_of(R"({"lora_parameters": {"rank": 2, "scale": "big"}})", t),
            "ad/adapter_config.json.lora_parameters.scale: expected a number, got string");
  EXPECT_EQ(error_of(R"({"rank": 2})", t), "ad/adapter_config.json.lora_parameters: missing (expected an object)");
  EXPECT_EQ(error_of("[1, 2]", t), "ad/adapter_config.json: not a JSON object");
  EXPECT_EQ(error_of(kConfig, {t[0]}),
            "ad/adapters.safetensors: 'model.layers.0.self_attn.q_proj.lora_b' is missing "
            "(model.layers.0.self_attn.q_proj.lora_a is there)");
  EXPECT_EQ(error_of(kConfig, {t[0], t[1], matrix("model.layers.0.self_attn.q_proj.m", 4, 1)}),
            "ad/adapters.safetensors: tensor 'model.layers.0.self_attn.q_proj.m' is not a LoRA matrix (names end "
            "in .lora_a or .lora_b; DoRA and full fine-tunes are not supported)");
  EXPECT_EQ(error_of(kConfig, {matrix("x.lora_a", 8, 3), t[1]}),
            "ad/adapters.safetensors: tensor 'x.lora_a' has shape [8, 3], expected [in, 2] (lora_parameters.rank is 2)");
  EXPECT_EQ(error_of(kConfig, {t[0], matrix("model.layers.0.self_attn.q_proj.lora_b", 4, 4)}),
            "ad/adapters.safetensors: tensor 'model.layers.0.self_attn.q_proj.lora_b' has shape [4, 4], expected "
            "[2, out] (lora_parameters.rank is 2)");
  SafetensorsWriteTensor ints{"x.lora_a", DType::kI32, {8, 2}, std::string(64, '\0')};
  EXPECT_EQ(error_of(kConfig, {ints, matrix("x.lora_b", 2, 4)}),
            "ad/adapters.safetensors: tensor 'x.lora_a' has dtype I32; LoRA matrices are F32, F16 or BF16");
  EXPECT_EQ(error_of(kConfig, {matrix("x.lora_a", 8, 2, NAN), matrix("x.lora_b", 2, 4)}),
            "ad/adapters.safetensors: tensor 'x.lora_a' holds a value that is not finite");
  EXPECT_EQ(error_of(kConfig, {}), "ad/adapters.safetensors: holds no LoRA matrices");
  auto r = parse_lora_adapter(kConfig, "short", "ad");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "ad/adapters.safetensors: shorter than a safetensors header");
  test::TempDir dir;
  auto missing = read_lora_adapter(dir.path());
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("adapter_config.json"), std::string::npos) << missing.status().message();
}

}  // namespace
}  // namespace mlxpack
