// GPT-2's reversible map between bytes and printable code points, used by
// byte-level BPE vocabularies (GPT-2, Llama 3, Qwen): byte 0x20 is 'Ġ'
// (U+0120), 0x0A is 'Ċ', printable ASCII maps to itself.
#ifndef MLXPACK_RUNTIME_TOKENIZER_BYTE_LEVEL_H_
#define MLXPACK_RUNTIME_TOKENIZER_BYTE_LEVEL_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace mlxpack::tokenizer {

// The code point that stands for `byte`.
char32_t byte_to_char(uint8_t byte);
// The byte that `cp` stands for, or -1 if it stands for none.
int char_to_byte(char32_t cp);

// Appends the byte-level form of `bytes` (each byte as its code point).
void append_byte_level(std::string_view bytes, std::string* out);

// The bytes a byte-level string stands for. Returns false if some code point
// stands for no byte (the caller then keeps the string as it is).
bool bytes_from_byte_level(std::string_view s, std::string* out);

}  // namespace mlxpack::tokenizer

#endif  // MLXPACK_RUNTIME_TOKENIZER_BYTE_LEVEL_H_
