#include "runtime/tokenizer/pattern.h"

namespace mlxpack::tokenizer {

Result<Pattern> Pattern::from_json(const Json& spec, const char* key, const std::string& where) {
  MLXPACK_ASSIGN_OR_RETURN(PatternSpec p, required_pattern(spec, key, where));
  Pattern pattern;
  if (p.is_regex) {
    MLXPACK_ASSIGN_OR_RETURN(pattern.regex_, Regex::compile(p.text, field_path(where, key) + ".Regex"));
  } else {
    pattern.literal_ = std::move(p.text);
  }
  return pattern;
}

Status Pattern::find_next(std::string_view s, size_t* from, size_t max, std::vector<Match>* matches) const {
  if (regex_) return regex_->find_next(s, from, max, matches);
  matches->clear();
  if (*from == Regex::kDone) return Status::ok();
  if (literal_.empty()) {
    *from = Regex::kDone;
    return Status::ok();
  }
  size_t hit = s.find(literal_, *from);
  while (hit != std::string_view::npos && matches->size() < max) {
    matches->push_back({hit, hit + literal_.size()});
    hit = s.find(literal_, hit + literal_.size());
  }
  *from = hit == std::string_view::npos ? Regex::kDone : hit;
  return Status::ok();
}

Status Pattern::replace_all(const std::string& s, const std::string& content, std::string* out,
                            size_t max_bytes) const {
  out->clear();
  out->reserve(s.size());
  std::vector<Match> matches;
  size_t pos = 0;
  // Matches in batches: a replace over a long text (SentencePiece-style
  // files replace every space) needs no list of all its matches.
  for (size_t from = 0; from != Regex::kDone;) {
    MLXPACK_RETURN_IF_ERROR(find_next(s, &from, kMatchBatch, &matches));
    for (const Match& m : matches) {
      if (m.end == m.begin) continue;
      out->append(s, pos, m.begin - pos);
      *out += content;
      pos = m.end;
      if (out->size() > max_bytes) return Status::ok();  // the caller names the limit
    }
  }
  out->append(s, pos, std::string::npos);
  return Status::ok();
}

}  // namespace mlxpack::tokenizer
