#include "format/lora_adapter.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "format/byte_order.h"
#include "format/file_io.h"
#include "format/half.h"
#include "format/json_fields.h"
#include "format/safetensors.h"

namespace mlxpack {

namespace {

struct LoraConfig {
  int rank = 0;
  float scale = 0;
};

// adapter_config.json: the fine-tune type and lora_parameters.
Result<LoraConfig> parse_config(std::string_view text, const std::string& where) {
  Json doc = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Status::invalid_argument(where + ": not a JSON object");
  MLXPACK_ASSIGN_OR_RETURN(const std::string type, optional_string(doc, "fine_tune_type", where, "lora"));
  if (type != "lora") {
    return Status::unsupported(field_path(where, "fine_tune_type") + ": " + Json(type).dump() +
                               " is not supported; supported: \"lora\"");
  }
  MLXPACK_ASSIGN_OR_RETURN(const Json* params, required_object(doc, "lora_parameters", where));
  const std::string p = field_path(where, "lora_parameters");
  LoraConfig c;
  MLXPACK_ASSIGN_OR_RETURN(const int64_t rank, required_int(*params, "rank", p, 1, kMaxLoraRank));
  c.rank = static_cast<int>(rank);
  // mlx-lm's default scale is 20.
  MLXPACK_ASSIGN_OR_RETURN(const std::optional<double> scale, maybe_number(*params, "scale", p, -1e6, 1e6));
  c.scale = static_cast<float>(scale.value_or(20.0));
  return c;
}

// A float tensor's values; shape [rows, cols].
Result<std::vector<float>> floats(const SafetensorsTensor& t, const uint8_t* data, const std::string& where) {
  const uint64_t n = t.shape[0] * t.shape[1];
  std::vector<float> out(n);
  for (uint64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case DType::kF32: out[i] = f32_from_bits(load_le32(data + 4 * i)); break;
      case DType::kF16: out[i] = f16_to_f32(load_le16(data + 2 * i)); break;
      case DType::kBF16: out[i] = bf16_to_f32(load_le16(data + 2 * i)); break;
      default:
        return Status::invalid_argument(where + ": tensor '" + t.name + "' has dtype " + dtype_name(t.dtype) +
                                        "; LoRA matrices are F32, F16 or BF16");
    }
    if (!std::isfinite(out[i])) {
      return Status::invalid_argument(where + ": tensor '" + t.name + "' holds a value that is not finite");
    }
  }
  return out;
}

std::string shape_text(const std::vector<uint64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// Splits "PATH.lora_a" / "PATH.lora_b"; false for any other name.
bool split_name(const std::string& name, std::string* path, bool* is_a) {
  for (const char* suffix : {".lora_a", ".lora_b"}) {
    const size_t n = 7;
    if (name.size() > n && name.compare(name.size() - n, n, suffix) == 0) {
      *path = name.substr(0, name.size() - n);
      *is_a = suffix[6] == 'a';
      return true;
    }
  }
  return false;
}

}  // namespace

Result<LoraAdapter> parse_lora_adapter(std::string_view config_json, std::string_view safetensors,
                                       const std::string& label) {
  const std::string config_where = label + "/" + kAdapterConfigFile;
  const std::string where = label + "/" + kAdapterWeightsFile;
  MLXPACK_ASSIGN_OR_RETURN(const LoraConfig config, parse_config(config_json, config_where));
  const auto* bytes = reinterpret_cast<const uint8_t*>(safetensors.data());
  if (safetensors.size() < 8) return Status::invalid_argument(where + ": shorter than a safetensors header");
  MLXPACK_ASSIGN_OR_RETURN(const uint64_t header_size, parse_safetensors_header_size(bytes, safetensors.size(), where));
  MLXPACK_ASSIGN_OR_RETURN(const SafetensorsHeader header,
                           parse_safetensors_header(std::string(safetensors.substr(8, header_size)), safetensors.size(),
                                                    where));
  struct Pair {
    const SafetensorsTensor* a = nullptr;
    const SafetensorsTensor* b = nullptr;
  };
  std::map<std::string, Pair> pairs;
  for (const SafetensorsTensor& t : header.tensors) {
    std::string path;
    bool is_a = false;
    if (!split_name(t.name, &path, &is_a)) {
      return Status::invalid_argument(where + ": tensor '" + t.name +
                                      "' is not a LoRA matrix (names end in .lora_a or .lora_b; DoRA and full "
                                      "fine-tunes are not supported)");
    }
    if (t.shape.size() != 2) {
      return Status::invalid_argument(where + ": tensor '" + t.name + "' has shape " + shape_text(t.shape) +
                                      "; LoRA matrices have rank 2");
    }
    const uint64_t rank_dim = is_a ? t.shape[1] : t.shape[0];
    if (rank_dim != static_cast<uint64_t>(config.rank) || t.shape[0] == 0 || t.shape[1] == 0) {
      return Status::invalid_argument(where + ": tensor '" + t.name + "' has shape " + shape_text(t.shape) + ", expected " +
                                      (is_a ? "[in, " + std::to_string(config.rank) + "]"
                                            : "[" + std::to_string(config.rank) + ", out]") +
                                      " (lora_parameters.rank is " + std::to_string(config.rank) + ")");
    }
    (is_a ? pairs[path].a : pairs[path].b) = &t;
  }
  if (pairs.empty()) return Status::invalid_argument(where + ": holds no LoRA matrices");
  LoraAdapter adapter;
  adapter.rank = config.rank;
  adapter.scale = config.scale;
  const uint8_t* data = bytes + header.data_offset();
  for (const auto& [path, pair] : pairs) {
    if (!pair.a || !pair.b) {
      return Status::invalid_argument(where + ": '" + path + (pair.a ? ".lora_b" : ".lora_a") + "' is missing (" +
                                      path + (pair.a ? ".lora_a" : ".lora_b") + " is there)");
    }
    LoraModule m;
    m.path = path;
    m.in = static_cast<int>(std::min<uint64_t>(pair.a->shape[0], INT32_MAX));
    m.out = static_cast<int>(std::min<uint64_t>(pair.b->shape[1], INT32_MAX));
    MLXPACK_ASSIGN_OR_RETURN(m.a, floats(*pair.a, data + pair.a->data_begin, where));
    MLXPACK_ASSIGN_OR_RETURN(m.b, floats(*pair.b, data + pair.b->data_begin, where));
    adapter.modules.push_back(std::move(m));
  }
  return adapter;
}

Result<LoraAdapter> read_lora_adapter(const std::string& dir) {
  MLXPACK_ASSIGN_OR_RETURN(const std::string config,
                           read_file_to_string(dir + "/" + kAdapterConfigFile, kMaxAdapterConfigBytes));
  MLXPACK_ASSIGN_OR_RETURN(const std::string weights,
                           read_file_to_string(dir + "/" + kAdapterWeightsFile, kMaxAdapterWeightsBytes));
  return parse_lora_adapter(config, weights, dir);
}

}  // namespace mlxpack
