// The Tokenizer for a model that ships only tokenizer.model, backed by the
// SentencePiece library itself (the reference for that format).
#include <sentencepiece_processor.h>

#include "runtime/text/utf8.h"
#include "runtime/tokenizer/hf_tokenizer.h"
#include "runtime/tokenizer/tokenizer_config.h"

namespace mlxpack::tokenizer {

namespace {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  Status init(std::string_view model_bytes, TokenizerConfig config, std::string origin, const TokenizerLimits& limits) {
    origin_ = std::move(origin);
    config_ = std::move(config);
    limits_ = limits;
    const auto status = sp_.LoadFromSerializedProto(std::string(model_bytes));
    if (!status.ok()) {
      return Status::invalid_argument(origin_ + ": not a SentencePiece model: " + std::string(status.message()));
    }
    if (static_cast<uint64_t>(sp_.GetPieceSize()) > limits.max_vocab_size) {
      return Status::invalid_argument(origin_ + ": " + std::to_string(sp_.GetPieceSize()) +
                                      " pieces, more than the limit " + std::to_string(limits.max_vocab_size));
    }
    if (config_.bos_token.empty() && sp_.bos_id() >= 0) config_.bos_token = sp_.IdToPiece(sp_.bos_id());
    if (config_.eos_token.empty() && sp_.eos_id() >= 0) config_.eos_token = sp_.IdToPiece(sp_.eos_id());
    return Status::ok();
  }

  Result<std::vector<int32_t>> encode(std::string_view text, bool add_special_tokens) const override {
    MLXPACK_RETURN_IF_ERROR(check_text(text));
    std::vector<int> ids;
    const auto status = sp_.Encode(text, &ids);
    if (!status.ok()) return Status::invalid_argument("encode: " + std::string(status.message()));
    std::vector<int32_t> out;
    out.reserve(ids.size() + 2);
    if (add_special_tokens && config_.add_bos_token.value_or(true) && sp_.bos_id() >= 0) out.push_back(sp_.bos_id());
    out.insert(out.end(), ids.begin(), ids.end());
    if (add_special_tokens && config_.add_eos_token.value_or(false) && sp_.eos_id() >= 0) out.push_back(sp_.eos_id());
    return out;
  }

  Result<std::vector<TokenPiece>> encode_pieces(std::string_view text, bool add_special_tokens) const override {
    MLXPACK_ASSIGN_OR_RETURN(std::vector<int32_t> ids, encode(text, add_special_tokens));
    std::vector<TokenPiece> out;
    for (int32_t id : ids) out.push_back({id, sp_.IdToPiece(id)});
    return out;
  }

  Result<std::string> decode(const std::vector<int32_t>& ids, const DecodeOptions& options) const override {
    std::vector<int> kept;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] >= sp_.GetPieceSize()) {
        return Status::invalid_argument("decode: id " + std::to_string(ids[i]) + " (position " + std::to_string(i) +
                                        ") is not in the vocabulary of " + origin_ + " (ids 0.." +
                                        std::to_string(sp_.GetPieceSize() - 1) + ")");
      }
      if (options.skip_special_tokens && is_special(ids[i])) continue;
      kept.push_back(ids[i]);
    }
    std::string text;
    const auto status = sp_.Decode(kept, &text);
    if (!status.ok()) return Status::invalid_argument("decode: " + std::string(status.message()));
    return text::decode_lossy(text);
  }

  size_t vocab_size() const override { return static_cast<size_t>(sp_.GetPieceSize()); }
  std::optional<int32_t> token_to_id(std::string_view token) const override {
    const int id = sp_.PieceToId(token);
    if (id == sp_.unk_id() && token != sp_.IdToPiece(sp_.unk_id())) return std::nullopt;
    return id;
  }
  std::string id_to_token(int32_t id) const override {
    if (id < 0 || id >= sp_.GetPieceSize()) return {};
    return sp_.IdToPiece(id);
  }
  bool is_special(int32_t id) const override { return sp_.IsControl(id) || sp_.IsUnknown(id); }
  const std::string& bos_token() const override { return config_.bos_token; }
  const std::string& eos_token() const override { return config_.eos_token; }
  const std::string& chat_template() const override { return config_.chat_template; }

 private:
  Status check_text(std::string_view text) const {
    if (text.size() > limits_.max_text_bytes) {
      return Status::invalid_argument("encode: text is " + std::to_string(text.size()) +
                                      " bytes, more than the limit " + std::to_string(limits_.max_text_bytes));
    }
    if (auto bad = text::find_invalid_utf8(text)) {
      return Status::invalid_argument("encode: text is not valid UTF-8 at byte offset " + std::to_string(*bad));
    }
    return Status::ok();
  }

  sentencepiece::SentencePieceProcessor sp_;
  std::string origin_;
  TokenizerConfig config_;
  TokenizerLimits limits_;
};

}  // namespace

Result<std::unique_ptr<Tokenizer>> make_sentencepiece_tokenizer(std::string_view model_bytes, TokenizerConfig config,
                                                                std::string_view origin,
                                                                const TokenizerLimits& limits) {
  auto tok = std::make_unique<SentencePieceTokenizer>();
  MLXPACK_RETURN_IF_ERROR(tok->init(model_bytes, std::move(config), std::string(origin), limits));
  return std::unique_ptr<Tokenizer>(std::move(tok));
}

}  // namespace mlxpack::tokenizer
