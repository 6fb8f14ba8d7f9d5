// libFuzzer target: arbitrary bytes as tokenizer.json (and, after the first
// NUL, a text to encode) through loading, encoding and decoding.
#include <cstdint>
#include <cstring>
#include <string>

#include "mlxpack/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* p = reinterpret_cast<const char*>(data);
  const void* nul = std::memchr(p, 0, size);
  const size_t split = nul != nullptr ? static_cast<size_t>(static_cast<const char*>(nul) - p) : size;
  const std::string json(p, split);
  const std::string text = split < size ? std::string(p + split + 1, size - split - 1)
                                        : std::string("Hello world, <s> h\xC3\xA9llo\n\n  <|end|>  42");
  mlxpack::TokenizerLimits limits;
  limits.max_vocab_size = 1 << 16;  // keep each input's allocations small
  auto tok = mlxpack::Tokenizer::from_json(json, "", "fuzz", limits);
  if (!tok.is_ok()) return 0;
  for (bool special : {false, true}) {
    auto ids = (*tok)->encode(text, special);
    if (!ids.is_ok()) continue;
    (void)(*tok)->decode(*ids);
    (void)(*tok)->decode(*ids, mlxpack::DecodeOptions{true, false});
  }
  std::vector<int32_t> some;
  for (size_t i = 0; i + 1 < text.size() && some.size() < 64; i += 2) {
    some.push_back(static_cast<int32_t>(static_cast<uint8_t>(text[i]) | (static_cast<uint8_t>(text[i + 1]) << 8)) %
                   static_cast<int32_t>((*tok)->vocab_size() + 1));
  }
  (void)(*tok)->decode(some);
  return 0;
}
