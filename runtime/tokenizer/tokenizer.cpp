// The public entry points of mlxpack/tokenizer.h.
#include "mlxpack/tokenizer.h"

#include "runtime/tokenizer/hf_tokenizer.h"
#include "runtime/tokenizer/model_files.h"

namespace mlxpack {

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_json(std::string_view tokenizer_json,
                                                        std::string_view tokenizer_config_json,
                                                        std::string_view origin, const TokenizerLimits& limits) {
  return tokenizer::make_hf_tokenizer(tokenizer_json, tokenizer_config_json, origin, limits);
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_sentencepiece(std::string_view model_bytes,
                                                                 std::string_view tokenizer_config_json,
                                                                 std::string_view origin,
                                                                 const TokenizerLimits& limits) {
  return tokenizer::make_sentencepiece_tokenizer(model_bytes, tokenizer_config_json, origin, limits);
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::load(const std::string& model_root, const TokenizerLimits& limits) {
  MLXPACK_ASSIGN_OR_RETURN(tokenizer::ModelFiles files, tokenizer::ModelFiles::open(model_root));
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> config, files.read("tokenizer_config.json"));
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> json, files.read("tokenizer.json"));
  if (json) {
    return tokenizer::make_hf_tokenizer(*json, config.value_or(""), files.describe("tokenizer.json"), limits);
  }
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> sp, files.read("tokenizer.model"));
  if (sp) {
    return tokenizer::make_sentencepiece_tokenizer(*sp, config.value_or(""), files.describe("tokenizer.model"),
                                                   limits);
  }
  return Status::not_found(model_root + ": has neither tokenizer.json nor tokenizer.model");
}

}  // namespace mlxpack
