#include "runtime/tokenizer/regex.h"

#include <oniguruma.h>

#include <mutex>

#include "runtime/text/utf8.h"

namespace mlxpack::tokenizer {

namespace {

void initialize_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[1] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}

std::string onig_message(int code, OnigErrorInfo* info) {
  OnigUChar buffer[ONIG_MAX_ERROR_MESSAGE_LEN];
  const int n = info ? onig_error_code_to_str(buffer, code, info) : onig_error_code_to_str(buffer, code);
  return std::string(reinterpret_cast<const char*>(buffer), n > 0 ? static_cast<size_t>(n) : 0);
}

}  // namespace

Result<std::shared_ptr<const Regex>> Regex::compile(std::string_view pattern, std::string_view where) {
  initialize_once();
  if (auto bad = text::find_invalid_utf8(pattern)) {
    return Status::invalid_argument(std::string(where) + ": pattern is not valid UTF-8 at byte " +
                                    std::to_string(*bad));
  }
  regex_t* reg = nullptr;
  OnigErrorInfo info;
  const auto* p = reinterpret_cast<const OnigUChar*>(pattern.data());
  const int rc = onig_new(&reg, p, p + pattern.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                          ONIG_SYNTAX_DEFAULT, &info);
  if (rc != ONIG_NORMAL) {
    return Status::invalid_argument(std::string(where) + ": pattern does not compile: " +
                                    onig_message(rc, &info));
  }
  std::shared_ptr<Regex> regex(new Regex(reg));
  regex->where_ = std::string(where);
  return std::shared_ptr<const Regex>(std::move(regex));
}

Result<std::shared_ptr<const Regex>> Regex::literal(std::string_view literal, std::string_view where) {
  std::string escaped;
  escaped.reserve(literal.size() * 2);
  for (char c : literal) {
    if (std::string_view("\\^$.|?*+()[]{}-/ #").find(c) != std::string_view::npos) escaped.push_back('\\');
    escaped.push_back(c);
  }
  return compile(escaped, where);
}

Regex::~Regex() { onig_free(static_cast<regex_t*>(handle_)); }

Status Regex::find_next(std::string_view text, size_t* from, size_t max, std::vector<Match>* matches) const {
  matches->clear();
  if (*from == kDone) return Status::ok();
  auto* reg = static_cast<regex_t*>(handle_);
  OnigRegion* region = onig_region_new();
  // Each search may backtrack at most kMaxRetriesPerSearch times (Oniguruma's
  // own default bounds only one match attempt, so a pattern could spend
  // seconds at every position of a text and stay under it).
  OnigMatchParam* param = onig_new_match_param();
  onig_initialize_match_param(param);
  onig_set_retry_limit_in_search_of_match_param(param, kMaxRetriesPerSearch);
  const auto* start = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = start + text.size();
  size_t pos = *from;
  Status status;
  while (matches->size() < max) {
    if (pos > text.size()) {
      pos = kDone;
      break;
    }
    const int r = onig_search_with_param(reg, start, end, start + pos, end, region, ONIG_OPTION_NONE, param);
    if (r == ONIG_MISMATCH) {
      pos = kDone;
      break;
    }
    if (r == ONIGERR_RETRY_LIMIT_IN_SEARCH_OVER || r == ONIGERR_RETRY_LIMIT_IN_MATCH_OVER) {
      status = Status::invalid_argument(where_ + ": regex search at byte " + std::to_string(pos) +
                                        " backtracked more than the limit of " + std::to_string(kMaxRetriesPerSearch) +
                                        " times");
      pos = kDone;
      break;
    }
    if (r < 0) {
      status = Status::invalid_argument(where_ + ": regex search failed at byte " + std::to_string(pos) + ": " +
                                        onig_message(r, nullptr));
      pos = kDone;
      break;
    }
    const auto b = static_cast<size_t>(region->beg[0]);
    const auto e = static_cast<size_t>(region->end[0]);
    matches->push_back({b, e});
    if (e > b) {
      pos = e;
    } else if (e < text.size()) {
      const size_t len = text::sequence_length(text, e);
      pos = e + (len == 0 ? 1 : len);
    } else {
      pos = kDone;
      break;
    }
  }
  onig_region_free(region, 1);
  onig_free_match_param(param);
  *from = pos;
  return status;
}

}  // namespace mlxpack::tokenizer
