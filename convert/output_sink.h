// Where `convert` writes: a pack (PackBuilder, the shards as sources) or an
// MLX directory (written under a temporary name beside the destination and
// renamed into place when complete). Calls come in layout order: files,
// then for each shard begin_shard() and its tensors.
#ifndef MLXPACK_CONVERT_OUTPUT_SINK_H_
#define MLXPACK_CONVERT_OUTPUT_SINK_H_

#include <memory>
#include <string>
#include <vector>

#include "mlxpack/dtype.h"
#include "mlxpack/status.h"

namespace mlxpack {

class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual Status add_file(const std::string& name, const std::string& bytes) = 0;
  // `header_region` is the shard's 8-byte size and JSON header.
  virtual Status begin_shard(const std::string& name, const std::string& header_region, uint64_t file_size) = 0;
  virtual Status add_tensor(const std::string& name, DType dtype, const std::vector<uint64_t>& shape,
                            const uint8_t* data, uint64_t size) = 0;
  // Makes the output appear; returns its size in bytes.
  virtual Result<uint64_t> finish() = 0;
};

struct ConvertOptions;

// The sink `options` asks for: a pack (refused when it is one of
// `input_files`, the files being read) or an MLX directory.
Result<std::unique_ptr<OutputSink>> open_output_sink(const ConvertOptions& options,
                                                     const std::vector<std::string>& input_files);

Result<std::unique_ptr<OutputSink>> make_pack_sink(const std::string& path, uint32_t alignment, bool overwrite);
// `input` is the model being converted: an output that is, contains or lies
// inside it is refused. An existing `dir` is replaced only with `overwrite`
// and only if it is a previous mlx-dir output (it carries the marker
// .mlxpack-convert-output listing its files, and holds nothing else).
Result<std::unique_ptr<OutputSink>> make_dir_sink(const std::string& dir, const std::string& input, bool overwrite);

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_OUTPUT_SINK_H_
