#include "convert/converter.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "convert/float_convert.h"
#include "convert/model_input.h"
#include "convert/output_sink.h"
#include "format/byte_order.h"
#include "format/file_io.h"
#include "format/safetensors.h"

namespace mlxpack {

namespace {

using nlohmann::json;

// One output tensor: part `part` of job `job` (0 = weight or the plain
// tensor, 1 = scales, 2 = biases).
struct OutTensor {
  std::string name;
  DType dtype;
  std::vector<uint64_t> shape;
  uint64_t size_bytes;
  uint64_t parameters;  // what mlx-lm counts: a packed weight counts its unpacked elements
  size_t job = 0;
  int part = 0;
};

// How one input tensor becomes one or three output tensors.
struct Job {
  size_t input = 0;
  std::string base;  // output name (copy/cast) or layer path (quantize)
  DType dtype = DType::kF32;  // output float dtype
  bool cast = false;
  std::optional<QuantSpec> spec;
};

const char* torch_dtype_name(DType d) {
  return d == DType::kF32 ? "float32" : d == DType::kF16 ? "float16" : "bfloat16";
}

uint64_t element_count(const std::vector<uint64_t>& shape) {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

Result<json> parse_config(const ModelInput& in) {
  if (std::find(in.file_names().begin(), in.file_names().end(), "config.json") == in.file_names().end()) {
    return Status::invalid_argument(in.path() + ": no config.json");
  }
  MLXPACK_ASSIGN_OR_RETURN(std::string text, in.read_file("config.json"));
  try {
    json doc = json::parse(text);
    if (!doc.is_object()) return Status::invalid_argument(in.path() + ": config.json is not a JSON object");
    return doc;
  } catch (const json::exception& e) {
    return Status::invalid_argument(in.path() + ": config.json is not valid JSON: " + e.what());
  }
}

json spec_json(const QuantSpec& s) { return {{"group_size", s.group_size}, {"bits", s.bits}, {"mode", "affine"}}; }

// Error statistics of a quantized tensor against the weights it came from.
QuantStats measure(const std::string& name, const QuantSpec& spec, const uint8_t* w, DType dtype,
                   const QuantizedTensor& q) {
  const std::vector<float> deq = affine_dequantize(q, dtype, spec);
  QuantStats s;
  s.name = name;
  s.spec = spec;
  s.elements = deq.size();
  double err2 = 0, sig2 = 0;
  for (uint64_t i = 0; i < deq.size(); ++i) {
    const double ref = load_float(w, dtype, i);
    const double e = deq[i] - ref;
    s.max_abs_error = std::max(s.max_abs_error, std::fabs(e));
    err2 += e * e;
    sig2 += ref * ref;
  }
  s.rmse = deq.empty() ? 0 : std::sqrt(err2 / static_cast<double>(deq.size()));
  s.snr_db = err2 == 0 ? INFINITY : 10 * std::log10(sig2 / err2);
  s.bits_per_weight = 8.0 * static_cast<double>(q.weight.size() + q.scales.size() + q.biases.size()) /
                      static_cast<double>(std::max<uint64_t>(1, s.elements));
  return s;
}

// Physical memory, or 0 when the system does not say.
uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

Result<ConvertReport> convert_model_unguarded(const ConvertOptions& options);

}  // namespace

Result<ConvertReport> convert_model(const ConvertOptions& options) {
  // The sizes are checked before allocating; an allocation that still fails
  // (memory taken by others meanwhile) is an error, not an escaping exception.
  try {
    return convert_model_unguarded(options);
  } catch (const std::bad_alloc&) {
    return Status::invalid_argument(options.input + ": out of memory while converting");
  }
}

namespace {

Result<ConvertReport> convert_model_unguarded(const ConvertOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  ConvertReport report;
  if (options.dtype && *options.dtype != DType::kF32 && *options.dtype != DType::kF16 &&
      *options.dtype != DType::kBF16) {
    return Status::invalid_argument(std::string("--dtype ") + dtype_name(*options.dtype) +
                                    " is not supported; use f32, f16 or bf16");
  }
  MLXPACK_ASSIGN_OR_RETURN(std::unique_ptr<ModelInput> in, ModelInput::open(options.input));
  MLXPACK_ASSIGN_OR_RETURN(json config, parse_config(*in));
  const std::vector<InputTensor>& tensors = in->tensors();
  report.tensors_in = tensors.size();

  // An MLX model that is already quantized keeps its quantization.
  std::optional<QuantSpec> input_spec;
  if (auto q = config.find("quantization"); q != config.end() && q->is_object()) {
    const auto int_of = [&](const char* key) {
      auto it = q->find(key);
      return it != q->end() && it->is_number_integer() ? it->get<int>() : 0;
    };
    input_spec = QuantSpec{int_of("bits"), int_of("group_size")};
    report.input_was_quantized = true;
    const QuantOptions& want = options.quant;
    if (want.any() && (!want.recipe.empty() || want.embedding || want.linear != *input_spec)) {
      return Status::invalid_argument(
          in->path() + " is already quantized (" + std::to_string(input_spec->bits) + " bits, group size " +
          std::to_string(input_spec->group_size) + "); quantizing it again with other settings is not supported: "
          "convert the original float model instead, or convert without quantization flags");
    }
  }
  const bool quantizing = options.quant.any() && !input_spec;
  const auto layers_it = config.find("num_hidden_layers");
  const int64_t num_layers =
      layers_it != config.end() && layers_it->is_number_integer() ? layers_it->get<int64_t>() : 0;
  MLXPACK_ASSIGN_OR_RETURN(QuantPlanner planner, QuantPlanner::create(options.quant, num_layers, tensors));

  // Tied embeddings: keep them tied, or write a separate lm_head when asked.
  const auto tied_it = config.find("tie_word_embeddings");
  const bool tied = tied_it != config.end() && tied_it->is_boolean() && tied_it->get<bool>();
  const auto has_tensor = [&](const std::string& n) {
    return std::any_of(tensors.begin(), tensors.end(), [&](const InputTensor& t) { return t.name == n; });
  };
  std::optional<size_t> untie_from;
  if (options.untie_word_embeddings) {
    for (size_t i = 0; i < tensors.size(); ++i) {
      if (classify_tensor(tensors[i]) == TensorRole::kEmbedding && tensors[i].name.find("embed_tokens") != std::string::npos) {
        untie_from = i;
      }
    }
    if (!tied || !untie_from || has_tensor("lm_head.weight") || input_spec) {
      return Status::invalid_argument(
          "--no-tie-word-embeddings needs a float model with tie_word_embeddings true, an embed_tokens weight and "
          "no lm_head.weight");
    }
  }

  // Names of a quantized input's packed layers, whose scales/biases keep their dtype.
  std::set<std::string> packed_layers;
  if (input_spec) {
    for (const InputTensor& t : tensors) {
      if (t.name.size() > 7 && t.name.compare(t.name.size() - 7, 7, ".scales") == 0) {
        packed_layers.insert(t.name.substr(0, t.name.size() - 7));
      }
    }
  }

  // Plan one job per input tensor (and one for an untied lm_head); the
  // output order is set below, by sorting the output tensors themselves.
  std::vector<Job> jobs;
  const auto plan_job = [&](size_t input, const InputTensor& as) {
    Job j;
    j.input = input;
    const InputTensor& t = tensors[input];
    const bool is_float = is_float_dtype(t.dtype);
    const std::string base = layer_path(as.name);
    const bool packed_part = packed_layers.count(base.substr(0, base.rfind('.'))) > 0 &&
                             (as.name.ends_with(".scales") || as.name.ends_with(".biases"));
    j.dtype = t.dtype;
    if (options.dtype && is_float && !packed_part && t.dtype != *options.dtype) {
      j.dtype = *options.dtype;
      j.cast = true;
    }
    if (quantizing) {
      InputTensor cast_view = as;
      cast_view.dtype = j.dtype;
      QuantDecision d = planner.decide(cast_view);
      if (d.spec) {
        j.spec = d.spec;
        j.base = base;
      } else if (!d.note.empty()) {
        report.kept_float.push_back(base + ": " + d.note);
      }
    }
    if (!j.spec) j.base = as.name;
    jobs.push_back(j);
  };
  for (size_t i = 0; i < tensors.size(); ++i) plan_job(i, tensors[i]);
  if (untie_from) {
    InputTensor lm = tensors[*untie_from];
    lm.name = "lm_head.weight";
    plan_job(*untie_from, lm);
  }

  // Output tensors sorted by name: the order mlx-lm's sorted index lists,
  // and one that re-converting an already quantized model reproduces.
  std::vector<OutTensor> outs;
  for (size_t ji = 0; ji < jobs.size(); ++ji) {
    const Job& j = jobs[ji];
    const InputTensor& t = tensors[j.input];
    if (j.spec) {
      MLXPACK_ASSIGN_OR_RETURN(QuantizedShapes qs, quantized_shapes(t.shape, *j.spec, j.base + ".weight"));
      const uint64_t t_size = dtype_size_bytes(j.dtype);
      outs.push_back({j.base + ".weight", DType::kU32, qs.weight, element_count(qs.weight) * 4,
                      element_count(t.shape), ji, 0});
      outs.push_back({j.base + ".scales", j.dtype, qs.scales, element_count(qs.scales) * t_size, 0, ji, 1});
      outs.push_back({j.base + ".biases", j.dtype, qs.scales, element_count(qs.scales) * t_size, 0, ji, 2});
      ++report.quantized;
    } else {
      const uint64_t n = element_count(t.shape);
      outs.push_back({j.base, j.dtype, t.shape, n * dtype_size_bytes(j.dtype), n, ji, 0});
      report.cast += j.cast;
    }
  }
  // Each job holds its cast and quantized copies (and, for --report, a
  // dequantized float copy) at once: refuse one that cannot fit in memory
  // before allocating anything (a header may declare a 100 GB tensor over a
  // sparse file).
  std::vector<uint64_t> job_bytes(jobs.size(), 0);
  for (const OutTensor& o : outs) job_bytes[o.job] += o.size_bytes;
  const uint64_t memory = physical_memory_bytes();
  for (size_t ji = 0; ji < jobs.size(); ++ji) {
    const InputTensor& t = tensors[jobs[ji].input];
    uint64_t need = job_bytes[ji];
    if (jobs[ji].cast || jobs[ji].spec) need += element_count(t.shape) * dtype_size_bytes(jobs[ji].dtype);
    if (jobs[ji].spec && options.collect_stats) need += element_count(t.shape) * sizeof(float);
    if (memory > 0 && need > memory) {
      return Status::invalid_argument(t.name + ": converting it needs " + std::to_string(need) +
                                      " bytes of memory at once, more than this machine's " + std::to_string(memory));
    }
  }
  std::sort(outs.begin(), outs.end(), [](const OutTensor& a, const OutTensor& b) { return a.name < b.name; });
  for (size_t k = 1; k < outs.size(); ++k) {
    if (outs[k].name == outs[k - 1].name) {
      return Status::invalid_argument("two output tensors would be named '" + outs[k].name + "'");
    }
  }
  if (quantizing && report.quantized == 0) {
    auto example = std::find_if(report.kept_float.begin(), report.kept_float.end(),
                                [](const std::string& k) { return k.find("group size") != std::string::npos; });
    return Status::invalid_argument(
        "no tensor was quantized: the group size " + std::to_string(planner.default_spec().group_size) +
        " divides the input dimension of no candidate layer" +
        (example == report.kept_float.end() ? std::string(" (the model has no linear layers)")
                                            : " (e.g. " + *example + ")"));
  }
  report.tensors_out = outs.size();

  // Shards as mlx-lm's make_shards cuts them.
  std::vector<std::vector<size_t>> shards(1);
  uint64_t shard_bytes = 0, total_bytes = 0, total_params = 0;
  for (size_t k = 0; k < outs.size(); ++k) {
    if (shard_bytes + outs[k].size_bytes > options.max_shard_bytes && !shards.back().empty()) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(k);
    shard_bytes += outs[k].size_bytes;
    total_bytes += outs[k].size_bytes;
    total_params += outs[k].parameters;
  }
  std::vector<std::string> shard_names;
  std::vector<std::string> shard_headers;
  std::vector<uint64_t> shard_sizes;
  json weight_map = json::object();
  for (size_t s = 0; s < shards.size(); ++s) {
    char name[64];
    if (shards.size() == 1) {
      std::snprintf(name, sizeof name, "model.safetensors");
    } else {
      std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
    }
    std::vector<SafetensorsTensor> layout;
    uint64_t offset = 0;
    for (size_t k : shards[s]) {
      layout.push_back({outs[k].name, outs[k].dtype, outs[k].shape, offset, offset + outs[k].size_bytes});
      offset += outs[k].size_bytes;
      weight_map[outs[k].name] = name;
    }
    std::string region(8, '\0');
    const std::string header = encode_safetensors_header(layout, {{"format", "mlx"}});
    store_le64(reinterpret_cast<uint8_t*>(region.data()), header.size());
    region += header;
    shard_names.push_back(name);
    shard_sizes.push_back(region.size() + offset);
    shard_headers.push_back(std::move(region));
  }
  report.shards = shard_names;

  // config.json as mlx-lm's save_config writes it: sorted keys, indent 4.
  if (quantizing) {
    json q = spec_json(planner.default_spec());
    for (const Job& j : jobs) {
      if (j.spec && (planner.per_layer_config() || *j.spec != planner.default_spec())) q[j.base] = spec_json(*j.spec);
    }
    config["quantization"] = q;
    config["quantization_config"] = q;
  }
  if (untie_from) config["tie_word_embeddings"] = false;
  if (options.dtype) config["torch_dtype"] = torch_dtype_name(*options.dtype);
  config.erase("_name_or_path");
  json index = {{"metadata", {{"total_size", total_bytes}, {"total_parameters", total_params}}},
                {"weight_map", weight_map}};

  // Write: files (sorted), then each shard header and its tensors.
  std::unique_ptr<OutputSink> sink;
  if (options.format == OutputFormat::kPack) {
    MLXPACK_RETURN_IF_ERROR(check_output_is_not_input(options.output, in->disk_paths()));
    MLXPACK_ASSIGN_OR_RETURN(sink, make_pack_sink(options.output, options.alignment, options.overwrite));
  } else {
    MLXPACK_ASSIGN_OR_RETURN(sink, make_dir_sink(options.output, options.input, options.overwrite));
  }
  std::map<std::string, std::string> files;
  files["config.json"] = config.dump(4) + "\n";
  files["model.safetensors.index.json"] = index.dump(4) + "\n";
  for (const std::string& name : in->file_names()) {
    if (files.count(name)) continue;
    MLXPACK_ASSIGN_OR_RETURN(files[name], in->read_file(name));
  }
  for (const auto& [name, bytes] : files) MLXPACK_RETURN_IF_ERROR(sink->add_file(name, bytes));

  std::vector<size_t> shard_of(outs.size());
  for (size_t s = 0; s < shards.size(); ++s) {
    for (size_t k : shards[s]) shard_of[k] = s;
  }
  uint64_t input_total = 0, input_done = 0;
  for (const Job& j : jobs) input_total += tensors[j.input].size_bytes;
  size_t current_shard = static_cast<size_t>(-1);
  const auto emit = [&](size_t k, const uint8_t* data, uint64_t size) -> Status {
    if (shard_of[k] != current_shard) {
      current_shard = shard_of[k];
      MLXPACK_RETURN_IF_ERROR(
          sink->begin_shard(shard_names[current_shard], shard_headers[current_shard], shard_sizes[current_shard]));
    }
    report.bytes_out += size;
    return sink->add_tensor(outs[k].name, outs[k].dtype, outs[k].shape, data, size);
  };
  // Produce outputs in order. A job's results are kept until its next job
  // starts, so the three parts of a quantized layer are computed once.
  std::vector<QuantStats> all_stats;
  std::optional<size_t> cached_job;
  TensorBytes input_bytes;
  std::string cast_buffer;
  std::optional<QuantizedTensor> quantized;
  std::vector<bool> job_done(jobs.size(), false);
  for (size_t k = 0; k < outs.size(); ++k) {
    const OutTensor& o = outs[k];
    const Job& j = jobs[o.job];
    const InputTensor& t = tensors[j.input];
    if (cached_job != o.job) {
      cached_job = o.job;
      quantized.reset();
      cast_buffer.clear();
      MLXPACK_ASSIGN_OR_RETURN(input_bytes, in->read_tensor(j.input));
      const uint8_t* data = input_bytes.data;
      if (j.cast) {
        const uint64_t n = element_count(t.shape);
        cast_buffer.assign(n * dtype_size_bytes(j.dtype), '\0');
        auto* out = reinterpret_cast<uint8_t*>(cast_buffer.data());
        uint64_t overflowed = 0;
        for (uint64_t i = 0; i < n; ++i) overflowed += !store_float(out, j.dtype, i, load_float(data, t.dtype, i));
        if (overflowed > 0 && !job_done[o.job]) {
          report.warnings.push_back(t.name + ": " + std::to_string(overflowed) + " values overflow to infinity in " +
                                    dtype_name(j.dtype));
        }
        data = out;
      }
      if (j.spec) {
        MLXPACK_ASSIGN_OR_RETURN(quantized, affine_quantize(data, j.dtype, t.shape, *j.spec, options.threads,
                                                            j.base + ".weight"));
        if (options.collect_stats && !job_done[o.job]) {
          all_stats.push_back(measure(j.base + ".weight", *j.spec, data, j.dtype, *quantized));
        }
      }
      if (!job_done[o.job]) {
        report.bytes_in += t.size_bytes;
        input_done += t.size_bytes;
        if (options.on_progress) options.on_progress(input_done, input_total);
      }
      job_done[o.job] = true;
    }
    const uint8_t* data = cast_buffer.empty() ? input_bytes.data : reinterpret_cast<const uint8_t*>(cast_buffer.data());
    if (quantized) {
      const std::string& part = o.part == 0 ? quantized->weight : o.part == 1 ? quantized->scales : quantized->biases;
      data = reinterpret_cast<const uint8_t*>(part.data());
    }
    MLXPACK_RETURN_IF_ERROR(emit(k, data, o.size_bytes));
  }
  MLXPACK_ASSIGN_OR_RETURN(report.output_size, sink->finish());

  // Totals over all quantized tensors: errors pooled over every element.
  double err2 = 0, sig2 = 0, bits = 0;
  for (const QuantStats& s : all_stats) {
    const double e2 = s.rmse * s.rmse * static_cast<double>(s.elements);
    report.total.elements += s.elements;
    report.total.max_abs_error = std::max(report.total.max_abs_error, s.max_abs_error);
    err2 += e2;
    if (std::isfinite(s.snr_db)) sig2 += e2 * std::pow(10.0, s.snr_db / 10);
    bits += s.bits_per_weight * static_cast<double>(s.elements);
  }
  if (report.total.elements > 0) {
    report.total.rmse = std::sqrt(err2 / static_cast<double>(report.total.elements));
    report.total.snr_db = err2 == 0 ? INFINITY : 10 * std::log10(sig2 / err2);
    report.total.bits_per_weight = bits / static_cast<double>(report.total.elements);
  }
  report.stats = std::move(all_stats);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace

}  // namespace mlxpack
