// Unicode normalization forms, case mapping and character classes, backed
// by utf8proc (the library Julia and PostgreSQL use for the same job), so the
// tables follow one maintained Unicode version instead of hand-copied data.
#ifndef MLXPACK_RUNTIME_TEXT_UNICODE_H_
#define MLXPACK_RUNTIME_TEXT_UNICODE_H_

#include <string>
#include <string_view>

namespace mlxpack::text {

enum class NormalForm { kNFC, kNFD, kNFKC, kNFKD };

// `s` in the given normal form. REQUIRES: `s` is valid UTF-8.
std::string normalize(std::string_view s, NormalForm form);

// Simple (one code point to one code point) case mappings.
std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);
char32_t to_lower(char32_t cp);
char32_t to_upper(char32_t cp);

// `s` without combining marks (general category Mn), as Hugging Face's
// StripAccents normalizer does after NFD.
std::string strip_accents(std::string_view s);

bool is_letter(char32_t cp);       // L*
bool is_number(char32_t cp);       // N*
bool is_punctuation(char32_t cp);  // P*
bool is_whitespace(char32_t cp);   // White_Space (as Rust's char::is_whitespace)
bool is_control(char32_t cp);      // Cc, Cf (BERT's notion)

}  // namespace mlxpack::text

#endif  // MLXPACK_RUNTIME_TEXT_UNICODE_H_
