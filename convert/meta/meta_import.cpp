// Meta checkpoint import as steps: params.json, the one checkpoint's
// tensors mapped to Hugging Face names and checked against the params,
// config.json and the tokenizer files, then each tensor read with pread,
// its rows permuted where RoPE needs it (see meta_import.h), written.
#include "convert/meta/meta_import.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "convert/import_then_convert.h"
#include "convert/meta/tiktoken_import.h"
#include "convert/output_sink.h"
#include "convert/shard_layout.h"
#include "format/file_io.h"
#include "format/hf_config.h"
#include "format/json_fields.h"
#include "format/torch_checkpoint.h"
#include "runtime/tokenizer/hf_tokenizer.h"
#include "runtime/tokenizer/tokenizer_config.h"

namespace mlxpack {
namespace {

// A tensor read into memory at once (as the GGUF import's bound).
constexpr uint64_t kMaxTensorBytes = uint64_t{32} << 30;
constexpr uint64_t kMaxParamsBytes = uint64_t{1} << 20;
constexpr uint64_t kMaxTokenizerBytes = uint64_t{64} << 20;

struct MetaParams {
  int64_t dim = 0, layers = 0, heads = 0, kv_heads = 0, vocab = -1;
  double norm_eps = 1e-5, rope_theta = 10000.0, rope_factor = 8.0;
  bool scaled_rope = false;
  std::optional<int64_t> max_seq_len;
};

Result<MetaParams> read_params(const std::string& dir) {
  const std::string label = dir + "/params.json";
  MLXPACK_ASSIGN_OR_RETURN(std::string text, read_file_to_string(label, kMaxParamsBytes));
  MLXPACK_ASSIGN_OR_RETURN(Json j, parse_json_object(text, label));
  MetaParams p;
  MLXPACK_ASSIGN_OR_RETURN(p.dim, required_int(j, "dim", label, 1, 1 << 16));
  MLXPACK_ASSIGN_OR_RETURN(p.layers, required_int(j, "n_layers", label, 1, 1024));
  MLXPACK_ASSIGN_OR_RETURN(p.heads, required_int(j, "n_heads", label, 1, 4096));
  MLXPACK_ASSIGN_OR_RETURN(std::optional<int64_t> kv, maybe_int(j, "n_kv_heads", label, 1, p.heads));
  p.kv_heads = kv.value_or(p.heads);
  MLXPACK_ASSIGN_OR_RETURN(std::optional<int64_t> vocab, maybe_int(j, "vocab_size", label, -1, 1 << 24));
  p.vocab = vocab.value_or(-1);
  MLXPACK_ASSIGN_OR_RETURN(std::optional<double> eps, maybe_number(j, "norm_eps", label, 1e-12, 1.0));
  p.norm_eps = eps.value_or(1e-5);
  MLXPACK_ASSIGN_OR_RETURN(std::optional<double> theta, maybe_number(j, "rope_theta", label, 1.0, 1e12));
  p.rope_theta = theta.value_or(10000.0);
  MLXPACK_ASSIGN_OR_RETURN(std::optional<bool> scaled, maybe_bool(j, "use_scaled_rope", label));
  p.scaled_rope = scaled.value_or(false);
  MLXPACK_ASSIGN_OR_RETURN(std::optional<double> factor, maybe_number(j, "rope_scaling_factor", label, 1.0, 1024.0));
  p.rope_factor = factor.value_or(8.0);  // Llama 3.1's reference code's constant
  MLXPACK_ASSIGN_OR_RETURN(p.max_seq_len, maybe_int(j, "max_seq_len", label, 1, 1 << 24));
  const int64_t head_dim = p.dim / p.heads;
  if (p.dim % p.heads != 0 || head_dim % 2 != 0 || p.heads % p.kv_heads != 0) {
    return Status::invalid_argument(label + ": dim " + std::to_string(p.dim) + ", n_heads " + std::to_string(p.heads) +
                                    " and n_kv_heads " + std::to_string(p.kv_heads) +
                                    " do not make even heads shared by whole groups");
  }
  return p;
}

// The checkpoint files: consolidated.NN.pth.
std::vector<std::string> checkpoint_files(const std::string& dir) {
  static const std::regex kName(R"(consolidated\.[0-9]+\.pth)");
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (std::regex_match(e.path().filename().string(), kName)) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A tensor of the whole model from model-parallel shards (Meta's
// fairscale layers): column-parallel ones (wq, wk, wv, w1, w3, output, and
// Llama 3's vocabulary-parallel tok_embeddings) split along dimension 0,
// row-parallel ones (wo, w2, Llama 2's tok_embeddings) along 1, the rest
// (norms) copied in every shard. One shard: its tensors as they are.
struct MergedTensor {
  CheckpointTensor whole;  // name, dtype, the whole shape and size
  std::vector<const CheckpointTensor*> pieces;  // one per shard; one for a copied tensor
  int dim = -1;  // concatenated along; -1: shard 0's copy
};

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

int split_dim(const CheckpointTensor& piece, const MetaParams& p) {
  const std::string& n = piece.name;
  if (n == "tok_embeddings.weight") return piece.shape.size() == 2 && piece.shape[1] == uint64_t(p.dim) ? 0 : 1;
  for (const char* col : {"output.weight", "attention.wq.weight", "attention.wk.weight", "attention.wv.weight",
                          "feed_forward.w1.weight", "feed_forward.w3.weight"}) {
    if (ends_with(n, col)) return 0;
  }
  if (ends_with(n, "attention.wo.weight") || ends_with(n, "feed_forward.w2.weight")) return 1;
  return -1;
}

Result<std::vector<MergedTensor>> merge_shards(const std::vector<std::vector<CheckpointTensor>>& shards,
                                               const MetaParams& p, const std::string& dir) {
  std::vector<MergedTensor> out;
  std::map<std::string, size_t> index;
  for (const CheckpointTensor& t : shards[0]) {
    if (!index.emplace(t.name, out.size()).second) return Status::invalid_argument(dir + ": tensor " + t.name + " twice");
    out.push_back({t, {&t}, shards.size() > 1 ? split_dim(t, p) : -1});
  }
  for (size_t k = 1; k < shards.size(); ++k) {
    if (shards[k].size() != shards[0].size()) {
      return Status::invalid_argument(dir + ": shard " + std::to_string(k) + " holds " +
                                      std::to_string(shards[k].size()) + " tensors, shard 0 " +
                                      std::to_string(shards[0].size()));
    }
    for (const CheckpointTensor& t : shards[k]) {
      auto it = index.find(t.name);
      if (it == index.end()) return Status::invalid_argument(dir + ": shard " + std::to_string(k) + " has " + t.name + ", shard 0 not");
      MergedTensor& m = out[it->second];
      const CheckpointTensor& first = *m.pieces[0];
      bool fits = t.dtype == first.dtype && t.shape.size() == first.shape.size() && (m.dim < 0 || m.dim < int(t.shape.size()));
      for (size_t d = 0; fits && d < t.shape.size(); ++d) fits = int(d) == m.dim || t.shape[d] == first.shape[d];
      if (!fits) {
        return Status::invalid_argument(dir + ": tensor " + t.name + " of shard " + std::to_string(k) +
                                        " does not match shard 0's to be joined");
      }
      if (m.dim < 0) continue;  // a copy: shard 0's is taken
      m.pieces.push_back(&t);
      m.whole.shape[m.dim] += t.shape[m.dim];
      m.whole.size_bytes += t.size_bytes;
    }
  }
  return out;
}

// The whole tensor's bytes from its pieces, piece k read from shard k's
// file with pread.
Result<std::string> read_merged(const MergedTensor& m, const std::vector<InputFile>& files) {
  std::vector<std::string> parts;
  for (size_t k = 0; k < m.pieces.size(); ++k) {
    std::string bytes(static_cast<size_t>(m.pieces[k]->size_bytes), '\0');
    MLXPACK_RETURN_IF_ERROR(files[k].read_at(m.pieces[k]->offset, bytes.data(), bytes.size()));
    parts.push_back(std::move(bytes));
  }
  if (m.dim <= 0) {
    std::string whole;
    for (std::string& part : parts) whole += part;
    return whole;
  }
  // Along dimension 1 of a matrix: each row is the pieces' rows side by side.
  std::string whole;
  whole.reserve(static_cast<size_t>(m.whole.size_bytes));
  const uint64_t rows = m.whole.shape[0];
  for (uint64_t r = 0; r < rows; ++r) {
    for (const std::string& part : parts) {
      const size_t row_bytes = part.size() / rows;
      whole.append(part, r * row_bytes, row_bytes);
    }
  }
  return whole;
}

struct Planned {
  std::string name;  // Hugging Face's
  const CheckpointTensor* source = nullptr;  // the whole tensor
  size_t merged = 0;                         // its index in the merged tensors
  int permute_heads = 0;  // wq, wk: heads whose rows go from interleaved to halves
};

// Meta's name -> Hugging Face's, the shape params.json implies ({0} where
// the tensor itself decides: vocabulary, MLP width) and the heads to
// permute; nullopt for names Meta's Llama does not have.
struct Mapping {
  std::string name;
  std::vector<uint64_t> shape;
  int permute_heads = 0;
};
std::optional<Mapping> map_name(const std::string& meta, const MetaParams& p, uint64_t vocab, uint64_t ffn) {
  const uint64_t dim = p.dim, kv = uint64_t(p.kv_heads) * (p.dim / p.heads);
  if (meta == "tok_embeddings.weight") return Mapping{"model.embed_tokens.weight", {vocab, dim}};
  if (meta == "norm.weight") return Mapping{"model.norm.weight", {dim}};
  if (meta == "output.weight") return Mapping{"lm_head.weight", {vocab, dim}};
  static const std::regex kLayer(R"(layers\.([0-9]{1,4})\.(.+))");
  std::smatch m;
  if (!std::regex_match(meta, m, kLayer) || std::stoll(m[1]) >= p.layers) return std::nullopt;
  const std::string prefix = "model.layers." + m[1].str() + ".";
  const std::map<std::string, Mapping> kLayerTensors = {
      {"attention.wq.weight", {"self_attn.q_proj.weight", {dim, dim}, int(p.heads)}},
      {"attention.wk.weight", {"self_attn.k_proj.weight", {kv, dim}, int(p.kv_heads)}},
      {"attention.wv.weight", {"self_attn.v_proj.weight", {kv, dim}}},
      {"attention.wo.weight", {"self_attn.o_proj.weight", {dim, dim}}},
      {"feed_forward.w1.weight", {"mlp.gate_proj.weight", {ffn, dim}}},
      {"feed_forward.w3.weight", {"mlp.up_proj.weight", {ffn, dim}}},
      {"feed_forward.w2.weight", {"mlp.down_proj.weight", {dim, ffn}}},
      {"attention_norm.weight", {"input_layernorm.weight", {dim}}},
      {"ffn_norm.weight", {"post_attention_layernorm.weight", {dim}}},
  };
  auto it = kLayerTensors.find(m[2]);
  if (it == kLayerTensors.end()) return std::nullopt;
  Mapping out = it->second;
  out.name = prefix + out.name;
  return out;
}

std::string shape_text(const std::vector<uint64_t>& s) {
  std::string t = "[";
  for (size_t k = 0; k < s.size(); ++k) t += (k ? ", " : "") + std::to_string(s[k]);
  return t + "]";
}

Result<std::vector<Planned>> plan_tensors(const std::vector<MergedTensor>& merged, const MetaParams& p,
                                          const std::string& file) {
  const CheckpointTensor* embed = nullptr;
  const CheckpointTensor* gate = nullptr;
  for (const MergedTensor& m : merged) {
    const CheckpointTensor& t = m.whole;
    if (t.name == "tok_embeddings.weight") embed = &t;
    if (t.name == "layers.0.feed_forward.w1.weight") gate = &t;
  }
  if (embed == nullptr || embed->shape.size() != 2 || gate == nullptr || gate->shape.size() != 2) {
    return Status::invalid_argument(file + ": no tok_embeddings.weight or layers.0.feed_forward.w1.weight matrix");
  }
  const uint64_t vocab = embed->shape[0], ffn = gate->shape[0];
  if (p.vocab > 0 && uint64_t(p.vocab) != vocab) {
    return Status::invalid_argument(file + ": tok_embeddings.weight has " + std::to_string(vocab) +
                                    " rows but params.json's vocab_size is " + std::to_string(p.vocab));
  }
  std::vector<Planned> out;
  for (size_t k = 0; k < merged.size(); ++k) {
    const CheckpointTensor& t = merged[k].whole;
    if (t.name.size() > 256) {
      return Status::invalid_argument(file + ": a tensor name of " + std::to_string(t.name.size()) +
                                      " bytes is not one of Meta's Llama (limit 256)");
    }
    if (t.name == "rope.freqs") continue;  // recomputed from rope_theta
    std::optional<Mapping> m = map_name(t.name, p, vocab, ffn);
    if (!m) return Status::invalid_argument(file + ": tensor " + t.name + " is not one of Meta's Llama");
    if (t.shape != m->shape) {
      return Status::invalid_argument(file + ": tensor " + t.name + " is " + shape_text(t.shape) + ", params.json says " +
                                      shape_text(m->shape));
    }
    if (t.dtype != DType::kF32 && t.dtype != DType::kF16 && t.dtype != DType::kBF16) {
      return Status::invalid_argument(file + ": tensor " + t.name + " is " + dtype_name(t.dtype) +
                                      ", not a float type");
    }
    out.push_back({m->name, &t, k, m->permute_heads});
  }
  const size_t per_layer = 9;
  const bool tied = std::none_of(out.begin(), out.end(), [](const Planned& x) { return x.name == "lm_head.weight"; });
  const size_t expected = 2 + (tied ? 0 : 1) + per_layer * size_t(p.layers);
  std::sort(out.begin(), out.end(), [](const Planned& a, const Planned& b) { return a.name < b.name; });
  for (size_t k = 1; k < out.size(); ++k) {
    if (out[k].name == out[k - 1].name) return Status::invalid_argument(file + ": two tensors become " + out[k].name);
  }
  if (out.size() != expected) {
    return Status::invalid_argument(file + ": " + std::to_string(out.size()) + " tensors where params.json's " +
                                    std::to_string(p.layers) + " layers need " + std::to_string(expected));
  }
  return out;
}

// Rows of a [rows, cols] matrix whose heads rotate interleaved pairs, to
// rotating halves: row h*d + 2i + j moves to h*d + j*d/2 + i.
std::string permute_rows(const std::string& in, uint64_t rows, int heads) {
  const uint64_t row_bytes = in.size() / rows, d = rows / uint64_t(heads);
  std::string out(in.size(), '\0');
  for (uint64_t h = 0; h < uint64_t(heads); ++h) {
    for (uint64_t i = 0; i < d / 2; ++i) {
      for (uint64_t j = 0; j < 2; ++j) {
        const uint64_t from = h * d + 2 * i + j, to = h * d + j * (d / 2) + i;
        std::memcpy(&out[to * row_bytes], &in[from * row_bytes], row_bytes);
      }
    }
  }
  return out;
}

struct TokenizerFiles {
  std::map<std::string, std::string> files;
  int64_t bos = -1;
  std::vector<int64_t> eos;
};

// The context the releases were trained for, when params.json does not
// say: Llama 3.1/3.2 (scaled RoPE) 131072, Llama 3 (theta 500000) 8192,
// Llama 2 4096.
int64_t context_of(const MetaParams& p) {
  return p.max_seq_len.value_or(p.scaled_rope ? 131072 : p.rope_theta >= 500000 ? 8192 : 4096);
}

// tokenizer.model: a SentencePiece model (Llama 1 and 2), copied; or
// Llama 3's tiktoken file, turned into tokenizer.json (its special tokens
// named as 3.1's when the params scale RoPE, as 3's otherwise).
Result<TokenizerFiles> read_tokenizer(const std::string& dir, const MetaParams& params) {
  const std::string path = dir + "/tokenizer.model";
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::not_found(path + ": missing; a Meta checkpoint directory brings its tokenizer as tokenizer.model");
  }
  MLXPACK_ASSIGN_OR_RETURN(std::string bytes, read_file_to_string(path, kMaxTokenizerBytes));
  TokenizerFiles out;
  if (looks_like_tiktoken(bytes)) {
    MLXPACK_ASSIGN_OR_RETURN(TiktokenImport t, import_tiktoken(bytes, path, params.scaled_rope, context_of(params)));
    out.files["tokenizer.json"] = std::move(t.tokenizer_json);
    out.files["tokenizer_config.json"] = std::move(t.tokenizer_config_json);
    out.bos = t.bos;
    out.eos = t.eos;
    return out;
  }
  auto sp = tokenizer::make_sentencepiece_tokenizer(bytes, tokenizer::TokenizerConfig{}, path, TokenizerLimits{});
  if (!sp.is_ok()) {
    return Status::invalid_argument(path + ": neither a SentencePiece model (" + sp.status().message() +
                                    ") nor a tiktoken file");
  }
  const Tokenizer& t = **sp;
  out.bos = t.token_to_id(t.bos_token()).value_or(-1);
  if (auto eos = t.token_to_id(t.eos_token())) out.eos.push_back(*eos);
  nlohmann::ordered_json config = {{"add_bos_token", true},     {"add_eos_token", false},
                                   {"bos_token", t.bos_token()}, {"eos_token", t.eos_token()},
                                   {"clean_up_tokenization_spaces", false}, {"tokenizer_class", "LlamaTokenizer"}};
  out.files["tokenizer_config.json"] = config.dump(2) + "\n";
  out.files["tokenizer.model"] = std::move(bytes);
  return out;
}

std::string config_json(const MetaParams& p, const std::vector<Planned>& tensors, const TokenizerFiles& tok) {
  const CheckpointTensor* embed = nullptr;
  const CheckpointTensor* gate = nullptr;
  bool tied = true;
  for (const Planned& t : tensors) {
    if (t.name == "model.embed_tokens.weight") embed = t.source;
    if (t.name == "model.layers.0.mlp.gate_proj.weight") gate = t.source;
    if (t.name == "lm_head.weight") tied = false;
  }
  const int64_t context = context_of(p);
  nlohmann::json c = {{"architectures", {"LlamaForCausalLM"}},
                      {"model_type", "llama"},
                      {"hidden_size", p.dim},
                      {"intermediate_size", gate->shape[0]},
                      {"num_attention_heads", p.heads},
                      {"num_key_value_heads", p.kv_heads},
                      {"num_hidden_layers", p.layers},
                      {"head_dim", p.dim / p.heads},
                      {"rms_norm_eps", p.norm_eps},
                      {"rope_theta", p.rope_theta},
                      {"vocab_size", embed->shape[0]},
                      {"max_position_embeddings", context},
                      {"tie_word_embeddings", tied},
                      {"hidden_act", "silu"},
                      {"attention_bias", false},
                      {"mlp_bias", false},
                      {"torch_dtype", embed->dtype == DType::kBF16 ? "bfloat16"
                                      : embed->dtype == DType::kF16 ? "float16" : "float32"}};
  if (tok.bos >= 0) c["bos_token_id"] = tok.bos;
  if (tok.eos.size() == 1) c["eos_token_id"] = tok.eos[0];
  if (tok.eos.size() > 1) c["eos_token_id"] = tok.eos;
  if (p.scaled_rope) {
    c["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", p.rope_factor}, {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  }
  return c.dump(4) + "\n";
}

Result<ConvertReport> import_unguarded(const ConvertOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.dtype || options.quant.any() || options.untie_word_embeddings) {
    return import_then_convert(options, import_meta_checkpoint);
  }
  MLXPACK_ASSIGN_OR_RETURN(MetaParams params, read_params(options.input));
  const std::vector<std::string> paths = checkpoint_files(options.input);
  if (paths.size() > 64) {
    return Status::unsupported(options.input + ": " + std::to_string(paths.size()) +
                               " checkpoint files (consolidated.NN.pth); at most 64 shards are joined");
  }
  std::vector<InputFile> files;
  std::vector<std::vector<CheckpointTensor>> shards;
  for (const std::string& path : paths) {
    MLXPACK_ASSIGN_OR_RETURN(InputFile in, InputFile::open(path));
    in.advise_sequential();
    MLXPACK_ASSIGN_OR_RETURN(std::vector<CheckpointTensor> tensors, read_torch_checkpoint(in));
    files.push_back(std::move(in));
    shards.push_back(std::move(tensors));
  }
  MLXPACK_ASSIGN_OR_RETURN(std::vector<MergedTensor> merged, merge_shards(shards, params, options.input));
  MLXPACK_ASSIGN_OR_RETURN(std::vector<Planned> plan, plan_tensors(merged, params, paths[0]));
  MLXPACK_ASSIGN_OR_RETURN(TokenizerFiles tok, read_tokenizer(options.input, params));
  std::vector<OutTensor> outs;
  for (size_t k = 0; k < plan.size(); ++k) {
    const CheckpointTensor& t = *plan[k].source;
    uint64_t elements = 1;
    for (uint64_t d : t.shape) elements *= d;
    outs.push_back({plan[k].name, t.dtype, t.shape, t.size_bytes, elements, k, 0});
  }
  ShardLayout layout = lay_out_shards(outs, options.max_shard_bytes);
  tok.files["config.json"] = config_json(params, plan, tok);
  tok.files["model.safetensors.index.json"] = layout.index_json;

  ConvertReport report;
  for (const auto& shard : shards) report.tensors_in += shard.size();
  report.tensors_out = outs.size();
  for (const Shard& s : layout.shards) report.shards.push_back(s.name);
  MLXPACK_ASSIGN_OR_RETURN(std::unique_ptr<OutputSink> sink, open_output_sink(options, paths));
  for (const auto& [name, bytes] : tok.files) MLXPACK_RETURN_IF_ERROR(sink->add_file(name, bytes));
  uint64_t total = 0;
  for (const OutTensor& o : outs) total += o.size_bytes;
  std::optional<size_t> shard;
  for (size_t k = 0; k < outs.size(); ++k) {
    const OutTensor& o = outs[k];
    if (shard != layout.shard_of[k]) {
      shard = layout.shard_of[k];
      const Shard& s = layout.shards[*shard];
      MLXPACK_RETURN_IF_ERROR(sink->begin_shard(s.name, s.header_region, s.size_bytes));
    }
    if (o.size_bytes > kMaxTensorBytes) {
      return Status::invalid_argument(paths[0] + ": tensor " + plan[o.job].source->name + " is " +
                                      std::to_string(o.size_bytes) + " bytes (limit " +
                                      std::to_string(kMaxTensorBytes) + ")");
    }
    MLXPACK_ASSIGN_OR_RETURN(std::string bytes, read_merged(merged[plan[o.job].merged], files));
    if (plan[o.job].permute_heads > 0) bytes = permute_rows(bytes, o.shape[0], plan[o.job].permute_heads);
    MLXPACK_RETURN_IF_ERROR(
        sink->add_tensor(o.name, o.dtype, o.shape, reinterpret_cast<const uint8_t*>(bytes.data()), o.size_bytes));
    report.bytes_in += o.size_bytes;
    report.bytes_out += o.size_bytes;
    if (options.on_progress) options.on_progress(report.bytes_in, total);
  }
  MLXPACK_ASSIGN_OR_RETURN(report.output_size, sink->finish());
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace

bool is_meta_checkpoint_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && ::stat((path + "/params.json").c_str(), &st) == 0 &&
         !checkpoint_files(path).empty();
}

Result<ConvertReport> import_meta_checkpoint(const ConvertOptions& options) {
  try {
    return import_unguarded(options);
  } catch (const std::bad_alloc&) {
    return Status::out_of_memory(options.input + ": out of memory while importing");
  }
}

}  // namespace mlxpack
