#include "runtime/tokenizer/pre_tokenizer.h"

#include <functional>

#include "runtime/text/unicode.h"
#include "runtime/text/utf8.h"
#include "runtime/tokenizer/byte_level.h"
#include "runtime/tokenizer/pattern.h"

namespace mlxpack::tokenizer {

namespace {

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

Result<Behavior> parse_behavior(const Json& spec, const std::string& where, Behavior fallback) {
  const Json* v = find_field(spec, "behavior");
  if (!v) return fallback;
  if (!v->is_string()) return field_error(where + ".behavior", "expected a string");
  const std::string s = v->get<std::string>();
  if (s == "Removed") return Behavior::kRemoved;
  if (s == "Isolated") return Behavior::kIsolated;
  if (s == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (s == "MergedWithNext") return Behavior::kMergedWithNext;
  if (s == "Contiguous") return Behavior::kContiguous;
  return field_error(where + ".behavior", "\"" + s +
                                              "\" is not one of Removed, Isolated, MergedWithPrevious, "
                                              "MergedWithNext, Contiguous");
}

struct Span {
  size_t begin;
  size_t end;
  bool is_match;
};

// Splits `piece` around `matches` (sorted, non-overlapping) the way the
// reference's NormalizedString::split does for each behavior.
void split_piece(const Piece& piece, const std::vector<Match>& matches, Behavior behavior, bool invert,
                 std::vector<Piece>* out) {
  const std::string& s = piece.text;
  std::vector<Span> spans;
  spans.reserve(matches.size() * 2 + 1);
  size_t prev = 0;
  for (const Match& m : matches) {
    if (prev != m.begin) spans.push_back({prev, m.begin, invert});
    spans.push_back({m.begin, m.end, !invert});
    prev = m.end;
  }
  if (prev != s.size()) spans.push_back({prev, s.size(), invert});

  std::vector<Span> result;
  result.reserve(spans.size());
  switch (behavior) {
    case Behavior::kRemoved:
      for (const Span& sp : spans)
        if (!sp.is_match) result.push_back(sp);
      break;
    case Behavior::kIsolated:
      result = spans;
      break;
    case Behavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const Span& sp : spans) {
        if (sp.is_match && !previous_match && !result.empty()) {
          result.back().end = sp.end;
        } else {
          result.push_back(sp);
        }
        previous_match = sp.is_match;
      }
      break;
    }
    case Behavior::kMergedWithNext: {
      bool previous_match = false;
      for (size_t k = spans.size(); k-- > 0;) {
        const Span& sp = spans[k];
        if (sp.is_match && !previous_match && !result.empty()) {
          result.back().begin = sp.begin;
        } else {
          result.push_back(sp);
        }
        previous_match = sp.is_match;
      }
      std::reverse(result.begin(), result.end());
      break;
    }
    case Behavior::kContiguous: {
      bool previous_match = false;
      for (const Span& sp : spans) {
        if (sp.is_match == previous_match && !result.empty()) {
          result.back().end = sp.end;
        } else {
          result.push_back(sp);
        }
        previous_match = sp.is_match;
      }
      break;
    }
  }
  for (const Span& sp : result) {
    if (sp.end == sp.begin) continue;
    out->push_back(Piece{s.substr(sp.begin, sp.end - sp.begin), piece.at_text_start && sp.begin == 0});
  }
}

// Each code point for which `pred` holds is one match.
void char_matches(const std::string& s, const std::function<bool(char32_t)>& pred, std::vector<Match>* matches) {
  matches->clear();
  size_t i = 0;
  while (i < s.size()) {
    const size_t begin = i;
    char32_t cp;
    if (!text::decode_next(s, &i, &cp)) {
      ++i;
      continue;
    }
    if (pred(cp)) matches->push_back({begin, i});
  }
}

// Splits every piece with a pattern.
class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(Pattern pattern, Behavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  Status split(std::vector<Piece>* pieces) const override {
    std::vector<Piece> out;
    out.reserve(pieces->size() * 4);
    std::vector<Match> matches;
    for (const Piece& p : *pieces) {
      MLXPACK_RETURN_IF_ERROR(pattern_.find_all(p.text, &matches));
      split_piece(p, matches, behavior_, invert_, &out);
    }
    *pieces = std::move(out);
    return Status::ok();
  }

 private:
  Pattern pattern_;
  Behavior behavior_;
  bool invert_;
};

class PredicatePreTokenizer final : public PreTokenizer {
 public:
  PredicatePreTokenizer(std::function<bool(char32_t)> pred, Behavior behavior)
      : pred_(std::move(pred)), behavior_(behavior) {}
  Status split(std::vector<Piece>* pieces) const override {
    std::vector<Piece> out;
    std::vector<Match> matches;
    for (const Piece& p : *pieces) {
      char_matches(p.text, pred_, &matches);
      split_piece(p, matches, behavior_, false, &out);
    }
    *pieces = std::move(out);
    return Status::ok();
  }

 private:
  std::function<bool(char32_t)> pred_;
  Behavior behavior_;
};

// GPT-2's pre-tokenization regex, used by ByteLevel when use_regex is set.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::shared_ptr<const Regex> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}
  Status split(std::vector<Piece>* pieces) const override {
    std::vector<Piece> out;
    out.reserve(pieces->size());
    std::vector<Match> matches;
    for (Piece& p : *pieces) {
      if (add_prefix_space_ && (p.text.empty() || p.text[0] != ' ')) p.text.insert(0, " ");
      if (regex_) {
        MLXPACK_RETURN_IF_ERROR(regex_->find_all(p.text, &matches));
        split_piece(p, matches, Behavior::kIsolated, false, &out);
      } else if (!p.text.empty()) {
        out.push_back(std::move(p));
      }
    }
    for (Piece& p : out) {
      std::string mapped;
      mapped.reserve(p.text.size() * 2);
      append_byte_level(p.text, &mapped);
      p.text = std::move(mapped);
    }
    *pieces = std::move(out);
    return Status::ok();
  }

 private:
  bool add_prefix_space_;
  std::shared_ptr<const Regex> regex_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(replacement), separator_(Pattern::literal(replacement)), scheme_(scheme), split_(split) {}
  Status split(std::vector<Piece>* pieces) const override {
    std::vector<Piece> out;
    std::vector<Match> matches;
    for (Piece& p : *pieces) {
      std::string replaced;
      replaced.reserve(p.text.size() + replacement_.size());
      for (char c : p.text) {
        if (c == ' ') {
          replaced += replacement_;
        } else {
          replaced.push_back(c);
        }
      }
      const bool starts = replaced.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts && (scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && p.at_text_start))) {
        replaced.insert(0, replacement_);
      }
      Piece q{std::move(replaced), p.at_text_start};
      if (split_) {
        MLXPACK_RETURN_IF_ERROR(separator_.find_all(q.text, &matches));
        split_piece(q, matches, Behavior::kMergedWithNext, false, &out);
      } else if (!q.text.empty()) {
        out.push_back(std::move(q));
      }
    }
    *pieces = std::move(out);
    return Status::ok();
  }

 private:
  std::string replacement_;
  Pattern separator_;
  PrependScheme scheme_;
  bool split_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  Status split(std::vector<Piece>* pieces) const override {
    for (const auto& step : steps_) MLXPACK_RETURN_IF_ERROR(step->split(pieces));
    return Status::ok();
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

bool is_bert_punctuation(char32_t cp) {
  return (cp < 0x80 && std::ispunct(static_cast<int>(cp))) || text::is_punctuation(cp);
}

}  // namespace

Result<std::unique_ptr<PreTokenizer>> make_pre_tokenizer(const Json& spec, const std::string& where) {
  if (!spec.is_object()) return field_error(where, std::string("expected an object, got ") + json_type_name(spec));
  MLXPACK_ASSIGN_OR_RETURN(std::string type, required_string(spec, "type", where));
  if (type == "Split") {
    MLXPACK_ASSIGN_OR_RETURN(Pattern pattern, Pattern::from_json(spec, "pattern", where));
    MLXPACK_ASSIGN_OR_RETURN(Behavior behavior, parse_behavior(spec, where, Behavior::kIsolated));
    MLXPACK_ASSIGN_OR_RETURN(bool invert, optional_bool(spec, "invert", where, false));
    return std::unique_ptr<PreTokenizer>(new SplitPreTokenizer(std::move(pattern), behavior, invert));
  }
  if (type == "ByteLevel") {
    MLXPACK_ASSIGN_OR_RETURN(bool prefix, optional_bool(spec, "add_prefix_space", where, true));
    MLXPACK_ASSIGN_OR_RETURN(bool use_regex, optional_bool(spec, "use_regex", where, true));
    std::shared_ptr<const Regex> regex;
    if (use_regex) {
      MLXPACK_ASSIGN_OR_RETURN(regex, Regex::compile(kGpt2Pattern, where + " (GPT-2 pattern)"));
    }
    return std::unique_ptr<PreTokenizer>(new ByteLevelPreTokenizer(prefix, std::move(regex)));
  }
  if (type == "Metaspace") {
    MLXPACK_ASSIGN_OR_RETURN(std::string replacement, optional_string(spec, "replacement", where, "\xE2\x96\x81"));
    if (replacement.empty()) return field_error(where + ".replacement", "must not be empty");
    PrependScheme scheme = PrependScheme::kAlways;
    if (const Json* v = find_field(spec, "prepend_scheme")) {
      if (!v->is_string()) return field_error(where + ".prepend_scheme", "expected a string");
      const std::string s = v->get<std::string>();
      if (s == "always") {
        scheme = PrependScheme::kAlways;
      } else if (s == "first") {
        scheme = PrependScheme::kFirst;
      } else if (s == "never") {
        scheme = PrependScheme::kNever;
      } else {
        return field_error(where + ".prepend_scheme", "\"" + s + "\" is not one of always, first, never");
      }
    } else {
      // Files written before prepend_scheme existed say add_prefix_space.
      MLXPACK_ASSIGN_OR_RETURN(bool prefix, optional_bool(spec, "add_prefix_space", where, true));
      scheme = prefix ? PrependScheme::kAlways : PrependScheme::kNever;
    }
    MLXPACK_ASSIGN_OR_RETURN(bool split, optional_bool(spec, "split", where, true));
    return std::unique_ptr<PreTokenizer>(new MetaspacePreTokenizer(std::move(replacement), scheme, split));
  }
  if (type == "Whitespace") {
    MLXPACK_ASSIGN_OR_RETURN(Pattern pattern,
                             Pattern::from_json(Json{{"pattern", {{"Regex", R"(\w+|[^\w\s]+)"}}}}, "pattern", where));
    return std::unique_ptr<PreTokenizer>(new SplitPreTokenizer(std::move(pattern), Behavior::kRemoved, true));
  }
  if (type == "WhitespaceSplit") {
    return std::unique_ptr<PreTokenizer>(new PredicatePreTokenizer(text::is_whitespace, Behavior::kRemoved));
  }
  if (type == "Digits") {
    MLXPACK_ASSIGN_OR_RETURN(bool individual, optional_bool(spec, "individual_digits", where, false));
    return std::unique_ptr<PreTokenizer>(new PredicatePreTokenizer(
        text::is_number, individual ? Behavior::kIsolated : Behavior::kContiguous));
  }
  if (type == "Punctuation") {
    MLXPACK_ASSIGN_OR_RETURN(Behavior behavior, parse_behavior(spec, where, Behavior::kIsolated));
    return std::unique_ptr<PreTokenizer>(new PredicatePreTokenizer(is_bert_punctuation, behavior));
  }
  if (type == "BertPreTokenizer") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    steps.emplace_back(new PredicatePreTokenizer(text::is_whitespace, Behavior::kRemoved));
    steps.emplace_back(new PredicatePreTokenizer(is_bert_punctuation, Behavior::kIsolated));
    return std::unique_ptr<PreTokenizer>(new SequencePreTokenizer(std::move(steps)));
  }
  if (type == "Sequence") {
    MLXPACK_ASSIGN_OR_RETURN(auto steps, make_each<PreTokenizer>(spec, "pretokenizers", where, make_pre_tokenizer));
    return std::unique_ptr<PreTokenizer>(new SequencePreTokenizer(std::move(steps)));
  }
  return Status::unsupported(where + ".type: pre-tokenizer \"" + type +
                             "\" is not supported (supported: Split, ByteLevel, Metaspace, Whitespace, "
                             "WhitespaceSplit, Digits, Punctuation, BertPreTokenizer, Sequence)");
}

}  // namespace mlxpack::tokenizer
