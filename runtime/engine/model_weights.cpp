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
    MLXPACK_ASSIGN_OR_RETURN(std::vector<Weight> w, matrices(prefix, 0, rows, cols));
    return w[0];
  }

  // `count` [rows, cols] matrices stacked in one [count, rows, cols]
  // tensor (mlx-lm's switch_mlp experts); count 0: one rank-2 matrix.
  Result<std::vector<Weight>> matrices(const std::string& prefix, uint64_t count, uint64_t rows, uint64_t cols) {
    const std::string name = prefix + ".weight";
    MLXPACK_ASSIGN_OR_RETURN(TensorView t, get(name));
    const uint32_t rank = count == 0 ? 2 : 3;
    const uint64_t n = count == 0 ? 1 : count;
    const std::string expected = count == 0 ? shape_string({rows, cols}) : shape_string({count, rows, cols});
    // The matrix dimensions of a tensor of the expected rank.
    const auto dims_ok = [&](const TensorView& v, uint64_t last_ok) {
      return v.rank == rank && (count == 0 || v.shape[0] == count) && v.shape[rank - 2] == rows && last_ok;
    };
    Weight w;
    w.rows = static_cast<int>(rows);
    w.cols = static_cast<int>(cols);
    w.data = static_cast<const uint8_t*>(t.data);
    if (t.dtype != DType::kU32) {
      MLXPACK_ASSIGN_OR_RETURN(w.kind, float_kind(t, source_.path()));
      if (!dims_ok(t, t.rank == rank && t.shape[rank - 1] == cols)) {
        return Status::invalid_argument(source_.path() + ": tensor '" + name + "' has shape " + shape_string(t) +
                                        ", config.json implies " + expected);
      }
      w.row_bytes = cols * dtype_size_bytes(t.dtype);
      count_kind(dtype_name(t.dtype), t.size_bytes);
      return split(w, n, 0, 0);
    }
    // MLX affine: weight [.., rows, cols * bits / 32] U32, scales/biases
    // [.., rows, cols / group_size]. Bits and group size follow from the
    // shapes; the config's quantization block, when present, must agree.
    MLXPACK_ASSIGN_OR_RETURN(TensorView scales, get(prefix + ".scales"));
    MLXPACK_ASSIGN_OR_RETURN(TensorView biases, get(prefix + ".biases"));
    const uint64_t packed = t.rank == rank ? t.shape[rank - 1] : 0;
    if (!dims_ok(t, packed != 0 && (packed * 32) % cols == 0)) {
      return Status::invalid_argument(source_.path() + ": quantized tensor '" + name + "' has shape " +
                                      shape_string(t) + ", which fits no bit width for " + expected);
    }
    const uint64_t bits = packed * 32 / cols;
    if (bits != 2 && bits != 3 && bits != 4 && bits != 5 && bits != 6 && bits != 8) {
      return Status::invalid_argument(source_.path() + ": quantized tensor '" + name + "' has shape " +
                                      shape_string(t) + ", i.e. " + std::to_string(bits) + " bits for " + expected +
                                      "; supported: 2, 3, 4, 5, 6, 8");
    }
    const uint64_t groups = scales.rank == rank ? scales.shape[rank - 1] : 0;
    if (!dims_ok(scales, groups != 0 && cols % groups == 0) || !shapes_equal(scales, biases)) {
      return Status::invalid_argument(source_.path() + ": tensor '" + prefix + ".scales' has shape " +
                                      shape_string(scales) + " and '" + prefix + ".biases' " + shape_string(biases) +
                                      ", expected " + (count ? "[" + std::to_string(count) + ", " : "[") +
                                      std::to_string(rows) + ", " + std::to_string(cols) + " / group_size] for both");
    }
    const uint64_t group = cols / groups;
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
    w.row_bytes = packed * 4;
    w.scale_kind = scale_kind;
    w.scales = static_cast<const uint8_t*>(scales.data);
    w.biases = static_cast<const uint8_t*>(biases.data);
    count_kind("affine " + std::to_string(bits) + "-bit g" + std::to_string(group), t.size_bytes);
    weight_bytes_ += scales.size_bytes + biases.size_bytes;
    return split(w, n, groups * dtype_size_bytes(scales.dtype), groups * dtype_size_bytes(biases.dtype));
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
  // The n matrices of a stack, each rows x row_bytes after the previous.
  static std::vector<Weight> split(const Weight& first, uint64_t n, uint64_t scale_row_bytes, uint64_t bias_row_bytes) {
    std::vector<Weight> out(n, first);
    const uint64_t rows = static_cast<uint64_t>(first.rows);
    for (uint64_t e = 1; e < n; ++e) {
      out[e].data = first.data + e * rows * first.row_bytes;
      if (first.scales) out[e].scales = first.scales + e * rows * scale_row_bytes;
      if (first.biases) out[e].biases = first.biases + e * rows * bias_row_bytes;
    }
    return out;
  }
  void count_kind(const std::string& kind, uint64_t bytes) {
    ++kinds_[kind];
    weight_bytes_ += bytes;
  }

  const ModelSource& source_;
  const ModelConfig& config_;
  std::map<std::string, int> kinds_;
  uint64_t weight_bytes_ = 0;
};

}  // namespace

namespace {

// A norm `prefix`.weight (+ .bias for LayerNorm) of n values.
Result<Norm> bind_norm(const Binder& bind, const ModelConfig& c, const std::string& prefix, uint64_t n) {
  Norm norm;
  MLXPACK_ASSIGN_OR_RETURN(norm.weight, bind.vector(prefix + ".weight", n));
  if (c.arch.norm == NormKind::kRmsUnitOffset) {
    for (float& w : norm.weight) w += 1.0f;  // Gemma scales by (1 + w), computed in float as transformers does
  } else if (c.arch.norm == NormKind::kLayerNorm) {
    MLXPACK_ASSIGN_OR_RETURN(norm.bias, bind.vector(prefix + ".bias", n));
  }
  return norm;
}

Status bind_attention(Binder& bind, const ModelConfig& c, const std::string& p, LayerWeights* L) {
  const uint64_t hidden = c.hidden_size;
  const uint64_t q_rows = static_cast<uint64_t>(c.num_heads) * c.head_dim;
  const uint64_t kv_rows = static_cast<uint64_t>(c.num_kv_heads) * c.head_dim;
  const bool qkv_bias = c.arch.qkv_bias || c.attention_bias;
  if (c.arch.qk_norm) {
    MLXPACK_ASSIGN_OR_RETURN(L->q_norm, bind_norm(bind, c, p + ".self_attn.q_norm", c.head_dim));
    MLXPACK_ASSIGN_OR_RETURN(L->k_norm, bind_norm(bind, c, p + ".self_attn.k_norm", c.head_dim));
  }
  if (c.arch.fused_qkv) {
    MLXPACK_ASSIGN_OR_RETURN(L->qkv, bind.matrix(p + ".self_attn.qkv_proj", q_rows + 2 * kv_rows, hidden));
    MLXPACK_RETURN_IF_ERROR(bind.maybe_bias(p + ".self_attn.qkv_proj", q_rows + 2 * kv_rows, false, &L->qkv, L));
  } else {
    MLXPACK_ASSIGN_OR_RETURN(L->q, bind.matrix(p + ".self_attn.q_proj", q_rows, hidden));
    MLXPACK_ASSIGN_OR_RETURN(L->k, bind.matrix(p + ".self_attn.k_proj", kv_rows, hidden));
    MLXPACK_ASSIGN_OR_RETURN(L->v, bind.matrix(p + ".self_attn.v_proj", kv_rows, hidden));
    MLXPACK_RETURN_IF_ERROR(bind.maybe_bias(p + ".self_attn.q_proj", q_rows, qkv_bias, &L->q, L));
    MLXPACK_RETURN_IF_ERROR(bind.maybe_bias(p + ".self_attn.k_proj", kv_rows, qkv_bias, &L->k, L));
    MLXPACK_RETURN_IF_ERROR(bind.maybe_bias(p + ".self_attn.v_proj", kv_rows, qkv_bias, &L->v, L));
  }
  const std::string o = p + "." + c.arch.names.attn_out;
  MLXPACK_ASSIGN_OR_RETURN(L->o, bind.matrix(o, hidden, q_rows));
  return bind.maybe_bias(o, hidden, c.attention_bias || c.arch.linear_biases, &L->o, L);
}

Status bind_dense_mlp(Binder& bind, const ModelConfig& c, const std::string& p, LayerWeights* L) {
  const uint64_t hidden = c.hidden_size, inter = c.intermediate_size;
  const TensorNames& n = c.arch.names;
  const bool biases = c.mlp_bias || c.arch.linear_biases;
  if (c.arch.fused_gate_up) {
    MLXPACK_ASSIGN_OR_RETURN(L->gate_up, bind.matrix(p + ".mlp.gate_up_proj", 2 * inter, hidden));
  } else {
    MLXPACK_ASSIGN_OR_RETURN(L->gate, bind.matrix(p + "." + n.gate, inter, hidden));
    MLXPACK_RETURN_IF_ERROR(bind.maybe_bias(p + "." + n.gate, inter, biases, &L->gate, L));
    if (c.arch.mlp != MlpKind::kPlain) {  // dense layers of expert models are gated too
      MLXPACK_ASSIGN_OR_RETURN(L->up, bind.matrix(p + "." + n.up, inter, hidden));
      MLXPACK_RETURN_IF_ERROR(bind.maybe_bias(p + "." + n.up, inter, biases, &L->up, L));
    }
  }
  MLXPACK_ASSIGN_OR_RETURN(L->down, bind.matrix(p + "." + n.down, hidden, inter));
  return bind.maybe_bias(p + "." + n.down, hidden, biases, &L->down, L);
}

// One expert projection for every expert: stacked (moe.switch_mlp.NAME) or
// per expert (moe.experts.E.HF_NAME).
Result<std::vector<Weight>> bind_experts(Binder& bind, const ModelSource& source, const ModelConfig& c,
                                         const std::string& moe, const char* name, const char* hf_name, uint64_t rows,
                                         uint64_t cols) {
  const std::string stacked = moe + ".switch_mlp." + name;
  if (source.has_tensor(stacked + ".weight")) return bind.matrices(stacked, c.num_experts, rows, cols);
  std::vector<Weight> out;
  for (int e = 0; e < c.num_experts; ++e) {
    MLXPACK_ASSIGN_OR_RETURN(Weight w, bind.matrix(moe + ".experts." + std::to_string(e) + "." + hf_name, rows, cols));
    out.push_back(w);
  }
  return out;
}

Status bind_sparse_mlp(Binder& bind, const ModelSource& source, const ModelConfig& c, const std::string& p,
                       LayerWeights* L) {
  const uint64_t hidden = c.hidden_size, inter = c.expert_size;
  const TensorNames& n = c.arch.names;
  const std::string moe = p + "." + n.moe;
  MLXPACK_ASSIGN_OR_RETURN(L->router, bind.matrix(moe + ".gate", c.num_experts, hidden));
  MLXPACK_ASSIGN_OR_RETURN(L->expert_gate, bind_experts(bind, source, c, moe, "gate_proj", n.expert_gate, inter, hidden));
  MLXPACK_ASSIGN_OR_RETURN(L->expert_up, bind_experts(bind, source, c, moe, "up_proj", n.expert_up, inter, hidden));
  MLXPACK_ASSIGN_OR_RETURN(L->expert_down, bind_experts(bind, source, c, moe, "down_proj", n.expert_down, hidden, inter));
  return Status::ok();
}

Status bind_norms(const Binder& bind, const ModelConfig& c, const std::string& p, LayerWeights* L) {
  const uint64_t hidden = c.hidden_size;
  MLXPACK_ASSIGN_OR_RETURN(L->attn_norm, bind_norm(bind, c, p + ".input_layernorm", hidden));
  switch (c.arch.block) {
    case BlockKind::kSequential: {
      MLXPACK_ASSIGN_OR_RETURN(L->mlp_norm, bind_norm(bind, c, p + ".post_attention_layernorm", hidden));
      break;
    }
    case BlockKind::kParallel:
      break;
    case BlockKind::kSandwich: {
      MLXPACK_ASSIGN_OR_RETURN(L->attn_post_norm, bind_norm(bind, c, p + ".post_attention_layernorm", hidden));
      MLXPACK_ASSIGN_OR_RETURN(L->mlp_norm, bind_norm(bind, c, p + ".pre_feedforward_layernorm", hidden));
      MLXPACK_ASSIGN_OR_RETURN(L->mlp_post_norm, bind_norm(bind, c, p + ".post_feedforward_layernorm", hidden));
      break;
    }
  }
  return Status::ok();
}

}  // namespace

std::vector<std::pair<std::string, Weight*>> linear_modules(const ModelConfig& c, ModelWeights* m) {
  std::vector<std::pair<std::string, Weight*>> out;
  const TensorNames& n = c.arch.names;
  const auto add = [&](const std::string& path, Weight* w) {
    if (w->rows > 0) out.push_back({path, w});
  };
  for (int i = 0; i < c.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LayerWeights& L = m->layers[i];
    add(p + "self_attn.q_proj", &L.q);
    add(p + "self_attn.k_proj", &L.k);
    add(p + "self_attn.v_proj", &L.v);
    add(p + "self_attn.qkv_proj", &L.qkv);
    add(p + n.attn_out, &L.o);
    add(p + n.gate, &L.gate);
    add(p + n.up, &L.up);
    add(p + "mlp.gate_up_proj", &L.gate_up);
    add(p + n.down, &L.down);
  }
  if (m->lm_head.data != m->embed.data) add("lm_head", &m->lm_head);
  return out;
}

Result<ModelWeights> bind_weights(const ModelSource& source, const ModelConfig& c) {
  Binder bind(source, c);
  ModelWeights m;
  const uint64_t hidden = c.hidden_size, vocab = c.vocab_size;
  MLXPACK_ASSIGN_OR_RETURN(m.embed, bind.matrix("model.embed_tokens", vocab, hidden));
  MLXPACK_ASSIGN_OR_RETURN(m.final_norm, bind_norm(bind, c, c.arch.names.final_norm, hidden));
  // Tied models (and MLX conversions of them) have no lm_head tensor.
  if (source.has_tensor("lm_head.weight")) {
    MLXPACK_ASSIGN_OR_RETURN(m.lm_head, bind.matrix("lm_head", vocab, hidden));
    if (c.arch.linear_biases) {
      MLXPACK_ASSIGN_OR_RETURN(m.lm_head_bias, bind.vector("lm_head.bias", vocab));
    }
  } else {
    m.lm_head = m.embed;
  }
  for (int i = 0; i < c.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i);
    LayerWeights L;
    MLXPACK_RETURN_IF_ERROR(bind_norms(bind, c, p, &L));
    MLXPACK_RETURN_IF_ERROR(bind_attention(bind, c, p, &L));
    if (c.layer_sparse[i]) {
      MLXPACK_RETURN_IF_ERROR(bind_sparse_mlp(bind, source, c, p, &L));
    } else {
      MLXPACK_RETURN_IF_ERROR(bind_dense_mlp(bind, c, p, &L));
    }
    m.layers.push_back(std::move(L));
  }
  if (!m.lm_head_bias.empty()) m.lm_head.bias = m.lm_head_bias.data();
  m.weight_bytes = bind.weight_bytes();
  m.description = bind.description();
  return m;
}

}  // namespace mlxpack::engine
