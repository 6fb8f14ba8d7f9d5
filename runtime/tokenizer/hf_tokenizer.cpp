#include "runtime/tokenizer/hf_tokenizer.h"

#include <deque>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "runtime/text/utf8.h"
#include "runtime/tokenizer/added_vocabulary.h"
#include "runtime/tokenizer/bpe_model.h"
#include "runtime/tokenizer/decoder.h"
#include "format/json_fields.h"
#include "runtime/tokenizer/normalizer.h"
#include "runtime/tokenizer/pattern.h"
#include "runtime/tokenizer/post_processor.h"
#include "runtime/tokenizer/pre_tokenizer.h"
#include "runtime/tokenizer/tokenizer_config.h"

namespace mlxpack::tokenizer {

namespace {

// Pieces shorter than this are cached (the reference uses the same bound).
constexpr size_t kMaxCachedPieceBytes = 256;
constexpr size_t kMaxCacheEntries = 1 << 16;

// HF's clean_up_tokenization: drop the space before punctuation and
// English contractions.
std::string clean_up_tokenization(std::string s) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
      {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) {
    const std::string f(from);
    std::string out;
    size_t pos = 0;
    bool changed = false;
    for (;;) {
      const size_t hit = s.find(f, pos);
      if (hit == std::string::npos) break;
      out.append(s, pos, hit - pos);
      out += to;
      pos = hit + f.size();
      changed = true;
    }
    if (!changed) continue;
    out.append(s, pos, std::string::npos);
    s = std::move(out);
  }
  return s;
}

// Where an encoding goes: ids only (encode), or ids with their pieces
// (encode_pieces). Exactly one of the two is set.
struct TokenOutput {
  std::vector<int32_t>* ids = nullptr;
  std::vector<TokenPiece>* pieces = nullptr;
  void add(int32_t id, std::string_view piece) const {
    if (ids) {
      ids->push_back(id);
    } else {
      pieces->push_back({id, std::string(piece)});
    }
  }
};

class HfTokenizer final : public Tokenizer {
 public:
  Result<std::vector<int32_t>> encode(std::string_view text, bool add_special_tokens) const override {
    return encode_into(&TokenOutput::ids, text, add_special_tokens);
  }

  Result<std::vector<TokenPiece>> encode_pieces(std::string_view text, bool add_special_tokens) const override {
    return encode_into(&TokenOutput::pieces, text, add_special_tokens);
  }

  Result<std::string> decode(const std::vector<int32_t>& ids, const DecodeOptions& options) const override {
    std::vector<DecodePiece> pieces;
    pieces.reserve(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      const int32_t id = ids[i];
      if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || id_to_token_[static_cast<size_t>(id)].empty()) {
        return Status::invalid_argument("decode: id " + std::to_string(id) + " (position " + std::to_string(i) +
                                        ") is not in the vocabulary of " + origin_ + " (ids 0.." +
                                        std::to_string(id_to_token_.size() - 1) + ")");
      }
      const bool added = added_ids_.count(id) > 0;
      if (options.skip_special_tokens && special_ids_.count(id)) continue;
      pieces.push_back({std::string(id_to_token_[static_cast<size_t>(id)]), added});
    }
    std::string text;
    if (decoder_) {
      MLXPACK_RETURN_IF_ERROR(decoder_->decode(&pieces));
      text = join_pieces(pieces);
    } else {
      for (size_t i = 0; i < pieces.size(); ++i) {
        if (i) text.push_back(' ');
        text += pieces[i].text;
      }
    }
    if (options.clean_up_tokenization_spaces.value_or(config_.clean_up_tokenization_spaces)) {
      text = clean_up_tokenization(std::move(text));
    }
    return text;
  }

  size_t vocab_size() const override { return id_to_token_.size(); }
  std::optional<int32_t> token_to_id(std::string_view token) const override {
    auto it = added_by_content_.find(std::string(token));
    if (it != added_by_content_.end()) return it->second;
    return model_->token_to_id(token);
  }
  std::string id_to_token(int32_t id) const override {
    if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) return {};
    return std::string(id_to_token_[static_cast<size_t>(id)]);
  }
  bool is_special(int32_t id) const override { return special_ids_.count(id) > 0; }
  const std::string& bos_token() const override { return config_.bos_token; }
  const std::string& eos_token() const override { return config_.eos_token; }
  const std::string& chat_template() const override { return config_.chat_template; }

  Status init(const Json& j, TokenizerConfig config, std::string origin, const TokenizerLimits& limits);

 private:
  Status encode_impl(std::string_view text, bool add_special, const TokenOutput& out) const;

  // Runs encode_impl with `slot` of TokenOutput pointing at the result.
  template <typename T>
  Result<std::vector<T>> encode_into(std::vector<T>* TokenOutput::*slot, std::string_view text,
                                     bool add_special) const {
    std::vector<T> result;
    TokenOutput out;
    out.*slot = &result;
    MLXPACK_RETURN_IF_ERROR(encode_impl(text, add_special, out));
    return result;
  }
  Status encode_text_segment(std::string_view segment, bool at_text_start, const TokenOutput& out) const;
  void model_tokens(std::string_view piece, std::vector<int32_t>* ids) const;

  std::string origin_;
  TokenizerConfig config_;
  TokenizerLimits limits_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;
  AddedVocabulary added_;
  std::unordered_map<std::string, int32_t> added_by_content_;
  std::unordered_set<int32_t> added_ids_;
  std::unordered_set<int32_t> special_ids_;
  // Model vocabulary plus added tokens, as views of the model's strings and
  // of added_contents_ (a deque: its strings never move), so the table costs
  // 16 bytes per id rather than a second copy of every token.
  std::deque<std::string> added_contents_;
  std::vector<std::string_view> id_to_token_;

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

Status HfTokenizer::init(const Json& j, TokenizerConfig config, std::string origin, const TokenizerLimits& limits) {
  origin_ = std::move(origin);
  config_ = std::move(config);
  limits_ = limits;
  const std::string& w = origin_;
  MLXPACK_ASSIGN_OR_RETURN(const Json* model, required_object(j, "model", w));
  // Files written by older versions of `tokenizers` have no model.type; a
  // model with merges is BPE then.
  std::string type = "BPE";
  if (find_field(*model, "type")) {
    MLXPACK_ASSIGN_OR_RETURN(type, required_string(*model, "type", w + ".model"));
  }
  if (type != "BPE") {
    return Status::unsupported(w + ".model.type: \"" + type +
                               "\" is not supported (supported: BPE; SentencePiece models are read from "
                               "tokenizer.model)");
  }
  MLXPACK_ASSIGN_OR_RETURN(model_, BpeModel::from_json(*model, w + ".model", limits));
  if (const Json* n = find_field(j, "normalizer")) {
    MLXPACK_ASSIGN_OR_RETURN(normalizer_, make_normalizer(*n, w + ".normalizer"));
  }
  if (const Json* p = find_field(j, "pre_tokenizer")) {
    MLXPACK_ASSIGN_OR_RETURN(pre_tokenizer_, make_pre_tokenizer(*p, w + ".pre_tokenizer"));
  }
  if (const Json* p = find_field(j, "post_processor")) {
    MLXPACK_ASSIGN_OR_RETURN(post_processor_, make_post_processor(*p, w + ".post_processor"));
  }
  if (const Json* d = find_field(j, "decoder")) {
    MLXPACK_ASSIGN_OR_RETURN(decoder_, make_decoder(*d, w + ".decoder"));
  }

  id_to_token_.assign(model_->size(), std::string_view());
  for (size_t id = 0; id < model_->size(); ++id) id_to_token_[id] = model_->id_to_token(static_cast<int32_t>(id));

  std::vector<AddedToken> added;
  std::vector<std::string> match;
  if (const Json* list = find_field(j, "added_tokens")) {
    if (!list->is_array()) return field_error(w + ".added_tokens", "expected an array");
    for (size_t i = 0; i < list->size(); ++i) {
      const Json& item = (*list)[i];
      const std::string path = w + ".added_tokens[" + std::to_string(i) + "]";
      if (!item.is_object()) return field_error(path, "expected an object");
      AddedToken t;
      MLXPACK_ASSIGN_OR_RETURN(int64_t id, required_int(item, "id", path, 0, static_cast<int64_t>(limits.max_vocab_size) - 1));
      t.id = static_cast<int32_t>(id);
      MLXPACK_ASSIGN_OR_RETURN(t.content, required_string(item, "content", path));
      if (t.content.empty()) return field_error(path + ".content", "must not be empty");
      if (t.content.size() > limits.max_token_bytes) {
        return field_error(path + ".content", "is " + std::to_string(t.content.size()) + " bytes, more than the limit " +
                                                  std::to_string(limits.max_token_bytes));
      }
      if (auto bad = text::find_invalid_utf8(t.content)) {
        return field_error(path + ".content", "is not valid UTF-8 (byte " + std::to_string(*bad) + ")");
      }
      MLXPACK_ASSIGN_OR_RETURN(t.single_word, optional_bool(item, "single_word", path, false));
      MLXPACK_ASSIGN_OR_RETURN(t.lstrip, optional_bool(item, "lstrip", path, false));
      MLXPACK_ASSIGN_OR_RETURN(t.rstrip, optional_bool(item, "rstrip", path, false));
      MLXPACK_ASSIGN_OR_RETURN(t.special, optional_bool(item, "special", path, false));
      MLXPACK_ASSIGN_OR_RETURN(t.normalized, optional_bool(item, "normalized", path, !t.special));
      std::string content = t.content;
      if (t.normalized && normalizer_) {
        MLXPACK_RETURN_IF_ERROR(normalizer_->normalize(&content, max_rewritten_bytes(content.size())));
      }
      if (static_cast<size_t>(t.id) >= id_to_token_.size()) id_to_token_.resize(static_cast<size_t>(t.id) + 1);
      id_to_token_[static_cast<size_t>(t.id)] = added_contents_.emplace_back(t.content);
      added_by_content_[t.content] = t.id;
      added_ids_.insert(t.id);
      if (t.special) special_ids_.insert(t.id);
      match.push_back(std::move(content));
      added.push_back(std::move(t));
    }
  }
  added_.build(std::move(added), match);
  return Status::ok();
}

void HfTokenizer::model_tokens(std::string_view piece, std::vector<int32_t>* ids) const {
  if (piece.size() >= kMaxCachedPieceBytes) {
    model_->tokenize(piece, ids);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(std::string(piece));
    if (it != cache_.end()) {
      ids->insert(ids->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> result;
  model_->tokenize(piece, &result);
  ids->insert(ids->end(), result.begin(), result.end());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();  // bounded memory
  cache_.emplace(std::string(piece), std::move(result));
}

Status HfTokenizer::encode_text_segment(std::string_view segment, bool at_text_start, const TokenOutput& out) const {
  std::string normalized;
  if (normalizer_) {
    normalized.assign(segment);
    const size_t max_bytes = max_rewritten_bytes(segment.size());
    MLXPACK_RETURN_IF_ERROR(normalizer_->normalize(&normalized, max_bytes));
    if (normalized.size() > max_bytes) {
      return Status::invalid_argument(origin_ + ".normalizer: normalized text grows past the limit of " +
                                      std::to_string(max_bytes) + " bytes (16 x the input + 4096)");
    }
    segment = normalized;
  }
  std::vector<Segment> parts;
  added_.split(segment, /*normalized_class=*/true, &parts);
  // Pre-tokenized pieces arrive one at a time and go straight to the model,
  // so memory stays bounded however long the text is.
  std::vector<int32_t> ids;
  auto tokenize = [&](std::string_view text) {
    std::vector<int32_t>* target = out.ids ? out.ids : &ids;
    ids.clear();
    for (size_t from = 0; from < text.size();) model_tokens(model_->next_independent_part(text, &from), target);
    if (!out.ids) {
      for (int32_t id : ids) out.add(id, id_to_token_[static_cast<size_t>(id)]);
    }
  };
  auto to_model = make_sink([&](Piece piece) {
    tokenize(piece.text);
    return Status::ok();
  });
  for (const Segment& part : parts) {
    if (part.token >= 0) {
      const AddedToken& t = added_.tokens()[static_cast<size_t>(part.token)];
      out.add(t.id, t.content);
      continue;
    }
    const std::string_view text = segment.substr(part.begin, part.end - part.begin);
    if (!pre_tokenizer_) {
      tokenize(text);
      continue;
    }
    MLXPACK_RETURN_IF_ERROR(pre_tokenizer_->split(Piece{std::string(text), at_text_start && part.begin == 0}, to_model));
  }
  return Status::ok();
}

Status HfTokenizer::encode_impl(std::string_view text, bool add_special, const TokenOutput& out) const {
  if (text.size() > limits_.max_text_bytes) {
    return Status::invalid_argument("encode: text is " + std::to_string(text.size()) + " bytes, more than the limit " +
                                    std::to_string(limits_.max_text_bytes));
  }
  if (auto bad = text::find_invalid_utf8(text)) {
    return Status::invalid_argument("encode: text is not valid UTF-8: invalid byte 0x" +
                                    [&] {
                                      static const char* hex = "0123456789abcdef";
                                      const auto b = static_cast<unsigned char>(text[*bad]);
                                      return std::string{hex[b >> 4], hex[b & 15]};
                                    }() +
                                    " at byte offset " + std::to_string(*bad));
  }
  // English runs at about four bytes per token; one reservation spares the
  // copies of a growing vector (and, for long texts, fresh pages each time).
  const size_t expected_tokens = text.size() / 4 + 16;
  if (out.ids) {
    out.ids->reserve(expected_tokens);
  } else {
    out.pieces->reserve(expected_tokens);
  }
  std::vector<TokenPiece> before;
  std::vector<TokenPiece> after;
  if (add_special && post_processor_) post_processor_->wrap(&before, &after);
  for (const TokenPiece& t : before) out.add(t.id, t.piece);
  std::vector<Segment> parts;
  added_.split(text, /*normalized_class=*/false, &parts);
  for (const Segment& part : parts) {
    if (part.token >= 0) {
      const AddedToken& t = added_.tokens()[static_cast<size_t>(part.token)];
      out.add(t.id, t.content);
      continue;
    }
    MLXPACK_RETURN_IF_ERROR(
        encode_text_segment(text.substr(part.begin, part.end - part.begin), part.begin == 0, out));
  }
  for (const TokenPiece& t : after) out.add(t.id, t.piece);
  return Status::ok();
}

// Whether `j` nests more than `limit` arrays and objects deep (walked with
// an explicit stack: the input may nest 100,000 deep).
bool json_depth_exceeds(const Json& j, uint32_t limit) {
  std::vector<std::pair<const Json*, uint32_t>> stack{{&j, 1}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (!node->is_structured()) continue;
    if (depth > limit) return true;
    for (const Json& child : *node) stack.emplace_back(&child, depth + 1);
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> make_hf_tokenizer(std::string_view tokenizer_json, TokenizerConfig config,
                                                     std::string_view origin, const TokenizerLimits& limits) {
  const std::string where(origin);
  if (tokenizer_json.size() > limits.max_tokenizer_json_bytes) {
    return Status::invalid_argument(where + ": " + std::to_string(tokenizer_json.size()) +
                                    " bytes, more than the limit " + std::to_string(limits.max_tokenizer_json_bytes));
  }
  Json j = Json::parse(tokenizer_json.begin(), tokenizer_json.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::invalid_argument(where + ": not valid JSON");
  if (!j.is_object()) return Status::invalid_argument(where + ": expected a JSON object at the top level");
  // Components are built recursively (a Sequence of Sequences): bound their
  // nesting before building any of them.
  for (const char* field : {"normalizer", "pre_tokenizer", "post_processor", "decoder"}) {
    const Json* component = find_field(j, field);
    if (component && json_depth_exceeds(*component, limits.max_component_depth)) {
      return Status::invalid_argument(where + "." + field + ": nests deeper than the limit of " +
                                      std::to_string(limits.max_component_depth) + " JSON levels");
    }
  }
  auto tok = std::make_unique<HfTokenizer>();
  try {
    MLXPACK_RETURN_IF_ERROR(tok->init(j, std::move(config), where, limits));
  } catch (const std::bad_alloc&) {
    return Status::out_of_memory(where + ": out of memory while loading");
  } catch (const std::exception& e) {  // nlohmann type errors we did not foresee
    return Status::invalid_argument(where + ": " + e.what());
  }
  return std::unique_ptr<Tokenizer>(std::move(tok));
}

}  // namespace mlxpack::tokenizer
