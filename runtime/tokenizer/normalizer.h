// Normalizers of tokenizer.json ("normalizer"): rewrite the text before it is
// split, e.g. NFC, or Llama 2's Prepend("▁") + Replace(" ", "▁").
// Supported types: NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents,
// Replace (String or Regex), Prepend, BertNormalizer, Sequence.
#ifndef MLXPACK_RUNTIME_TOKENIZER_NORMALIZER_H_
#define MLXPACK_RUNTIME_TOKENIZER_NORMALIZER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "mlxpack/status.h"
#include "format/json_fields.h"

namespace mlxpack::tokenizer {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Rewrites valid UTF-8 `text` in place; the result is valid UTF-8.
  // InvalidArgument, naming the component, when the text would grow past
  // `max_bytes` (a hostile Replace chain can multiply its size at every step).
  virtual Status normalize(std::string* text, size_t max_bytes) const = 0;
};

// Builds the normalizer described by `spec` (a JSON object). `where` is its
// path for messages. InvalidArgument for malformed fields, Unsupported for an
// unknown type.
Result<std::unique_ptr<Normalizer>> make_normalizer(const Json& spec, const std::string& where);


}  // namespace mlxpack::tokenizer

#endif  // MLXPACK_RUNTIME_TOKENIZER_NORMALIZER_H_
