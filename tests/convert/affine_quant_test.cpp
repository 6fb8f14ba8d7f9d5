// Our quantizer against the 378 cases MLX itself computed
// (../shared/reference/mlx-quantize): packed words, scales and biases must
// match exactly; dequantization and quantized matmul within tolerance.
#include "convert/affine_quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "convert/float_convert.h"
#include "format/byte_order.h"
#include "format/safetensors.h"
#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

struct RefTensor {
  DType dtype;
  std::vector<uint64_t> shape;
  std::string bytes;
};

class MlxReference {
 public:
  explicit MlxReference(const std::string& dir) {
    const std::string file = test::read_file(dir + "/quantize_reference.safetensors");
    const uint64_t n = load_le64(reinterpret_cast<const uint8_t*>(file.data()));
    auto header = parse_safetensors_header(file.substr(8, n), file.size(), "quantize_reference.safetensors");
    EXPECT_TRUE(header.is_ok()) << header.status().to_string();
    for (const auto& t : header->tensors) {
      tensors_[t.name] = {t.dtype, t.shape, file.substr(header->data_offset() + t.data_begin, t.size_bytes())};
    }
    cases_ = nlohmann::json::parse(test::read_file(dir + "/quantize_reference.json"));
  }
  const RefTensor& at(const std::string& name) const { return tensors_.at(name); }
  const nlohmann::json& json() const { return cases_; }

 private:
  std::map<std::string, RefTensor> tensors_;
  nlohmann::json cases_;
};

std::vector<float> as_floats(const RefTensor& t) {
  uint64_t n = t.bytes.size() / dtype_size_bytes(t.dtype);
  std::vector<float> out(n);
  for (uint64_t i = 0; i < n; ++i) out[i] = load_float(reinterpret_cast<const uint8_t*>(t.bytes.data()), t.dtype, i);
  return out;
}

TEST(AffineQuantTest, ReproducesEveryMlxCaseExactly) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("reference/mlx-quantize", dir);
  const MlxReference ref(dir);
  int exact = 0, rejected = 0;
  for (const auto& c : ref.json()["cases"]) {
    const RefTensor& w = ref.at(c["w"]);
    const QuantSpec spec{c["bits"].get<int>(), c["group_size"].get<int>()};
    const std::string label = c["w"].get<std::string>() + " b" + std::to_string(spec.bits) + " g" +
                              std::to_string(spec.group_size);
    for (unsigned threads : {1u, 3u}) {
      auto q = affine_quantize(reinterpret_cast<const uint8_t*>(w.bytes.data()), w.dtype, w.shape, spec, threads, label);
      if (!c["ok"].get<bool>()) {
        ASSERT_FALSE(q.is_ok()) << label << " should be rejected: " << c["error"];
        EXPECT_NE(q.status().message().find("not a multiple of the group size"), std::string::npos);
        rejected += threads == 1;
        continue;
      }
      ASSERT_TRUE(q.is_ok()) << label << ": " << q.status().to_string();
      const RefTensor& rw = ref.at(c["weight"]);
      const RefTensor& rs = ref.at(c["scales"]);
      const RefTensor& rb = ref.at(c["biases"]);
      EXPECT_EQ(q->shapes.weight, rw.shape) << label;
      EXPECT_EQ(q->shapes.scales, rs.shape) << label;
      ASSERT_EQ(q->weight, rw.bytes) << label << ": packed words differ";
      ASSERT_EQ(q->scales, rs.bytes) << label << ": scales differ";
      ASSERT_EQ(q->biases, rb.bytes) << label << ": biases differ";
      if (threads == 1) ++exact;
    }
  }
  EXPECT_EQ(exact, 378);
  EXPECT_EQ(rejected, 108);
}

TEST(AffineQuantTest, DequantizeAndMatmulMatchMlx) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("reference/mlx-quantize", dir);
  const MlxReference ref(dir);
  int checked = 0;
  double worst_dequant = 0;
  for (const auto& c : ref.json()["cases"]) {
    if (!c["ok"].get<bool>()) continue;
    const RefTensor& w = ref.at(c["w"]);
    const QuantSpec spec{c["bits"].get<int>(), c["group_size"].get<int>()};
    auto q = affine_quantize(reinterpret_cast<const uint8_t*>(w.bytes.data()), w.dtype, w.shape, spec, 1, "w");
    ASSERT_TRUE(q.is_ok());
    const std::vector<float> deq = affine_dequantize(*q, w.dtype, spec);
    const std::vector<float> want = as_floats(ref.at(c["dequant"]));
    ASSERT_EQ(deq.size(), want.size());
    for (size_t i = 0; i < deq.size(); ++i) {
      const double err = std::fabs(deq[i] - want[i]);
      worst_dequant = std::max(worst_dequant, err / std::max(1e-30, static_cast<double>(std::fabs(want[i]))));
      ASSERT_LE(err, 1e-6 * std::max(1.0f, std::fabs(want[i]))) << c["dequant"] << " element " << i;
    }
    // quantized_matmul: x [.., M, K] against the weight; only 2-D weights
    // multiply plainly (MLX uses w[0] for 3-D, see the reference README §4).
    if (w.shape.size() != 2) continue;
    const std::vector<float> x = as_floats(ref.at(c["x"]));
    const uint64_t m = x.size() / w.shape[1];
    const std::vector<float> y = quantized_matmul_reference(x, m, *q, w.dtype, spec);
    const std::vector<float> yref = as_floats(ref.at(c["yref"]));
    const std::vector<float> ymlx = as_floats(ref.at(c["y"]));
    double max_ref = 0;
    for (float v : yref) max_ref = std::max(max_ref, static_cast<double>(std::fabs(v)));
    // y accumulates in T on MLX's CPU: up to ~3% of max|y| for bf16.
    const double tol_mlx = (w.dtype == DType::kF32 ? 1e-5 : w.dtype == DType::kF16 ? 1e-2 : 5e-2) * max_ref + 1e-6;
    for (size_t i = 0; i < y.size(); ++i) {
      ASSERT_NEAR(y[i], yref[i], 1e-5 * max_ref + 1e-6) << c["yref"] << " element " << i;
      ASSERT_NEAR(y[i], ymlx[i], tol_mlx) << c["y"] << " element " << i;
    }
    ++checked;
  }
  EXPECT_GT(checked, 200);
  RecordProperty("worst_relative_dequant_error", std::to_string(worst_dequant));
}

TEST(AffineQuantTest, UnsupportedParametersAreRejectedAsMlxDoes) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("reference/mlx-quantize", dir);
  const MlxReference ref(dir);
  for (const auto& c : ref.json()["unsupported_parameter_checks"]) {
    const Status s = check_quant_spec({c["bits"].get<int>(), c["group_size"].get<int>()});
    ASSERT_FALSE(s.is_ok()) << c["bits"] << "/" << c["group_size"];
    const bool about_bits = c["error"].get<std::string>().find("bits") != std::string::npos &&
                            c["error"].get<std::string>().find("group size") == std::string::npos;
    EXPECT_NE(s.message().find(about_bits ? "bits" : "group size"), std::string::npos) << s.message();
  }
}

TEST(FloatConvertTest, HalfAndBfloatRoundToNearestEven) {
  // Exhaustive: every half and every bfloat16 value survives f32 and back.
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16(f), h) << h;
    const float b = bf16_to_f32(static_cast<uint16_t>(h));
    if (!std::isnan(b)) {
      ASSERT_EQ(f32_to_bf16(b), h);
    }
  }
  // Ties go to even; overflow goes to infinity.
  EXPECT_EQ(f32_to_f16(1.0f + 1.0f / 2048), 0x3c00);  // halfway between 1 and next: even (1)
  EXPECT_EQ(f32_to_f16(1.0f + 3.0f / 2048), 0x3c02);  // halfway, rounds up to even
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);
  EXPECT_EQ(f32_to_bf16(1.0f + 1.0f / 256), 0x3f80);
  EXPECT_EQ(f32_to_bf16(3.4e38f * 1.01f * 1.0f), 0x7f80);  // rounds past the largest bfloat16
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);        // tie between 0 and min subnormal: even
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);        // tie between 1 and 2 subnormals: even
}

}  // namespace
}  // namespace mlxpack
