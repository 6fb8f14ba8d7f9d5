// A GGUF's tokenizer as the Hugging Face files that encode exactly as the
// original model's tokenizer: tokenizer.json and tokenizer_config.json.
//
// - "llama" (SentencePiece BPE: pieces, scores, token types): a BPE model
//   with byte fallback whose merges are derived from the scores exactly as
//   transformers' LlamaConverter derives them from tokenizer.model (every
//   split of a piece into two pieces, ranked by the piece's score), and
//   SentencePiece's normalization (a "▁" prepended, spaces as "▁").
// - "gpt2" (byte-level BPE with merges): vocabulary and merges as they are;
//   tokenizer.ggml.pre picks the pre-tokenizer (its regular expression) as
//   llama.cpp does: "default"/"gpt2", "llama-bpe"/"llama3", "qwen2",
//   "smollm".
// Control tokens (type 3) become special added tokens, user-defined ones
// (type 4) added tokens that are not special; BOS/EOS are added as
// tokenizer.ggml.add_bos_token / add_eos_token say.
#ifndef MLXPACK_CONVERT_GGUF_GGUF_TOKENIZER_H_
#define MLXPACK_CONVERT_GGUF_GGUF_TOKENIZER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "convert/gguf/gguf_metadata.h"

namespace mlxpack {

// The pre-tokenizer regular expressions of llama.cpp's "llama-bpe" and
// "qwen2" as the models' tokenizer.json files spell them.
extern const char* const kGgufLlama3Regex;
extern const char* const kGgufQwen2Regex;

struct GgufTokenizer {
  std::string tokenizer_json;
  std::string tokenizer_config_json;
  uint64_t vocab_size = 0;
  std::optional<uint64_t> bos_id, eos_id, eot_id, pad_id;
};

// InvalidArgument for malformed tokenizer metadata (missing arrays, counts
// that disagree, ids out of range, tokens that are not UTF-8 or repeat);
// Unsupported for another tokenizer model or pre-tokenizer name.
Result<GgufTokenizer> import_gguf_tokenizer(const GgufMetadata& meta);

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_GGUF_GGUF_TOKENIZER_H_
