// The Tokenizer built from a Hugging Face tokenizer.json: normalizer, added
// tokens, pre-tokenizer, BPE model, post-processor and decoder, run in the
// reference's order.
#ifndef MLXPACK_RUNTIME_TOKENIZER_HF_TOKENIZER_H_
#define MLXPACK_RUNTIME_TOKENIZER_HF_TOKENIZER_H_

#include <memory>
#include <string_view>

#include "mlxpack/tokenizer.h"

namespace mlxpack::tokenizer {

Result<std::unique_ptr<Tokenizer>> make_hf_tokenizer(std::string_view tokenizer_json, std::string_view config_json,
                                                     std::string_view origin, const TokenizerLimits& limits);

Result<std::unique_ptr<Tokenizer>> make_sentencepiece_tokenizer(std::string_view model_bytes,
                                                                std::string_view config_json, std::string_view origin,
                                                                const TokenizerLimits& limits);

}  // namespace mlxpack::tokenizer

#endif  // MLXPACK_RUNTIME_TOKENIZER_HF_TOKENIZER_H_
