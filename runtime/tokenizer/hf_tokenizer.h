// The Tokenizer built from a Hugging Face tokenizer.json: normalizer, added
// tokens, pre-tokenizer, BPE model, post-processor and decoder, run in the
// reference's order.
#ifndef MLXPACK_RUNTIME_TOKENIZER_HF_TOKENIZER_H_
#define MLXPACK_RUNTIME_TOKENIZER_HF_TOKENIZER_H_

#include <memory>
#include <optional>
#include <string_view>

#include "mlxpack/model_source.h"
#include "mlxpack/tokenizer.h"
#include "runtime/tokenizer/tokenizer_config.h"

namespace mlxpack::tokenizer {

// `config` is the model's parsed tokenizer_config.json (defaults if it has
// none); `origin` names the tokenizer file in messages.
Result<std::unique_ptr<Tokenizer>> make_hf_tokenizer(std::string_view tokenizer_json, TokenizerConfig config,
                                                     std::string_view origin, const TokenizerLimits& limits);

Result<std::unique_ptr<Tokenizer>> make_sentencepiece_tokenizer(std::string_view model_bytes, TokenizerConfig config,
                                                                std::string_view origin,
                                                                const TokenizerLimits& limits);

// The tokenizer of `source` (tokenizer.json, else tokenizer.model), built with
// an already parsed tokenizer_config.json: how Runtime::open reads that file
// once for both the tokenizer and the chat template.
Result<std::unique_ptr<Tokenizer>> load_tokenizer(const ModelSource& source,
                                                  const std::optional<TokenizerConfig>& config,
                                                  const TokenizerLimits& limits);

}  // namespace mlxpack::tokenizer

#endif  // MLXPACK_RUNTIME_TOKENIZER_HF_TOKENIZER_H_
