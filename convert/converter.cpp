// `convert` as a sequence of steps: open the input, read its config, plan
// the jobs (convert_plan), lay out the shards (shard_layout), rewrite the
// config, write the outputs (write_outputs), and total the report.
#include "convert/converter.h"

#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "convert/convert_plan.h"
#include "convert/gguf/gguf_export.h"
#include "convert/gguf/gguf_import.h"
#include "convert/meta/meta_import.h"
#include "convert/shard_layout.h"
#include "convert/write_outputs.h"
#include "format/hf_config.h"
#include "mlxpack/model_source.h"

namespace mlxpack {

namespace {

using nlohmann::json;

const char* torch_dtype_name(DType d) {
  return d == DType::kF32 ? "float32" : d == DType::kF16 ? "float16" : "bfloat16";
}

json spec_json(const QuantSpec& s) { return {{"group_size", s.group_size}, {"bits", s.bits}, {"mode", "affine"}}; }

Status check_options(const ConvertOptions& options) {
  if (options.dtype && *options.dtype != DType::kF32 && *options.dtype != DType::kF16 &&
      *options.dtype != DType::kBF16) {
    return Status::invalid_argument(std::string("output dtype ") + dtype_name(*options.dtype) +
                                    " is not supported; use f32, f16 or bf16");
  }
  return Status::ok();
}

Result<HfConfig> read_config(const ModelSource& in) {
  if (!in.has_file("config.json")) return Status::invalid_argument(in.path() + ": no config.json");
  MLXPACK_ASSIGN_OR_RETURN(std::string text, in.file("config.json"));
  return parse_hf_config(text, in.describe("config.json"));
}

ConfigFacts config_facts(const HfConfig& config) {
  ConfigFacts facts;
  if (config.quantization) {
    facts.quantization = QuantSpec{static_cast<int>(config.quantization->bits.value_or(0)),
                                   static_cast<int>(config.quantization->group_size.value_or(0))};
  }
  facts.num_hidden_layers = config.num_hidden_layers.value_or(0);
  facts.num_experts = config.num_experts.value_or(0);
  facts.tie_word_embeddings = config.tie_word_embeddings.value_or(false);
  return facts;
}

// config.json as mlx-lm's save_config writes it: sorted keys, indent 4.
std::string rewrite_config(json config, const ConvertPlan& plan, const ConvertOptions& options) {
  if (plan.quantizing) {
    json q = spec_json(plan.default_spec);
    for (const Job& j : plan.jobs) {
      if (j.spec && (plan.per_layer_config || *j.spec != plan.default_spec)) q[j.base] = spec_json(*j.spec);
    }
    config["quantization"] = q;
    config["quantization_config"] = q;
  }
  if (plan.untied) config["tie_word_embeddings"] = false;
  if (options.dtype) config["torch_dtype"] = torch_dtype_name(*options.dtype);
  config.erase("_name_or_path");
  return config.dump(4) + "\n";
}

// The rewritten config and index, then the input's other files as they are.
Result<std::map<std::string, std::string>> output_files(const ModelSource& in, std::string config,
                                                        std::string index) {
  std::map<std::string, std::string> files;
  files["config.json"] = std::move(config);
  files["model.safetensors.index.json"] = std::move(index);
  for (const std::string& name : in.file_names()) {
    if (files.count(name)) continue;
    MLXPACK_ASSIGN_OR_RETURN(files[name], in.file(name));
  }
  return files;
}

// Totals over all quantized tensors: errors pooled over every element.
QuantStats pool_stats(const std::vector<QuantStats>& all) {
  QuantStats total;
  double err2 = 0, sig2 = 0, bits = 0;
  for (const QuantStats& s : all) {
    const double e2 = s.rmse * s.rmse * static_cast<double>(s.elements);
    total.elements += s.elements;
    total.max_abs_error = std::max(total.max_abs_error, s.max_abs_error);
    err2 += e2;
    if (std::isfinite(s.snr_db)) sig2 += e2 * std::pow(10.0, s.snr_db / 10);
    bits += s.bits_per_weight * static_cast<double>(s.elements);
  }
  if (total.elements > 0) {
    total.rmse = std::sqrt(err2 / static_cast<double>(total.elements));
    total.snr_db = err2 == 0 ? INFINITY : 10 * std::log10(sig2 / err2);
    total.bits_per_weight = bits / static_cast<double>(total.elements);
  }
  return total;
}

Result<ConvertReport> convert_model_unguarded(const ConvertOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  ConvertReport report;
  MLXPACK_RETURN_IF_ERROR(check_options(options));
  // Lazy verification: each tensor's checksum is checked as it is read.
  MLXPACK_ASSIGN_OR_RETURN(std::unique_ptr<ModelSource> in, ModelSource::open(options.input, {VerifyMode::kLazy}));
  MLXPACK_ASSIGN_OR_RETURN(HfConfig config, read_config(*in));
  MLXPACK_ASSIGN_OR_RETURN(ConvertPlan plan, plan_conversion(*in, config_facts(config), options, &report));
  ShardLayout layout = lay_out_shards(plan.outs, options.max_shard_bytes);
  for (const Shard& s : layout.shards) report.shards.push_back(s.name);
  MLXPACK_ASSIGN_OR_RETURN(auto files,
                           output_files(*in, rewrite_config(std::move(config.document), plan, options),
                                        std::move(layout.index_json)));
  MLXPACK_RETURN_IF_ERROR(write_outputs(*in, plan, layout, files, options, &report));
  report.total = pool_stats(report.stats);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace

Result<ConvertReport> convert_model(const ConvertOptions& options) {
  if (!options.adapter_path.empty() && (is_gguf_file(options.input) || options.format == OutputFormat::kGguf)) {
    return Status::invalid_argument("ConvertOptions.adapter_path: adapters are fused between safetensors models and "
                                    "packs; import the GGUF first, or fuse into a pack and export that");
  }
  if (is_meta_checkpoint_dir(options.input)) {
    if (!options.adapter_path.empty() || options.format == OutputFormat::kGguf) {
      return Status::invalid_argument(options.input + ": a Meta checkpoint is imported first (convert it to a pack or "
                                      "an MLX directory), then fused with an adapter or exported to GGUF");
    }
    return import_meta_checkpoint(options);
  }
  if (is_gguf_file(options.input)) {
    if (options.format == OutputFormat::kGguf) {
      return Status::invalid_argument(options.input + ": already a GGUF; import it first to change its types");
    }
    return import_gguf(options);
  }
  if (options.format == OutputFormat::kGguf) return export_gguf(options);
  // The sizes are checked before allocating; an allocation that still fails
  // (memory taken by others meanwhile) is an error, not an escaping exception.
  try {
    return convert_model_unguarded(options);
  } catch (const std::bad_alloc&) {
    return Status::out_of_memory(options.input + ": out of memory while converting");
  }
}

}  // namespace mlxpack
