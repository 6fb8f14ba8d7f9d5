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

  // All non-overlapping matches in `text`, left to right. An empty match
  // advances the search by one code point. REQUIRES: valid UTF-8 `text`.
  // Thread-safe. InvalidArgument if the engine gives up (its retry limit,
  // which bounds backtracking on hostile input).
  Status find_all(std::string_view text, std::vector<Match>* matches) const;

  // The same search in batches, so a caller's memory stays bounded on long
  // texts: replaces `matches` by the next at most `max` (> 0) matches of
  // find_all(text), searching from byte `*from` on, and advances `*from` to
  // where the search goes on; `*from` becomes kDone when no match remains.
  // Start with *from = 0 and call until kDone: the concatenated batches
  // equal find_all(text) (the search sees the whole text each time, so
  // look-behind and look-ahead work as there).
  static constexpr size_t kDone = static_cast<size_t>(-1);
  Status find_next(std::string_view text, size_t* from, size_t max, std::vector<Match>* matches) const;

 private:
  explicit Regex(void* handle) : handle_(handle) {}
  void* handle_;  // regex_t*
  std::string where_;
};

}  // namespace mlxpack::tokenizer

#endif  // MLXPACK_RUNTIME_TOKENIZER_REGEX_H_
