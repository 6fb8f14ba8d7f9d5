#include "runtime/engine/model_weights.h"

#include <map>

namespace mlxpack::engine {

namespace {

using kernels::Weight;
using kernels::ParamKind;

std::string shape_string(const TensorView& t) {
  std::string s = "[";
  for (uint32_t i = 0; i < t.rank; ++i) s += (i ? ", " : "") + std::to_string(t.shape[i]);
  return s + "]";
}

std::string shape_string(std::initializer_list<uint64_t> dims) {
  std::string s = "[";
  bool first = true;
  for (uint64_t d : dims) {
    s += (first ? "" : ", ") + std::to_string(d);
    first = false;
  }
  return s + "]";
}

Result<ParamKind> float_kind(const TensorView& t, const std::string& what) {
  switch (t.dtype) {
    case DType::kF32: return ParamKind::kF32;
    case DType::kF16: return ParamKind::kF16;
    case DType::kBF16: return ParamKind::kBF16;
    default:
      return Status::unsupported(what + ": tensor '" + std::string(t.name) + "' has dtype " + dtype_name(t.dtype) +
                                 "; the runtime reads F32, F16, BF16 and MLX affine-quantized (U32) weights");
  }
}

class Binder {
 public:
  Binder(const ModelSource& source, const ModelConfig& config) : source_(source), config_(config) {}

  Result<TensorView> get(const std::string& name) const {
    if (!source_.has_tensor(name)) {
      return Status::not_found(source_.path() + ": tensor '" + name + "' is missing (config.json describes a " +
                               config_.arch.model_type + " model with " + std::to_string(config_.num_layers) +
                               " layers)");
    }
    return source_.tensor(name);
  }

  // A vector of `n` floats from an F32/F16/BF16 tensor of shape [n].
  Result<std::vector<float>> vector(const std::string& name, uint64_t n) const {
    MLXPACK_ASSIGN_OR_RETURN(TensorView t, get(name));
    if (t.rank != 1 || t.shape[0] != n) {
      return Status::invalid_argument(source_.path() + ": tensor '" + name + "' has shape " + shape_string(t) +
                                      ", config.json implies " + shape_string({n}));
    }
    MLXPACK_ASSIGN_OR_RETURN(ParamKind kind, float_kind(t, source_.path()));
    std::vector<float> out(n);
    for (uint64_t i = 0; i < n; ++i) {
      out[i] = kernels::load_scalar(static_cast<const uint8_t*>(t.data), kind, static_cast<int>(i));
    }
    return out;
  }

  // A [rows, cols] matrix at `prefix`.weight, quantized (with .scales and
  // .biases) or not.
  Result<Weight> matrix(const std::string& prefix, uint64_t rows, uint64_t cols) {
    const std::string name = prefix + ".weight";
    MLXPACK_ASSIGN_OR_RETURN(TensorView t, get(name));
    const std::string expected = shape_string({rows, cols});
    Weight w;
    w.rows = static_cast<int>(rows);
    w.cols = static_cast<int>(cols);
    w.data = static_cast<const uint8_t*>(t.data);
    if (t.dtype != DType::kU32) {
      MLXPACK_ASSIGN_OR_RETURN(w.kind, float_kind(t, source_.path()));
      if (t.rank != 2 || t.shape[0] != rows || t.shape[1] != cols) {
        return Status::invalid_argument(source_.path() + ": tensor '" + name + "' has shape " + shape_string(t) +
                                        ", config.json implies " + expected);
      }
      w.row_bytes = cols * dtype_size_bytes(t.dtype);
      count(dtype_name(t.dtype), t.size_bytes);
      return w;
    }
    // MLX affine: weight [rows, cols * bits / 32] U32, scales/biases
    // [rows, cols / group_size]. Bits and group size follow from the shapes;
    // the config's quantization block, when present, must agree.
    MLXPACK_ASSIGN_OR_RETURN(TensorView scales, get(prefix + ".scales"));
    MLXPACK_ASSIGN_OR_RETURN(TensorView biases, get(prefix + ".biases"));
    if (t.rank != 2 || t.shape[0] != rows || t.shape[1] == 0 || (t.shape[1] * 32) % cols != 0) {
      return Status::invalid_argument(source_.path() + ": quantized tensor '" + name + "' has shape " +
                                      shape_string(t) + ", which fits no bit width for " + expected);
    }
    const uint64_t bits = t.shape[1] * 32 / cols;
    if (bits != 2 && bits != 3 && bits != 4 && bits != 5 && bits != 6 && bits != 8) {
      return Status::invalid_argument(source_.path() + ": quantized tensor '" + name + "' has shape " +
                                      shape_string(t) + ", i.e. " + std::to_string(bits) + " bits for " + expected +
                                      "; supported: 2, 3, 4, 5, 6, 8");
    }
    if (scales.rank != 2 || scales.shape[0] != rows || scales.shape[1] == 0 || cols % scales.shape[1] != 0 ||
        !shapes_equal(scales, biases)) {
      return Status::invalid_argument(source_.path() + ": tensor '" + prefix + ".scales' has shape " +
                                      shape_string(scales) + " and '" + prefix + ".biases' " + shape_string(biases) +
                                      ", expected [" + std::to_string(rows) + ", " + std::to_string(cols) +
                                      " / group_size] for both");
    }
    const uint64_t group = cols / scales.shape[1];
    if (group != 16 && group != 32 && group != 64 && group != 128) {
      return Status::unsupported(source_.path() + ": tensor '" + name + "' uses group size " + std::to_string(group) +
                                 "; supported: 32, 64, 128 (MLX's group sizes) and 16 (K-quants imported from GGUF)");
    }
    QuantOverride declared = config_.quantization;
    if (auto it = config_.quant_overrides.find(prefix); it != config_.quant_overrides.end()) declared = it->second;
    if (declared.bits != 0 && (static_cast<uint64_t>(declared.bits) != bits ||
                               static_cast<uint64_t>(declared.group_size) != group)) {
      return Status::invalid_argument(source_.path() + ": tensor '" + name + "' is stored with " +
                                      std::to_string(bits) + " bits, group size " + std::to_string(group) +
                                      ", but config.json's quantization says " + std::to_string(declared.bits) +
                                      " bits, group size " + std::to_string(declared.group_size));
    }
    MLXPACK_ASSIGN_OR_RETURN(ParamKind scale_kind, float_kind(scales, source_.path()));
    if (biases.dtype != scales.dtype) {
      return Status::invalid_argument(source_.path() + ": '" + prefix + ".biases' is " + dtype_name(biases.dtype) +
                                      " but '" + prefix + ".scales' is " + dtype_name(scales.dtype));
    }
    w.kind = ParamKind::kAffine;
    w.bits = static_cast<int>(bits);
    w.group_size = static_cast<int>(group);
    w.row_bytes = t.shape[1] * 4;
    w.scale_kind = scale_kind;
    w.scales = static_cast<const uint8_t*>(scales.data);
    w.biases = static_cast<const uint8_t*>(biases.data);
    count("affine " + std::to_string(bits) + "-bit g" + std::to_string(group), t.size_bytes);
    weight_bytes_ += scales.size_bytes + biases.size_bytes;
    return w;
  }

  // `prefix`.bias of `n` values if the tensor exists or `required`.
  Status maybe_bias(const std::string& prefix, uint64_t n, bool required, Weight* w, LayerWeights* layer) {
    const std::string name = prefix + ".bias";
    if (!required && !source_.has_tensor(name)) return Status::ok();
    MLXPACK_ASSIGN_OR_RETURN(std::vector<float> b, vector(name, n));
    layer->bias_storage.push_back(std::move(b));
    w->bias = layer->bias_storage.back().data();
    return Status::ok();
  }

  uint64_t weight_bytes() const { return weight_bytes_; }
  std::string description() const {
    std::string s;
    for (const auto& [kind, n] : kinds_) s += (s.empty() ? "" : ", ") + kind + " (" + std::to_string(n) + ")";
    return s;
  }

 private:
  static bool shapes_equal(const TensorView& a, const TensorView& b) {
    if (a.rank != b.rank) return false;
    for (uint32_t i = 0; i < a.rank; ++i) {
      if (a.shape[i] != b.shape[i]) return false;
    }
    return true;
  }
  void count(const std::string& kind, uint64_t bytes) {
    ++kinds_[kind];
    weight_bytes_ += bytes;
  }

  const ModelSource& source_;
  const ModelConfig& config_;
  std::map<std::string, int> kinds_;
  uint64_t weight_bytes_ = 0;
};

}  // namespace

Result<ModelWeights> bind_weights(const ModelSource& source, const ModelConfig& c) {
  Binder bind(source, c);
  ModelWeights m;
  const uint64_t hidden = c.hidden_size, inter = c.intermediate_size, vocab = c.vocab_size;
  const uint64_t q_rows = static_cast<uint64_t>(c.num_heads) * c.head_dim;
  const uint64_t kv_rows = static_cast<uint64_t>(c.num_kv_heads) * c.head_dim;
  MLXPACK_ASSIGN_OR_RETURN(m.embed, bind.matrix("model.embed_tokens", vocab, hidden));
  MLXPACK_ASSIGN_OR_RETURN(m.final_norm, bind.vector("model.norm.weight", hidden));
  // Tied models (and MLX conversions of them) have no lm_head tensor.
  if (source.has_tensor("lm_head.weight")) {
    MLXPACK_ASSIGN_OR_RETURN(m.lm_head, bind.matrix("lm_head", vocab, hidden));
  } else {
    m.lm_head = m.embed;
  }
  const bool qkv_bias = c.arch.qkv_bias || c.attention_bias;
  for (int i = 0; i < c.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i);
    LayerWeights L;
    MLXPACK_ASSIGN_OR_RETURN(L.attn_norm, bind.vector(p + ".input_layernorm.weight", hidden));
    MLXPACK_ASSIGN_OR_RETURN(L.mlp_norm, bind.vector(p + ".post_attention_layernorm.weight", hidden));
    if (c.arch.qk_norm) {
      MLXPACK_ASSIGN_OR_RETURN(L.q_norm, bind.vector(p + ".self_attn.q_norm.weight", c.head_dim));
      MLXPACK_ASSIGN_OR_RETURN(L.k_norm, bind.vector(p + ".self_attn.k_norm.weight", c.head_dim));
    }
    if (c.arch.fused_qkv) {
      MLXPACK_ASSIGN_OR_RETURN(L.qkv, bind.matrix(p + ".self_attn.qkv_proj", q_rows + 2 * kv_rows, hidden));
      MLXPACK_RETURN_IF_ERROR(bind.maybe_bias(p + ".self_attn.qkv_proj", q_rows + 2 * kv_rows, false, &L.qkv, &L));
    } else {
      MLXPACK_ASSIGN_OR_RETURN(L.q, bind.matrix(p + ".self_attn.q_proj", q_rows, hidden));
      MLXPACK_ASSIGN_OR_RETURN(L.k, bind.matrix(p + ".self_attn.k_proj", kv_rows, hidden));
      MLXPACK_ASSIGN_OR_RETURN(L.v, bind.matrix(p + ".self_attn.v_proj", kv_rows, hidden));
      MLXPACK_RETURN_IF_ERROR(bind.maybe_bias(p + ".self_attn.q_proj", q_rows, qkv_bias, &L.q, &L));
      MLXPACK_RETURN_IF_ERROR(bind.maybe_bias(p + ".self_attn.k_proj", kv_rows, qkv_bias, &L.k, &L));
      MLXPACK_RETURN_IF_ERROR(bind.maybe_bias(p + ".self_attn.v_proj", kv_rows, qkv_bias, &L.v, &L));
    }
    MLXPACK_ASSIGN_OR_RETURN(L.o, bind.matrix(p + ".self_attn.o_proj", hidden, q_rows));
    MLXPACK_RETURN_IF_ERROR(bind.maybe_bias(p + ".self_attn.o_proj", hidden, c.attention_bias, &L.o, &L));
    if (c.arch.fused_gate_up) {
      MLXPACK_ASSIGN_OR_RETURN(L.gate_up, bind.matrix(p + ".mlp.gate_up_proj", 2 * inter, hidden));
    } else {
      MLXPACK_ASSIGN_OR_RETURN(L.gate, bind.matrix(p + ".mlp.gate_proj", inter, hidden));
      MLXPACK_ASSIGN_OR_RETURN(L.up, bind.matrix(p + ".mlp.up_proj", inter, hidden));
      MLXPACK_RETURN_IF_ERROR(bind.maybe_bias(p + ".mlp.gate_proj", inter, c.mlp_bias, &L.gate, &L));
      MLXPACK_RETURN_IF_ERROR(bind.maybe_bias(p + ".mlp.up_proj", inter, c.mlp_bias, &L.up, &L));
    }
    MLXPACK_ASSIGN_OR_RETURN(L.down, bind.matrix(p + ".mlp.down_proj", hidden, inter));
    MLXPACK_RETURN_IF_ERROR(bind.maybe_bias(p + ".mlp.down_proj", hidden, c.mlp_bias, &L.down, &L));
    m.layers.push_back(std::move(L));
  }
  m.weight_bytes = bind.weight_bytes();
  m.description = bind.description();
  return m;
}

}  // namespace mlxpack::engine
