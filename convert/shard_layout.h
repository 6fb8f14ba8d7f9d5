// Step two of `convert`: cutting the sorted output tensors into safetensors
// shards as mlx-lm's make_shards does (a new shard when the next tensor
// would pass max_shard_bytes), each shard's header region, and the
// model.safetensors.index.json that maps tensors to shards.
#ifndef MLXPACK_CONVERT_SHARD_LAYOUT_H_
#define MLXPACK_CONVERT_SHARD_LAYOUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "convert/convert_plan.h"

namespace mlxpack {

struct Shard {
  std::string name;           // model.safetensors or model-0000k-of-0000n.safetensors
  std::string header_region;  // the 8-byte size and the JSON header
  uint64_t size_bytes = 0;    // of the whole file
};

struct ShardLayout {
  std::vector<Shard> shards;
  std::vector<size_t> shard_of;  // output tensor k -> its shard
  std::string index_json;        // model.safetensors.index.json, as mlx-lm writes it
};

ShardLayout lay_out_shards(const std::vector<OutTensor>& outs, uint64_t max_shard_bytes);

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_SHARD_LAYOUT_H_
