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

#include "convert/converter.h"
#include "format/byte_order.h"
#include "format/half.h"
#include "mlxpack/model_source.h"
#include "tests/support/gguf_builder.h"
#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

using nlohmann::json;
using test::GgufBuilder;

enum : uint32_t { kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ6_K = 14, kBF16 = 30 };

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

// ggml's dequantization of one 32-value block, as ggml-common.h lays the
// blocks out and ggml-quants.c's dequantize_row_* compute.
void ggml_dequantize(uint32_t type, const uint8_t* b, float* y) {
  const float d = f16_to_f32(load_le16(b));
  switch (type) {
    case kQ4_0:
      for (int j = 0; j < 16; ++j) {
        y[j] = static_cast<float>((b[2 + j] & 0x0F) - 8) * d;
        y[j + 16] = static_cast<float>((b[2 + j] >> 4) - 8) * d;
      }
      break;
    case kQ4_1: {
      const float m = f16_to_f32(load_le16(b + 2));
      for (int j = 0; j < 16; ++j) {
        y[j] = static_cast<float>(b[4 + j] & 0x0F) * d + m;
        y[j + 16] = static_cast<float>(b[4 + j] >> 4) * d + m;
      }
      break;
    }
    case kQ5_0: {
      uint32_t qh;
      std::memcpy(&qh, b + 2, 4);
      for (int j = 0; j < 16; ++j) {
        const uint8_t xh0 = ((qh >> j) << 4) & 0x10, xh1 = (qh >> (j + 12)) & 0x10;
        y[j] = static_cast<float>(((b[6 + j] & 0x0F) | xh0) - 16) * d;
        y[j + 16] = static_cast<float>(((b[6 + j] >> 4) | xh1) - 16) * d;
      }
      break;
    }
    case kQ5_1: {
      const float m = f16_to_f32(load_le16(b + 2));
      uint32_t qh;
      std::memcpy(&qh, b + 4, 4);
      for (int j = 0; j < 16; ++j) {
        const uint8_t xh0 = ((qh >> j) << 4) & 0x10, xh1 = (qh >> (j + 12)) & 0x10;
        y[j] = static_cast<float>((b[8 + j] & 0x0F) | xh0) * d + m;
        y[j + 16] = static_cast<float>((b[8 + j] >> 4) | xh1) * d + m;
      }
      break;
    }
    case kQ8_0:
      for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(static_cast<int8_t>(b[2 + j])) * d;
      break;
  }
}

size_t block_bytes(uint32_t type) {
  return type == kQ4_0 ? 18 : type == kQ4_1 ? 20 : type == kQ5_0 ? 22 : type == kQ5_1 ? 24 : 34;
}

// Random blocks with float16 d (either sign) and m of a weight's size.
std::string random_blocks(uint32_t type, uint64_t n_blocks, std::mt19937* rng) {
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string out(n_blocks * block_bytes(type), '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  for (uint64_t b = 0; b < n_blocks; ++b, p += block_bytes(type)) {
    for (size_t k = 0; k < block_bytes(type); ++k) p[k] = static_cast<uint8_t>(byte(*rng));
    store_le16(p, f32_to_f16(scale(*rng)));
    if (type == kQ4_1 || type == kQ5_1) store_le16(p + 2, f32_to_f16(scale(*rng)));
  }
  return out;
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
      std::string bytes = block ? random_blocks(t.type, t.cols * t.rows / 32, &rng) : random_floats(t.type, t.cols * t.rows, &rng);
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
        ggml_dequantize(t.type, src + (gguf_row(t.name, row) * (t.cols / 32) + b) * block_bytes(t.type), want);
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
      const uint64_t blk = type == kQ6_K ? 256 : 32;
      const uint64_t cols = type == kQ6_K ? 256 : t.cols;
      const std::string bytes = block ? std::string(cols * t.rows / blk * (type == kQ6_K ? 210 : block_bytes(type)), '\0')
                                      : random_floats(type, t.cols * t.rows, &rng);
      b.tensor(t.name, t.rows == 1 ? std::vector<uint64_t>{cols} : std::vector<uint64_t>{cols, t.rows}, type, bytes);
    }
    if (extra) b.tensor(extra, {32}, kF32, std::string(128, '\0'));
    return b;
  };
  refuse(with_tensors(TinyLlama::metadata(), kQ6_K), StatusCode::kUnsupported,
         "tensor blk.0.attn_q.weight has type Q6_K, which is not imported yet");
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

TEST(GgufImport, RefusesCastingAndQuantizingOnImport) {
  test::TempDir dir;
  std::map<std::string, std::string> data;
  test::write_file(dir.file("m.gguf"), TinyLlama::build(&data));
  ConvertOptions o;
  o.input = dir.file("m.gguf");
  o.output = dir.file("m.mlxpack");
  o.quant.quantize_linear = true;
  Result<ConvertReport> r = convert_model(o);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("a GGUF is imported as it is"), std::string::npos);
}

}  // namespace
}  // namespace mlxpack
