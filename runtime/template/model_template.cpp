// Finding a model's chat template among its files. chat_template.jinja is
// how transformers saves templates since 4.43 and wins over the older places.
#include "runtime/template/model_template.h"

#include "mlxpack/model_source.h"

namespace mlxpack {

Result<ModelChatTemplate> find_chat_template(const ModelSource& source,
                                             const std::optional<tokenizer::TokenizerConfig>& config) {
  ModelChatTemplate out;
  if (config) {
    out.bos_token = config->bos_token;
    out.eos_token = config->eos_token;
    out.source = config->chat_template;
    out.origin = source.describe("tokenizer_config.json");
  }
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> json, source.optional_file("chat_template.json"));
  if (json) {
    MLXPACK_ASSIGN_OR_RETURN(out.source,
                             tokenizer::chat_template_from_json(*json, source.describe("chat_template.json")));
    out.origin = source.describe("chat_template.json");
  }
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> jinja, source.optional_file("chat_template.jinja"));
  if (jinja) {
    out.source = std::move(*jinja);
    out.origin = source.describe("chat_template.jinja");
  }
  if (out.source.empty()) {
    return Status::not_found(source.path() +
                             ": has no chat template (looked for chat_template.jinja, chat_template.json and "
                             "tokenizer_config.json's chat_template)");
  }
  return out;
}

Result<ModelChatTemplate> load_chat_template(const ModelSource& source) {
  MLXPACK_ASSIGN_OR_RETURN(std::optional<tokenizer::TokenizerConfig> config, tokenizer::read_tokenizer_config(source));
  return find_chat_template(source, config);
}

Result<ModelChatTemplate> load_chat_template(const std::string& model_root) {
  MLXPACK_ASSIGN_OR_RETURN(std::unique_ptr<ModelSource> source, ModelSource::open_files(model_root));
  return load_chat_template(*source);
}

}  // namespace mlxpack
