// A tokenizer.json pattern, {"String": "..."} or {"Regex": "..."}, as used by
// Split pre-tokenizers and Replace normalizers and decoders.
#ifndef MLXPACK_RUNTIME_TOKENIZER_PATTERN_H_
#define MLXPACK_RUNTIME_TOKENIZER_PATTERN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mlxpack/status.h"
#include "format/json_fields.h"
#include "runtime/tokenizer/regex.h"

namespace mlxpack::tokenizer {

// How far a rewrite (a normalizer step, a Replace decoder) may grow a text:
// 16 times its size plus 4 KiB. NFKC grows real text by at most 11x (on
// U+FDFA); a hostile Replace chain would multiply it at every step.
inline size_t max_rewritten_bytes(size_t input_bytes) {
  return input_bytes > (SIZE_MAX - 4096) / 16 ? SIZE_MAX : 16 * input_bytes + 4096;
}

class Pattern {
 public:
  // Reads spec[key]. InvalidArgument names the field, or the regex error.
  static Result<Pattern> from_json(const Json& spec, const char* key, const std::string& where);
  // A pattern that matches `text` literally.
  static Pattern literal(std::string text) {
    Pattern p;
    p.literal_ = std::move(text);
    return p;
  }

  // Non-overlapping matches, left to right (a literal: every occurrence), in
  // batches of at most `max`, as Regex::find_next.
  Status find_next(std::string_view s, size_t* from, size_t max, std::vector<Match>* matches) const;
  // `s` with every non-empty match replaced by `content`. Stops early, with
  // out->size() > max_bytes, once the result passes `max_bytes`.
  Status replace_all(const std::string& s, const std::string& content, std::string* out,
                     size_t max_bytes = SIZE_MAX) const;

 private:
  std::string literal_;
  std::shared_ptr<const Regex> regex_;
};

}  // namespace mlxpack::tokenizer

#endif  // MLXPACK_RUNTIME_TOKENIZER_PATTERN_H_
