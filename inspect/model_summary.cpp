#include "inspect/model_summary.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "format/hf_config.h"
#include "format/names.h"
#include "inspect/human_size.h"

namespace mlxpack {

using nlohmann::json;

namespace {

QuantizationSummary quantization_summary(const HfQuantization& q) {
  QuantizationSummary out;
  out.bits = q.bits.value_or(0);
  out.group_size = q.group_size.value_or(0);
  out.mode = q.mode.empty() ? "affine" : q.mode;
  return out;
}

// The sliding window and, where local and global layers alternate, how
// many of each: from layer_types, sliding_window_pattern (one global layer
// in every P) or Gemma 2's alternation.
void summarize_attention_layout(const HfConfig& config, ModelSummary* s) {
  if (!config.sliding_window || *config.sliding_window <= 0 || !config.use_sliding_window.value_or(true)) return;
  s->sliding_window = config.sliding_window;
  const int64_t layers = config.num_hidden_layers.value_or(0);
  int64_t local = -1;
  std::string source;
  if (config.layer_types) {
    local = std::count(config.layer_types->begin(), config.layer_types->end(), "sliding_attention");
    source = "layer_types";
  } else if (config.sliding_window_pattern && *config.sliding_window_pattern > 0) {
    local = layers - layers / *config.sliding_window_pattern;
    source = "sliding_window_pattern " + std::to_string(*config.sliding_window_pattern);
  } else if (config.model_type == "gemma2") {
    local = (layers + 1) / 2;
    source = "alternating";
  }
  if (local >= 0) {
    s->attention_layout = std::to_string(local) + " local, " + std::to_string(std::max<int64_t>(0, layers - local)) +
                          " global (" + source + ")";
  }
}

// The facts of config.json; MLX's "quantization" before transformers'
// "quantization_config".
void summarize_config(const HfConfig& config, ModelSummary* s) {
  s->model_type = config.model_type;
  s->architecture = config.architecture.empty() ? config.model_type : config.architecture;
  s->hidden_size = config.hidden_size;
  s->num_layers = config.num_hidden_layers;
  s->num_attention_heads = config.num_attention_heads;
  s->num_kv_heads = config.num_key_value_heads ? config.num_key_value_heads
                                               : config.num_attention_heads;  // no GQA: one KV head per head
  s->vocab_size = config.vocab_size;
  s->context_length = config.max_position_embeddings;
  s->rope_theta = config.rope_theta;
  if (config.rope_scaling) s->rope_scaling = config.rope_scaling->type.empty() ? "unnamed" : config.rope_scaling->type;
  s->tied_embeddings = config.tie_word_embeddings;
  s->partial_rotary_factor = config.partial_rotary_factor;
  summarize_attention_layout(config, s);
  s->num_experts = config.num_experts;
  s->experts_per_token = config.num_experts_per_tok;
  for (const std::optional<HfQuantization>* q : {&config.quantization, &config.quantization_config}) {
    if (!*q || s->quantization) continue;
    const QuantizationSummary summary = quantization_summary(**q);
    if (summary.bits > 0) s->quantization = summary;
    for (const auto& [module, m] : (*q)->modules) s->layer_quantization[module] = quantization_summary(m);
  }
}

std::string shape_text(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t d = 0; d < shape.size(); ++d) s += (d ? ", " : "") + std::to_string(shape[d]);
  return s + "]";
}

uint64_t element_count(const std::vector<uint64_t>& shape) {
  uint64_t n = 1;
  for (uint64_t d : shape) n = d != 0 && n > UINT64_MAX / d ? UINT64_MAX : n * d;
  return n;
}

// The quantization of module `module`: its per-layer entry, else the default.
std::optional<QuantizationSummary> module_quantization(const ModelSummary& s, const std::string& module) {
  const auto it = s.layer_quantization.find(module);
  if (it != s.layer_quantization.end() && it->second.bits > 0) return it->second;
  return s.quantization;
}

// Parameters and bytes by storage kind. A quantized weight (U32 words with
// a ".scales" beside it) holds 32 / bits parameters per word and carries
// its scales and biases; those are not counted again on their own.
void count_parameters(ModelSummary* s, const std::map<std::string, const TensorSummary*>& by_name) {
  const auto quantized = [&](const std::string& module) {
    const auto w = by_name.find(module + ".weight");
    return w != by_name.end() && w->second->dtype == DType::kU32 && by_name.count(module + ".scales");
  };
  for (const TensorSummary& t : s->tensors) {
    std::string module;
    if (t.name.ends_with(".scales") || t.name.ends_with(".biases")) {
      if (quantized(t.name.substr(0, t.name.size() - 7))) continue;
    }
    if (t.name.ends_with(".weight") && quantized(module = t.name.substr(0, t.name.size() - 7))) {
      const auto q = module_quantization(*s, module);
      const int64_t bits = q ? q->bits : 0;
      StorageSummary& k = s->storage[bits > 0 ? "affine " + std::to_string(bits) + "-bit g" +
                                                    std::to_string(q->group_size)
                                              : std::string("quantized, bits unknown")];
      k.bytes += t.size_bytes;
      for (const char* part : {".scales", ".biases"}) {
        const auto p = by_name.find(module + part);
        if (p != by_name.end()) k.bytes += p->second->size_bytes;
      }
      if (bits > 0 && bits <= 32) k.parameters += element_count(t.shape) * (32 / static_cast<uint64_t>(bits));
      continue;
    }
    StorageSummary& k = s->storage[dtype_name(t.dtype)];
    k.bytes += t.size_bytes;
    k.parameters += element_count(t.shape);
  }
  for (const auto& [kind, k] : s->storage) s->parameter_count += k.parameters;
}

// Everything the tensor list says: counts by dtype, bytes, parameters,
// layers left in float, and whether embeddings are tied when config.json
// does not say.
void summarize_tensors(ModelSummary* s) {
  std::map<std::string, const TensorSummary*> by_name;
  for (const TensorSummary& t : s->tensors) {
    by_name[t.name] = &t;
    ++s->tensor_count_by_dtype[dtype_name(t.dtype)];
    s->tensor_bytes += t.size_bytes;
  }
  if (!s->tied_embeddings && by_name.count("model.embed_tokens.weight")) {
    s->tied_embeddings = by_name.count("lm_head.weight") == 0;
  }
  count_parameters(s, by_name);
  if (!s->quantization) return;
  for (const TensorSummary& t : s->tensors) {
    const bool is_float = t.dtype == DType::kF32 || t.dtype == DType::kF16 || t.dtype == DType::kBF16;
    if (!is_float || t.shape.size() < 2 || !t.name.ends_with(".weight") || t.name.find("norm") != std::string::npos) {
      continue;
    }
    const std::string module = t.name.substr(0, t.name.size() - 7);
    if (by_name.count(module + ".scales")) continue;
    s->unquantized_layers.push_back({module, t.dtype, t.shape});
  }
}

// config.json, generation_config.json, tokenizer_config.json through `get`
// (nullopt when absent).
template <typename GetFile>
Status read_model_files(GetFile get, const std::string& label, ModelSummary* s) {
  std::optional<std::string> texts[3];
  const char* names[3] = {"config.json", "generation_config.json", "tokenizer_config.json"};
  for (int k = 0; k < 3; ++k) {
    MLXPACK_ASSIGN_OR_RETURN(texts[k], get(names[k]));
  }
  return interpret_model_files(texts[0] ? &*texts[0] : nullptr, texts[1] ? &*texts[1] : nullptr,
                               texts[2] ? &*texts[2] : nullptr, label, s);
}

}  // namespace

Status interpret_model_files(const std::string* config_text, const std::string* generation_text,
                             const std::string* tokenizer_config_text, const std::string& label, ModelSummary* s) {
  // Malformed JSON is an error; a wrongly typed field is a problem the
  // summary reports while it shows what the other files say.
  std::optional<HfGenerationConfig> generation;
  if (generation_text) {
    const std::string where = label + ": generation_config.json";
    MLXPACK_ASSIGN_OR_RETURN(const Json doc, parse_json_object(*generation_text, where));
    auto g = read_hf_generation_config(doc, where);
    if (g.is_ok()) generation = std::move(*g);
    else s->config_problems.push_back(g.status().message());
  }
  std::optional<HfConfig> config;
  if (config_text) {
    const std::string where = label + ": config.json";
    MLXPACK_ASSIGN_OR_RETURN(Json doc, parse_json_object(*config_text, where));
    auto c = read_hf_config(std::move(doc), where);
    if (c.is_ok()) config = std::move(*c);
    else s->config_problems.push_back(c.status().message());
  }
  if (config) summarize_config(*config, s);
  // generation_config.json wins over config.json, as in transformers.
  if (generation) {
    s->bos_token_id = generation->bos_token_id;
    s->eos_token_ids = generation->eos_token_ids;
  }
  if (config && !s->bos_token_id) s->bos_token_id = config->bos_token_id;
  if (config && s->eos_token_ids.empty()) s->eos_token_ids = config->eos_token_ids;
  if (tokenizer_config_text) {
    MLXPACK_ASSIGN_OR_RETURN(const Json tokenizer_config,
                             parse_json_object(*tokenizer_config_text, label + ": tokenizer_config.json"));
    s->has_chat_template = find_field(tokenizer_config, "chat_template") != nullptr;
  }
  return Status::ok();
}

double ModelSummary::bits_per_weight() const {
  uint64_t bytes = 0;
  for (const auto& [kind, k] : storage) bytes += k.bytes;
  return parameter_count ? 8.0 * static_cast<double>(bytes) / static_cast<double>(parameter_count) : 0.0;
}

Result<ModelSummary> summarize(const Reader& reader) {
  ModelSummary s;
  s.path = reader.path();
  s.pack = reader.info();
  MLXPACK_RETURN_IF_ERROR(read_model_files(
      [&](const char* name) -> Result<std::optional<std::string>> {
        if (!reader.has_file(name)) return std::optional<std::string>();
        MLXPACK_ASSIGN_OR_RETURN(std::string text, reader.file(name));
        return std::optional<std::string>(std::move(text));
      },
      reader.path(), &s));
  s.has_chat_template |= reader.has_file("chat_template.jinja") || reader.has_file("chat_template.json");
  for (uint64_t i = 0; i < reader.entry_count(); ++i) {
    const EntryInfo e = reader.entry(i);
    switch (e.type) {
      case EntryType::kTensor:
        s.tensors.push_back({std::string(e.name), e.dtype, std::vector<uint64_t>(e.shape.begin(), e.shape.begin() + e.rank),
                             e.stored_size_bytes, e.offset});
        break;
      case EntryType::kFile:
        s.files.push_back({std::string(e.name), e.original_size_bytes, e.stored_size_bytes});
        break;
      case EntryType::kSource:
        s.sources.push_back({std::string(e.name), e.original_size_bytes, e.stored_size_bytes});
        break;
    }
  }
  summarize_tensors(&s);
  return s;
}

Result<ModelSummary> summarize(const ModelSource& source) {
  ModelSummary s;
  s.path = source.path();
  MLXPACK_RETURN_IF_ERROR(read_model_files([&](const char* name) { return source.optional_file(name); },
                                           source.path(), &s));
  s.has_chat_template |= source.has_file("chat_template.jinja") || source.has_file("chat_template.json");
  for (const std::string& name : source.file_names()) {
    MLXPACK_ASSIGN_OR_RETURN(const std::string text, source.file(name));
    s.files.push_back({name, text.size(), text.size()});
  }
  for (const std::string& path : source.disk_paths()) {
    if (!path.ends_with(".safetensors")) continue;
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(path, ec);
    if (ec) return Status::io_error(path + ": cannot stat: " + ec.message());
    s.sources.push_back({std::filesystem::path(path).filename().string(), size, size});
  }
  for (const std::string& name : source.tensor_names()) {
    MLXPACK_ASSIGN_OR_RETURN(const TensorView t, source.tensor_metadata(name));
    s.tensors.push_back({name, t.dtype, std::vector<uint64_t>(t.shape.begin(), t.shape.begin() + t.rank), t.size_bytes,
                         std::nullopt});
  }
  summarize_tensors(&s);
  return s;
}

namespace {

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// 1234567 -> "1.23 M"
std::string short_count(uint64_t n) {
  if (n >= 1000000000) return fixed(n / 1e9, 2) + " B";
  if (n >= 1000000) return fixed(n / 1e6, 2) + " M";
  if (n >= 1000) return fixed(n / 1e3, 2) + " K";
  return std::to_string(n);
}

void container_text(const ModelSummary& s, std::ostringstream& o) {
  o << printable(s.path) << "\n";
  if (!s.pack) {
    o << "  format           model directory (safetensors)\n";
    return;
  }
  o << "  file size        " << human_size(s.pack->file_size_bytes) << " (" << s.pack->file_size_bytes << " bytes)\n";
  o << "  format           mlxpack " << s.pack->version_major << "." << s.pack->version_minor << ", alignment "
    << s.pack->alignment << ", checksums " << s.pack->checksum_algorithm << "\n";
}

void weights_text(const ModelSummary& s, std::ostringstream& o) {
  o << "  parameters       " << short_count(s.parameter_count) << " (" << s.parameter_count << ")\n";
  o << "  bits per weight  " << fixed(s.bits_per_weight(), 2) << " overall, scales and biases counted\n";
  for (const auto& [kind, k] : s.storage) {
    o << "    " << printable(kind) << ": " << fixed(k.bits_per_weight(), 2) << " bits, " << short_count(k.parameters)
      << " parameters, " << human_size(k.bytes)
      << (kind.ends_with(" g16") ? " (groups of 16: K-quants from a GGUF; mlxpack runs them, MLX does not load them)" : "")
      << "\n";
  }
}

void quantization_text(const ModelSummary& s, std::ostringstream& o) {
  if (!s.quantization) {
    o << "  quantization     none\n";
    return;
  }
  o << "  quantization     " << s.quantization->bits << "-bit, group size " << s.quantization->group_size << ", "
    << printable(s.quantization->mode) << "\n";
  for (const auto& [layer, q] : s.layer_quantization) {
    if (q.bits != s.quantization->bits || q.group_size != s.quantization->group_size) {
      o << "    " << printable(layer) << ": " << q.bits << "-bit, group size " << q.group_size << "\n";
    }
  }
  for (const UnquantizedLayer& u : s.unquantized_layers) {
    o << "    unquantized " << printable(u.name) << " " << dtype_name(u.dtype) << " " << shape_text(u.shape) << "\n";
  }
}

}  // namespace

std::string summary_to_text(const ModelSummary& s, bool with_tensors) {
  std::ostringstream o;
  const auto opt = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : std::string("-"); };
  container_text(s, o);
  o << "model\n";
  o << "  architecture     " << (s.architecture.empty() ? "-" : printable(s.architecture)) << "\n";
  o << "  hidden size      " << opt(s.hidden_size) << "\n";
  o << "  layers           " << opt(s.num_layers) << "\n";
  o << "  attention heads  " << opt(s.num_attention_heads) << "\n";
  o << "  KV heads         " << opt(s.num_kv_heads) << "\n";
  o << "  vocab size       " << opt(s.vocab_size) << "\n";
  o << "  context length   " << opt(s.context_length) << "\n";
  o << "  RoPE             " << (s.rope_theta ? "theta " + fixed(*s.rope_theta, 0) : std::string("theta -")) << ", scaling "
    << (s.rope_scaling.empty() ? "none" : printable(s.rope_scaling)) << "\n";
  if (s.partial_rotary_factor) o << "  rotary fraction  " << fixed(*s.partial_rotary_factor, 2) << "\n";
  if (s.sliding_window) {
    o << "  sliding window   " << *s.sliding_window
      << (s.attention_layout.empty() ? std::string(", every layer") : ", layers " + printable(s.attention_layout)) << "\n";
  }
  if (s.num_experts) o << "  experts          " << *s.num_experts << ", " << opt(s.experts_per_token) << " per token\n";
  o << "  tied embeddings  " << (!s.tied_embeddings ? "-" : *s.tied_embeddings ? "yes" : "no") << "\n";
  weights_text(s, o);
  quantization_text(s, o);
  o << "  BOS id           " << opt(s.bos_token_id) << "\n";
  o << "  EOS ids          ";
  if (s.eos_token_ids.empty()) o << "-";
  for (size_t k = 0; k < s.eos_token_ids.size(); ++k) o << (k ? ", " : "") << s.eos_token_ids[k];
  o << "\n  chat template    " << (s.has_chat_template ? "yes" : "no") << "\n";
  for (const std::string& p : s.config_problems) o << "  config problem   " << printable(p) << "\n";
  o << "bundled files (" << s.files.size() << ")\n";
  for (const auto& f : s.files) {
    o << "  " << printable(f.name) << "  " << human_size(f.size_bytes);
    if (f.stored_size_bytes != f.size_bytes) o << " (stored " << human_size(f.stored_size_bytes) << ", zstd)";
    o << "\n";
  }
  o << "safetensors files (" << s.sources.size() << ")\n";
  for (const auto& f : s.sources) o << "  " << printable(f.name) << "  " << human_size(f.size_bytes) << "\n";
  o << "tensors (" << s.tensors.size() << ", " << human_size(s.tensor_bytes) << ")\n";
  for (const auto& [dtype, n] : s.tensor_count_by_dtype) o << "  " << dtype << "  " << n << "\n";
  if (with_tensors) {
    for (const TensorSummary& t : s.tensors) {
      o << "  " << printable(t.name) << "  " << dtype_name(t.dtype) << " " << shape_text(t.shape) << "  "
        << human_size(t.size_bytes) << "\n";
    }
  }
  return o.str();
}

std::string summary_to_json(const ModelSummary& s, bool with_tensors) {
  const auto opt = [](const auto& v) { return v ? json(*v) : json(nullptr); };
  json j;
  j["path"] = s.path;
  if (s.pack) {
    j["file_size"] = s.pack->file_size_bytes;
    j["format"] = {{"version", std::to_string(s.pack->version_major) + "." + std::to_string(s.pack->version_minor)},
                   {"alignment", s.pack->alignment},
                   {"checksum_algorithm", s.pack->checksum_algorithm},
                   {"entries", s.pack->entry_count}};
  } else {
    j["format"] = {{"kind", "model directory"}};
  }
  j["model"] = {{"architecture", s.architecture},
                {"model_type", s.model_type},
                {"hidden_size", opt(s.hidden_size)},
                {"num_hidden_layers", opt(s.num_layers)},
                {"num_attention_heads", opt(s.num_attention_heads)},
                {"num_key_value_heads", opt(s.num_kv_heads)},
                {"vocab_size", opt(s.vocab_size)},
                {"context_length", opt(s.context_length)},
                {"rope", {{"theta", opt(s.rope_theta)}, {"scaling", s.rope_scaling.empty() ? json(nullptr) : json(s.rope_scaling)}}},
                {"tied_embeddings", opt(s.tied_embeddings)},
                {"partial_rotary_factor", opt(s.partial_rotary_factor)},
                {"sliding_window", opt(s.sliding_window)},
                {"attention_layout", s.attention_layout.empty() ? json(nullptr) : json(s.attention_layout)},
                {"experts", s.num_experts ? json{{"count", *s.num_experts}, {"per_token", opt(s.experts_per_token)}}
                                          : json(nullptr)},
                {"parameters", s.parameter_count},
                {"bits_per_weight", s.bits_per_weight()},
                {"bos_token_id", opt(s.bos_token_id)},
                {"eos_token_ids", s.eos_token_ids},
                {"chat_template", s.has_chat_template}};
  json storage = json::object();
  for (const auto& [kind, k] : s.storage) {
    storage[kind] = {{"parameters", k.parameters}, {"bytes", k.bytes}, {"bits_per_weight", k.bits_per_weight()}};
  }
  j["model"]["storage"] = storage;
  j["model"]["quantization"] =
      s.quantization ? json{{"bits", s.quantization->bits},
                            {"group_size", s.quantization->group_size},
                            {"mode", s.quantization->mode}}
                     : json(nullptr);
  if (s.quantization) {
    json unquantized = json::array();
    for (const UnquantizedLayer& u : s.unquantized_layers) {
      unquantized.push_back({{"name", u.name}, {"dtype", dtype_name(u.dtype)}, {"shape", u.shape}});
    }
    j["model"]["quantization"]["unquantized_layers"] = unquantized;
    json layers = json::object();
    for (const auto& [layer, q] : s.layer_quantization) layers[layer] = {{"bits", q.bits}, {"group_size", q.group_size}};
    j["model"]["quantization"]["layers"] = layers;
  }
  if (!s.config_problems.empty()) j["model"]["config_problems"] = s.config_problems;
  j["files"] = json::array();
  for (const auto& f : s.files) {
    j["files"].push_back({{"name", f.name}, {"size", f.size_bytes}, {"stored_size", f.stored_size_bytes}});
  }
  j["safetensors_files"] = json::array();
  for (const auto& f : s.sources) j["safetensors_files"].push_back({{"name", f.name}, {"size", f.size_bytes}});
  j["tensors"] = {{"count", s.tensors.size()}, {"bytes", s.tensor_bytes}, {"by_dtype", s.tensor_count_by_dtype}};
  if (with_tensors) {
    json list = json::array();
    for (const TensorSummary& t : s.tensors) {
      json e = {{"name", t.name}, {"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"size", t.size_bytes}};
      if (t.offset) e["offset"] = *t.offset;
      list.push_back(std::move(e));
    }
    j["tensors"]["list"] = list;
  }
  return j.dump(2) + "\n";
}

}  // namespace mlxpack
