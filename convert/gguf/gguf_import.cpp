// GGUF import as steps: read the header (format/gguf), the tokenizer and
// the architecture plan, the output tensors and shards, then each tensor:
// read with pread (a file truncated meanwhile is an error, not a SIGBUS),
// convert, write.
#include "convert/gguf/gguf_import.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include "convert/gguf/gguf_architecture.h"
#include "convert/gguf/gguf_blocks.h"
#include "convert/gguf/gguf_tokenizer.h"
#include "convert/import_then_convert.h"
#include "convert/output_sink.h"
#include "convert/shard_layout.h"
#include "format/byte_order.h"
#include "format/file_io.h"
#include "format/temporary_outputs.h"

namespace mlxpack {

namespace {

using ordered_json = nlohmann::ordered_json;

// A tensor read into memory at once: far above any model's largest matrix
// (a 256k x 16k embedding in F32), far below what a hostile size asks for.
constexpr uint64_t kMaxTensorBytes = uint64_t{32} << 30;

Result<std::string> read_tensor(const InputFile& in, const GgufTensorInfo& t) {
  if (t.size_bytes > kMaxTensorBytes) {
    return Status::invalid_argument(in.path() + ": tensor " + t.name + " is " + std::to_string(t.size_bytes) +
                                    " bytes (limit " + std::to_string(kMaxTensorBytes) + ")");
  }
  std::string bytes(static_cast<size_t>(t.size_bytes), '\0');
  MLXPACK_RETURN_IF_ERROR(in.read_at(t.offset, bytes.data(), bytes.size()));
  return bytes;
}

// What becomes of one GGUF tensor: copied (float types), carried over as
// affine groups, or dequantized to floats of `dtype`.
struct TensorMode {
  enum Kind { kCopy, kAffine, kDequantize } kind = kCopy;
  DType dtype = DType::kF32;
};

// The output tensors of one planned tensor, without their bytes.
void add_outputs(const GgufTensorInfo& t, const GgufTensorPlan& p, const TensorMode& mode, size_t job,
                 std::vector<OutTensor>* outs) {
  const std::vector<uint64_t> shape(t.dims.rbegin(), t.dims.rend());
  const uint64_t cols = t.dims[0], rows = t.rows();
  if (mode.kind == TensorMode::kDequantize) {
    outs->push_back({p.name, mode.dtype, shape, t.elements * dtype_size_bytes(mode.dtype), t.elements, job, 0});
    return;
  }
  if (std::optional<GgufAffineForm> form = gguf_affine_form(t.type)) {
    const std::string base = p.name.substr(0, p.name.size() - 7);  // without ".weight"
    const uint64_t words = cols * form->bits / 32, groups = cols / form->group_size;
    outs->push_back({base + ".weight", DType::kU32, {rows, words}, rows * words * 4, t.elements, job, 0});
    const uint64_t pb = dtype_size_bytes(form->params);
    outs->push_back({base + ".scales", form->params, {rows, groups}, rows * groups * pb, rows * groups, job, 1});
    outs->push_back({base + ".biases", form->params, {rows, groups}, rows * groups * pb, rows * groups, job, 2});
    return;
  }
  const DType dtype = gguf_float_dtype(t.type).value_or(DType::kF32);
  outs->push_back({p.name, dtype, shape, t.size_bytes, t.elements, job, 0});
}

// How each tensor is imported; refuses what an import cannot do: types
// without an MLX form (unless dequantizing them was asked for), block types
// on tensors that are not "*.weight" matrices.
Result<std::vector<TensorMode>> tensor_modes(const GgufFile& file, const GgufModelPlan& plan,
                                             const ConvertOptions& options) {
  // --dequantize-unsupported writes the model's float dtype: that of its
  // float matrices, else float16.
  DType model_float = DType::kF16;
  for (const GgufTensorPlan& p : plan.tensors) {
    const GgufTensorInfo& t = file.tensors[p.index];
    if (t.dims.size() == 2 && gguf_float_dtype(t.type)) {
      model_float = *gguf_float_dtype(t.type);
      break;
    }
  }
  std::vector<TensorMode> modes;
  for (const GgufTensorPlan& p : plan.tensors) {
    const GgufTensorInfo& t = file.tensors[p.index];
    TensorMode m;
    if (gguf_float_dtype(t.type)) {
      modes.push_back(m);
      continue;
    }
    const bool affine = gguf_affine_form(t.type).has_value();
    if (options.import_as_float || (!affine && options.dequantize_unsupported)) {
      if (!gguf_can_dequantize(t.type)) {
        return Status::unsupported(options.input + ": tensor " + t.name + " has type " + ggml_type(t.type)->name +
                                   ", which mlxpack cannot dequantize (the IQ1/IQ2/IQ3 and TQ types)");
      }
      m.kind = TensorMode::kDequantize;
      m.dtype = options.import_as_float ? DType::kF32 : model_float;
    } else if (!affine) {
      return Status::unsupported(options.input + ": tensor " + t.name + " has type " + ggml_type(t.type)->name +
                                 ", which is not imported (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and Q2_K "
                                 "to Q6_K are; --dequantize-unsupported turns IQ4_NL, IQ4_XS and MXFP4 into floats)");
    } else {
      m.kind = TensorMode::kAffine;
    }
    if (t.dims.size() != 2 || p.name.size() < 7 || p.name.compare(p.name.size() - 7, 7, ".weight") != 0) {
      return Status::unsupported(options.input + ": tensor " + t.name + " is " + ggml_type(t.type)->name +
                                 " but not a weight matrix; only weight matrices are imported from block types");
    }
    modes.push_back(m);
  }
  return modes;
}

// config.json's "quantization": the most common form as the default and
// every layer stored otherwise by name, as mlx-lm writes mixed models.
void add_quantization(const GgufFile& file, const GgufModelPlan& plan, const std::vector<TensorMode>& modes,
                      ordered_json* config) {
  std::map<std::pair<int, int>, uint64_t> counts;
  for (size_t k = 0; k < plan.tensors.size(); ++k) {
    if (modes[k].kind != TensorMode::kAffine) continue;
    if (auto f = gguf_affine_form(file.tensors[plan.tensors[k].index].type)) ++counts[{f->bits, f->group_size}];
  }
  if (counts.empty()) {
    const GgufTensorInfo* embed = file.tensor("token_embd.weight");
    const std::optional<DType> d = gguf_float_dtype(embed->type) ? gguf_float_dtype(embed->type) : modes[0].dtype;
    (*config)["torch_dtype"] = d == DType::kBF16 ? "bfloat16" : d == DType::kF16 ? "float16" : "float32";
    return;
  }
  const auto common = std::max_element(counts.begin(), counts.end(),
                                       [](const auto& a, const auto& b) { return a.second < b.second; })->first;
  ordered_json q = {{"group_size", common.second}, {"bits", common.first}, {"mode", "affine"}};
  for (size_t k = 0; k < plan.tensors.size(); ++k) {
    const GgufTensorPlan& p = plan.tensors[k];
    auto f = gguf_affine_form(file.tensors[p.index].type);
    if (f && modes[k].kind == TensorMode::kAffine && std::make_pair(f->bits, f->group_size) != common) {
      q[p.name.substr(0, p.name.size() - 7)] = {{"group_size", f->group_size}, {"bits", f->bits}, {"mode", "affine"}};
    }
  }
  (*config)["quantization"] = q;
  (*config)["quantization_config"] = q;
  (*config)["torch_dtype"] = "float16";
}

struct Import {
  GgufFile file;
  GgufModelPlan plan;
  std::vector<TensorMode> modes;  // per planned tensor
  std::map<std::string, std::string> files;
  std::vector<OutTensor> outs;
  ShardLayout layout;
};

Result<Import> plan_import(const InputFile& in, const ConvertOptions& options) {
  Import im;
  MLXPACK_ASSIGN_OR_RETURN(im.file, read_gguf(options.input));
  const GgufMetadata meta(im.file, options.input);
  MLXPACK_ASSIGN_OR_RETURN(GgufTokenizer tok, import_gguf_tokenizer(meta));
  MLXPACK_ASSIGN_OR_RETURN(im.plan,
                           plan_gguf_model(meta, tok, [&](const GgufTensorInfo& t) { return read_tensor(in, t); }));
  MLXPACK_ASSIGN_OR_RETURN(im.modes, tensor_modes(im.file, im.plan, options));
  for (size_t k = 0; k < im.plan.tensors.size(); ++k) {
    add_outputs(im.file.tensors[im.plan.tensors[k].index], im.plan.tensors[k], im.modes[k], k, &im.outs);
  }
  std::sort(im.outs.begin(), im.outs.end(), [](const OutTensor& a, const OutTensor& b) { return a.name < b.name; });
  for (size_t k = 1; k < im.outs.size(); ++k) {
    if (im.outs[k].name == im.outs[k - 1].name) {
      return Status::invalid_argument(options.input + ": two tensors become " + im.outs[k].name);
    }
  }
  add_quantization(im.file, im.plan, im.modes, &im.plan.config);
  im.layout = lay_out_shards(im.outs, options.max_shard_bytes);
  // Sorted keys, indent 4: as mlx-lm's save_config and every convert write it.
  im.files["config.json"] = nlohmann::json::parse(im.plan.config.dump()).dump(4) + "\n";
  im.files["generation_config.json"] = im.plan.generation_config_json;
  im.files["model.safetensors.index.json"] = im.layout.index_json;
  im.files["tokenizer.json"] = std::move(tok.tokenizer_json);
  im.files["tokenizer_config.json"] = std::move(tok.tokenizer_config_json);
  return im;
}

Status write_import(const InputFile& in, Import& im, const ConvertOptions& options, ConvertReport* report) {
  MLXPACK_ASSIGN_OR_RETURN(std::unique_ptr<OutputSink> sink, open_output_sink(options, {options.input}));
  for (const auto& [name, bytes] : im.files) MLXPACK_RETURN_IF_ERROR(sink->add_file(name, bytes));
  uint64_t total = 0, done = 0;
  for (const GgufTensorPlan& p : im.plan.tensors) total += im.file.tensors[p.index].size_bytes;
  std::optional<size_t> current_job, current_shard;
  ImportedTensor current;
  for (size_t k = 0; k < im.outs.size(); ++k) {
    const OutTensor& o = im.outs[k];
    if (current_shard != im.layout.shard_of[k]) {
      current_shard = im.layout.shard_of[k];
      const Shard& s = im.layout.shards[*current_shard];
      MLXPACK_RETURN_IF_ERROR(sink->begin_shard(s.name, s.header_region, s.size_bytes));
    }
    if (current_job != o.job) {
      const GgufTensorPlan& p = im.plan.tensors[o.job];
      const GgufTensorInfo& t = im.file.tensors[p.index];
      current = ImportedTensor();
      MLXPACK_ASSIGN_OR_RETURN(std::string bytes, read_tensor(in, t));
      if (im.modes[o.job].kind == TensorMode::kDequantize) {
        MLXPACK_ASSIGN_OR_RETURN(current,
                                 dequantize_gguf_tensor(t, bytes, p.rows_from, im.modes[o.job].dtype, options.input));
      } else {
        MLXPACK_ASSIGN_OR_RETURN(current, import_gguf_tensor(t, std::move(bytes), p.rows_from, options.input));
      }
      current_job = o.job;
      report->bytes_in += t.size_bytes;
      report->quantized += current.quantized ? 1 : 0;
      report->cast += im.modes[o.job].kind == TensorMode::kDequantize ? 1 : 0;
      done += t.size_bytes;
      if (options.on_progress) options.on_progress(done, total);
    }
    const std::string& part = o.part == 0 ? current.data : o.part == 1 ? current.scales : current.biases;
    if (part.size() != o.size_bytes) {
      return Status::invalid_argument(options.input + ": internal size mismatch for " + o.name);
    }
    report->bytes_out += o.size_bytes;
    MLXPACK_RETURN_IF_ERROR(sink->add_tensor(o.name, o.dtype, o.shape,
                                             reinterpret_cast<const uint8_t*>(part.data()), o.size_bytes));
  }
  MLXPACK_ASSIGN_OR_RETURN(report->output_size, sink->finish());
  return Status::ok();
}

Result<ConvertReport> import_unguarded(const ConvertOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  // Casting or quantizing: every tensor imported as float32 first, so
  // --report measures against ggml's own dequantized values.
  if (options.dtype || options.quant.any() || options.untie_word_embeddings) {
    return import_then_convert(options, [](ConvertOptions first) {
      first.import_as_float = true;
      return import_gguf(first);
    });
  }
  MLXPACK_ASSIGN_OR_RETURN(InputFile in, InputFile::open(options.input));
  in.advise_sequential();
  MLXPACK_ASSIGN_OR_RETURN(Import im, plan_import(in, options));
  ConvertReport report;
  report.tensors_in = im.file.tensors.size();
  report.tensors_out = im.outs.size();
  report.input_was_quantized = std::any_of(im.file.tensors.begin(), im.file.tensors.end(),
                                           [](const GgufTensorInfo& t) { return !gguf_float_dtype(t.type); });
  for (const Shard& s : im.layout.shards) report.shards.push_back(s.name);
  bool fine = false;
  for (size_t k = 0; k < im.plan.tensors.size(); ++k) {
    const auto form = gguf_affine_form(im.file.tensors[im.plan.tensors[k].index].type);
    fine |= im.modes[k].kind == TensorMode::kAffine && form && form->group_size < 32;
  }
  if (fine) {
    report.warnings.push_back(
        "Q2_K, Q3_K and Q6_K tensors became affine groups of 16, a layout mlxpack runs but MLX does not load "
        "(MLX's group sizes are 32, 64, 128)");
  }
  MLXPACK_RETURN_IF_ERROR(write_import(in, im, options, &report));
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace

Result<ConvertReport> import_gguf(const ConvertOptions& options) {
  try {
    return import_unguarded(options);
  } catch (const std::bad_alloc&) {
    return Status::out_of_memory(options.input + ": out of memory while importing");
  }
}

}  // namespace mlxpack
