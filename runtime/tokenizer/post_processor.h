// Post-processors of tokenizer.json ("post_processor"): add the special
// tokens a model expects around an encoded text (e.g. Llama's BOS) when the
// caller asks for special tokens. Supported types: TemplateProcessing
// (single-sequence template), BertProcessing, RobertaProcessing, ByteLevel
// (offsets only: no change to ids), Sequence.
#ifndef MLXPACK_RUNTIME_TOKENIZER_POST_PROCESSOR_H_
#define MLXPACK_RUNTIME_TOKENIZER_POST_PROCESSOR_H_

#include <memory>
#include <string>
#include <vector>

#include "mlxpack/status.h"
#include "mlxpack/tokenizer.h"
#include "format/json_fields.h"

namespace mlxpack::tokenizer {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // The tokens that go around the encoding of one text: `before` gets those
  // in front of it prepended, `after` those behind it appended (a Sequence
  // wraps the result of its earlier steps). They do not depend on the text.
  // Called only when special tokens are asked for.
  virtual void wrap(std::vector<TokenPiece>* before, std::vector<TokenPiece>* after) const = 0;
};

Result<std::unique_ptr<PostProcessor>> make_post_processor(const Json& spec, const std::string& where);

}  // namespace mlxpack::tokenizer

#endif  // MLXPACK_RUNTIME_TOKENIZER_POST_PROCESSOR_H_
