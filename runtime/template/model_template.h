// The chat template of a model source, found with an already parsed
// tokenizer_config.json: how Runtime::open reads that file once for both the
// tokenizer and the chat template. load_chat_template (mlxpack/chat_template.h)
// is this with the config read from the source.
#ifndef MLXPACK_RUNTIME_TEMPLATE_MODEL_TEMPLATE_H_
#define MLXPACK_RUNTIME_TEMPLATE_MODEL_TEMPLATE_H_

#include <optional>

#include "mlxpack/chat_template.h"
#include "runtime/tokenizer/tokenizer_config.h"

namespace mlxpack {

// chat_template.jinja, else chat_template.json, else `config`'s
// chat_template. NotFound if there is none.
Result<ModelChatTemplate> find_chat_template(const ModelSource& source,
                                             const std::optional<tokenizer::TokenizerConfig>& config);

}  // namespace mlxpack

#endif  // MLXPACK_RUNTIME_TEMPLATE_MODEL_TEMPLATE_H_
