// The last steps of `convert`: writing the output (a pack or an MLX
// directory) and producing each output tensor from its input: read, cast,
// quantize, and, with collect_stats, measure the quantization error.
#ifndef MLXPACK_CONVERT_WRITE_OUTPUTS_H_
#define MLXPACK_CONVERT_WRITE_OUTPUTS_H_

#include <map>
#include <string>

#include "convert/convert_plan.h"
#include "convert/shard_layout.h"

namespace mlxpack {

// Writes `files` (name -> bytes, in name order), then every shard's header
// and tensors, to options.output; fills report's bytes_in/bytes_out,
// output_size, warnings and per-tensor stats. Refuses an output that is one
// of the input's files. Errors: the sink's (AlreadyExists, IOError), a
// corrupt input tensor (Corruption), quantization's.
Status write_outputs(const ModelSource& in, const ConvertPlan& plan, const ShardLayout& layout,
                     const std::map<std::string, std::string>& files, const ConvertOptions& options,
                     ConvertReport* report);

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_WRITE_OUTPUTS_H_
