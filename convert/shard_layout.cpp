#include "convert/shard_layout.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "format/safetensors.h"

namespace mlxpack {

namespace {

std::string shard_name(size_t s, size_t count) {
  char name[64];
  if (count == 1) {
    std::snprintf(name, sizeof name, "model.safetensors");
  } else {
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, count);
  }
  return name;
}

}  // namespace

ShardLayout lay_out_shards(const std::vector<OutTensor>& outs, uint64_t max_shard_bytes) {
  std::vector<std::vector<size_t>> members(1);
  uint64_t shard_bytes = 0, total_bytes = 0, total_params = 0;
  for (size_t k = 0; k < outs.size(); ++k) {
    if (shard_bytes + outs[k].size_bytes > max_shard_bytes && !members.back().empty()) {
      members.emplace_back();
      shard_bytes = 0;
    }
    members.back().push_back(k);
    shard_bytes += outs[k].size_bytes;
    total_bytes += outs[k].size_bytes;
    total_params += outs[k].parameters;
  }
  ShardLayout layout;
  layout.shard_of.resize(outs.size());
  nlohmann::json weight_map = nlohmann::json::object();
  for (size_t s = 0; s < members.size(); ++s) {
    Shard shard;
    shard.name = shard_name(s, members.size());
    std::vector<SafetensorsTensor> tensors;
    uint64_t offset = 0;
    for (size_t k : members[s]) {
      tensors.push_back({outs[k].name, outs[k].dtype, outs[k].shape, offset, offset + outs[k].size_bytes});
      offset += outs[k].size_bytes;
      weight_map[outs[k].name] = shard.name;
      layout.shard_of[k] = s;
    }
    shard.header_region = encode_safetensors_header_region(tensors, {{"format", "mlx"}});
    shard.size_bytes = shard.header_region.size() + offset;
    layout.shards.push_back(std::move(shard));
  }
  const nlohmann::json index = {{"metadata", {{"total_size", total_bytes}, {"total_parameters", total_params}}},
                                {"weight_map", weight_map}};
  layout.index_json = index.dump(4) + "\n";
  return layout;
}

}  // namespace mlxpack
