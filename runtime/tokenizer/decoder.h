// Decoders of tokenizer.json ("decoder"): turn token pieces back into text.
// Supported types: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip,
// WordPiece, BPEDecoder, Sequence. A decoder rewrites the list of pieces;
// the text is their concatenation.
#ifndef MLXPACK_RUNTIME_TOKENIZER_DECODER_H_
#define MLXPACK_RUNTIME_TOKENIZER_DECODER_H_

#include <memory>
#include <string>
#include <vector>

#include "mlxpack/status.h"
#include "format/json_fields.h"

namespace mlxpack::tokenizer {

struct DecodePiece {
  std::string text;
  bool added = false;  // an added token: ByteLevel leaves its text as it is
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // InvalidArgument, naming the component, when a piece would grow past
  // max_rewritten_bytes of its size (pattern.h) or a regex gives up.
  virtual Status decode(std::vector<DecodePiece>* pieces) const = 0;
};

// The concatenation of the pieces' texts (the decoded text).
std::string join_pieces(const std::vector<DecodePiece>& pieces);

Result<std::unique_ptr<Decoder>> make_decoder(const Json& spec, const std::string& where);

}  // namespace mlxpack::tokenizer

#endif  // MLXPACK_RUNTIME_TOKENIZER_DECODER_H_
