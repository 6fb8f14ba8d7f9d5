// `convert` with Meta's release layout as input: a directory holding
// params.json, consolidated.00.pth (a PyTorch checkpoint, read by
// format/torch_checkpoint.h: nothing in it runs; or several model-parallel
// shards consolidated.NN.pth, joined) and tokenizer.model (SentencePiece,
// or Llama 3's tiktoken file, see tiktoken_import.h), as
// ExecuTorch's export_llm and the Core ML export start from. The model
// becomes a pack or an MLX directory as any convert writes it:
// Hugging Face names, config.json from params.json, the tokenizer copied.
//
// Rotary embedding. Meta's attention rotates interleaved pairs (x[2i],
// x[2i+1]) of each head; mlxpack (as transformers and MLX) rotates halves
// (x[i], x[i + head_dim/2]). Both are the same rotation of a permuted
// head, so the rows of wq and wk are permuted once, as transformers'
// convert_llama_weights_to_hf does: row h*d + 2i + j of Meta's becomes row
// h*d + j*d/2 + i (head h of size d, i < d/2, j in {0, 1}). Queries and
// keys then come out permuted alike, their dot products unchanged, and
// nothing else is touched: values, outputs and the MLP are not rotated.
#ifndef MLXPACK_CONVERT_META_META_IMPORT_H_
#define MLXPACK_CONVERT_META_META_IMPORT_H_

#include <string>

#include "convert/converter.h"

namespace mlxpack {

// A directory with params.json and a consolidated.*.pth.
bool is_meta_checkpoint_dir(const std::string& path);

// Imports options.input; a cast or quantization runs on the imported model
// (import_then_convert.h). Errors: params.json's fields (naming field,
// value and range), the checkpoint's (torch_checkpoint.h), a tensor Meta's
// Llama does not have or of another shape than params.json implies, a
// missing one, shards that do not join (other tensors, dtypes or shapes),
// more than 64 shards (Unsupported), no tokenizer, and the output's.
Result<ConvertReport> import_meta_checkpoint(const ConvertOptions& options);

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_META_META_IMPORT_H_
