#include "convert/converter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "convert/float_convert.h"
#include "inspect/extract.h"
#include "inspect/model_summary.h"
#include "mlxpack/loader.h"
#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

using nlohmann::json;

class ConverterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bool missing = false;
    stories_ = test::test_data_path("models/stories260K", &missing);
    if (missing) {
      if (test::running_in_ci()) FAIL() << "CI=true but models/stories260K is missing";
      GTEST_SKIP() << "models/stories260K not found (set MLXPACK_TEST_DATA)";
    }
    sharded_ = test::test_data_path("models/stories260K-sharded", &missing);
  }

  ConvertOptions options(const std::string& out) const {
    ConvertOptions o;
    o.input = stories_;
    o.output = dir_.file(out);
    o.threads = 2;
    return o;
  }

  static ConvertReport convert_or_die(const ConvertOptions& o) {
    auto r = convert_model(o);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? *r : ConvertReport{};
  }

  static json config_of(const Reader& r) { return json::parse(*r.file("config.json")); }

  std::string stories_, sharded_;
  test::TempDir dir_;
};

TEST_F(ConverterTest, QuantizesLinearLayersAtEveryCommonSetting) {
  auto original = Reader::open(stories_ + "/../stories260K/model.safetensors");  // not a pack: NotFound
  EXPECT_FALSE(original.is_ok());
  for (int bits : {4, 8}) {
    for (int group : {32, 64}) {
      ConvertOptions o = options("q" + std::to_string(bits) + "g" + std::to_string(group) + ".mlxpack");
      o.quant.quantize_linear = true;
      o.quant.linear = {bits, group};
      const ConvertReport rep = convert_or_die(o);
      // q, k, v, o, gate and up of 5 layers and embed_tokens (as mlx_lm.convert
      // -q quantizes nn.Embedding); not down_proj (input 172).
      EXPECT_EQ(rep.quantized, 31u);
      EXPECT_EQ(rep.kept_float.size(), 5u);
      auto r = Reader::open(o.output, {VerifyMode::kAtOpen});
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      const json config = config_of(**r);
      EXPECT_EQ(config["quantization"]["bits"], bits);
      EXPECT_EQ(config["quantization"]["group_size"], group);
      EXPECT_EQ(config["quantization_config"], config["quantization"]);
      EXPECT_TRUE(config["tie_word_embeddings"].get<bool>());
      EXPECT_FALSE((*r)->has_tensor("lm_head.weight"));
      // down_proj (input 172) stays float; q_proj is packed.
      EXPECT_TRUE((*r)->has_tensor("model.layers.0.mlp.down_proj.weight"));
      EXPECT_FALSE((*r)->has_tensor("model.layers.0.mlp.down_proj.scales"));
      auto q = (*r)->tensor("model.layers.0.self_attn.q_proj.weight");
      ASSERT_TRUE(q.is_ok());
      EXPECT_EQ(q->dtype, DType::kU32);
      EXPECT_EQ(q->shape[1], 64u * bits / 32);
      EXPECT_EQ((*r)->tensor("model.layers.0.self_attn.q_proj.scales")->shape[1], 64u / group);
      auto s = summarize(**r);
      ASSERT_TRUE(s.is_ok());
      ASSERT_TRUE(s->quantization.has_value());
      EXPECT_EQ(s->quantization->bits, bits);
      EXPECT_EQ(s->unquantized_layers.size(), 5u);
      EXPECT_EQ((*r)->tensor("model.embed_tokens.weight")->dtype, DType::kU32);
      // Each group of `group` weights stores group * bits bits plus an F32
      // scale and bias (this model is F32): bits + 64 / group per weight.
      const std::string kind = "affine " + std::to_string(bits) + "-bit g" + std::to_string(group);
      ASSERT_EQ(s->storage.count(kind), 1u) << kind;
      EXPECT_DOUBLE_EQ(s->storage.at(kind).bits_per_weight(), bits + 64.0 / group) << kind;
      EXPECT_EQ(s->unquantized_layers[0].shape.size(), 2u);
    }
  }
}

// -q quantizes embeddings as mlx_lm.convert -q does (same bits and group,
// divisibility rule as linear layers: down_proj's 172 stays float in every
// test here); float_embeddings (--no-quantize-embeddings) and
// an explicit embedding spec are kept.
TEST_F(ConverterTest, EmbeddingsAreQuantizedLikeLinearLayersUnlessKeptFloat) {
  ConvertOptions o = options("emb.mlxpack");
  o.quant.quantize_linear = true;
  o.quant.linear = {8, 32};
  convert_or_die(o);
  auto r = Reader::open(o.output);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ((*r)->tensor("model.embed_tokens.weight")->dtype, DType::kU32);
  EXPECT_EQ((*r)->tensor("model.embed_tokens.weight")->shape[1], 64u * 8 / 32);
  EXPECT_EQ((*r)->tensor("model.embed_tokens.scales")->shape[1], 64u / 32);
  ConvertOptions kept = options("kept.mlxpack");
  kept.quant.quantize_linear = true;
  kept.quant.float_embeddings = true;
  const ConvertReport rep = convert_or_die(kept);
  EXPECT_EQ(rep.quantized, 30u);
  r = Reader::open(kept.output);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ((*r)->tensor("model.embed_tokens.weight")->dtype, DType::kF32);
  EXPECT_FALSE((*r)->has_tensor("model.embed_tokens.scales"));
}

TEST_F(ConverterTest, QuantizedTensorsAreWhatTheQuantizerGives) {
  ConvertOptions o = options("q.mlxpack");
  o.quant.quantize_linear = true;
  convert_or_die(o);
  auto src = Reader::open(dir_.file("src.mlxpack"));
  test::pack_or_die(stories_, dir_.file("src.mlxpack"));
  auto in = Reader::open(dir_.file("src.mlxpack"));
  auto out = Reader::open(o.output);
  ASSERT_TRUE(in.is_ok() && out.is_ok());
  const std::string name = "model.layers.3.mlp.up_proj";
  auto w = (*in)->tensor(name + ".weight");
  ASSERT_TRUE(w.is_ok());
  auto q = affine_quantize(static_cast<const uint8_t*>(w->data), w->dtype, {w->shape[0], w->shape[1]}, {4, 64}, 1, name);
  ASSERT_TRUE(q.is_ok());
  auto packed = (*out)->tensor(name + ".weight");
  EXPECT_EQ(std::string(static_cast<const char*>(packed->data), packed->size_bytes), q->weight);
  auto scales = (*out)->tensor(name + ".scales");
  EXPECT_EQ(std::string(static_cast<const char*>(scales->data), scales->size_bytes), q->scales);
  // Unquantized tensors are copied unchanged.
  auto norm_in = (*in)->tensor("model.norm.weight");
  auto norm_out = (*out)->tensor("model.norm.weight");
  EXPECT_EQ(std::string(static_cast<const char*>(norm_in->data), norm_in->size_bytes),
            std::string(static_cast<const char*>(norm_out->data), norm_out->size_bytes));
}

TEST_F(ConverterTest, ShardedInputGivesTheSameOutput) {
  if (sharded_.empty() || !std::filesystem::exists(sharded_)) GTEST_SKIP();
  ConvertOptions a = options("a.mlxpack"), b = options("b.mlxpack");
  b.input = sharded_;
  a.quant.quantize_linear = b.quant.quantize_linear = true;
  convert_or_die(a);
  convert_or_die(b);
  auto ra = Reader::open(a.output);
  auto rb = Reader::open(b.output);
  ASSERT_TRUE(ra.is_ok() && rb.is_ok());
  ASSERT_EQ((*ra)->info().tensor_count, (*rb)->info().tensor_count);
  for (uint64_t i = 0; i < (*ra)->entry_count(); ++i) {
    const EntryInfo e = (*ra)->entry(i);
    if (e.type != EntryType::kTensor) continue;
    EXPECT_EQ(e.checksum_hex, (*rb)->entry(i).checksum_hex) << e.name;
  }
}

TEST_F(ConverterTest, APackConvertsLikeItsDirectory) {
  test::pack_or_die(stories_, dir_.file("src.mlxpack"));
  ConvertOptions from_dir = options("from-dir.mlxpack"), from_pack = options("from-pack.mlxpack");
  from_pack.input = dir_.file("src.mlxpack");
  from_dir.quant.quantize_linear = from_pack.quant.quantize_linear = true;
  from_dir.quant.linear = from_pack.quant.linear = {8, 32};
  convert_or_die(from_dir);
  convert_or_die(from_pack);
  EXPECT_TRUE(test::read_file(from_dir.output) == test::read_file(from_pack.output));
}

TEST_F(ConverterTest, MlxDirectoryIsWhatMlxLmWritesAndMatchesTheExtractedPack) {
  ConvertOptions dir = options("mlx");
  dir.format = OutputFormat::kMlxDir;
  dir.quant.quantize_linear = true;
  convert_or_die(dir);
  // mlx_lm's files plus our marker, which lists them (sorted).
  EXPECT_EQ(test::list_files(dir.output),
            (std::vector<std::string>{".mlxpack-convert-output", "config.json", "generation_config.json", "model.safetensors",
                                      "model.safetensors.index.json", "special_tokens_map.json", "tokenizer.json",
                                      "tokenizer_config.json"}));
  const json index = json::parse(test::read_file(dir.output + "/model.safetensors.index.json"));
  EXPECT_EQ(index["weight_map"]["model.layers.0.self_attn.q_proj.scales"], "model.safetensors");
  const std::string st = test::read_file(dir.output + "/model.safetensors");
  EXPECT_NE(st.find("\"__metadata__\":{\"format\":\"mlx\"}"), std::string::npos);
  uint64_t total = 0;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) ++total;
  EXPECT_EQ(total, 109u);  // 47 tensors, scales and biases of 31 quantized

  ConvertOptions pack = options("p.mlxpack");
  pack.quant.quantize_linear = true;
  convert_or_die(pack);
  auto r = Reader::open(pack.output);
  ASSERT_TRUE(r.is_ok());
  ExtractOptions x;
  x.output_dir = dir_.file("extracted");
  ASSERT_TRUE(extract_pack(**r, x).is_ok());
  EXPECT_EQ(test::read_file(dir.output + "/.mlxpack-convert-output"),
            "config.json\ngeneration_config.json\nmodel.safetensors\nmodel.safetensors.index.json\n"
            "special_tokens_map.json\ntokenizer.json\ntokenizer_config.json\n");
  for (const std::string& f : test::list_files(dir.output)) {
    if (f == ".mlxpack-convert-output") continue;
    EXPECT_EQ(test::read_file(x.output_dir + "/" + f), test::read_file(dir.output + "/" + f)) << f;
  }
}

TEST_F(ConverterTest, ShardsAreCutAsMlxLmCutsThem) {
  ConvertOptions o = options("sharded");
  o.format = OutputFormat::kMlxDir;
  o.max_shard_bytes = 300000;
  convert_or_die(o);
  const json index = json::parse(test::read_file(o.output + "/model.safetensors.index.json"));
  std::set<std::string> shards;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) shards.insert(it->get<std::string>());
  EXPECT_GT(shards.size(), 2u);
  for (const std::string& s : shards) {
    EXPECT_LE(std::filesystem::file_size(o.output + "/" + s), 300000u + 65536u) << s;
    EXPECT_NE(s.find("-of-0000"), std::string::npos);
  }
  // The directory is a model directory `pack` accepts, shard index included.
  test::pack_or_die(o.output, dir_.file("from-dir.mlxpack"));
}

TEST_F(ConverterTest, ConvertingAQuantizedModelAgainIsANoOpOnTensors) {
  ConvertOptions first = options("mlx");
  first.format = OutputFormat::kMlxDir;
  first.quant.quantize_linear = true;
  convert_or_die(first);
  ConvertOptions plain = options("again.mlxpack");
  plain.input = first.output;
  ConvertOptions same = options("same.mlxpack");
  same.input = first.output;
  same.quant.quantize_linear = true;
  const ConvertReport rep = convert_or_die(plain);
  EXPECT_TRUE(rep.input_was_quantized);
  EXPECT_EQ(rep.quantized, 0u);
  convert_or_die(same);
  const std::string original = test::read_file(first.output + "/model.safetensors");
  for (const std::string& out : {plain.output, same.output}) {
    auto r = Reader::open(out);
    ASSERT_TRUE(r.is_ok());
    auto s = (*r)->source("model.safetensors");
    ASSERT_TRUE(s.is_ok());
    std::string rebuilt(s->header_region);
    for (const TensorView& t : s->tensors) rebuilt.append(static_cast<const char*>(t.data), t.size_bytes);
    EXPECT_TRUE(rebuilt == original) << out << ": tensors or layout changed";
  }
  ConvertOptions other = options("other.mlxpack");
  other.input = first.output;
  other.quant.quantize_linear = true;
  other.quant.linear = {8, 64};
  auto r = convert_model(other);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("already quantized"), std::string::npos) << r.status().message();
  EXPECT_FALSE(std::filesystem::exists(other.output));
}

TEST_F(ConverterTest, MixedRecipesFollowMlxLm) {
  ConvertOptions o = options("mixed.mlxpack");
  o.quant.recipe = "mixed_4_6";
  o.quant.linear = {4, 32};
  convert_or_die(o);
  auto r = Reader::open(o.output);
  ASSERT_TRUE(r.is_ok());
  const json q = config_of(**r)["quantization"];
  EXPECT_EQ(q["bits"], 4);
  // 5 layers: n/8 = 0, 7n/8 = 4; more bits where index >= 4 or index % 3 == 2.
  for (int layer = 0; layer < 5; ++layer) {
    const std::string v = "model.layers." + std::to_string(layer) + ".self_attn.v_proj";
    const int want = (layer >= 4 || layer % 3 == 2) ? 6 : 4;
    EXPECT_EQ(q[v]["bits"], want) << v;
    EXPECT_EQ(q[v]["group_size"], 32);
    EXPECT_EQ((*r)->tensor(v + ".weight")->shape[1], 64u * want / 32) << v;
    EXPECT_EQ(q["model.layers." + std::to_string(layer) + ".self_attn.q_proj"]["bits"], 4);
  }
  for (const char* name : {"mixed_2_6", "mixed_3_4", "mixed_3_6"}) {
    ConvertOptions m = options(std::string(name) + ".mlxpack");
    m.quant.recipe = name;
    m.quant.linear = {4, 32};
    convert_or_die(m);
  }
}

TEST_F(ConverterTest, RecipeFilesOverrideByPattern) {
  test::write_file(dir_.file("recipe.json"), R"({"default": {"bits": 4, "group_size": 32},
    "overrides": [{"pattern": "*.self_attn.o_proj", "bits": 8},
                  {"pattern": "model.layers.1.*", "quantize": false}]})");
  ConvertOptions o = options("recipe.mlxpack");
  o.quant.recipe = dir_.file("recipe.json");
  convert_or_die(o);
  auto r = Reader::open(o.output);
  ASSERT_TRUE(r.is_ok());
  const json q = config_of(**r)["quantization"];
  EXPECT_EQ(q["model.layers.0.self_attn.o_proj"]["bits"], 8);
  EXPECT_EQ(q["model.layers.0.self_attn.q_proj"]["bits"], 4);
  EXPECT_FALSE(q.contains("model.layers.1.self_attn.q_proj"));
  EXPECT_FALSE((*r)->has_tensor("model.layers.1.self_attn.q_proj.scales"));

  test::write_file(dir_.file("nomatch.json"), R"({"overrides": [{"pattern": "*.no_such_proj", "bits": 8}]})");
  o.quant.recipe = dir_.file("nomatch.json");
  o.output = dir_.file("nomatch.mlxpack");
  auto bad = convert_model(o);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("matches no quantizable layer"), std::string::npos);
  o.quant.recipe = "mixed_9_9";
  EXPECT_FALSE(convert_model(o).is_ok());
}

TEST_F(ConverterTest, EmbeddingsAreQuantizedWhenAsked) {
  ConvertOptions o = options("emb.mlxpack");
  o.quant.quantize_linear = true;
  o.quant.embedding = QuantSpec{8, 32};
  convert_or_die(o);
  auto r = Reader::open(o.output);
  ASSERT_TRUE(r.is_ok());
  const json q = config_of(**r)["quantization"];
  EXPECT_EQ(q["model.embed_tokens"]["bits"], 8);
  EXPECT_EQ(q["model.embed_tokens"]["group_size"], 32);
  EXPECT_EQ((*r)->tensor("model.embed_tokens.weight")->dtype, DType::kU32);
  EXPECT_TRUE(config_of(**r)["tie_word_embeddings"].get<bool>());  // the quantized embedding is the output layer too
}

TEST_F(ConverterTest, UntyingWritesASeparateQuantizedLmHead) {
  ConvertOptions o = options("untied.mlxpack");
  o.quant.quantize_linear = true;
  o.untie_word_embeddings = true;
  convert_or_die(o);
  auto r = Reader::open(o.output);
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(config_of(**r)["tie_word_embeddings"].get<bool>());
  EXPECT_TRUE((*r)->has_tensor("lm_head.scales"));
  EXPECT_EQ((*r)->tensor("model.embed_tokens.weight")->dtype, DType::kU32);
}

TEST_F(ConverterTest, DtypeCastRoundsAndQuantizesInTheNewDtype) {
  ConvertOptions o = options("bf16.mlxpack");
  o.dtype = DType::kBF16;
  o.quant.quantize_linear = true;
  convert_or_die(o);
  auto r = Reader::open(o.output);
  auto src = Reader::open(dir_.file("src.mlxpack"));
  test::pack_or_die(stories_, dir_.file("src.mlxpack"));
  src = Reader::open(dir_.file("src.mlxpack"));
  ASSERT_TRUE(r.is_ok() && src.is_ok());
  EXPECT_EQ(config_of(**r)["torch_dtype"], "bfloat16");
  auto norm = (*r)->tensor("model.norm.weight");
  auto norm_src = (*src)->tensor("model.norm.weight");
  ASSERT_EQ(norm->dtype, DType::kBF16);
  for (uint64_t i = 0; i < 64; ++i) {
    const float f = load_float(static_cast<const uint8_t*>(norm_src->data), DType::kF32, i);
    EXPECT_EQ(load_float(static_cast<const uint8_t*>(norm->data), DType::kBF16, i), bf16_to_f32(f32_to_bf16(f)));
  }
  EXPECT_EQ((*r)->tensor("model.layers.0.self_attn.q_proj.scales")->dtype, DType::kBF16);
}

TEST_F(ConverterTest, OutputDoesNotDependOnThreads) {
  ConvertOptions one = options("t1.mlxpack"), two = options("t2.mlxpack");
  one.threads = 1;
  two.threads = 3;
  one.quant.quantize_linear = two.quant.quantize_linear = true;
  one.quant.linear = two.quant.linear = {3, 32};
  convert_or_die(one);
  convert_or_die(two);
  EXPECT_EQ(test::read_file(one.output), test::read_file(two.output));
}

TEST_F(ConverterTest, ReportGivesErrorsAndBitsPerWeight) {
  ConvertOptions o = options("rep.mlxpack");
  o.quant.quantize_linear = true;
  o.collect_stats = true;
  const ConvertReport rep = convert_or_die(o);
  ASSERT_EQ(rep.stats.size(), 31u);
  for (const QuantStats& s : rep.stats) {
    EXPECT_DOUBLE_EQ(s.bits_per_weight, 4.0 + 2.0 * 32 / 64);  // 4-bit values + F32 scale and bias per 64
    EXPECT_GT(s.snr_db, 10);
    EXPECT_GT(s.max_abs_error, 0);
    EXPECT_LE(s.rmse, s.max_abs_error);
  }
  EXPECT_DOUBLE_EQ(rep.total.bits_per_weight, 5.0);
}

TEST_F(ConverterTest, BadRequestsGetClearErrorsAndNoOutput) {
  ConvertOptions o = options("bad.mlxpack");
  o.quant.quantize_linear = true;
  o.quant.linear = {7, 64};
  auto r = convert_model(o);
  EXPECT_NE(r.status().message().find("bits 7 is not supported"), std::string::npos);
  o.quant.linear = {4, 48};
  r = convert_model(o);
  EXPECT_NE(r.status().message().find("group size 48 is not supported"), std::string::npos);
  o.quant.linear = {4, 128};  // 64 and 172 are both not multiples of 128
  r = convert_model(o);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("no tensor was quantized"), std::string::npos) << r.status().message();
  EXPECT_FALSE(std::filesystem::exists(o.output));
  ConvertOptions untie = options("untie.mlxpack");
  untie.untie_word_embeddings = true;
  untie.input = dir_.file("untied-model");
  test::write_model_dir(untie.input, test::sample_tensors());
  EXPECT_FALSE(convert_model(untie).is_ok());
  for (const auto& f : test::list_files(dir_.path())) EXPECT_EQ(f.find(".tmp-"), std::string::npos) << f;
}

TEST(ConverterCastTest, OverflowToInfinityIsReported) {
  test::TempDir dir;
  std::string big(16, '\0');
  for (int i = 0; i < 4; ++i) store_float(reinterpret_cast<uint8_t*>(big.data()), DType::kF32, i, i < 2 ? 1e6f : 1.0f);
  test::write_model_dir(dir.file("m"), {{"x.weight", DType::kF32, {2, 2}, big}});
  ConvertOptions o;
  o.input = dir.file("m");
  o.output = dir.file("o.mlxpack");
  o.dtype = DType::kF16;
  auto r = convert_model(o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("x.weight: 2 values overflow to infinity in F16"), std::string::npos) << r->warnings[0];
}

}  // namespace
}  // namespace mlxpack
