#include "format/hf_config.h"

#include <algorithm>
#include <climits>

namespace mlxpack {

namespace {

constexpr int64_t kMaxCount = INT32_MAX;  // sizes and counts fit an int

// "eos_token_id": one id or a list of them, kept in order without repeats.
Status read_token_ids(const Json& doc, const char* key, const std::string& where, std::vector<int64_t>* out) {
  const Json* v = find_field(doc, key);
  if (!v) return Status::ok();
  const std::string path = field_path(where, key);
  if (v->is_array() && v->size() > kMaxStopTokenIds) {
    // Real models list one to four stop ids; the cap keeps the repeat check
    // (and the per-token stop check) trivially cheap.
    return field_error(path, "lists " + std::to_string(v->size()) + " token ids, more than the limit of " +
                                 std::to_string(kMaxStopTokenIds));
  }
  const Json list = v->is_array() ? *v : Json::array({*v});
  for (size_t i = 0; i < list.size(); ++i) {
    const Json& id = list[i];
    const std::string item = v->is_array() ? path + "[" + std::to_string(i) + "]" : path;
    if (!id.is_number_integer()) return field_error(item, std::string("expected a token id, got ") + json_type_name(id));
    const int64_t n = id.is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(id.get<uint64_t>(), INT64_MAX))
                                              : id.get<int64_t>();
    if (n < 0 || n > kMaxTokenId) return outside_range(item, id, int64_t{0}, kMaxTokenId);
    if (std::find(out->begin(), out->end(), n) == out->end()) out->push_back(n);
  }
  return Status::ok();
}

Result<HfQuantization> read_quantization(const Json& q, const std::string& where, bool with_modules) {
  HfQuantization out;
  MLXPACK_ASSIGN_OR_RETURN(out.bits, maybe_int(q, "bits", where, -1, 64));
  MLXPACK_ASSIGN_OR_RETURN(out.group_size, maybe_int(q, "group_size", where, -1, kMaxCount));
  MLXPACK_ASSIGN_OR_RETURN(out.mode, optional_string(q, "mode", where, ""));
  if (!with_modules) return out;
  for (auto it = q.begin(); it != q.end(); ++it) {
    if (!it->is_object()) continue;
    MLXPACK_ASSIGN_OR_RETURN(out.modules[it.key()], read_quantization(*it, where + "['" + it.key() + "']", false));
  }
  return out;
}

Result<std::optional<HfQuantization>> maybe_quantization(const Json& doc, const char* key, const std::string& where) {
  if (!find_field(doc, key)) return std::optional<HfQuantization>();
  MLXPACK_ASSIGN_OR_RETURN(const Json* q, required_object(doc, key, where));
  MLXPACK_ASSIGN_OR_RETURN(HfQuantization parsed, read_quantization(*q, field_path(where, key), true));
  return std::optional<HfQuantization>(std::move(parsed));
}

Result<std::optional<HfRopeScaling>> maybe_rope_scaling(const Json& doc, const std::string& where) {
  if (!find_field(doc, "rope_scaling")) return std::optional<HfRopeScaling>();
  MLXPACK_ASSIGN_OR_RETURN(const Json* rs, required_object(doc, "rope_scaling", where));
  const std::string path = field_path(where, "rope_scaling");
  HfRopeScaling r;
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> rope_type, maybe_string(*rs, "rope_type", path));
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> type, maybe_string(*rs, "type", path));
  r.type = rope_type ? *rope_type : type.value_or("");
  constexpr double kMax = 1e12;
  MLXPACK_ASSIGN_OR_RETURN(r.factor, maybe_number(*rs, "factor", path, -kMax, kMax));
  MLXPACK_ASSIGN_OR_RETURN(r.low_freq_factor, maybe_number(*rs, "low_freq_factor", path, -kMax, kMax));
  MLXPACK_ASSIGN_OR_RETURN(r.high_freq_factor, maybe_number(*rs, "high_freq_factor", path, -kMax, kMax));
  MLXPACK_ASSIGN_OR_RETURN(r.original_max_position_embeddings,
                           maybe_number(*rs, "original_max_position_embeddings", path, -kMax, kMax));
  return std::optional<HfRopeScaling>(std::move(r));
}

// The architecture's names: model_type and architectures[0].
Status read_names(const Json& doc, const std::string& where, HfConfig* c) {
  MLXPACK_ASSIGN_OR_RETURN(c->model_type, optional_string(doc, "model_type", where, ""));
  if (!find_field(doc, "architectures")) return Status::ok();
  MLXPACK_ASSIGN_OR_RETURN(const Json* list, required_array(doc, "architectures", where));
  if (list->empty()) return Status::ok();
  const Json& first = (*list)[0];
  if (!first.is_string()) {
    return field_error(field_path(where, "architectures") + "[0]", std::string("expected a string, got ") + json_type_name(first));
  }
  c->architecture = first.get<std::string>();
  return Status::ok();
}

// The sizes, from the top level or else text_config.
Status read_sizes(const Json& doc, const std::string& where, HfConfig* c) {
  const Json* text = find_field(doc, "text_config");
  if (text && !text->is_object()) {
    return field_error(field_path(where, "text_config"), std::string("expected an object, got ") + json_type_name(*text));
  }
  const std::string text_where = field_path(where, "text_config");
  const auto size = [&](const char* key, std::optional<int64_t>* out) -> Status {
    MLXPACK_ASSIGN_OR_RETURN(*out, maybe_int(doc, key, where, 0, kMaxCount));
    if (!*out && text) {
      MLXPACK_ASSIGN_OR_RETURN(*out, maybe_int(*text, key, text_where, 0, kMaxCount));
    }
    return Status::ok();
  };
  MLXPACK_RETURN_IF_ERROR(size("hidden_size", &c->hidden_size));
  MLXPACK_RETURN_IF_ERROR(size("intermediate_size", &c->intermediate_size));
  MLXPACK_RETURN_IF_ERROR(size("num_hidden_layers", &c->num_hidden_layers));
  MLXPACK_RETURN_IF_ERROR(size("num_attention_heads", &c->num_attention_heads));
  MLXPACK_RETURN_IF_ERROR(size("num_key_value_heads", &c->num_key_value_heads));
  MLXPACK_RETURN_IF_ERROR(size("head_dim", &c->head_dim));
  MLXPACK_RETURN_IF_ERROR(size("vocab_size", &c->vocab_size));
  MLXPACK_RETURN_IF_ERROR(size("max_position_embeddings", &c->max_position_embeddings));
  MLXPACK_RETURN_IF_ERROR(size("sliding_window", &c->sliding_window));
  return Status::ok();
}

// Numbers, switches and the activation.
Status read_settings(const Json& doc, const std::string& where, HfConfig* c) {
  MLXPACK_ASSIGN_OR_RETURN(c->partial_rotary_factor, maybe_number(doc, "partial_rotary_factor", where, -1e12, 1e12));
  MLXPACK_ASSIGN_OR_RETURN(c->rms_norm_eps, maybe_number(doc, "rms_norm_eps", where, -1e12, 1e12));
  MLXPACK_ASSIGN_OR_RETURN(c->rope_theta, maybe_number(doc, "rope_theta", where, -1e300, 1e300));
  MLXPACK_ASSIGN_OR_RETURN(c->tie_word_embeddings, maybe_bool(doc, "tie_word_embeddings", where));
  MLXPACK_ASSIGN_OR_RETURN(c->attention_bias, maybe_bool(doc, "attention_bias", where));
  MLXPACK_ASSIGN_OR_RETURN(c->mlp_bias, maybe_bool(doc, "mlp_bias", where));
  MLXPACK_ASSIGN_OR_RETURN(c->use_sliding_window, maybe_bool(doc, "use_sliding_window", where));
  MLXPACK_ASSIGN_OR_RETURN(c->hidden_act, maybe_string(doc, "hidden_act", where));
  MLXPACK_ASSIGN_OR_RETURN(c->hidden_activation, maybe_string(doc, "hidden_activation", where));
  MLXPACK_ASSIGN_OR_RETURN(c->layer_norm_eps, maybe_number(doc, "layer_norm_eps", where, -1e12, 1e12));
  MLXPACK_ASSIGN_OR_RETURN(c->qk_layernorm, maybe_bool(doc, "qk_layernorm", where));
  return Status::ok();
}

// A list of at most kMaxListItems items, each read by `item`.
constexpr size_t kMaxListItems = 1 << 16;

template <typename T, typename ItemFn>
Result<std::optional<std::vector<T>>> maybe_list(const Json& doc, const char* key, const std::string& where, ItemFn item) {
  if (!find_field(doc, key)) return std::optional<std::vector<T>>();
  MLXPACK_ASSIGN_OR_RETURN(const Json* list, required_array(doc, key, where));
  const std::string path = field_path(where, key);
  if (list->size() > kMaxListItems) {
    return field_error(path, "has " + std::to_string(list->size()) + " items, more than the limit of " +
                                 std::to_string(kMaxListItems));
  }
  std::vector<T> out;
  for (size_t i = 0; i < list->size(); ++i) {
    MLXPACK_ASSIGN_OR_RETURN(T v, item((*list)[i], path + "[" + std::to_string(i) + "]"));
    out.push_back(std::move(v));
  }
  return std::optional<std::vector<T>>(std::move(out));
}

Result<std::string> string_item(const Json& v, const std::string& path) {
  if (!v.is_string()) return field_error(path, std::string("expected a string, got ") + json_type_name(v));
  return v.get<std::string>();
}

Result<int64_t> count_item(const Json& v, const std::string& path) {
  if (!v.is_number_integer()) return field_error(path, std::string("expected an integer, got ") + json_type_name(v));
  if (v.is_number_unsigned() ? v.get<uint64_t>() > uint64_t(kMaxCount) : (v.get<int64_t>() < 0 || v.get<int64_t>() > kMaxCount)) {
    return outside_range(path, v, int64_t{0}, kMaxCount);
  }
  return v.get<int64_t>();
}

// Gemma's attention variations and the mixture-of-experts fields.
Status read_variations(const Json& doc, const std::string& where, HfConfig* c) {
  MLXPACK_ASSIGN_OR_RETURN(c->query_pre_attn_scalar, maybe_number(doc, "query_pre_attn_scalar", where, -1e300, 1e300));
  MLXPACK_ASSIGN_OR_RETURN(c->attn_logit_softcapping, maybe_number(doc, "attn_logit_softcapping", where, -1e300, 1e300));
  MLXPACK_ASSIGN_OR_RETURN(c->final_logit_softcapping, maybe_number(doc, "final_logit_softcapping", where, -1e300, 1e300));
  MLXPACK_ASSIGN_OR_RETURN(c->sliding_window_pattern, maybe_int(doc, "sliding_window_pattern", where, INT64_MIN, INT64_MAX));
  MLXPACK_ASSIGN_OR_RETURN(c->layer_types, maybe_list<std::string>(doc, "layer_types", where, string_item));
  MLXPACK_ASSIGN_OR_RETURN(c->rope_local_base_freq, maybe_number(doc, "rope_local_base_freq", where, -1e300, 1e300));
  MLXPACK_ASSIGN_OR_RETURN(c->no_rope_layers, maybe_list<int64_t>(doc, "no_rope_layers", where, count_item));
  MLXPACK_ASSIGN_OR_RETURN(c->no_rope_layer_interval, maybe_int(doc, "no_rope_layer_interval", where, INT64_MIN, INT64_MAX));
  MLXPACK_ASSIGN_OR_RETURN(c->num_experts, maybe_int(doc, "num_local_experts", where, INT64_MIN, INT64_MAX));
  if (!c->num_experts) {
    MLXPACK_ASSIGN_OR_RETURN(c->num_experts, maybe_int(doc, "num_experts", where, INT64_MIN, INT64_MAX));
  }
  MLXPACK_ASSIGN_OR_RETURN(c->num_experts_per_tok, maybe_int(doc, "num_experts_per_tok", where, INT64_MIN, INT64_MAX));
  MLXPACK_ASSIGN_OR_RETURN(c->norm_topk_prob, maybe_bool(doc, "norm_topk_prob", where));
  MLXPACK_ASSIGN_OR_RETURN(c->moe_intermediate_size, maybe_int(doc, "moe_intermediate_size", where, 0, kMaxCount));
  MLXPACK_ASSIGN_OR_RETURN(c->decoder_sparse_step, maybe_int(doc, "decoder_sparse_step", where, INT64_MIN, INT64_MAX));
  MLXPACK_ASSIGN_OR_RETURN(const auto only, maybe_list<int64_t>(doc, "mlp_only_layers", where, count_item));
  if (only) c->mlp_only_layers = *only;
  return Status::ok();
}

}  // namespace

Result<Json> parse_json_object(std::string_view text, const std::string& label) {
  Json doc = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::invalid_argument(label + ": not valid JSON");
  if (!doc.is_object()) return Status::invalid_argument(label + ": expected a JSON object at the top level");
  return doc;
}

Result<HfConfig> read_hf_config(Json document, const std::string& label) {
  HfConfig c;
  c.document = std::move(document);
  const Json& doc = c.document;
  MLXPACK_RETURN_IF_ERROR(read_names(doc, label, &c));
  MLXPACK_RETURN_IF_ERROR(read_sizes(doc, label, &c));
  MLXPACK_RETURN_IF_ERROR(read_settings(doc, label, &c));
  MLXPACK_RETURN_IF_ERROR(read_variations(doc, label, &c));
  MLXPACK_ASSIGN_OR_RETURN(c.rope_scaling, maybe_rope_scaling(doc, label));
  MLXPACK_ASSIGN_OR_RETURN(c.bos_token_id, maybe_int(doc, "bos_token_id", label, -1, kMaxTokenId));
  MLXPACK_RETURN_IF_ERROR(read_token_ids(doc, "eos_token_id", label, &c.eos_token_ids));
  MLXPACK_ASSIGN_OR_RETURN(c.quantization, maybe_quantization(doc, "quantization", label));
  MLXPACK_ASSIGN_OR_RETURN(c.quantization_config, maybe_quantization(doc, "quantization_config", label));
  return c;
}

Result<HfGenerationConfig> read_hf_generation_config(const Json& doc, const std::string& label) {
  HfGenerationConfig g;
  MLXPACK_ASSIGN_OR_RETURN(g.bos_token_id, maybe_int(doc, "bos_token_id", label, -1, kMaxTokenId));
  MLXPACK_RETURN_IF_ERROR(read_token_ids(doc, "eos_token_id", label, &g.eos_token_ids));
  return g;
}

Result<HfConfig> parse_hf_config(std::string_view text, const std::string& label) {
  MLXPACK_ASSIGN_OR_RETURN(Json doc, parse_json_object(text, label));
  return read_hf_config(std::move(doc), label);
}

Result<HfGenerationConfig> parse_hf_generation_config(std::string_view text, const std::string& label) {
  MLXPACK_ASSIGN_OR_RETURN(const Json doc, parse_json_object(text, label));
  return read_hf_generation_config(doc, label);
}

}  // namespace mlxpack
