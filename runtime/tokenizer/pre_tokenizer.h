// Pre-tokenizers of tokenizer.json ("pre_tokenizer"): split normalized text
// into the pieces the model tokenizes one by one. Supported types: Split
// (String or Regex; behaviors Removed, Isolated, MergedWithPrevious,
// MergedWithNext, Contiguous; invert), ByteLevel, Metaspace, Whitespace,
// WhitespaceSplit, Digits, Punctuation, BertPreTokenizer, Sequence.
#ifndef MLXPACK_RUNTIME_TOKENIZER_PRE_TOKENIZER_H_
#define MLXPACK_RUNTIME_TOKENIZER_PRE_TOKENIZER_H_

#include <memory>
#include <string>
#include <vector>

#include "mlxpack/status.h"
#include "runtime/tokenizer/json_fields.h"

namespace mlxpack::tokenizer {

struct Piece {
  std::string text;
  // True for the piece that begins the whole input text (Metaspace's
  // prepend_scheme "first" adds its prefix only there).
  bool at_text_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` by their splits, in order. Empty pieces are dropped.
  virtual Status split(std::vector<Piece>* pieces) const = 0;
};

Result<std::unique_ptr<PreTokenizer>> make_pre_tokenizer(const Json& spec, const std::string& where);

}  // namespace mlxpack::tokenizer

#endif  // MLXPACK_RUNTIME_TOKENIZER_PRE_TOKENIZER_H_
