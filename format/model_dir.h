// Reads a Hugging Face / MLX model directory: which files are bundled
// (config, tokenizer, ...), which safetensors files hold the weights (with
// their validated headers and the shard index checked against them), and what
// is skipped and why. Reads headers and small files only, never tensor data.
// Used by pack (what a pack holds) and by the loader (serving a directory).
#ifndef MLXPACK_FORMAT_MODEL_DIR_H_
#define MLXPACK_FORMAT_MODEL_DIR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "format/safetensors.h"
#include "mlxpack/status.h"

namespace mlxpack {

struct BundledFilePlan {
  std::string name;  // relative to the directory
  std::string path;  // on disk
  uint64_t size_bytes = 0;
};

struct SourcePlan {
  std::string name;
  std::string path;
  uint64_t size_bytes = 0;
  std::string header_region;  // the 8-byte size and the JSON, as in the file
  SafetensorsHeader header;
};

struct ModelDirPlan {
  std::string architecture;  // config.json architectures[0], else model_type, else "unknown"
  std::vector<BundledFilePlan> files;  // sorted by name
  std::vector<SourcePlan> sources;     // sorted by name
  std::vector<std::string> skipped;    // "name: reason"
  uint64_t tensor_count = 0;
  uint64_t tensor_bytes = 0;
};

// True for the file names `pack` bundles (config, tokenizer, chat template,
// vocabulary, README/LICENSE files and the safetensors index).
bool is_bundled_file_name(const std::string& name);

// Errors (InvalidArgument unless said): DIR missing or not a directory; an
// empty directory; no config.json, or one that is not a JSON object; a
// dangling symlink, a symlink loop, a symlinked directory that leads out of
// DIR (links to regular files are followed wherever they point, as the
// Hugging Face hub cache needs); pickle weights (.bin/.pt/.pth/.ckpt) with no
// safetensors beside them; no safetensors file at all; a malformed safetensors
// file (Corruption, kBadSafetensors); an index that names a missing shard, an
// unsafe shard path, or a tensor not in its shard, or a shard tensor missing
// from the index; a tensor name found in two files.
Result<ModelDirPlan> plan_model_dir(const std::string& dir);

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_MODEL_DIR_H_
