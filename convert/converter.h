// `mlxpack convert`: a model directory or pack in; a pack or an MLX model
// directory out, optionally cast and quantized the way mlx_lm.convert does.
//
// The output is always laid out as mlx-lm saves a model: safetensors shards
// of at most 5 GiB ("model.safetensors" or "model-0000i-of-0000n.safetensors",
// metadata {"format": "mlx"}), "model.safetensors.index.json", config.json
// with "quantization" (and the same under "quantization_config"), and the
// tokenizer and generation files copied. A pack holds exactly those files
// (the shards as sources), so `mlxpack extract` of a converted pack gives
// the MLX directory byte for byte.
//
// Streams one tensor at a time; outputs appear only when complete (pack:
// temporary file and rename; directory: temporary directory and rename).
// The same input and options give the same bytes whatever the thread count.
#ifndef MLXPACK_CONVERT_CONVERTER_H_
#define MLXPACK_CONVERT_CONVERTER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "convert/quant_plan.h"
#include "mlxpack/dtype.h"
#include "mlxpack/status.h"

namespace mlxpack {

enum class OutputFormat { kPack, kMlxDir, kGguf };

// The tensor type of a GGUF export: kKeep writes each tensor in the GGUF
// type that holds it exactly (see convert/gguf/gguf_export.h).
enum class GgufOutputType { kKeep, kF32, kF16, kBF16, kQ8_0, kQ4_0, kQ4_1 };

struct ConvertOptions {
  std::string input;   // directory, .mlxpack or GGUF
  std::string output;  // .mlxpack file or directory
  OutputFormat format = OutputFormat::kPack;
  GgufOutputType gguf_type = GgufOutputType::kKeep;  // with kGguf
  std::optional<DType> dtype;  // cast float tensors (F32, F16 or BF16)
  QuantOptions quant;
  bool untie_word_embeddings = false;
  // A LoRA adapter directory (mlx-lm's adapter_config.json +
  // adapters.safetensors) fused into the weights before any cast or
  // quantization: W' = W + scale * (A B)^T, as mlx_lm.fuse does. "" = none.
  std::string adapter_path;
  unsigned threads = 1;
  bool overwrite = false;
  uint32_t alignment = 64;                       // pack output
  uint64_t max_shard_bytes = uint64_t{5} << 30;  // as mlx-lm's make_shards
  bool collect_stats = false;                    // per-tensor error statistics (--report)
  // GGUF input: turn the types with no affine form that mlxpack can read
  // (IQ4_NL, IQ4_XS, MXFP4) into the model's float dtype instead of refusing.
  bool dequantize_unsupported = false;
  // GGUF input: every tensor as float32 (the first step of casting or
  // quantizing a GGUF; set by the importer itself).
  bool import_as_float = false;
  std::function<void(uint64_t done, uint64_t total)> on_progress;  // input bytes
};

struct QuantStats {
  std::string name;  // the layer's weight tensor
  QuantSpec spec;
  uint64_t elements = 0;
  double max_abs_error = 0;
  double rmse = 0;
  double snr_db = 0;
  double bits_per_weight = 0;  // weight + scales + biases bits per element
};

struct ConvertReport {
  uint64_t tensors_in = 0;
  uint64_t tensors_out = 0;
  uint64_t quantized = 0;
  uint64_t cast = 0;
  uint64_t fused = 0;                   // layers an adapter was fused into
  std::vector<std::string> kept_float;  // "path: reason" for candidates left unquantized
  std::vector<std::string> warnings;    // e.g. values that overflowed to infinity
  std::vector<QuantStats> stats;        // with collect_stats
  QuantStats total;                     // over all quantized tensors
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;  // tensor bytes written
  uint64_t output_size = 0;
  std::vector<std::string> shards;
  double seconds = 0;
  bool input_was_quantized = false;
};

// Errors: InvalidArgument for bad options (bits, group size, recipe, dtype),
// a quantized input asked to be quantized again with other settings, a
// group size that divides no layer's input dimension, --no-tie-word-
// embeddings without a tied embedding; errors of the input (as pack and the
// loader report them); AlreadyExists without overwrite; IOError.
Result<ConvertReport> convert_model(const ConvertOptions& options);

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_CONVERTER_H_
