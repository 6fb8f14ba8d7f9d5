// GGUF export as steps: read the model (config, tensors, tokenizer), choose
// each tensor's GGUF name, rows and type, write the metadata and the
// header, then each tensor (cast, requantized or carried over block for
// block) through one temporary file renamed into place.
#include "convert/gguf/gguf_export.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>

#include "convert/float_convert.h"
#include "convert/gguf/gguf_architecture.h"
#include "convert/gguf/gguf_quantize.h"
#include "convert/gguf/gguf_tokenizer_export.h"
#include "format/byte_order.h"
#include "format/file_io.h"
#include "format/gguf_writer.h"
#include "format/half.h"
#include "format/hf_config.h"
#include "mlxpack/model_source.h"

namespace mlxpack {

namespace {

// One output tensor and where its values come from.
struct ExportTensor {
  std::string hf;                  // the weight's name in the model
  std::string gguf;                // its name in the GGUF
  std::vector<uint64_t> dims;      // ggml order
  uint32_t type = kGgmlF32;        // written as
  bool affine = false;             // the source is MLX affine (weight, scales, biases)
  int bits = 0, group_size = 0;    // of an affine source
  std::vector<uint64_t> rows_from; // GGUF row g is the model's row rows_from[g]; empty: as stored
  bool exact_q4_1 = false;         // affine 4-bit groups of 32 with float16 parameters: block for block
};

struct Hyper {
  uint64_t hidden, layers, heads, kv_heads, head_dim, ff, vocab, context;
};

uint64_t rows_of(const std::vector<uint64_t>& dims) {
  uint64_t rows = 1;
  for (size_t d = 1; d < dims.size(); ++d) rows *= dims[d];
  return rows;
}

uint32_t float_type(DType d) { return d == DType::kF16 ? kGgmlF16 : d == DType::kBF16 ? kGgmlBF16 : kGgmlF32; }

uint32_t requested_type(GgufOutputType t) {
  switch (t) {
    case GgufOutputType::kF32: return kGgmlF32;
    case GgufOutputType::kF16: return kGgmlF16;
    case GgufOutputType::kBF16: return kGgmlBF16;
    case GgufOutputType::kQ8_0: return kGgmlQ8_0;
    case GgufOutputType::kQ4_0: return kGgmlQ4_0;
    case GgufOutputType::kQ4_1: return kGgmlQ4_1;
    case GgufOutputType::kKeep: break;
  }
  return kGgmlF32;
}

Result<Hyper> read_hyper(const HfConfig& c, const std::string& where) {
  auto need = [&](const std::optional<int64_t>& v, const char* key) -> Result<uint64_t> {
    if (!v || *v <= 0) return Status::invalid_argument(where + ": " + key + " is missing or not positive");
    return static_cast<uint64_t>(*v);
  };
  Hyper h{};
  MLXPACK_ASSIGN_OR_RETURN(h.hidden, need(c.hidden_size, "hidden_size"));
  MLXPACK_ASSIGN_OR_RETURN(h.layers, need(c.num_hidden_layers, "num_hidden_layers"));
  MLXPACK_ASSIGN_OR_RETURN(h.heads, need(c.num_attention_heads, "num_attention_heads"));
  MLXPACK_ASSIGN_OR_RETURN(h.ff, need(c.intermediate_size, "intermediate_size"));
  MLXPACK_ASSIGN_OR_RETURN(h.vocab, need(c.vocab_size, "vocab_size"));
  h.kv_heads = c.num_key_value_heads.value_or(static_cast<int64_t>(h.heads));
  h.head_dim = c.head_dim.value_or(static_cast<int64_t>(h.hidden / h.heads));
  h.context = c.max_position_embeddings.value_or(4096);
  return h;
}

// llama.cpp's rope_freqs for Llama 3's rope scaling (its converter's formula).
std::vector<float> llama3_rope_factors(const HfRopeScaling& s, double theta, uint64_t rope_dim) {
  const double factor = s.factor.value_or(8), low = s.low_freq_factor.value_or(1),
               high = s.high_freq_factor.value_or(4), old = s.original_max_position_embeddings.value_or(8192);
  std::vector<float> out;
  for (uint64_t i = 0; i < rope_dim / 2; ++i) {
    const double freq = 1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(rope_dim));
    const double wavelen = 2 * M_PI / freq;
    if (wavelen < old / high) {
      out.push_back(1);
    } else if (wavelen > old / low) {
      out.push_back(static_cast<float>(factor));
    } else {
      const double smooth = (old / wavelen - low) / (high - low);
      out.push_back(static_cast<float>(1 / ((1 - smooth) / factor + smooth)));
    }
  }
  return out;
}

// The quantization of layer `base`: its own entry, else the default.
std::pair<int, int> affine_spec(const HfConfig& c, const std::string& base) {
  const std::optional<HfQuantization>& q = c.quantization ? c.quantization : c.quantization_config;
  if (!q) return {0, 0};
  if (auto it = q->modules.find(base); it != q->modules.end() && it->second.bits) {
    return {static_cast<int>(*it->second.bits), static_cast<int>(it->second.group_size.value_or(64))};
  }
  return {static_cast<int>(q->bits.value_or(0)), static_cast<int>(q->group_size.value_or(64))};
}

Result<std::vector<ExportTensor>> plan_tensors(const ModelSource& in, const HfConfig& c, const Hyper& h,
                                               const GgufArchitectureFor& arch, const ConvertOptions& o,
                                               ConvertReport* report) {
  std::vector<ExportTensor> out;
  std::vector<uint64_t> q_rows, k_rows;
  if (arch.permuted_qk) {
    // Invert "model row r is GGUF row from[r]" into "GGUF row g is model row".
    auto invert = [](const std::vector<uint64_t>& from) {
      std::vector<uint64_t> inv(from.size());
      for (uint64_t r = 0; r < from.size(); ++r) inv[from[r]] = r;
      return inv;
    };
    q_rows = invert(llama_qk_gguf_rows(h.heads, h.head_dim));
    k_rows = invert(llama_qk_gguf_rows(h.kv_heads, h.head_dim));
  }
  for (const std::string& name : in.tensor_names()) {
    const bool param = name.size() > 7 && (name.compare(name.size() - 7, 7, ".scales") == 0 ||
                                           name.compare(name.size() - 7, 7, ".biases") == 0);
    const std::string base = name.substr(0, name.rfind('.'));
    MLXPACK_ASSIGN_OR_RETURN(TensorView meta, in.tensor_metadata(name));
    const bool affine_weight = meta.dtype == DType::kU32 && in.has_tensor(base + ".scales");
    if (param && in.has_tensor(base + ".weight")) continue;  // part of an affine weight
    ExportTensor t;
    t.hf = name;
    t.gguf = gguf_tensor_name(name, arch.fused_gate_up, h.layers);
    if (t.gguf.empty()) return Status::unsupported(in.describe(name) + ": no GGUF name for this tensor");
    std::vector<uint64_t> shape(meta.shape.begin(), meta.shape.begin() + meta.rank);
    if (affine_weight) {
      MLXPACK_ASSIGN_OR_RETURN(TensorView scales, in.tensor_metadata(base + ".scales"));
      const auto [bits, group] = affine_spec(c, base);
      if (bits == 0 || meta.rank != 2 || scales.rank != 2 || shape[1] * 32 % bits != 0 ||
          shape[1] * 32 / bits != scales.shape[1] * static_cast<uint64_t>(group)) {
        return Status::invalid_argument(in.describe(name) + ": its shape does not match config.json's quantization");
      }
      t.affine = true, t.bits = bits, t.group_size = group;
      shape[1] = shape[1] * 32 / bits;
      t.exact_q4_1 = bits == 4 && group == 32 && scales.dtype == DType::kF16;
    } else if (meta.dtype != DType::kF32 && meta.dtype != DType::kF16 && meta.dtype != DType::kBF16) {
      return Status::unsupported(in.describe(name) + ": " + dtype_name(meta.dtype) + " tensors are not exported");
    }
    t.dims.assign(shape.rbegin(), shape.rend());
    if (shape.size() == 1) {
      t.type = kGgmlF32;  // llama.cpp keeps norms and biases in F32
    } else if (o.gguf_type != GgufOutputType::kKeep) {
      t.type = requested_type(o.gguf_type);
    } else if (!t.affine) {
      t.type = float_type(meta.dtype);
    } else {
      t.type = t.exact_q4_1 ? kGgmlQ4_1 : t.bits <= 4 ? kGgmlQ4_1 : kGgmlQ8_0;
      if (!t.exact_q4_1) {
        report->kept_float.push_back(name + ": MLX " + std::to_string(t.bits) + "-bit groups of " +
                                     std::to_string(t.group_size) + " requantized to " + ggml_type(t.type)->name +
                                     " (no GGUF type holds them exactly)");
      }
    }
    if (ggml_type(t.type)->block_size > 1 && t.dims[0] % 32 != 0) {
      report->kept_float.push_back(name + ": rows of " + std::to_string(t.dims[0]) +
                                   " are not whole blocks of 32; written as F16");
      t.type = kGgmlF16;
    }
    const std::string g = t.gguf;
    if (arch.permuted_qk && (g.find(".attn_q.") != std::string::npos || g.find(".attn_k.") != std::string::npos)) {
      t.rows_from = g.find(".attn_q.") != std::string::npos ? q_rows : k_rows;
      if (t.rows_from.size() != shape[0]) {
        return Status::invalid_argument(in.describe(name) + ": " + std::to_string(shape[0]) +
                                        " rows, the config implies " + std::to_string(t.rows_from.size()));
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

// Row r of an affine weight as floats: scale * q + bias in float32.
void dequantize_row(const uint8_t* words, const uint8_t* scales, const uint8_t* biases, DType pdtype, int bits,
                    int group, uint64_t cols, float* out) {
  for (uint64_t i = 0; i < cols; ++i) {
    uint32_t q = 0;
    for (int k = 0; k < bits; ++k) {
      const uint64_t bit = i * bits + k;
      q |= static_cast<uint32_t>((words[bit / 8] >> (bit % 8)) & 1u) << k;
    }
    const uint64_t g = i / group;
    out[i] = load_float(scales, pdtype, g) * static_cast<float>(q) + load_float(biases, pdtype, g);
  }
}

// MLX 4-bit groups of 32 with float16 scale and bias are Q4_1 blocks:
// d = scale, m = bias, the same nibbles in ggml's order.
void q4_1_row(const uint8_t* words, const uint8_t* scales, const uint8_t* biases, uint64_t cols, uint8_t* out) {
  for (uint64_t b = 0; b < cols / 32; ++b, out += 20) {
    std::memcpy(out, scales + 2 * b, 2);
    std::memcpy(out + 2, biases + 2 * b, 2);
    const uint8_t* w = words + b * 16;  // 32 values, low nibble first
    for (int j = 0; j < 16; ++j) {
      const uint8_t lo = (w[j / 2] >> (4 * (j % 2))) & 0x0f, hi = (w[(j + 16) / 2] >> (4 * (j % 2))) & 0x0f;
      out[4 + j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

Result<std::string> encode_tensor(const ModelSource& in, const ExportTensor& t) {
  const uint64_t cols = t.dims[0];
  const uint64_t rows = rows_of(t.dims);
  const uint64_t row_out = gguf_row_bytes(t.type, cols);
  std::string out(rows * row_out, '\0');
  MLXPACK_ASSIGN_OR_RETURN(TensorView w, in.tensor(t.hf));
  const auto* data = static_cast<const uint8_t*>(w.data);
  std::vector<float> row(cols);
  const std::string base = t.hf.substr(0, t.hf.rfind('.'));
  TensorView scales{}, biases{};
  if (t.affine) {
    MLXPACK_ASSIGN_OR_RETURN(scales, in.tensor(base + ".scales"));
    MLXPACK_ASSIGN_OR_RETURN(biases, in.tensor(base + ".biases"));
  }
  const uint64_t groups = t.affine ? cols / t.group_size : 0;
  const uint64_t param_bytes = t.affine ? groups * dtype_size_bytes(scales.dtype) : 0;
  for (uint64_t g = 0; g < rows; ++g) {
    const uint64_t r = t.rows_from.empty() ? g : t.rows_from[g];
    auto* dst = reinterpret_cast<uint8_t*>(out.data()) + g * row_out;
    if (t.affine) {
      const uint8_t* words = data + r * cols * t.bits / 8;
      const auto* s = static_cast<const uint8_t*>(scales.data) + r * param_bytes;
      const auto* z = static_cast<const uint8_t*>(biases.data) + r * param_bytes;
      if (t.exact_q4_1 && t.type == kGgmlQ4_1) {
        q4_1_row(words, s, z, cols, dst);
        continue;
      }
      dequantize_row(words, s, z, scales.dtype, t.bits, t.group_size, cols, row.data());
    } else if (t.type == float_type(w.dtype)) {  // the same float type: the bytes as they are
      std::memcpy(dst, data + r * row_out, row_out);
      continue;
    } else {
      for (uint64_t i = 0; i < cols; ++i) row[i] = load_float(data, w.dtype, r * cols + i);
    }
    gguf_encode_row(t.type, row.data(), cols, dst);
  }
  return out;
}

void add_metadata(const HfConfig& c, const Hyper& h, const std::string& arch, const std::string& name,
                  GgufWriter* w) {
  const std::string a = arch + ".";
  w->add_string("general.architecture", arch);
  w->add_string("general.name", name);
  w->add_u32(a + "context_length", static_cast<uint32_t>(h.context));
  w->add_u32(a + "embedding_length", static_cast<uint32_t>(h.hidden));
  w->add_u32(a + "block_count", static_cast<uint32_t>(h.layers));
  w->add_u32(a + "feed_forward_length", static_cast<uint32_t>(h.ff));
  w->add_u32(a + "attention.head_count", static_cast<uint32_t>(h.heads));
  w->add_u32(a + "attention.head_count_kv", static_cast<uint32_t>(h.kv_heads));
  w->add_u32(a + "attention.key_length", static_cast<uint32_t>(h.head_dim));
  w->add_u32(a + "attention.value_length", static_cast<uint32_t>(h.head_dim));
  w->add_u32(a + "rope.dimension_count",
             static_cast<uint32_t>(std::lround(static_cast<double>(h.head_dim) * c.partial_rotary_factor.value_or(1.0))));
  w->add_f32(a + "rope.freq_base", static_cast<float>(c.rope_theta.value_or(10000.0)));
  w->add_f32(a + "attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps.value_or(1e-5)));
  w->add_u32(a + "vocab_size", static_cast<uint32_t>(h.vocab));
  if (c.sliding_window && c.use_sliding_window.value_or(true)) {
    w->add_u32(a + "attention.sliding_window", static_cast<uint32_t>(*c.sliding_window));
  }
  if (c.rope_scaling && c.rope_scaling->type == "linear") {
    w->add_string(a + "rope.scaling.type", "linear");
    w->add_f32(a + "rope.scaling.factor", static_cast<float>(c.rope_scaling->factor.value_or(1.0)));
  }
}

std::string base_name(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

Result<ConvertReport> export_unguarded(const ConvertOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.dtype || o.quant.any() || o.untie_word_embeddings) {
    return Status::invalid_argument(o.input + ": a GGUF export takes its types from the GGUF type; cast and "
                                              "quantize options do not apply");
  }
  MLXPACK_ASSIGN_OR_RETURN(std::unique_ptr<ModelSource> in, ModelSource::open(o.input, {VerifyMode::kLazy}));
  MLXPACK_ASSIGN_OR_RETURN(std::string config_text, in->file("config.json"));
  MLXPACK_ASSIGN_OR_RETURN(HfConfig c, parse_hf_config(config_text, in->describe("config.json")));
  const std::optional<GgufArchitectureFor> arch = gguf_architecture_for(c.model_type);
  if (!arch) {
    return Status::unsupported(in->describe("config.json") + ": model_type \"" + c.model_type +
                               "\" is not exported to GGUF (llama, mistral, qwen2, qwen3, phi3 are)");
  }
  MLXPACK_ASSIGN_OR_RETURN(Hyper h, read_hyper(c, in->describe("config.json")));
  ConvertReport report;
  MLXPACK_ASSIGN_OR_RETURN(std::vector<ExportTensor> tensors, plan_tensors(*in, c, h, *arch, o, &report));
  GgufWriter w;
  add_metadata(c, h, arch->gguf, base_name(o.input), &w);
  MLXPACK_RETURN_IF_ERROR(add_gguf_tokenizer(*in, &w));
  std::vector<float> rope_factors;
  if (c.rope_scaling && c.rope_scaling->type == "llama3") {
    rope_factors = llama3_rope_factors(*c.rope_scaling, c.rope_theta.value_or(500000.0), h.head_dim);
    w.add_tensor("rope_freqs.weight", {rope_factors.size()}, kGgmlF32, rope_factors.size() * 4);
  } else if (c.rope_scaling && !c.rope_scaling->type.empty() && c.rope_scaling->type != "linear" &&
             c.rope_scaling->type != "default") {
    return Status::unsupported(in->describe("config.json") + ": rope_scaling type \"" + c.rope_scaling->type +
                               "\" is not exported to GGUF (linear and llama3 are)");
  }
  for (const ExportTensor& t : tensors) {
    w.add_tensor(t.gguf, t.dims, t.type, gguf_row_bytes(t.type, t.dims[0]) * rows_of(t.dims));
  }
  MLXPACK_RETURN_IF_ERROR(check_output_is_not_input(o.output, in->disk_paths()));
  MLXPACK_ASSIGN_OR_RETURN(OutputFile out, OutputFile::create(o.output, o.overwrite));
  const std::string header = w.header();
  MLXPACK_RETURN_IF_ERROR(out.append(header.data(), header.size()));
  const size_t first = rope_factors.empty() ? 0 : 1;
  if (first == 1) {
    std::string bytes;
    for (float f : rope_factors) {
      uint8_t b[4];
      store_le32(b, f32_to_bits(f));
      bytes.append(reinterpret_cast<const char*>(b), 4);
    }
    MLXPACK_RETURN_IF_ERROR(out.append(bytes.data(), bytes.size()));
  }
  uint64_t done = 0, total = 0;
  for (const ExportTensor& t : tensors) total += w.size(&t - tensors.data() + first);
  for (size_t k = 0; k < tensors.size(); ++k) {
    const uint64_t at = w.data_offset() + w.offset(k + first);
    MLXPACK_RETURN_IF_ERROR(out.append_zeros(at - out.position()));
    MLXPACK_ASSIGN_OR_RETURN(std::string bytes, encode_tensor(*in, tensors[k]));
    MLXPACK_RETURN_IF_ERROR(out.append(bytes.data(), bytes.size()));
    report.bytes_out += bytes.size();
    const ExportTensor& t = tensors[k];
    if (ggml_type(t.type)->block_size > 1) {
      ++report.quantized;
    } else if (t.affine || in->tensor_metadata(t.hf)->dtype != (t.type == kGgmlF32   ? DType::kF32
                                                               : t.type == kGgmlF16 ? DType::kF16
                                                                                    : DType::kBF16)) {
      ++report.cast;
    }
    done += bytes.size();
    if (o.on_progress) o.on_progress(done, total);
  }
  MLXPACK_RETURN_IF_ERROR(out.commit());
  report.tensors_in = in->tensor_names().size();
  for (const std::string& name : in->tensor_names()) {
    if (Result<TensorView> t = in->tensor_metadata(name); t.is_ok()) report.bytes_in += t->size_bytes;
  }
  report.tensors_out = tensors.size() + first;
  report.output_size = w.file_size();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace

Result<ConvertReport> export_gguf(const ConvertOptions& options) {
  try {
    return export_unguarded(options);
  } catch (const std::bad_alloc&) {
    return Status::out_of_memory(options.input + ": out of memory while writing a GGUF");
  }
}

}  // namespace mlxpack
