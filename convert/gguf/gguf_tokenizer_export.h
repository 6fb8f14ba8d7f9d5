// A model's tokenizer.json (with tokenizer_config.json and
// generation_config.json) as GGUF tokenizer metadata that llama.cpp loads
// and that gguf_tokenizer.h imports back to the same tokenizer.
//
// - A BPE model with byte fallback (SentencePiece-style: Llama 2, Mistral,
//   TinyLlama) is written as "llama": pieces, token types (byte, control,
//   user-defined, unknown) and scores that rank each piece by its first
//   merge (llama.cpp's SentencePiece tokenizer merges by score, so it
//   follows the same order; transformers' extractor reads the same order
//   back).
// - A byte-level BPE model is written as "gpt2" with its merges and the
//   pre-tokenizer name llama.cpp expects for its regular expression
//   (llama-bpe, qwen2, gpt-2, smollm).
// Other tokenizer models and pre-tokenizers are refused by name.
#ifndef MLXPACK_CONVERT_GGUF_GGUF_TOKENIZER_EXPORT_H_
#define MLXPACK_CONVERT_GGUF_GGUF_TOKENIZER_EXPORT_H_

#include "format/gguf_writer.h"
#include "mlxpack/model_source.h"

namespace mlxpack {

// Adds the tokenizer.* keys for the model in `in` to `w`. InvalidArgument
// for a malformed tokenizer.json (naming the field), Unsupported for a
// tokenizer GGUF cannot express.
Status add_gguf_tokenizer(const ModelSource& in, GgufWriter* w);

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_GGUF_GGUF_TOKENIZER_EXPORT_H_
