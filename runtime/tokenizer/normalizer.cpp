#include "runtime/tokenizer/normalizer.h"

#include <vector>

#include "runtime/text/unicode.h"
#include "runtime/text/utf8.h"
#include "runtime/tokenizer/pattern.h"

namespace mlxpack::tokenizer {

namespace {

Status grown_past(const std::string& where, size_t max_bytes) {
  return Status::invalid_argument(where + ": normalized text grows past the limit of " + std::to_string(max_bytes) +
                                  " bytes (16 x the input + 4096)");
}

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(text::NormalForm form) : form_(form) {}
  Status normalize(std::string* s, size_t /*max_bytes: grows a bounded factor; callers check*/) const override {
    *s = text::normalize(*s, form_);
    return Status::ok();
  }

 private:
  text::NormalForm form_;
};

class LowercaseNormalizer final : public Normalizer {
 public:
  Status normalize(std::string* s, size_t /*max_bytes: grows a bounded factor; callers check*/) const override {
    *s = text::to_lower(*s);
    return Status::ok();
  }
};

class StripAccentsNormalizer final : public Normalizer {
 public:
  Status normalize(std::string* s, size_t /*max_bytes: grows a bounded factor; callers check*/) const override {
    *s = text::strip_accents(*s);
    return Status::ok();
  }
};

class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  Status normalize(std::string* s, size_t /*max_bytes: grows a bounded factor; callers check*/) const override {
    *s = std::string(text::trim_if(*s, text::is_whitespace, left_, right_));
    return Status::ok();
  }

 private:
  bool left_;
  bool right_;
};

class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  Status normalize(std::string* s, size_t /*max_bytes: grows a bounded factor; callers check*/) const override {
    if (!s->empty()) s->insert(0, prefix_);  // an empty text stays empty, as in the reference
    return Status::ok();
  }

 private:
  std::string prefix_;
};

class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(Pattern pattern, std::string content, std::string where)
      : pattern_(std::move(pattern)), content_(std::move(content)), where_(std::move(where)) {}
  Status normalize(std::string* s, size_t max_bytes) const override {
    std::string out;
    MLXPACK_RETURN_IF_ERROR(pattern_.replace_all(*s, content_, &out, max_bytes));
    if (out.size() > max_bytes) return grown_past(where_, max_bytes);
    *s = std::move(out);
    return Status::ok();
  }

 private:
  Pattern pattern_;
  std::string content_;
  std::string where_;
};

// BERT's normalizer: drop control characters and U+FFFD, map whitespace to
// ' ', space out CJK ideographs, then optionally strip accents and lowercase.
class BertNormalizer final : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool chinese, bool strip_accents, bool lowercase)
      : clean_text_(clean_text), chinese_(chinese), strip_accents_(strip_accents), lowercase_(lowercase) {}
  Status normalize(std::string* s, size_t /*max_bytes: grows a bounded factor; callers check*/) const override {
    std::string out;
    out.reserve(s->size());
    size_t i = 0;
    while (i < s->size()) {
      char32_t cp;
      if (!text::decode_next(*s, &i, &cp)) return Status::invalid_argument("BertNormalizer: invalid UTF-8");
      if (clean_text_) {
        if (cp == 0 || cp == 0xFFFD) continue;
        if (cp == '\t' || cp == '\n' || cp == '\r' || text::is_whitespace(cp)) {
          out.push_back(' ');
          continue;
        }
        if (text::is_control(cp)) continue;
      }
      if (chinese_ && is_cjk(cp)) {
        out.push_back(' ');
        text::append_utf8(&out, cp);
        out.push_back(' ');
        continue;
      }
      text::append_utf8(&out, cp);
    }
    if (strip_accents_) out = text::strip_accents(text::normalize(out, text::NormalForm::kNFD));
    if (lowercase_) out = text::to_lower(out);
    *s = std::move(out);
    return Status::ok();
  }

 private:
  static bool is_cjk(char32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
  }
  bool clean_text_;
  bool chinese_;
  bool strip_accents_;
  bool lowercase_;
};

class SequenceNormalizer final : public Normalizer {
 public:
  SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps, std::string where)
      : steps_(std::move(steps)), where_(std::move(where)) {}
  Status normalize(std::string* s, size_t max_bytes) const override {
    for (size_t k = 0; k < steps_.size(); ++k) {
      MLXPACK_RETURN_IF_ERROR(steps_[k]->normalize(s, max_bytes));
      if (s->size() > max_bytes) return grown_past(where_ + ".normalizers[" + std::to_string(k) + "]", max_bytes);
    }
    return Status::ok();
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
  std::string where_;
};

}  // namespace

Result<std::unique_ptr<Normalizer>> make_normalizer(const Json& spec, const std::string& where) {
  if (!spec.is_object()) return field_error(where, std::string("expected an object, got ") + json_type_name(spec));
  MLXPACK_ASSIGN_OR_RETURN(std::string type, required_string(spec, "type", where));
  if (type == "NFC") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(text::NormalForm::kNFC));
  if (type == "NFD") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(text::NormalForm::kNFD));
  if (type == "NFKC") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(text::NormalForm::kNFKC));
  if (type == "NFKD") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(text::NormalForm::kNFKD));
  if (type == "Lowercase") return std::unique_ptr<Normalizer>(new LowercaseNormalizer());
  if (type == "StripAccents") return std::unique_ptr<Normalizer>(new StripAccentsNormalizer());
  if (type == "Strip") {
    MLXPACK_ASSIGN_OR_RETURN(bool left, optional_bool(spec, "strip_left", where, true));
    MLXPACK_ASSIGN_OR_RETURN(bool right, optional_bool(spec, "strip_right", where, true));
    return std::unique_ptr<Normalizer>(new StripNormalizer(left, right));
  }
  if (type == "Prepend") {
    MLXPACK_ASSIGN_OR_RETURN(std::string prefix, required_string(spec, "prepend", where));
    return std::unique_ptr<Normalizer>(new PrependNormalizer(std::move(prefix)));
  }
  if (type == "Replace") {
    MLXPACK_ASSIGN_OR_RETURN(Pattern pattern, Pattern::from_json(spec, "pattern", where));
    MLXPACK_ASSIGN_OR_RETURN(std::string content, required_string(spec, "content", where));
    return std::unique_ptr<Normalizer>(new ReplaceNormalizer(std::move(pattern), std::move(content), where));
  }
  if (type == "BertNormalizer") {
    MLXPACK_ASSIGN_OR_RETURN(bool clean, optional_bool(spec, "clean_text", where, true));
    MLXPACK_ASSIGN_OR_RETURN(bool chinese, optional_bool(spec, "handle_chinese_chars", where, true));
    MLXPACK_ASSIGN_OR_RETURN(bool lowercase, optional_bool(spec, "lowercase", where, true));
    // strip_accents: null means "follow lowercase", as in the reference.
    MLXPACK_ASSIGN_OR_RETURN(bool strip, optional_bool(spec, "strip_accents", where, lowercase));
    return std::unique_ptr<Normalizer>(new BertNormalizer(clean, chinese, strip, lowercase));
  }
  if (type == "Sequence") {
    MLXPACK_ASSIGN_OR_RETURN(auto steps, make_each<Normalizer>(spec, "normalizers", where, make_normalizer));
    return std::unique_ptr<Normalizer>(new SequenceNormalizer(std::move(steps), where));
  }
  return Status::unsupported(where + ".type: normalizer \"" + type +
                             "\" is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, "
                             "Replace, Prepend, BertNormalizer, Sequence)");
}

}  // namespace mlxpack::tokenizer
