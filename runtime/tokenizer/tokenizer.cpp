// The public entry points of mlxpack/tokenizer.h.
#include "mlxpack/tokenizer.h"

#include "runtime/tokenizer/hf_tokenizer.h"
#include "runtime/tokenizer/tokenizer_config.h"

namespace mlxpack {

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_json(std::string_view tokenizer_json,
                                                        std::string_view tokenizer_config_json,
                                                        std::string_view origin, const TokenizerLimits& limits) {
  MLXPACK_ASSIGN_OR_RETURN(tokenizer::TokenizerConfig config,
                           tokenizer::parse_tokenizer_config(tokenizer_config_json, "tokenizer_config.json"));
  return tokenizer::make_hf_tokenizer(tokenizer_json, std::move(config), origin, limits);
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_sentencepiece(std::string_view model_bytes,
                                                                 std::string_view tokenizer_config_json,
                                                                 std::string_view origin,
                                                                 const TokenizerLimits& limits) {
  MLXPACK_ASSIGN_OR_RETURN(tokenizer::TokenizerConfig config,
                           tokenizer::parse_tokenizer_config(tokenizer_config_json, "tokenizer_config.json"));
  return tokenizer::make_sentencepiece_tokenizer(model_bytes, std::move(config), origin, limits);
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::load(const ModelSource& source, const TokenizerLimits& limits) {
  MLXPACK_ASSIGN_OR_RETURN(std::optional<tokenizer::TokenizerConfig> config, tokenizer::read_tokenizer_config(source));
  return tokenizer::load_tokenizer(source, config, limits);
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::load(const std::string& model_root, const TokenizerLimits& limits) {
  MLXPACK_ASSIGN_OR_RETURN(std::unique_ptr<ModelSource> source, ModelSource::open_files(model_root));
  return load(*source, limits);
}

namespace tokenizer {

Result<std::unique_ptr<Tokenizer>> load_tokenizer(const ModelSource& source,
                                                  const std::optional<TokenizerConfig>& config,
                                                  const TokenizerLimits& limits) {
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> json, source.optional_file("tokenizer.json"));
  if (json) {
    return make_hf_tokenizer(*json, config.value_or(TokenizerConfig{}), source.describe("tokenizer.json"), limits);
  }
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> sp, source.optional_file("tokenizer.model"));
  if (sp) {
    return make_sentencepiece_tokenizer(*sp, config.value_or(TokenizerConfig{}), source.describe("tokenizer.model"),
                                        limits);
  }
  return Status::not_found(source.path() + ": has neither tokenizer.json nor tokenizer.model");
}

}  // namespace tokenizer

}  // namespace mlxpack
