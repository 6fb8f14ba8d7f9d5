// UTF-8 primitives shared by the tokenizer and the chat-template engine.
//
// Text handed to mlxpack (prompts, tokenizer files, templates) is UTF-8. These
// helpers decode it strictly (rejecting overlong forms, surrogates and code
// points past U+10FFFF), encode code points, and turn arbitrary bytes into
// valid text the way WHATWG's TextDecoder and Rust's from_utf8_lossy do (one
// U+FFFD per maximal invalid subpart), which is what the reference
// tokenizers print when decoded bytes are not valid UTF-8.
#ifndef MLXPACK_RUNTIME_TEXT_UTF8_H_
#define MLXPACK_RUNTIME_TEXT_UTF8_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mlxpack::text {

// Decodes the code point starting at s[*pos] and advances *pos past it.
// Returns false (and leaves *pos unchanged) if the bytes there are not a
// valid UTF-8 sequence. REQUIRES: *pos < s.size().
bool decode_next(std::string_view s, size_t* pos, char32_t* cp);

// Length in bytes of the valid sequence at s[pos], or 0 if invalid.
size_t sequence_length(std::string_view s, size_t pos);

// The byte offset of the first invalid sequence, or nullopt if `s` is valid.
std::optional<size_t> find_invalid_utf8(std::string_view s);

// Appends the UTF-8 encoding of `cp` (REQUIRES: a Unicode scalar value).
void append_utf8(std::string* out, char32_t cp);

// `bytes` with each maximal invalid subpart replaced by U+FFFD.
std::string decode_lossy(std::string_view bytes);

// Whitespace as JavaScript's String.prototype.trim and /\s/ define it
// (ASCII whitespace, NBSP, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F,
// U+205F, U+3000, U+FEFF). The chat-template reference is a JavaScript
// implementation, so its trims are these.
bool is_js_space(char32_t cp);
std::string_view trim_js_space(std::string_view s, bool left, bool right);

// `s` without the code points for which `pred` holds at either end.
std::string_view trim_if(std::string_view s, bool (*pred)(char32_t), bool left, bool right);

// The code points of `s`, each as its own string (an invalid byte alone).
std::vector<std::string> split_codepoints(std::string_view s);

// Number of code points in valid UTF-8 `s`.
size_t codepoint_count(std::string_view s);

}  // namespace mlxpack::text

#endif  // MLXPACK_RUNTIME_TEXT_UTF8_H_
