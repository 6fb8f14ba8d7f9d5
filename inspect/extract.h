// `mlxpack extract`: gives back the files a pack was made from, byte for
// byte: bundled files as they were, safetensors files rebuilt from their
// stored header and their tensors in order.
#ifndef MLXPACK_INSPECT_EXTRACT_H_
#define MLXPACK_INSPECT_EXTRACT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mlxpack/loader.h"

namespace mlxpack {

struct ExtractOptions {
  std::string output_dir;  // created if missing
  std::string only;        // a single file or source name; empty = all
  bool overwrite = false;
  // Bytes written so far and in all, after each tensor or file.
  std::function<void(uint64_t done, uint64_t total)> on_progress;
};

struct ExtractedFile {
  std::string name;
  uint64_t size_bytes = 0;
};

// Every output is checked against its checksums before it is committed, is
// written to a temporary file and renamed, and lies inside output_dir (names
// are re-checked, and no existing path component may be a symlink). Without
// overwrite, nothing is written if any output exists (AlreadyExists).
// NotFound if `only` names nothing.
Result<std::vector<ExtractedFile>> extract_pack(const Reader& reader, const ExtractOptions& options);

}  // namespace mlxpack

#endif  // MLXPACK_INSPECT_EXTRACT_H_
