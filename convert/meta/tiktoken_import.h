// Llama 3's tokenizer.model, a tiktoken BPE file (one "<base64 bytes>
// <rank>" line per token), as a Hugging Face tokenizer.json: byte-level
// BPE whose vocabulary is the tokens (bytes mapped to GPT-2's printable
// characters) and whose merges are, for each token in rank order, every
// split of it into two tokens (ordered by the parts' ranks), as
// transformers' TikTokenConverter derives them; Llama 3's pre-tokenizer
// pattern; the 256 special tokens after the last rank, named as Meta's
// tokenizer.py names them (Llama 3, or 3.1 and later), none of which the
// file holds.
#ifndef MLXPACK_CONVERT_META_TIKTOKEN_IMPORT_H_
#define MLXPACK_CONVERT_META_TIKTOKEN_IMPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "mlxpack/status.h"

namespace mlxpack {

inline constexpr uint64_t kMaxTiktokenTokens = uint64_t{1} << 20;
inline constexpr size_t kMaxTiktokenTokenBytes = 1024;

struct TiktokenImport {
  std::string tokenizer_json;
  std::string tokenizer_config_json;
  int64_t bos = -1;
  std::vector<int64_t> eos;  // end of text, and the chat turn's ends
};

// Whether `bytes` starts as a tiktoken file does (base64, a space, digits).
bool looks_like_tiktoken(const std::string& bytes);

// Errors (InvalidArgument) name `label`, the line and what is wrong: not
// base64, ranks not 0, 1, 2, ... in order, a token twice, an empty token
// or one over kMaxTiktokenTokenBytes, more than kMaxTiktokenTokens lines.
Result<TiktokenImport> import_tiktoken(const std::string& bytes, const std::string& label, bool llama31_specials,
                                       int64_t context);

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_META_TIKTOKEN_IMPORT_H_
