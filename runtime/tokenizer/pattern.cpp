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

Status Pattern::find_all(const std::string& s, std::vector<Match>* matches) const {
  if (regex_) return regex_->find_all(s, matches);
  matches->clear();
  if (literal_.empty()) return Status::ok();
  for (size_t hit = s.find(literal_); hit != std::string::npos; hit = s.find(literal_, hit + literal_.size())) {
    matches->push_back({hit, hit + literal_.size()});
  }
  return Status::ok();
}

Status Pattern::replace_all(const std::string& s, const std::string& content, std::string* out) const {
  std::vector<Match> matches;
  MLXPACK_RETURN_IF_ERROR(find_all(s, &matches));
  out->clear();
  out->reserve(s.size());
  size_t pos = 0;
  for (const Match& m : matches) {
    if (m.end == m.begin) continue;
    out->append(s, pos, m.begin - pos);
    *out += content;
    pos = m.end;
  }
  out->append(s, pos, std::string::npos);
  return Status::ok();
}

}  // namespace mlxpack::tokenizer
