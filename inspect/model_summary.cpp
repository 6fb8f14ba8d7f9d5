#include "inspect/model_summary.h"

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
  for (const std::optional<HfQuantization>* q : {&config.quantization, &config.quantization_config}) {
    if (!*q || s->quantization) continue;
    const QuantizationSummary summary = quantization_summary(**q);
    if (summary.bits > 0) s->quantization = summary;
    for (const auto& [module, m] : (*q)->modules) s->layer_quantization[module] = quantization_summary(m);
  }
}

std::string shape_text(const TensorView& t) {
  std::string s = "[";
  for (uint32_t d = 0; d < t.rank; ++d) s += (d ? ", " : "") + std::to_string(t.shape[d]);
  return s + "]";
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

Result<ModelSummary> summarize(const Reader& reader) {
  ModelSummary s;
  s.path = reader.path();
  s.pack = reader.info();
  std::optional<std::string> texts[3];
  const char* names[3] = {"config.json", "generation_config.json", "tokenizer_config.json"};
  for (int k = 0; k < 3; ++k) {
    if (!reader.has_file(names[k])) continue;
    MLXPACK_ASSIGN_OR_RETURN(texts[k], reader.file(names[k]));
  }
  MLXPACK_RETURN_IF_ERROR(interpret_model_files(texts[0] ? &*texts[0] : nullptr, texts[1] ? &*texts[1] : nullptr,
                                                texts[2] ? &*texts[2] : nullptr, reader.path(), &s));
  s.has_chat_template |= reader.has_file("chat_template.jinja") || reader.has_file("chat_template.json");

  for (uint64_t i = 0; i < reader.entry_count(); ++i) {
    const EntryInfo e = reader.entry(i);
    switch (e.type) {
      case EntryType::kTensor:
        ++s.tensor_count_by_dtype[dtype_name(e.dtype)];
        s.tensor_bytes += e.stored_size_bytes;
        break;
      case EntryType::kFile:
        s.files.push_back({std::string(e.name), e.original_size_bytes, e.stored_size_bytes});
        break;
      case EntryType::kSource:
        s.sources.push_back({std::string(e.name), e.original_size_bytes, e.stored_size_bytes});
        break;
    }
  }
  if (s.quantization) {
    for (uint64_t i = 0; i < reader.entry_count(); ++i) {
      const EntryInfo e = reader.entry(i);
      const std::string name(e.name);
      const bool is_float = e.dtype == DType::kF32 || e.dtype == DType::kF16 || e.dtype == DType::kBF16;
      if (e.type != EntryType::kTensor || !is_float || e.rank < 2 || name.size() < 7 ||
          name.compare(name.size() - 7, 7, ".weight") != 0 || name.find("norm") != std::string::npos) {
        continue;
      }
      if (reader.has_tensor(name.substr(0, name.size() - 7) + ".scales")) continue;
      TensorView v;
      v.rank = e.rank;
      v.shape = e.shape;
      s.unquantized_layers.push_back(name.substr(0, name.size() - 7) + " " + dtype_name(e.dtype) + " " + shape_text(v));
    }
  }
  return s;
}

std::string summary_to_text(const ModelSummary& s, bool with_tensors, const Reader& reader) {
  std::ostringstream o;
  const auto opt = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : std::string("-"); };
  o << printable(s.path) << "\n";
  o << "  file size        " << human_size(s.pack.file_size_bytes) << " (" << s.pack.file_size_bytes << " bytes)\n";
  o << "  format           mlxpack " << s.pack.version_major << "." << s.pack.version_minor << ", alignment "
    << s.pack.alignment << ", checksums " << s.pack.checksum_algorithm << "\n";
  o << "model\n";
  o << "  architecture     " << (s.architecture.empty() ? "-" : printable(s.architecture)) << "\n";
  o << "  hidden size      " << opt(s.hidden_size) << "\n";
  o << "  layers           " << opt(s.num_layers) << "\n";
  o << "  attention heads  " << opt(s.num_attention_heads) << "\n";
  o << "  KV heads         " << opt(s.num_kv_heads) << "\n";
  o << "  vocab size       " << opt(s.vocab_size) << "\n";
  if (s.quantization) {
    o << "  quantization     " << s.quantization->bits << "-bit, group size " << s.quantization->group_size << ", "
      << printable(s.quantization->mode) << "\n";
    for (const auto& [layer, q] : s.layer_quantization) {
      if (q.bits != s.quantization->bits || q.group_size != s.quantization->group_size) {
        o << "    " << printable(layer) << ": " << q.bits << "-bit, group size " << q.group_size << "\n";
      }
    }
    for (const std::string& u : s.unquantized_layers) o << "    unquantized " << printable(u) << "\n";
  } else {
    o << "  quantization     none\n";
  }
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
  uint64_t n_tensors = 0;
  for (const auto& [dtype, n] : s.tensor_count_by_dtype) n_tensors += n;
  o << "tensors (" << n_tensors << ", " << human_size(s.tensor_bytes) << ")\n";
  for (const auto& [dtype, n] : s.tensor_count_by_dtype) o << "  " << dtype << "  " << n << "\n";
  if (with_tensors) {
    for (uint64_t i = 0; i < reader.entry_count(); ++i) {
      const EntryInfo e = reader.entry(i);
      if (e.type != EntryType::kTensor) continue;
      TensorView v;
      v.rank = e.rank;
      v.shape = e.shape;
      o << "  " << printable(e.name) << "  " << dtype_name(e.dtype) << " " << shape_text(v) << "  "
        << human_size(e.stored_size_bytes) << "\n";
    }
  }
  return o.str();
}

std::string summary_to_json(const ModelSummary& s, bool with_tensors, const Reader& reader) {
  const auto opt = [](const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); };
  json j;
  j["path"] = s.path;
  j["file_size"] = s.pack.file_size_bytes;
  j["format"] = {{"version", std::to_string(s.pack.version_major) + "." + std::to_string(s.pack.version_minor)},
                 {"alignment", s.pack.alignment},
                 {"checksum_algorithm", s.pack.checksum_algorithm},
                 {"entries", s.pack.entry_count}};
  j["model"] = {{"architecture", s.architecture},
                {"model_type", s.model_type},
                {"hidden_size", opt(s.hidden_size)},
                {"num_hidden_layers", opt(s.num_layers)},
                {"num_attention_heads", opt(s.num_attention_heads)},
                {"num_key_value_heads", opt(s.num_kv_heads)},
                {"vocab_size", opt(s.vocab_size)},
                {"bos_token_id", opt(s.bos_token_id)},
                {"eos_token_ids", s.eos_token_ids},
                {"chat_template", s.has_chat_template}};
  j["model"]["quantization"] =
      s.quantization ? json{{"bits", s.quantization->bits},
                            {"group_size", s.quantization->group_size},
                            {"mode", s.quantization->mode}}
                     : json(nullptr);
  if (s.quantization) {
    j["model"]["quantization"]["unquantized_layers"] = s.unquantized_layers;
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
  uint64_t n_tensors = 0;
  for (const auto& [dtype, n] : s.tensor_count_by_dtype) n_tensors += n;
  j["tensors"] = {{"count", n_tensors}, {"bytes", s.tensor_bytes}, {"by_dtype", s.tensor_count_by_dtype}};
  if (with_tensors) {
    json list = json::array();
    for (uint64_t i = 0; i < reader.entry_count(); ++i) {
      const EntryInfo e = reader.entry(i);
      if (e.type != EntryType::kTensor) continue;
      list.push_back({{"name", std::string(e.name)},
                      {"dtype", dtype_name(e.dtype)},
                      {"shape", std::vector<uint64_t>(e.shape.begin(), e.shape.begin() + e.rank)},
                      {"offset", e.offset},
                      {"size", e.stored_size_bytes}});
    }
    j["tensors"]["list"] = list;
  }
  return j.dump(2) + "\n";
}

}  // namespace mlxpack
