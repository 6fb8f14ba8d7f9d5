// Finding a model's chat template among its files. chat_template.jinja is
// how transformers saves templates since 4.43 and wins over the older places.
#include "mlxpack/chat_template.h"
#include "runtime/tokenizer/model_files.h"
#include "runtime/tokenizer/tokenizer_config.h"

namespace mlxpack {

Result<ModelChatTemplate> load_chat_template(const std::string& model_root) {
  MLXPACK_ASSIGN_OR_RETURN(tokenizer::ModelFiles files, tokenizer::ModelFiles::open(model_root));
  ModelChatTemplate out;
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> config, files.read("tokenizer_config.json"));
  if (config) {
    MLXPACK_ASSIGN_OR_RETURN(tokenizer::TokenizerConfig parsed,
                             tokenizer::parse_tokenizer_config(*config, files.describe("tokenizer_config.json")));
    out.bos_token = parsed.bos_token;
    out.eos_token = parsed.eos_token;
    out.source = parsed.chat_template;
    out.origin = files.describe("tokenizer_config.json");
  }
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> json, files.read("chat_template.json"));
  if (json) {
    MLXPACK_ASSIGN_OR_RETURN(out.source, tokenizer::chat_template_from_json(*json, files.describe("chat_template.json")));
    out.origin = files.describe("chat_template.json");
  }
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> jinja, files.read("chat_template.jinja"));
  if (jinja) {
    out.source = std::move(*jinja);
    out.origin = files.describe("chat_template.jinja");
  }
  if (out.source.empty()) {
    return Status::not_found(model_root +
                             ": has no chat template (looked for chat_template.jinja, chat_template.json and "
                             "tokenizer_config.json's chat_template)");
  }
  return out;
}

}  // namespace mlxpack
