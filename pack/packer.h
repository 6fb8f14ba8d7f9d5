// `mlxpack pack`: a model directory in, one .mlxpack out.
#ifndef MLXPACK_PACK_PACKER_H_
#define MLXPACK_PACK_PACKER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "format/model_dir.h"
#include "mlxpack/status.h"

namespace mlxpack {

struct PackOptions {
  std::string input_dir;
  std::string output_path;
  uint32_t alignment = 64;
  bool overwrite = false;
  // A LoRA adapter directory bundled beside the base (spec/FORMAT.md §6.6),
  // checked as the runtime reads it first. "" = none.
  std::string adapter_path;
  // Called as tensor data is copied: (bytes done, bytes in all).
  std::function<void(uint64_t done, uint64_t total)> on_progress;
};

struct PackReport {
  ModelDirPlan plan;
  uint64_t output_size_bytes = 0;
  double seconds = 0;
};

// Plans (plan_model_dir), then writes bundled files (by name), then each
// safetensors source (by name) followed by its tensors in data order. The
// same directory always gives the same bytes. Holds two 8 MiB buffers, never
// the model. On any failure no output file is left behind.
// The input is never modified; a source that changes size while being
// packed is an IOError.
Result<PackReport> pack_model_dir(const PackOptions& options);

}  // namespace mlxpack

#endif  // MLXPACK_PACK_PACKER_H_
