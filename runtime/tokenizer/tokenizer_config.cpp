#include "runtime/tokenizer/tokenizer_config.h"

#include "format/hf_config.h"  // parse_json_object
#include "format/json_fields.h"

namespace mlxpack::tokenizer {

namespace {

Result<std::string> token_string(const Json& obj, const char* key, const std::string& where) {
  const Json* v = find_field(obj, key);
  if (!v) return std::string();
  if (v->is_string()) return v->get<std::string>();
  if (v->is_object()) return required_string(*v, "content", field_path(where, key));
  return field_error(field_path(where, key), std::string("expected a string or {\"content\": ...}, got ") + json_type_name(*v));
}

Result<std::string> template_field(const Json& obj, const std::string& where) {
  const Json* v = find_field(obj, "chat_template");
  if (!v) return std::string();
  if (v->is_string()) return v->get<std::string>();
  if (v->is_array()) {
    for (size_t i = 0; i < v->size(); ++i) {
      const Json& item = (*v)[i];
      const std::string path = where + ".chat_template[" + std::to_string(i) + "]";
      if (!item.is_object()) return field_error(path, "expected {\"name\", \"template\"}");
      MLXPACK_ASSIGN_OR_RETURN(std::string name, required_string(item, "name", path));
      if (name == "default") return required_string(item, "template", path);
    }
    return field_error(where + ".chat_template", "is a list of named templates without one named \"default\"");
  }
  return field_error(where + ".chat_template", std::string("expected a string or a list, got ") + json_type_name(*v));
}

}  // namespace

Result<TokenizerConfig> parse_tokenizer_config(std::string_view json_text, std::string_view origin) {
  TokenizerConfig config;
  if (json_text.empty()) return config;
  MLXPACK_ASSIGN_OR_RETURN(Json j, parse_json_object(json_text, std::string(origin)));
  const std::string where(origin);
  MLXPACK_ASSIGN_OR_RETURN(config.bos_token, token_string(j, "bos_token", where));
  MLXPACK_ASSIGN_OR_RETURN(config.eos_token, token_string(j, "eos_token", where));
  MLXPACK_ASSIGN_OR_RETURN(config.chat_template, template_field(j, where));
  MLXPACK_ASSIGN_OR_RETURN(config.clean_up_tokenization_spaces,
                           optional_bool(j, "clean_up_tokenization_spaces", where, true));
  if (find_field(j, "add_bos_token")) {
    MLXPACK_ASSIGN_OR_RETURN(bool b, optional_bool(j, "add_bos_token", where, true));
    config.add_bos_token = b;
  }
  if (find_field(j, "add_eos_token")) {
    MLXPACK_ASSIGN_OR_RETURN(bool b, optional_bool(j, "add_eos_token", where, false));
    config.add_eos_token = b;
  }
  return config;
}

Result<std::string> chat_template_from_json(std::string_view json_text, std::string_view origin) {
  MLXPACK_ASSIGN_OR_RETURN(Json j, parse_json_object(json_text, std::string(origin)));
  MLXPACK_ASSIGN_OR_RETURN(std::string t, template_field(j, std::string(origin)));
  if (t.empty()) return Status::not_found(std::string(origin) + ": has no chat_template");
  return t;
}

Result<std::optional<TokenizerConfig>> read_tokenizer_config(const ModelSource& source) {
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> text, source.optional_file("tokenizer_config.json"));
  if (!text) return std::optional<TokenizerConfig>();
  MLXPACK_ASSIGN_OR_RETURN(TokenizerConfig config,
                           parse_tokenizer_config(*text, source.describe("tokenizer_config.json")));
  return std::optional<TokenizerConfig>(std::move(config));
}

}  // namespace mlxpack::tokenizer
