// Writes a Hugging Face model directory of a realistic shape with random
// weights: config.json, generation_config.json, and safetensors shards with
// model.safetensors.index.json laid out as transformers' save_pretrained
// does (tensors in module order, a new shard when the next tensor would pass
// --max-shard-size). Tensors are streamed, so any size fits in little memory.
//
//   make_synthetic_model --shape llama-3.2-1b --dtype bf16 --output DIR
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "format/byte_order.h"
#include "format/file_io.h"
#include "format/safetensors.h"

namespace {

using mlxpack::DType;
using mlxpack::SafetensorsTensor;

struct Shape {
  const char* name;
  int hidden, layers, heads, kv_heads, intermediate, vocab;
  bool tied;
  double rope_theta;
  int bos, eos;
  int experts = 0, experts_per_token = 0;  // Mixtral's: intermediate is each expert's
};

// Shapes from the models' published config.json files (tiny is ours).
// bos/eos are the ids of the tokenizer each shape ships with (Llama 3,
// Llama 2, Qwen3); tiny's are those of --byte-tokenizer.
constexpr Shape kShapes[] = {
    {"llama-3.2-1b", 2048, 16, 32, 8, 8192, 128256, true, 500000.0, 128000, 128001},
    {"llama-2-110m", 768, 12, 12, 12, 2048, 32000, false, 10000.0, 1, 2},
    // The 110M layout with Llama 3's vocabulary: the 1B's draft model in the
    // speculative decoding benchmark (a draft shares its model's tokenizer).
    {"llama-2-110m-v128k", 768, 12, 12, 12, 2048, 128256, false, 10000.0, 128000, 128001},
    {"qwen3-0.6b", 1024, 28, 16, 8, 3072, 151936, true, 1000000.0, 151643, 151645},
    {"tiny", 64, 2, 4, 2, 128, 320, false, 10000.0, 256, 257},
    // Mixtral 8x7B's layout (8 experts, top 2, 4 KV heads of 128) scaled to
    // fit this machine, and the dense Llama with the same active parameters
    // per token (one MLP twice as wide as an expert): the MoE benchmark's pair.
    {"mixtral-mini", 1024, 8, 8, 2, 2816, 32000, false, 1000000.0, 1, 2, 8, 2},
    {"mixtral-mini-dense", 1024, 8, 8, 2, 5632, 32000, false, 1000000.0, 1, 2},
};

struct PlannedTensor {
  std::string name;
  std::vector<uint64_t> shape;
};

// Mixtral's heads are 128 wide; the others' hidden / heads.
uint64_t head_dim_of(const Shape& s) { return s.experts > 0 ? 128 : uint64_t(s.hidden / s.heads); }

std::vector<PlannedTensor> plan(const Shape& s) {
  const uint64_t h = s.hidden, head_dim = head_dim_of(s), kv = uint64_t(s.kv_heads) * head_dim;
  std::vector<PlannedTensor> t;
  t.push_back({"model.embed_tokens.weight", {uint64_t(s.vocab), h}});
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    t.push_back({p + "input_layernorm.weight", {h}});
    if (s.experts > 0) {  // Hugging Face's per-expert layout; convert stacks it
      t.push_back({p + "block_sparse_moe.gate.weight", {uint64_t(s.experts), h}});
      for (int e = 0; e < s.experts; ++e) {
        const std::string x = p + "block_sparse_moe.experts." + std::to_string(e) + ".";
        t.push_back({x + "w1.weight", {uint64_t(s.intermediate), h}});
        t.push_back({x + "w2.weight", {h, uint64_t(s.intermediate)}});
        t.push_back({x + "w3.weight", {uint64_t(s.intermediate), h}});
      }
    } else {
      t.push_back({p + "mlp.down_proj.weight", {h, uint64_t(s.intermediate)}});
      t.push_back({p + "mlp.gate_proj.weight", {uint64_t(s.intermediate), h}});
      t.push_back({p + "mlp.up_proj.weight", {uint64_t(s.intermediate), h}});
    }
    t.push_back({p + "post_attention_layernorm.weight", {h}});
    t.push_back({p + "self_attn.k_proj.weight", {kv, h}});
    t.push_back({p + "self_attn.o_proj.weight", {h, uint64_t(s.heads) * head_dim}});
    t.push_back({p + "self_attn.q_proj.weight", {uint64_t(s.heads) * head_dim, h}});
    t.push_back({p + "self_attn.v_proj.weight", {kv, h}});
  }
  t.push_back({"model.norm.weight", {h}});
  if (!s.tied) t.push_back({"lm_head.weight", {uint64_t(s.vocab), h}});
  return t;
}

// Small random weights in [-0.05, 0.05), from a xorshift generator.
void fill(uint8_t* out, uint64_t elements, DType dtype, uint64_t* state) {
  for (uint64_t i = 0; i < elements; ++i) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    const float v = (static_cast<float>(x >> 40) / 16777216.0f - 0.5f) * 0.1f;
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    if (dtype == DType::kF32) {
      mlxpack::store_le32(out + 4 * i, bits);
    } else if (dtype == DType::kBF16) {
      mlxpack::store_le16(out + 2 * i, static_cast<uint16_t>(bits >> 16));
    } else {  // F16: values this small are normal or subnormal halves; truncate the mantissa.
      const uint32_t sign = (bits >> 16) & 0x8000;
      const int exp = static_cast<int>((bits >> 23) & 0xff) - 127 + 15;
      const uint16_t half = exp <= 0 ? static_cast<uint16_t>(sign)
                                     : static_cast<uint16_t>(sign | (exp << 10) | ((bits >> 13) & 0x3ff));
      mlxpack::store_le16(out + 2 * i, half);
    }
  }
}

// GPT-2's byte-to-character map: printable bytes stand for themselves, the
// rest for code points 256 and up, in byte order.
std::string byte_token(int b) {
  const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  int cp = b;
  if (!printable) {
    int n = 0;
    for (int i = 0; i < b; ++i) {
      if (!((i >= 33 && i <= 126) || (i >= 161 && i <= 172) || (i >= 174 && i <= 255))) ++n;
    }
    cp = 256 + n;
  }
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

// A byte-level BPE tokenizer.json with no merges (one token per byte, ids
// 0-255), <|begin_of_text|> and <|end_of_text|> at the shape's bos/eos ids
// and reserved special tokens filling the rest of the vocabulary, plus a
// tokenizer_config.json with a small chat template: enough for `mlxpack
// run` and `chat` to work on a synthetic model end to end.
int write_byte_tokenizer(const Shape& shape, const std::string& out_dir) {
  if (shape.vocab < 258 || shape.bos != 256 || shape.eos != 257) {
    std::fprintf(stderr, "--byte-tokenizer needs a shape with bos 256, eos 257 (tiny); %s has bos %d, eos %d\n",
                 shape.name, shape.bos, shape.eos);
    return 2;
  }
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_token(b)] = b;
  nlohmann::ordered_json added = nlohmann::ordered_json::array();
  for (int id = 256; id < shape.vocab; ++id) {
    const std::string content = id == 256   ? "<|begin_of_text|>"
                                : id == 257 ? "<|end_of_text|>"
                                            : "<|reserved_" + std::to_string(id - 258) + "|>";
    vocab[content] = id;
    added.push_back({{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  }
  const nlohmann::ordered_json byte_level = {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  const nlohmann::ordered_json tokenizer = {
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer", byte_level},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}},
                    {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair", {{{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}},
                  {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                  {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
        {"special_tokens", {{"<|begin_of_text|>", {{"id", "<|begin_of_text|>"}, {"ids", {256}},
                                                   {"tokens", {"<|begin_of_text|>"}}}}}}}},
      {"decoder", byte_level},
      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                 {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
                 {"ignore_merges", false}, {"vocab", vocab}, {"merges", nlohmann::ordered_json::array()}}}};
  const nlohmann::ordered_json config = {
      {"bos_token", "<|begin_of_text|>"},
      {"eos_token", "<|end_of_text|>"},
      {"chat_template",
       "{{ bos_token }}{% for m in messages %}<|reserved_0|>{{ m.role }}\n{{ m.content }}{{ eos_token }}"
       "{% endfor %}{% if add_generation_prompt %}<|reserved_0|>assistant\n{% endif %}"}};
  for (const auto& [name, doc] : {std::pair<const char*, const nlohmann::ordered_json*>{"tokenizer.json", &tokenizer},
                                  {"tokenizer_config.json", &config}}) {
    std::FILE* f = std::fopen((out_dir + "/" + name).c_str(), "w");
    if (f == nullptr) {
      std::fprintf(stderr, "%s/%s: cannot write\n", out_dir.c_str(), name);
      return 4;
    }
    std::fprintf(f, "%s\n", doc->dump(2).c_str());
    std::fclose(f);
  }
  return 0;
}

int run(const Shape& shape, DType dtype, const std::string& out_dir, uint64_t max_shard_bytes) {
  namespace fs = std::filesystem;
  fs::create_directories(out_dir);
  const auto tensors = plan(shape);
  const uint64_t elem = mlxpack::dtype_size_bytes(dtype);
  // Group into shards as save_pretrained does.
  std::vector<std::vector<size_t>> shards(1);
  uint64_t shard_bytes = 0, total_bytes = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    uint64_t bytes = elem;
    for (uint64_t d : tensors[i].shape) bytes *= d;
    if (shard_bytes > 0 && shard_bytes + bytes > max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(i);
    shard_bytes += bytes;
    total_bytes += bytes;
  }
  const bool sharded = shards.size() > 1;
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  uint64_t state = 0x9E3779B97F4A7C15ull;
  std::vector<uint8_t> buffer;
  for (size_t s = 0; s < shards.size(); ++s) {
    char name[64];
    if (sharded) {
      std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
    } else {
      std::snprintf(name, sizeof name, "model.safetensors");
    }
    std::vector<SafetensorsTensor> layout;
    uint64_t offset = 0;
    for (size_t i : shards[s]) {
      uint64_t bytes = elem;
      for (uint64_t d : tensors[i].shape) bytes *= d;
      layout.push_back({tensors[i].name, dtype, tensors[i].shape, offset, offset + bytes});
      offset += bytes;
      weight_map[tensors[i].name] = name;
    }
    const std::string region = mlxpack::encode_safetensors_header_region(layout, {{"format", "pt"}});
    auto out = mlxpack::OutputFile::create(out_dir + "/" + name, true);
    if (!out.is_ok()) {
      std::fprintf(stderr, "%s\n", out.status().to_string().c_str());
      return 4;
    }
    mlxpack::Status st = out->append(region.data(), region.size());
    for (const SafetensorsTensor& t : layout) {
      uint64_t remaining = t.size_bytes() / elem;
      while (st.is_ok() && remaining > 0) {
        const uint64_t n = std::min<uint64_t>(remaining, 1u << 22);
        buffer.resize(n * elem);
        fill(buffer.data(), n, dtype, &state);
        st = out->append(buffer.data(), buffer.size());
        remaining -= n;
      }
    }
    if (st.is_ok()) st = out->commit();
    if (!st.is_ok()) {
      std::fprintf(stderr, "%s\n", st.to_string().c_str());
      return 4;
    }
  }
  if (sharded) {
    nlohmann::ordered_json index = {{"metadata", {{"total_size", total_bytes}}}, {"weight_map", weight_map}};
    std::FILE* f = std::fopen((out_dir + "/model.safetensors.index.json").c_str(), "w");
    std::fprintf(f, "%s\n", index.dump(2).c_str());
    std::fclose(f);
  }
  const char* torch_dtype = dtype == DType::kF32 ? "float32" : dtype == DType::kBF16 ? "bfloat16" : "float16";
  const bool moe = shape.experts > 0;
  nlohmann::ordered_json config = {
      {"architectures", {moe ? "MixtralForCausalLM" : "LlamaForCausalLM"}}, {"model_type", moe ? "mixtral" : "llama"},
      {"hidden_size", shape.hidden},           {"intermediate_size", shape.intermediate},
      {"num_hidden_layers", shape.layers},     {"num_attention_heads", shape.heads},
      {"num_key_value_heads", shape.kv_heads}, {"head_dim", head_dim_of(shape)},
      {"vocab_size", shape.vocab},             {"rms_norm_eps", 1e-5},
      {"rope_theta", shape.rope_theta},        {"max_position_embeddings", 2048},
      {"tie_word_embeddings", shape.tied},     {"bos_token_id", shape.bos},
      {"eos_token_id", shape.eos},                     {"hidden_act", "silu"},
      {"torch_dtype", torch_dtype}};
  if (moe) {
    config["num_local_experts"] = shape.experts;
    config["num_experts_per_tok"] = shape.experts_per_token;
  }
  std::FILE* f = std::fopen((out_dir + "/config.json").c_str(), "w");
  std::fprintf(f, "%s\n", config.dump(2).c_str());
  std::fclose(f);
  f = std::fopen((out_dir + "/generation_config.json").c_str(), "w");
  std::fprintf(f, "{\n  \"bos_token_id\": %d,\n  \"eos_token_id\": %d\n}\n", shape.bos, shape.eos);
  std::fclose(f);
  std::printf("%s: %s %s, %zu tensors, %.1f MiB in %zu file(s)\n", out_dir.c_str(), shape.name,
              mlxpack::dtype_name(dtype), tensors.size(), total_bytes / 1048576.0, shards.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Write a synthetic Hugging Face model directory with random weights"};
  std::string shape_name = "llama-3.2-1b", dtype_name = "bf16", out_dir;
  double max_shard_gb = 5.0;
  std::vector<std::string> names;
  for (const Shape& s : kShapes) names.push_back(s.name);
  app.add_option("--shape", shape_name, "Model shape")->check(CLI::IsMember(names))->capture_default_str();
  app.add_option("--dtype", dtype_name, "f32, f16 or bf16")->check(CLI::IsMember({"f32", "f16", "bf16"}))->capture_default_str();
  app.add_option("--output,-o", out_dir, "Directory to write")->required();
  app.add_option("--max-shard-size", max_shard_gb, "Shard size limit in GB (save_pretrained's default is 5)")
      ->capture_default_str();
  bool byte_tokenizer = false;
  app.add_flag("--byte-tokenizer", byte_tokenizer,
               "Also write a byte-level tokenizer.json and tokenizer_config.json (tiny shape)");
  CLI11_PARSE(app, argc, argv);
  const Shape* shape = nullptr;
  for (const Shape& s : kShapes) {
    if (shape_name == s.name) shape = &s;
  }
  const DType dtype = dtype_name == "f32" ? DType::kF32 : dtype_name == "f16" ? DType::kF16 : DType::kBF16;
  const int rc = run(*shape, dtype, out_dir, static_cast<uint64_t>(max_shard_gb * 1e9));
  if (rc != 0 || !byte_tokenizer) return rc;
  return write_byte_tokenizer(*shape, out_dir);
}
