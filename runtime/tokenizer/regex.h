// A compiled Oniguruma pattern: the regex engine Hugging Face `tokenizers`
// itself uses for pre-tokenizer and normalizer patterns, so \p{L}, (?i:...),
// lookahead and the rest mean exactly what they mean there.
#ifndef MLXPACK_RUNTIME_TOKENIZER_REGEX_H_
#define MLXPACK_RUNTIME_TOKENIZER_REGEX_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mlxpack/status.h"

namespace mlxpack::tokenizer {

struct Match {
  size_t begin;
  size_t end;
};

// How many matches the pre-tokenizers and Replace take from find_next at a
// time: enough to amortize a call, few enough to stay in cache.
inline constexpr size_t kMatchBatch = 1024;

class Regex {
 public:
  // Compiles `pattern` (Ruby syntax, UTF-8). InvalidArgument naming `where`
  // and the engine's message if it does not compile.
  static Result<std::shared_ptr<const Regex>> compile(std::string_view pattern, std::string_view where);
  // A pattern matching `literal` exactly.
  static Result<std::shared_ptr<const Regex>> literal(std::string_view literal, std::string_view where);

  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // The non-overlapping matches in `text`, left to right, in batches so a
  // caller's memory stays bounded on long texts: replaces `matches` by the
  // next at most `max` (> 0) matches, searching from byte `*from` on, and
  // advances `*from` to where the search goes on; `*from` becomes kDone when
  // no match remains. Start with *from = 0 and call until kDone. The search
  // sees the whole text each time, so look-behind and look-ahead work across
  // batches. An empty match advances the search by one code point.
  // REQUIRES: valid UTF-8 `text`. Thread-safe. InvalidArgument if the engine
  // gives up (its retry limit, which bounds backtracking on hostile input).
  static constexpr size_t kDone = static_cast<size_t>(-1);
  // Backtracking steps one search may take (over all its start positions);
  // past it find_next fails naming the pattern. Real pre-tokenizer patterns
  // need a few per byte of the match.
  static constexpr unsigned long kMaxRetriesPerSearch = 1'000'000;
  Status find_next(std::string_view text, size_t* from, size_t max, std::vector<Match>* matches) const;

 private:
  explicit Regex(void* handle) : handle_(handle) {}
  void* handle_;  // regex_t*
  std::string where_;
};

}  // namespace mlxpack::tokenizer

#endif  // MLXPACK_RUNTIME_TOKENIZER_REGEX_H_
