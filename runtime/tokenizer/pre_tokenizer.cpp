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

// Splits one piece around its matches, given left to right, the way the
// reference's NormalizedString::split does for each behavior. The spans
// (text between matches, and the matches) are merged as the behavior says
// and sent to the sink as soon as they are complete: at most one span is
// held back, so any number of matches takes constant memory.
class SpanSplitter {
 public:
  SpanSplitter(const Piece& piece, Behavior behavior, bool invert, PieceSink& sink)
      : piece_(piece), behavior_(behavior), invert_(invert), sink_(sink) {}

  // REQUIRES: matches sorted and non-overlapping, within the piece.
  Status add_match(const Match& m) {
    if (prev_ != m.begin) MLXPACK_RETURN_IF_ERROR(add_span({prev_, m.begin, invert_}));
    MLXPACK_RETURN_IF_ERROR(add_span({m.begin, m.end, !invert_}));
    prev_ = m.end;
    return Status::ok();
  }

  Status finish() {
    if (prev_ != piece_.text.size()) MLXPACK_RETURN_IF_ERROR(add_span({prev_, piece_.text.size(), invert_}));
    if (!has_pending_) return Status::ok();
    has_pending_ = false;
    return emit(pending_);
  }

 private:
  Status add_span(const Span& sp) {
    switch (behavior_) {
      case Behavior::kRemoved:
        return sp.is_match ? Status::ok() : emit(sp);
      case Behavior::kIsolated:
        return emit(sp);
      case Behavior::kMergedWithPrevious: {
        // A match joins the span before it, unless that one is a match.
        const bool merge = sp.is_match && !previous_match_ && has_pending_;
        previous_match_ = sp.is_match;
        if (merge) {
          pending_.end = sp.end;
          return Status::ok();
        }
        return hold(sp);
      }
      case Behavior::kMergedWithNext:
        // A match joins the span after it, unless that one is a match: the
        // held span, if any, is a match.
        if (has_pending_ && !sp.is_match) {
          has_pending_ = false;
          return emit({pending_.begin, sp.end, false});
        }
        if (sp.is_match) return hold(sp);
        return emit(sp);
      case Behavior::kContiguous: {
        // Runs of matches, and runs of the rest, become one span each.
        const bool merge = has_pending_ && sp.is_match == previous_match_;
        previous_match_ = sp.is_match;
        if (merge) {
          pending_.end = sp.end;
          return Status::ok();
        }
        return hold(sp);
      }
    }
    return Status::ok();
  }

  // Emits the held span, if any, and holds `sp` instead.
  Status hold(const Span& sp) {
    if (has_pending_) MLXPACK_RETURN_IF_ERROR(emit(pending_));
    pending_ = sp;
    has_pending_ = true;
    return Status::ok();
  }

  Status emit(const Span& sp) {
    if (sp.end == sp.begin) return Status::ok();
    return sink_.take(Piece{piece_.text.substr(sp.begin, sp.end - sp.begin), piece_.at_text_start && sp.begin == 0});
  }

  const Piece& piece_;
  const Behavior behavior_;
  const bool invert_;
  PieceSink& sink_;
  size_t prev_ = 0;  // end of the last match
  Span pending_{0, 0, false};
  bool has_pending_ = false;
  bool previous_match_ = false;
};

// Splits `piece` around the matches that `next_batch(&from, &matches)`
// returns batch by batch (the find_next contract of Regex and Pattern).
template <typename NextBatch>
Status split_around(const Piece& piece, Behavior behavior, bool invert, PieceSink& sink, NextBatch next_batch) {
  SpanSplitter splitter(piece, behavior, invert, sink);
  std::vector<Match> matches;
  size_t from = 0;
  while (from != Regex::kDone) {
    MLXPACK_RETURN_IF_ERROR(next_batch(&from, &matches));
    for (const Match& m : matches) MLXPACK_RETURN_IF_ERROR(splitter.add_match(m));
  }
  return splitter.finish();
}

// Splits `piece` around the matches of a Pattern or Regex.
template <typename Matcher>
Status split_around(const Piece& piece, const Matcher& matcher, Behavior behavior, bool invert, PieceSink& sink) {
  return split_around(piece, behavior, invert, sink, [&](size_t* from, std::vector<Match>* matches) {
    return matcher.find_next(piece.text, from, kMatchBatch, matches);
  });
}

// Splits every piece with a pattern.
class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(Pattern pattern, Behavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  Status split(Piece piece, PieceSink& sink) const override {
    return split_around(piece, pattern_, behavior_, invert_, sink);
  }

 private:
  Pattern pattern_;
  Behavior behavior_;
  bool invert_;
};

// Each code point for which the predicate holds is one match.
class PredicatePreTokenizer final : public PreTokenizer {
 public:
  PredicatePreTokenizer(std::function<bool(char32_t)> pred, Behavior behavior)
      : pred_(std::move(pred)), behavior_(behavior) {}
  Status split(Piece piece, PieceSink& sink) const override {
    const std::string& s = piece.text;
    return split_around(piece, behavior_, false, sink, [&](size_t* from, std::vector<Match>* matches) {
      matches->clear();
      size_t i = *from;
      while (i < s.size() && matches->size() < kMatchBatch) {
        const size_t begin = i;
        char32_t cp;
        if (!text::decode_next(s, &i, &cp)) {
          i = begin + 1;
          continue;
        }
        if (pred_(cp)) matches->push_back({begin, i});
      }
      *from = i < s.size() ? i : Regex::kDone;
      return Status::ok();
    });
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
  Status split(Piece piece, PieceSink& sink) const override {
    if (add_prefix_space_ && (piece.text.empty() || piece.text[0] != ' ')) piece.text.insert(0, " ");
    auto to_byte_level = make_sink([&](Piece p) {
      std::string mapped;
      append_byte_level(p.text, &mapped);
      p.text = std::move(mapped);
      return sink.take(std::move(p));
    });
    if (!regex_) return piece.text.empty() ? Status::ok() : to_byte_level.take(std::move(piece));
    return split_around(piece, *regex_, Behavior::kIsolated, false, to_byte_level);
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
  Status split(Piece piece, PieceSink& sink) const override {
    std::string replaced;
    replaced.reserve(piece.text.size() + replacement_.size());
    for (char c : piece.text) {
      if (c == ' ') {
        replaced += replacement_;
      } else {
        replaced.push_back(c);
      }
    }
    const bool starts = replaced.compare(0, replacement_.size(), replacement_) == 0;
    if (!starts && (scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && piece.at_text_start))) {
      replaced.insert(0, replacement_);
    }
    Piece q{std::move(replaced), piece.at_text_start};
    if (split_) return split_around(q, separator_, Behavior::kMergedWithNext, false, sink);
    return q.text.empty() ? Status::ok() : sink.take(std::move(q));
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
  Status split(Piece piece, PieceSink& sink) const override { return run(0, std::move(piece), sink); }

 private:
  // Each piece goes through the remaining steps before the next one is made.
  Status run(size_t step, Piece piece, PieceSink& sink) const {
    if (step == steps_.size()) return sink.take(std::move(piece));
    auto next = make_sink([&](Piece p) { return run(step + 1, std::move(p), sink); });
    return steps_[step]->split(std::move(piece), next);
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
