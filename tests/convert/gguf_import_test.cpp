// GGUF import: llama.cpp's own stories260K file against the Hugging Face
// checkpoint it came from; every block type against ggml's dequantization
// (written here from the block layouts in ggml's ggml-common.h, not from
// the importer); and hostile files, each refused with its own message.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <tuple>

#include "convert/affine_quant.h"
#include "convert/converter.h"
#include "format/byte_order.h"
#include "format/half.h"
#include "inspect/model_summary.h"
#include "mlxpack/model_source.h"
#include "tests/support/gguf_builder.h"
#include "tests/support/ggml_blocks.h"
#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

using nlohmann::json;
using test::GgufBuilder;

enum : uint32_t { kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kIQ4_NL = 20,
       kBF16 = 30 };

Result<ConvertReport> import(const std::string& in, const std::string& out, OutputFormat format = OutputFormat::kPack) {
  ConvertOptions o;
  o.input = in;
  o.output = out;
  o.format = format;
  return convert_model(o);
}

std::string bytes_of(const TensorView& t) { return std::string(static_cast<const char*>(t.data), t.size_bytes); }

TEST(GgufImport, Stories260KBecomesTheHuggingFaceCheckpoint) {
  std::string gguf, hf;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K-gguf", gguf);
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K", hf);
  test::TempDir dir;
  for (OutputFormat format : {OutputFormat::kPack, OutputFormat::kMlxDir}) {
    const std::string out = dir.file(format == OutputFormat::kPack ? "s.mlxpack" : "s");
    Result<ConvertReport> r = import(gguf + "/stories260K.gguf", out, format);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->tensors_in, 48u);
    auto got = ModelSource::open(out);
    auto want = ModelSource::open(hf);
    ASSERT_TRUE(got.is_ok() && want.is_ok()) << got.status().to_string();
    // Every tensor of the original, byte for byte: the Q/K rows are back in
    // Hugging Face's order. (The GGUF stores the tied lm_head separately.)
    for (const std::string& name : (*want)->tensor_names()) {
      auto a = (*got)->tensor(name);
      auto b = (*want)->tensor(name);
      ASSERT_TRUE(a.is_ok()) << name;
      EXPECT_EQ(a->dtype, b->dtype) << name;
      EXPECT_TRUE(bytes_of(*a) == bytes_of(*b)) << name;
    }
    EXPECT_EQ(bytes_of(*(*got)->tensor("lm_head.weight")), bytes_of(*(*want)->tensor("model.embed_tokens.weight")));
    // The tokenizer is the one transformers wrote, merges and all.
    EXPECT_EQ(json::parse(*(*got)->file("tokenizer.json")), json::parse(*(*want)->file("tokenizer.json")));
    const json config = json::parse(*(*got)->file("config.json"));
    const json original = json::parse(*(*want)->file("config.json"));
    for (const char* key : {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                            "num_key_value_heads", "head_dim", "rms_norm_eps", "rope_theta", "vocab_size",
                            "model_type", "bos_token_id", "eos_token_id"}) {
      EXPECT_EQ(config[key], original[key]) << key;
    }
    const json tc = json::parse(*(*got)->file("tokenizer_config.json"));
    EXPECT_EQ(tc["add_bos_token"], true);
    EXPECT_EQ(tc["bos_token"], "<s>");
    EXPECT_EQ(json::parse(*(*got)->file("generation_config.json"))["eos_token_id"], 2);
  }
}

std::string random_floats(uint32_t type, uint64_t n, std::mt19937* rng) {
  std::normal_distribution<float> w(0, 0.05f);
  std::string out;
  for (uint64_t i = 0; i < n; ++i) {
    const float f = w(*rng);
    if (type == kF32) {
      test::put_f32(&out, f);
    } else {
      const uint16_t h = type == kF16 ? f32_to_f16(f) : f32_to_bf16(f);
      out.push_back(static_cast<char>(h & 0xff));
      out.push_back(static_cast<char>(h >> 8));
    }
  }
  return out;
}

// The MLX value of element (row, col) of an imported affine weight.
float mlx_value(const ModelSource& m, const std::string& base, uint64_t row, uint64_t col, int bits) {
  const TensorView w = *m.tensor(base + ".weight"), s = *m.tensor(base + ".scales"), z = *m.tensor(base + ".biases");
  const auto* words = static_cast<const uint8_t*>(w.data) + row * w.shape[1] * 4;
  uint32_t q = 0;
  for (int k = 0; k < bits; ++k) {
    const uint64_t bit = col * bits + k;
    q |= ((words[bit / 8] >> (bit % 8)) & 1u) << k;
  }
  const uint64_t g = row * s.shape[1] + col / 32;
  const float scale = f16_to_f32(load_le16(static_cast<const uint8_t*>(s.data) + 2 * g));
  const float bias = f16_to_f32(load_le16(static_cast<const uint8_t*>(z.data) + 2 * g));
  return scale * static_cast<float>(q) + bias;
}

struct TinyLlama {
  static constexpr uint64_t kHidden = 64, kHeads = 4, kKvHeads = 2, kHeadDim = 16, kFf = 128, kVocab = 6;
  // GGUF name -> type, [cols, rows]
  struct T {
    const char* name;
    uint32_t type;
    uint64_t cols, rows;
    const char* hf;
  };
  static std::vector<T> tensors() {
    return {{"token_embd.weight", kQ8_0, kHidden, kVocab, "model.embed_tokens"},
            {"output_norm.weight", kF32, kHidden, 1, "model.norm"},
            {"output.weight", kQ8_0, kHidden, kVocab, "lm_head"},
            {"blk.0.attn_norm.weight", kF32, kHidden, 1, "model.layers.0.input_layernorm"},
            {"blk.0.attn_q.weight", kQ4_0, kHidden, kHeads * kHeadDim, "model.layers.0.self_attn.q_proj"},
            {"blk.0.attn_k.weight", kQ4_1, kHidden, kKvHeads * kHeadDim, "model.layers.0.self_attn.k_proj"},
            {"blk.0.attn_v.weight", kQ5_0, kHidden, kKvHeads * kHeadDim, "model.layers.0.self_attn.v_proj"},
            {"blk.0.attn_output.weight", kQ5_1, kHeads * kHeadDim, kHidden, "model.layers.0.self_attn.o_proj"},
            {"blk.0.ffn_norm.weight", kF32, kHidden, 1, "model.layers.0.post_attention_layernorm"},
            {"blk.0.ffn_gate.weight", kF16, kHidden, kFf, "model.layers.0.mlp.gate_proj"},
            {"blk.0.ffn_up.weight", kBF16, kHidden, kFf, "model.layers.0.mlp.up_proj"},
            {"blk.0.ffn_down.weight", kQ4_0, kFf, kHidden, "model.layers.0.mlp.down_proj"}};
  }
  static GgufBuilder metadata() {
    GgufBuilder b;
    b.str("general.architecture", "llama")
        .u32("llama.block_count", 1)
        .u32("llama.embedding_length", kHidden)
        .u32("llama.feed_forward_length", kFf)
        .u32("llama.attention.head_count", kHeads)
        .u32("llama.attention.head_count_kv", kKvHeads)
        .u32("llama.context_length", 256)
        .f32("llama.rope.freq_base", 500000.0f)
        .f32("llama.attention.layer_norm_rms_epsilon", 1e-6f)
        .str("tokenizer.ggml.model", "gpt2")
        .str("tokenizer.ggml.pre", "llama-bpe")
        .strings("tokenizer.ggml.tokens", {"a", "b", "ab", "\xc4\xa0", "\xc4\xa0" "a", "<|end|>"})
        .i32s("tokenizer.ggml.token_type", {1, 1, 1, 1, 1, 3})
        .strings("tokenizer.ggml.merges", {"a b", "\xc4\xa0 a"})
        .u32("tokenizer.ggml.eos_token_id", 5)
        .str("tokenizer.chat_template", "{{ messages[0]['content'] }}");
    return b;
  }
  // The file, and each tensor's bytes by GGUF name.
  static std::string build(std::map<std::string, std::string>* data, uint32_t seed = 7) {
    std::mt19937 rng(seed);
    GgufBuilder b = metadata();
    for (const T& t : tensors()) {
      const bool block = t.type != kF32 && t.type != kF16 && t.type != kBF16;
      std::string bytes = block ? test::random_ggml_blocks(t.type, t.cols * t.rows / 32, &rng) : random_floats(t.type, t.cols * t.rows, &rng);
      const std::vector<uint64_t> dims = t.rows == 1 ? std::vector<uint64_t>{t.cols} : std::vector<uint64_t>{t.cols, t.rows};
      b.tensor(t.name, dims, t.type, bytes);
      (*data)[t.name] = std::move(bytes);
    }
    return b.build();
  }
};

// HF row r of a llama q/k weight is GGUF row h*hd + 2j + i for r = h*hd + i*hd/2 + j.
uint64_t gguf_row(const std::string& name, uint64_t r) {
  if (name.find("attn_q") == std::string::npos && name.find("attn_k") == std::string::npos) return r;
  const uint64_t hd = TinyLlama::kHeadDim, h = r / hd, i = (r % hd) / (hd / 2), j = r % (hd / 2);
  return h * hd + 2 * j + i;
}

TEST(GgufImport, EveryBlockTypeKeepsGgmlsValues) {
  test::TempDir dir;
  std::map<std::string, std::string> data;
  test::write_file(dir.file("m.gguf"), TinyLlama::build(&data));
  Result<ConvertReport> r = import(dir.file("m.gguf"), dir.file("m.mlxpack"));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->quantized, 7u);
  auto m = ModelSource::open(dir.file("m.mlxpack"));
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  for (const TinyLlama::T& t : TinyLlama::tensors()) {
    const auto* src = reinterpret_cast<const uint8_t*>(data[t.name].data());
    if (t.type == kF32 || t.type == kF16 || t.type == kBF16) {
      const TensorView v = *(*m)->tensor(std::string(t.hf) + ".weight");
      EXPECT_EQ(v.dtype, t.type == kF32 ? DType::kF32 : t.type == kF16 ? DType::kF16 : DType::kBF16);
      EXPECT_TRUE(bytes_of(v) == data[t.name]) << t.name;
      continue;
    }
    const int bits = t.type == kQ8_0 ? 8 : t.type == kQ5_0 || t.type == kQ5_1 ? 5 : 4;
    uint64_t mismatches = 0;
    for (uint64_t row = 0; row < t.rows; ++row) {
      for (uint64_t b = 0; b < t.cols / 32; ++b) {
        float want[32];
        test::ggml_dequantize_block(t.type, src + (gguf_row(t.name, row) * (t.cols / 32) + b) * test::ggml_block_bytes(t.type),
                                    want);
        for (int j = 0; j < 32; ++j) mismatches += mlx_value(**m, t.hf, row, b * 32 + j, bits) != want[j];
      }
    }
    EXPECT_EQ(mismatches, 0u) << t.name;
  }
  // Mixed widths: the most common (4 bits, groups of 32) is the default and
  // the others are named, as mlx-lm writes mixed models.
  const json config = json::parse(*(*m)->file("config.json"));
  EXPECT_EQ(config["quantization"]["bits"], 4);
  EXPECT_EQ(config["quantization"]["group_size"], 32);
  EXPECT_EQ(config["quantization"]["model.embed_tokens"]["bits"], 8);
  EXPECT_EQ(config["quantization"]["model.layers.0.self_attn.v_proj"]["bits"], 5);
  EXPECT_FALSE(config["quantization"].contains("model.layers.0.self_attn.q_proj"));
  EXPECT_EQ(config["rope_theta"], 500000.0);
  EXPECT_EQ(config["rms_norm_eps"], 1e-6);
  EXPECT_EQ(config["tie_word_embeddings"], false);
}

// A qwen3-shaped GGUF (no q/k reordering) whose matrices are K-quants:
// Q4_K/Q5_K become groups of 32, Q2_K/Q3_K/Q6_K groups of 16, all with
// float32 scales and biases, and every value is ggml's.
TEST(GgufImport, KQuantsKeepGgmlsValues) {
  struct T {
    const char* name;
    uint32_t type;
    uint64_t cols, rows;
    const char* hf;
    int bits, group;
  };
  const std::vector<T> tensors = {
      {"token_embd.weight", kQ6_K, 256, 8, "model.embed_tokens", 6, 16},
      {"output.weight", kQ5_K, 256, 8, "lm_head", 5, 32},
      {"output_norm.weight", kF32, 256, 1, "model.norm", 0, 0},
      {"blk.0.attn_norm.weight", kF32, 256, 1, "model.layers.0.input_layernorm", 0, 0},
      {"blk.0.attn_q_norm.weight", kF32, 64, 1, "model.layers.0.self_attn.q_norm", 0, 0},
      {"blk.0.attn_k_norm.weight", kF32, 64, 1, "model.layers.0.self_attn.k_norm", 0, 0},
      {"blk.0.attn_q.weight", kQ4_K, 256, 256, "model.layers.0.self_attn.q_proj", 4, 32},
      {"blk.0.attn_k.weight", kQ3_K, 256, 128, "model.layers.0.self_attn.k_proj", 3, 16},
      {"blk.0.attn_v.weight", kQ2_K, 256, 128, "model.layers.0.self_attn.v_proj", 2, 16},
      {"blk.0.attn_output.weight", kQ6_K, 256, 256, "model.layers.0.self_attn.o_proj", 6, 16},
      {"blk.0.ffn_norm.weight", kF32, 256, 1, "model.layers.0.post_attention_layernorm", 0, 0},
      {"blk.0.ffn_gate.weight", kQ4_K, 256, 256, "model.layers.0.mlp.gate_proj", 4, 32},
      {"blk.0.ffn_up.weight", kQ5_K, 256, 256, "model.layers.0.mlp.up_proj", 5, 32},
      {"blk.0.ffn_down.weight", kQ3_K, 256, 256, "model.layers.0.mlp.down_proj", 3, 16},
  };
  GgufBuilder b;
  b.str("general.architecture", "qwen3").u32("qwen3.block_count", 1).u32("qwen3.embedding_length", 256);
  b.u32("qwen3.feed_forward_length", 256).u32("qwen3.attention.head_count", 4);
  b.u32("qwen3.attention.head_count_kv", 2).u32("qwen3.attention.key_length", 64);
  b.str("tokenizer.ggml.model", "gpt2").str("tokenizer.ggml.pre", "qwen2");
  b.strings("tokenizer.ggml.tokens", {"a", "b", "c", "d", "e", "f", "g", "h"}).strings("tokenizer.ggml.merges", {});
  std::mt19937 rng(11);
  std::map<std::string, std::string> data;
  for (const T& t : tensors) {
    std::string bytes = t.type == kF32 ? random_floats(kF32, t.cols * t.rows, &rng)
                                       : test::random_ggml_blocks(t.type, t.cols * t.rows / 256, &rng);
    b.tensor(t.name, t.rows == 1 ? std::vector<uint64_t>{t.cols} : std::vector<uint64_t>{t.cols, t.rows}, t.type, bytes);
    data[t.name] = std::move(bytes);
  }
  test::TempDir dir;
  test::write_file(dir.file("k.gguf"), b.build());
  Result<ConvertReport> r = import(dir.file("k.gguf"), dir.file("k.mlxpack"));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  auto m = ModelSource::open(dir.file("k.mlxpack"));
  ASSERT_TRUE(m.is_ok());
  const json q = json::parse(*(*m)->file("config.json"))["quantization"];
  for (const T& t : tensors) {
    if (t.type == kF32) continue;
    const TensorView w = *(*m)->tensor(std::string(t.hf) + ".weight");
    const TensorView s = *(*m)->tensor(std::string(t.hf) + ".scales");
    EXPECT_EQ(s.dtype, DType::kF32) << t.name;
    EXPECT_EQ(w.shape[1] * 32 / t.cols, uint64_t(t.bits)) << t.name;
    EXPECT_EQ(t.cols / s.shape[1], uint64_t(t.group)) << t.name;
    const json& spec = q.contains(t.hf) ? q[t.hf] : q;
    EXPECT_EQ(spec["bits"], t.bits) << t.name;
    EXPECT_EQ(spec["group_size"], t.group) << t.name;
    const auto* src = reinterpret_cast<const uint8_t*>(data[t.name].data());
    const auto* scales = static_cast<const float*>(s.data);
    const auto* biases = static_cast<const float*>((*(*m)->tensor(std::string(t.hf) + ".biases")).data);
    uint64_t mismatches = 0;
    std::vector<float> want(256);
    for (uint64_t row = 0; row < t.rows; ++row) {
      const auto* words = static_cast<const uint8_t*>(w.data) + row * w.shape[1] * 4;
      for (uint64_t blk = 0; blk < t.cols / 256; ++blk) {
        test::ggml_dequantize_block(t.type, src + (row * (t.cols / 256) + blk) * test::ggml_block_bytes(t.type),
                                    want.data());
        for (uint64_t j = 0; j < 256; ++j) {
          const uint64_t col = blk * 256 + j;
          uint32_t v = 0;
          for (int k = 0; k < t.bits; ++k) {
            const uint64_t bit = col * t.bits + k;
            v |= ((words[bit / 8] >> (bit % 8)) & 1u) << k;
          }
          const uint64_t g = row * s.shape[1] + col / t.group;
          mismatches += scales[g] * static_cast<float>(v) + biases[g] != want[j];
        }
      }
    }
    EXPECT_EQ(mismatches, 0u) << t.name;
  }
  // Groups of 16 are ours only: the report and info say so.
  ASSERT_FALSE(r->warnings.empty());
  EXPECT_NE(r->warnings[0].find("groups of 16"), std::string::npos) << r->warnings[0];
  Result<ModelSummary> summary = summarize(**m);
  ASSERT_TRUE(summary.is_ok()) << summary.status().to_string();
  const std::string text = summary_to_text(*summary, false);
  EXPECT_NE(text.find("affine 6-bit g16"), std::string::npos) << text;
  EXPECT_NE(text.find("MLX does not load them"), std::string::npos) << text;
}

TEST(GgufImport, ByteLevelTokenizerKeepsVocabularyMergesAndSpecials) {
  test::TempDir dir;
  std::map<std::string, std::string> data;
  test::write_file(dir.file("m.gguf"), TinyLlama::build(&data));
  ASSERT_TRUE(import(dir.file("m.gguf"), dir.file("m"), OutputFormat::kMlxDir).is_ok());
  const json t = json::parse(test::read_file(dir.file("m/tokenizer.json")));
  EXPECT_EQ(t["model"]["type"], "BPE");
  EXPECT_EQ(t["model"]["ignore_merges"], true);  // llama-bpe: Llama 3's
  EXPECT_EQ(t["model"]["merges"], json::array({"a b", "\xc4\xa0 a"}));
  EXPECT_EQ(t["model"]["vocab"].size(), 5u);  // the control token is an added token
  EXPECT_EQ(t["model"]["vocab"]["\xc4\xa0" "a"], 4);
  ASSERT_EQ(t["added_tokens"].size(), 1u);
  EXPECT_EQ(t["added_tokens"][0]["content"], "<|end|>");
  EXPECT_EQ(t["added_tokens"][0]["special"], true);
  EXPECT_EQ(t["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"].get<std::string>().find("\\p{N}{1,3}") !=
                std::string::npos,
            true);
  EXPECT_EQ(t["post_processor"]["type"], "ByteLevel");  // no BOS in this vocabulary
  const json tc = json::parse(test::read_file(dir.file("m/tokenizer_config.json")));
  EXPECT_EQ(tc["chat_template"], "{{ messages[0]['content'] }}");
  EXPECT_EQ(tc["eos_token"], "<|end|>");
  EXPECT_EQ(json::parse(test::read_file(dir.file("m/generation_config.json")))["eos_token_id"], 5);
}

// Each hostile model refused with its own message (and nothing written).
TEST(GgufImport, RefusesWhatItCannotImportFaithfully) {
  test::TempDir dir;
  auto refuse = [&](GgufBuilder b, StatusCode code, const std::string& message) {
    test::write_file(dir.file("h.gguf"), b.build());
    Result<ConvertReport> r = import(dir.file("h.gguf"), dir.file("h.mlxpack"));
    ASSERT_FALSE(r.is_ok()) << message;
    EXPECT_EQ(r.status().code(), code) << r.status().to_string();
    EXPECT_NE(r.status().message().find(message), std::string::npos) << r.status().to_string();
    EXPECT_NE(r.status().message().find(dir.file("h.gguf")), std::string::npos) << r.status().to_string();
    EXPECT_FALSE(std::filesystem::exists(dir.file("h.mlxpack")));
  };
  std::mt19937 rng(1);
  auto with_tensors = [&](GgufBuilder b, uint32_t q_type = kQ4_0, const char* extra = nullptr) {
    for (const TinyLlama::T& t : TinyLlama::tensors()) {
      const uint32_t type = std::string(t.name) == "blk.0.attn_q.weight" ? q_type : t.type;
      const bool block = type != kF32 && type != kF16 && type != kBF16;
      const uint64_t cols = t.cols;
      const uint64_t block_bytes = type == kIQ4_NL ? 18 : test::ggml_block_bytes(type);  // IQ4_NL: d, qs[16]
      const std::string bytes = block ? std::string(cols * t.rows / 32 * block_bytes, '\0')
                                      : random_floats(type, t.cols * t.rows, &rng);
      b.tensor(t.name, t.rows == 1 ? std::vector<uint64_t>{cols} : std::vector<uint64_t>{cols, t.rows}, type, bytes);
    }
    if (extra) b.tensor(extra, {32}, kF32, std::string(128, '\0'));
    return b;
  };
  refuse(with_tensors(TinyLlama::metadata(), kIQ4_NL), StatusCode::kUnsupported,
         "tensor blk.0.attn_q.weight has type IQ4_NL, which is not imported (");
  refuse(with_tensors(TinyLlama::metadata(), kQ4_0, "blk.0.attn_gate.weight"), StatusCode::kInvalidArgument,
         "tensor blk.0.attn_gate.weight is not a tensor of a llama model with 1 layers");
  refuse(with_tensors(TinyLlama::metadata(), kQ4_0, "blk.1.attn_norm.weight"), StatusCode::kInvalidArgument,
         "tensor blk.1.attn_norm.weight is not a tensor of a llama model");
  GgufBuilder arch = TinyLlama::metadata();
  arch.str("general.architecture", "mamba");  // a second key of the same name: refused by the reader
  refuse(with_tensors(arch), StatusCode::kInvalidArgument, "metadata key general.architecture appears twice");

  auto meta_without = [](const std::string& skip) {
    // The tiny model's metadata with one key changed: rebuilt key by key.
    GgufBuilder b;
    b.str("general.architecture", skip == "arch" ? "mamba" : "llama");
    if (skip != "layers") b.u32("llama.block_count", 1);
    b.u32("llama.embedding_length", TinyLlama::kHidden).u32("llama.feed_forward_length", TinyLlama::kFf);
    b.u32("llama.attention.head_count", TinyLlama::kHeads);
    b.u32("llama.attention.head_count_kv", skip == "kv" ? 3 : TinyLlama::kKvHeads);
    if (skip != "tokenizer") b.str("tokenizer.ggml.model", skip == "bert" ? "bert" : "gpt2");
    b.str("tokenizer.ggml.pre", skip == "pre" ? "deepseek-coder" : "llama-bpe");
    b.strings("tokenizer.ggml.tokens", {"a", "b", "ab", skip == "utf8" ? "\xff" : "\xc4\xa0", "\xc4\xa0" "a",
                                        skip == "dup" ? "a" : "<|end|>"});
    b.i32s("tokenizer.ggml.token_type", {1, 1, 1, 1, 1, skip == "type" ? 9 : 3});
    b.strings("tokenizer.ggml.merges", {skip == "merge" ? "ab" : "a b"});
    b.u32("tokenizer.ggml.eos_token_id", skip == "eos" ? 6 : 5);
    return b;
  };
  refuse(with_tensors(meta_without("arch")), StatusCode::kUnsupported,
         "architecture \"mamba\" is not imported (llama, qwen2, qwen3, phi3 are)");
  refuse(with_tensors(meta_without("layers")), StatusCode::kInvalidArgument,
         "the required metadata key llama.block_count is missing");
  refuse(with_tensors(meta_without("kv")), StatusCode::kInvalidArgument,
         "llama.attention.head_count_kv: 3 does not divide the 4 attention heads");
  refuse(with_tensors(meta_without("tokenizer")), StatusCode::kInvalidArgument, "tokenizer.ggml.model is missing");
  refuse(with_tensors(meta_without("bert")), StatusCode::kUnsupported, "tokenizer.ggml.model \"bert\" is not supported");
  refuse(with_tensors(meta_without("pre")), StatusCode::kUnsupported,
         "tokenizer.ggml.pre \"deepseek-coder\" is not a pre-tokenizer this importer knows");
  refuse(with_tensors(meta_without("utf8")), StatusCode::kInvalidArgument, "token 3 is not valid UTF-8");
  refuse(with_tensors(meta_without("dup")), StatusCode::kInvalidArgument, "token 5 (a) repeats token 0");
  refuse(with_tensors(meta_without("type")), StatusCode::kInvalidArgument, "token 5 has type 9 (1 to 6)");
  refuse(with_tensors(meta_without("merge")), StatusCode::kInvalidArgument,
         "merge 0 (ab) is not two tokens and a space");
  refuse(with_tensors(meta_without("eos")), StatusCode::kInvalidArgument,
         "tokenizer.ggml.eos_token_id: token id 6 is outside the vocabulary of 6");
}

// Quantizing on import requantizes ggml's dequantized values: the output
// is exactly MLX's quantization of them, and --report measures against them.
TEST(GgufImport, QuantizingRequantizesGgmlsValues) {
  test::TempDir dir;
  std::map<std::string, std::string> data;
  test::write_file(dir.file("m.gguf"), TinyLlama::build(&data));
  ConvertOptions o;
  o.input = dir.file("m.gguf");
  o.output = dir.file("m.mlxpack");
  o.quant.quantize_linear = true;
  o.quant.linear = {8, 64};
  o.collect_stats = true;
  Result<ConvertReport> r = convert_model(o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->tensors_in, TinyLlama::tensors().size());
  EXPECT_FALSE(r->stats.empty());
  auto m = ModelSource::open(dir.file("m.mlxpack"));
  ASSERT_TRUE(m.is_ok());
  // down_proj was Q4_0 [64 rows of 128]: ggml's values, quantized by MLX's rule.
  const uint8_t* src = reinterpret_cast<const uint8_t*>(data["blk.0.ffn_down.weight"].data());
  std::vector<float> deq(64 * 128);
  for (uint64_t b = 0; b < deq.size() / 32; ++b) test::ggml_dequantize_block(kQ4_0, src + b * 18, deq.data() + b * 32);
  Result<QuantizedTensor> want = affine_quantize(reinterpret_cast<const uint8_t*>(deq.data()), DType::kF32, {64, 128},
                                                 {8, 64}, 1, "down");
  ASSERT_TRUE(want.is_ok());
  EXPECT_TRUE(bytes_of(*(*m)->tensor("model.layers.0.mlp.down_proj.weight")) == want->weight);
  EXPECT_TRUE(bytes_of(*(*m)->tensor("model.layers.0.mlp.down_proj.scales")) == want->scales);
  EXPECT_TRUE(bytes_of(*(*m)->tensor("model.layers.0.mlp.down_proj.biases")) == want->biases);
  const json config = json::parse(*(*m)->file("config.json"));
  EXPECT_EQ(config["quantization"]["bits"], 8);
  EXPECT_EQ(config["quantization"]["group_size"], 64);
  // Nothing is left beside the output.
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) entries += e.path().filename() != "stderr.txt";
  EXPECT_EQ(entries, 2u);  // m.gguf, m.mlxpack
}

// IQ4_NL, IQ4_XS and MXFP4 have no affine form: refused, or with
// --dequantize-unsupported turned into the model's float dtype (F16 here,
// that of its float matrices) with ggml's values; grid types stay refused.
TEST(GgufImport, DequantizesUnsupportedTypesWhenAsked) {
  static const int8_t iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
  static const int8_t mxfp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> byte(0, 255);
  GgufBuilder b = TinyLlama::metadata();
  std::map<std::string, std::string> blocks;
  for (const TinyLlama::T& t : TinyLlama::tensors()) {
    uint32_t type = t.type;
    if (std::string(t.name) == "blk.0.attn_q.weight") type = 20;  // IQ4_NL: d, qs[16]
    if (std::string(t.name) == "blk.0.attn_k.weight") type = 39;  // MXFP4: e, qs[16]
    std::string bytes;
    if (type == 20 || type == 39) {
      const size_t bb = type == 20 ? 18 : 17;
      bytes.resize(t.cols * t.rows / 32 * bb);
      for (char& c : bytes) c = static_cast<char>(byte(rng));
      for (size_t at = 0; at < bytes.size(); at += bb) {
        if (type == 20) {
          const uint16_t h = f32_to_f16(0.0004f * static_cast<float>(byte(rng) - 128) / 128);
          bytes[at] = static_cast<char>(h & 0xff), bytes[at + 1] = static_cast<char>(h >> 8);
        } else {
          bytes[at] = static_cast<char>(118 + byte(rng) % 6);  // 2^-10 .. 2^-5
        }
      }
    } else if (type == kF32 || type == kF16 || type == kBF16) {
      bytes = random_floats(type, t.cols * t.rows, &rng);
    } else {
      bytes = test::random_ggml_blocks(type, t.cols * t.rows / 32, &rng);
    }
    b.tensor(t.name, t.rows == 1 ? std::vector<uint64_t>{t.cols} : std::vector<uint64_t>{t.cols, t.rows}, type, bytes);
    blocks[t.name] = bytes;
  }
  test::TempDir dir;
  test::write_file(dir.file("u.gguf"), b.build());
  ConvertOptions o;
  o.input = dir.file("u.gguf");
  o.output = dir.file("u.mlxpack");
  Result<ConvertReport> r = convert_model(o);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("tensor blk.0.attn_q.weight has type IQ4_NL, which is not imported"),
            std::string::npos) << r.status().to_string();
  o.dequantize_unsupported = true;
  r = convert_model(o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  auto m = ModelSource::open(dir.file("u.mlxpack"));
  ASSERT_TRUE(m.is_ok());
  for (const auto& [name, hf, type] : {std::tuple<const char*, const char*, int>{"blk.0.attn_q.weight",
                                                                                "model.layers.0.self_attn.q_proj", 20},
                                       {"blk.0.attn_k.weight", "model.layers.0.self_attn.k_proj", 39}}) {
    const TensorView v = *(*m)->tensor(std::string(hf) + ".weight");
    ASSERT_EQ(v.dtype, DType::kF16) << name;
    EXPECT_FALSE((*m)->has_tensor(std::string(hf) + ".scales"));
    const auto* src = reinterpret_cast<const uint8_t*>(blocks[name].data());
    const size_t bb = type == 20 ? 18 : 17;
    const uint64_t rows = v.shape[0], blocks_per_row = 64 / 32;
    uint64_t mismatches = 0;
    for (uint64_t row = 0; row < rows; ++row) {
      for (uint64_t blk = 0; blk < blocks_per_row; ++blk) {
        const uint8_t* p = src + (gguf_row(name, row) * blocks_per_row + blk) * bb;
        float d;
        if (type == 20) {
          d = f16_to_f32(load_le16(p));
        } else {
          const uint32_t bits = p[0] < 2 ? 0x00200000u << p[0] : static_cast<uint32_t>(p[0] - 1) << 23;
          std::memcpy(&d, &bits, 4);
        }
        const uint8_t* qs = p + (type == 20 ? 2 : 1);
        for (int j = 0; j < 32; ++j) {
          const int nib = j < 16 ? qs[j] & 0xf : qs[j - 16] >> 4;
          const float want = type == 20 ? d * iq4nl[nib] : mxfp4[nib] * d;
          const float got = f16_to_f32(static_cast<const uint16_t*>(v.data)[row * 64 + blk * 32 + j]);
          mismatches += got != f16_to_f32(f32_to_f16(want));
        }
      }
    }
    EXPECT_EQ(mismatches, 0u) << name;
  }
  // A grid type cannot be dequantized here: refused even when asked.
  GgufBuilder g = TinyLlama::metadata();
  for (const TinyLlama::T& t : TinyLlama::tensors()) {
    if (std::string(t.name) == "output_norm.weight") {
      g.tensor(t.name, {256}, 16, std::string(66, '\0'));  // IQ2_XXS: one block of 256
    } else {
      g.tensor(t.name, t.rows == 1 ? std::vector<uint64_t>{t.cols} : std::vector<uint64_t>{t.cols, t.rows}, t.type,
               blocks[t.name].empty() ? std::string() : blocks[t.name]);
    }
  }
  test::write_file(dir.file("g.gguf"), g.build());
  o.input = dir.file("g.gguf");
  o.output = dir.file("g.mlxpack");
  r = convert_model(o);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("tensor output_norm.weight has type IQ2_XXS, which mlxpack cannot dequantize"),
            std::string::npos) << r.status().to_string();
}

}  // namespace
}  // namespace mlxpack
