// The fields of tokenizer_config.json a tokenizer needs: BOS/EOS strings,
// the chat template, clean_up_tokenization_spaces, add_bos/eos_token.
#ifndef MLXPACK_RUNTIME_TOKENIZER_TOKENIZER_CONFIG_H_
#define MLXPACK_RUNTIME_TOKENIZER_TOKENIZER_CONFIG_H_

#include <optional>
#include <string>
#include <string_view>

#include "mlxpack/model_source.h"
#include "mlxpack/status.h"

namespace mlxpack::tokenizer {

struct TokenizerConfig {
  std::string bos_token;
  std::string eos_token;
  std::string chat_template;
  bool clean_up_tokenization_spaces = true;  // the reference's default
  std::optional<bool> add_bos_token;
  std::optional<bool> add_eos_token;
};

// Parses tokenizer_config.json text (empty text: all defaults). `origin`
// names the file in messages. A token may be a string or an object with a
// "content" string; chat_template may be a string or a list of
// {"name", "template"} of which "default" is taken.
Result<TokenizerConfig> parse_tokenizer_config(std::string_view json_text, std::string_view origin);

// The chat template of a tokenizer_config.json, chat_template.jinja or a JSON
// object with "chat_template" (see mlxpack template): used by the template
// tool as well. NotFound if the JSON has no chat_template.
Result<std::string> chat_template_from_json(std::string_view json_text, std::string_view origin);

// The source's tokenizer_config.json, parsed; nullopt if it has none.
Result<std::optional<TokenizerConfig>> read_tokenizer_config(const ModelSource& source);

}  // namespace mlxpack::tokenizer

#endif  // MLXPACK_RUNTIME_TOKENIZER_TOKENIZER_CONFIG_H_
