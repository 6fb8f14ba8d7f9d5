#include "convert/quant_plan.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "convert/float_convert.h"
#include "format/file_io.h"

namespace mlxpack {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool glob_match(const std::string& pattern, const std::string& path) {
  return ::fnmatch(pattern.c_str(), path.c_str(), 0) == 0;
}

// The first all-digit component of a layer path (mlx-lm's layer index), or 0.
int64_t layer_index(const std::string& path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    if (dot == std::string::npos) dot = path.size();
    const std::string part = path.substr(start, dot - start);
    if (!part.empty() && part.size() < 10 &&
        std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      return std::stoll(part);
    }
    start = dot + 1;
  }
  return 0;
}

Result<QuantSpec> spec_from_json(const nlohmann::json& j, QuantSpec base, const std::string& where) {
  if (j.contains("bits")) {
    if (!j["bits"].is_number_integer()) return Status::invalid_argument(where + ": 'bits' must be an integer");
    base.bits = j["bits"].get<int>();
  }
  if (j.contains("group_size")) {
    if (!j["group_size"].is_number_integer()) return Status::invalid_argument(where + ": 'group_size' must be an integer");
    base.group_size = j["group_size"].get<int>();
  }
  MLXPACK_RETURN_IF_ERROR(check_quant_spec(base).with_context(where));
  return base;
}

// A mixture-of-experts router: Qwen3-MoE's "mlp.gate", Mixtral's
// "block_sparse_moe.gate".
bool is_router(const std::string& path) {
  return ends_with(path, ".mlp.gate") || ends_with(path, ".block_sparse_moe.gate");
}

}  // namespace

std::string layer_path(const std::string& tensor_name) {
  return ends_with(tensor_name, ".weight") ? tensor_name.substr(0, tensor_name.size() - 7) : tensor_name;
}

TensorRole classify_tensor(const InputTensor& t) {
  if (!ends_with(t.name, ".weight") || t.shape.size() < 2) return TensorRole::kOther;
  if (t.dtype != DType::kF32 && t.dtype != DType::kF16 && t.dtype != DType::kBF16) return TensorRole::kOther;
  if (t.name.find("norm") != std::string::npos) return TensorRole::kOther;
  if (t.name.find("embed") != std::string::npos || t.name.find("wte") != std::string::npos ||
      t.name.find("wpe") != std::string::npos) {
    return TensorRole::kEmbedding;
  }
  return TensorRole::kLinear;
}

Result<QuantPlanner> QuantPlanner::create(const QuantOptions& options, int64_t num_layers,
                                          const std::vector<InputTensor>& tensors) {
  QuantPlanner p;
  p.options_ = options;
  p.default_ = options.linear;
  p.num_layers_ = num_layers;
  p.linear_enabled_ = options.quantize_linear || !options.recipe.empty();
  MLXPACK_RETURN_IF_ERROR(check_quant_spec(options.linear));
  if (options.embedding) MLXPACK_RETURN_IF_ERROR(check_quant_spec(*options.embedding).with_context("embedding quantization"));

  const std::string& r = options.recipe;
  if (r == "mixed_2_6" || r == "mixed_3_4" || r == "mixed_3_6" || r == "mixed_4_6") {
    // mlx-lm's mixed_quant_predicate_builder (mlx_lm/convert.py).
    p.named_recipe_ = r;
    p.low_bits_ = r[6] - '0';
    p.high_bits_ = r[8] - '0';
    p.default_.bits = p.low_bits_;
    if (num_layers <= 0) {
      return Status::invalid_argument("recipe " + r + " needs num_hidden_layers in config.json");
    }
  } else if (!r.empty()) {
    Result<std::string> text = read_file_to_string(r, 1u << 20);
    if (!text.is_ok()) {
      return Status::invalid_argument("QuantOptions.recipe '" + r +
                                      "' is neither a recipe name (mixed_2_6, mixed_3_4, mixed_3_6, mixed_4_6) "
                                      "nor a readable JSON file: " + text.status().message());
    }
    nlohmann::json doc;
    try {
      doc = nlohmann::json::parse(*text);
    } catch (const nlohmann::json::exception& e) {
      return Status::invalid_argument(r + ": not valid JSON: " + e.what());
    }
    if (!doc.is_object()) return Status::invalid_argument(r + ": a recipe is a JSON object");
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      if (it.key() != "default" && it.key() != "overrides") {
        return Status::invalid_argument(r + ": unknown field '" + it.key() + "' (expected 'default', 'overrides')");
      }
    }
    if (doc.contains("default")) {
      if (!doc["default"].is_object()) return Status::invalid_argument(r + ": 'default' must be an object");
      MLXPACK_ASSIGN_OR_RETURN(p.default_, spec_from_json(doc["default"], p.default_, r + ": default"));
    }
    if (doc.contains("overrides")) {
      if (!doc["overrides"].is_array()) return Status::invalid_argument(r + ": 'overrides' must be an array");
      for (size_t i = 0; i < doc["overrides"].size(); ++i) {
        const auto& o = doc["overrides"][i];
        const std::string where = r + ": overrides[" + std::to_string(i) + "]";
        if (!o.is_object() || !o.contains("pattern") || !o["pattern"].is_string()) {
          return Status::invalid_argument(where + " needs a string 'pattern'");
        }
        Override ov;
        ov.pattern = o["pattern"].get<std::string>();
        if (o.contains("quantize") && o["quantize"].is_boolean() && !o["quantize"].get<bool>()) {
          ov.spec = std::nullopt;
        } else {
          MLXPACK_ASSIGN_OR_RETURN(QuantSpec s, spec_from_json(o, p.default_, where));
          ov.spec = s;
        }
        const bool matches = std::any_of(tensors.begin(), tensors.end(), [&](const InputTensor& t) {
          return classify_tensor(t) != TensorRole::kOther && glob_match(ov.pattern, layer_path(t.name));
        });
        if (!matches) {
          return Status::invalid_argument(where + ": pattern '" + ov.pattern +
                                          "' matches no quantizable layer of the model");
        }
        p.overrides_.push_back(ov);
      }
    }
  }
  return p;
}

std::optional<QuantSpec> QuantPlanner::linear_spec(const std::string& path) const {
  if (!named_recipe_.empty()) {
    const int64_t index = layer_index(path);
    const int64_t n = num_layers_;
    const bool use_more_bits = index < n / 8 || index >= 7 * n / 8 || (index - n / 8) % 3 == 2;
    const bool high = ((path.find("v_proj") != std::string::npos || path.find("down_proj") != std::string::npos) &&
                       use_more_bits) ||
                      path.find("lm_head") != std::string::npos;
    return QuantSpec{high ? high_bits_ : low_bits_, default_.group_size};
  }
  // mlx-lm's quant_predicate of mixture-of-experts models: the router,
  // small and decisive, at 8 bits with groups of 64.
  std::optional<QuantSpec> spec = is_router(path) ? QuantSpec{8, 64} : default_;
  for (const Override& o : overrides_) {
    if (glob_match(o.pattern, path)) spec = o.spec;
  }
  return spec;
}

QuantDecision QuantPlanner::decide(const InputTensor& t) const {
  QuantDecision d;
  const TensorRole role = classify_tensor(t);
  if (role == TensorRole::kOther) return d;
  std::optional<QuantSpec> spec;
  if (role == TensorRole::kEmbedding) {
    if (options_.embedding) {
      spec = options_.embedding;
    } else if (linear_enabled_ && !options_.float_embeddings) {
      spec = linear_spec(layer_path(t.name));
      if (!spec) {
        d.note = "kept float by the recipe";
        return d;
      }
    } else {
      d.note = linear_enabled_ ? "embedding (kept float as asked)" : "embedding (quantized only when asked)";
      return d;
    }
  } else {
    if (!linear_enabled_) return d;
    spec = linear_spec(layer_path(t.name));
    if (!spec) {
      d.note = "kept float by the recipe";
      return d;
    }
  }
  if (t.shape.back() % static_cast<uint64_t>(spec->group_size) != 0) {
    d.note = "input dimension " + std::to_string(t.shape.back()) + " is not a multiple of the group size " +
             std::to_string(spec->group_size);
    return d;
  }
  d.spec = spec;
  return d;
}

}  // namespace mlxpack
