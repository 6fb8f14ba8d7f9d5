#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/flag_checks.h"
#include "cli/progress.h"
#include "convert/converter.h"
#include "format/cpu_features.h"
#include "format/names.h"
#include "inspect/human_size.h"

namespace mlxpack::cli {

namespace {

struct ConvertCommandOptions {
  ConvertOptions convert;
  std::string dtype;
  bool quantize = false;
  int q_bits = 4;
  int q_group_size = 64;
  std::string quantize_linear;      // int4 | int8
  std::string quantize_embeddings;  // int4 | int8
  std::string embedding_quantize;   // "BITS,GROUP"
  bool no_quantize_embeddings = false;
  std::string output_format = "pack";
  std::string gguf_type;  // "" = keep
  bool report = false;
  bool quiet = false;
  unsigned threads = 0;
};

Status parse_int_kind(const std::string& flag, const std::string& v, int* bits) {
  if (v == "int4") {
    *bits = 4;
  } else if (v == "int8") {
    *bits = 8;
  } else {
    return Status::invalid_argument(flag + " is '" + v + "'; expected int4 or int8");
  }
  return Status::ok();
}

Result<ConvertOptions> resolve(const ConvertCommandOptions& c) {
  ConvertOptions o = c.convert;
  if (!c.dtype.empty()) {
    if (c.dtype == "f32" || c.dtype == "float32") {
      o.dtype = DType::kF32;
    } else if (c.dtype == "f16" || c.dtype == "float16") {
      o.dtype = DType::kF16;
    } else if (c.dtype == "bf16" || c.dtype == "bfloat16") {
      o.dtype = DType::kBF16;
    } else {
      return Status::invalid_argument("--dtype is '" + c.dtype + "'; expected f32, f16 or bf16");
    }
  }
  o.quant.linear = {c.q_bits, c.q_group_size};
  o.quant.quantize_linear = c.quantize;
  // -q is mlx_lm.convert's: embeddings too. --quantize-linear is ExecuTorch's
  // export_llm spelling, linear layers only (its embeddings take
  // --embedding-quantize / --quantize-embeddings).
  o.quant.float_embeddings = c.no_quantize_embeddings || (!c.quantize && !c.quantize_linear.empty());
  if (!c.quantize_linear.empty()) {
    MLXPACK_RETURN_IF_ERROR(parse_int_kind("--quantize-linear", c.quantize_linear, &o.quant.linear.bits));
    o.quant.quantize_linear = true;
  }

  if (!c.quantize_embeddings.empty()) {
    QuantSpec e{0, c.q_group_size};
    MLXPACK_RETURN_IF_ERROR(parse_int_kind("--quantize-embeddings", c.quantize_embeddings, &e.bits));
    o.quant.embedding = e;
  }
  if (!c.embedding_quantize.empty()) {
    int bits = 0, group = 0;
    char extra = 0;
    if (std::sscanf(c.embedding_quantize.c_str(), "%d,%d%c", &bits, &group, &extra) != 2) {
      return Status::invalid_argument("--embedding-quantize is '" + c.embedding_quantize +
                                      "'; expected BITS,GROUP such as 4,32");
    }
    o.quant.embedding = QuantSpec{bits, group};
  }
  o.quant.recipe = c.convert.quant.recipe;
  if (c.output_format == "pack") {
    o.format = OutputFormat::kPack;
  } else if (c.output_format == "mlx-dir") {
    o.format = OutputFormat::kMlxDir;
  } else if (c.output_format == "gguf") {
    o.format = OutputFormat::kGguf;
  } else {
    return Status::invalid_argument("--output-format is '" + c.output_format + "'; expected pack, mlx-dir or gguf");
  }
  if (!c.gguf_type.empty() && o.format != OutputFormat::kGguf) {
    return Status::invalid_argument("--gguf-type needs --output-format gguf");
  }
  static const std::pair<const char*, GgufOutputType> kTypes[] = {
      {"keep", GgufOutputType::kKeep}, {"f32", GgufOutputType::kF32},   {"f16", GgufOutputType::kF16},
      {"bf16", GgufOutputType::kBF16}, {"q8_0", GgufOutputType::kQ8_0}, {"q4_0", GgufOutputType::kQ4_0},
      {"q4_1", GgufOutputType::kQ4_1}};
  for (const auto& [name, type] : kTypes) {
    if (c.gguf_type == name) o.gguf_type = type;
  }
  o.threads = c.threads == 0 ? static_cast<unsigned>(available_cpus()) : c.threads;
  o.collect_stats = c.report;
  return o;
}

void print_stats(const QuantStats& s, const char* label) {
  std::printf("  %-52s %d-bit g%-3d max|err| %.3e  rmse %.3e  snr %6.2f dB  %.3f bpw\n", label, s.spec.bits,
              s.spec.group_size, s.max_abs_error, s.rmse, s.snr_db, s.bits_per_weight);
}

int run_convert(const ConvertCommandOptions& c) {
  Result<ConvertOptions> options = resolve(c);
  if (!options.is_ok()) return report_error("convert", options.status());
  ProgressBar bar("converting", c.quiet);
  options->on_progress = [&](uint64_t done, uint64_t total) { bar.update(done, total); };
  Result<ConvertReport> r = convert_model(*options);
  bar.finish();
  if (!r.is_ok()) return report_error("convert", r.status());
  std::printf("converted %s -> %s\n", printable(options->input).c_str(), printable(options->output).c_str());
  if (r->input_was_quantized) std::printf("  input is already quantized: its quantization is kept\n");
  std::printf("  tensors       %llu in, %llu out: %llu quantized, %llu cast\n",
              static_cast<unsigned long long>(r->tensors_in), static_cast<unsigned long long>(r->tensors_out),
              static_cast<unsigned long long>(r->quantized), static_cast<unsigned long long>(r->cast));
  if (r->fused > 0) std::printf("  adapter       fused into %llu layers\n", static_cast<unsigned long long>(r->fused));
  for (const auto& k : r->kept_float) std::printf("  kept float    %s\n", printable(k).c_str());
  for (const auto& w : r->warnings) std::printf("  warning       %s\n", printable(w).c_str());
  for (const auto& s : r->shards) std::printf("  shard         %s\n", printable(s).c_str());
  if (c.report && !r->stats.empty()) {
    std::printf("quantization report\n");
    for (const QuantStats& s : r->stats) print_stats(s, printable(s.name).c_str());
    QuantStats total = r->total;
    total.spec = r->stats.front().spec;
    std::printf("  total over %llu weights: max|err| %.3e  rmse %.3e  snr %.2f dB  %.3f bits per weight\n",
                static_cast<unsigned long long>(total.elements), total.max_abs_error, total.rmse, total.snr_db,
                total.bits_per_weight);
  }
  const double mb = static_cast<double>(r->bytes_in) / 1e6;
  std::printf("  output        %s in %.2f s (%.1f MB/s of input)\n", human_size(r->output_size).c_str(), r->seconds,
              r->seconds > 0 ? mb / r->seconds : 0.0);
  return kExitOk;
}

}  // namespace

void add_convert_command(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<ConvertCommandOptions>();
  CLI::App* cmd = root.add_subcommand(
      "convert",
      "Convert a model (directory, .mlxpack or GGUF): cast dtypes and quantize as mlx_lm.convert does; "
      "a GGUF is imported value for value");
  cmd->add_option("input,--input,-i", o->convert.input, "Model directory, .mlxpack or .gguf")->required();
  cmd->add_option("output,--output,-o", o->convert.output, "Output .mlxpack (a directory with --output-format mlx-dir, a .gguf with gguf)")
      ->required();
  cmd->add_option("--dtype", o->dtype, "Cast float tensors to f32, f16 or bf16")
      ->check(CLI::IsMember({"f32", "float32", "f16", "float16", "bf16", "bfloat16"}));
  cmd->add_flag("-q,--quantize", o->quantize,
                "Quantize linear layers and embeddings, as mlx_lm.convert -q (MLX affine; default 4 bits, group 64)");
  CLI::Option* float_embeddings =
      cmd->add_flag("--no-quantize-embeddings", o->no_quantize_embeddings, "With -q: leave embeddings float");
  cmd->add_option("--q-bits", o->q_bits, "Bits per weight: 2, 3, 4, 5, 6 or 8")
      ->capture_default_str()
      ->check(CLI::IsMember({2, 3, 4, 5, 6, 8}));
  cmd->add_option("--q-group-size", o->q_group_size, "Group size: 32, 64 or 128")
      ->capture_default_str()
      ->check(CLI::IsMember({32, 64, 128}));
  cmd->add_option("--quantize-linear", o->quantize_linear, "Quantize linear layers only (ExecuTorch's spelling): int4 or int8")
      ->check(CLI::IsMember({"int4", "int8"}));
  cmd->add_option("--quantize-embeddings", o->quantize_embeddings, "Quantize embeddings: int4 or int8")
      ->check(CLI::IsMember({"int4", "int8"}));
  cmd->add_option("--embedding-quantize", o->embedding_quantize, "Quantize embeddings with BITS,GROUP (e.g. 4,32)")
      ->check(bits_group_check())
      ->excludes(float_embeddings);
  float_embeddings->excludes("--quantize-embeddings");
  cmd->add_option("--q-recipe", o->convert.quant.recipe,
                  "mixed_2_6, mixed_3_4, mixed_3_6, mixed_4_6, or a JSON recipe file")
      ->check(recipe_check());
  cmd->add_flag("--no-tie-word-embeddings", o->convert.untie_word_embeddings,
                "Write a separate lm_head instead of sharing the embedding");
  cmd->add_option("--output-format", o->output_format, "pack, mlx-dir or gguf (a GGUF that llama.cpp runs)")
      ->capture_default_str()
      ->check(CLI::IsMember({"pack", "mlx-dir", "gguf"}));
  cmd->add_option("--gguf-type", o->gguf_type,
                  "GGUF tensor type: keep (default: each tensor exactly where a GGUF type holds it), f32, f16, bf16, "
                  "q8_0, q4_0, q4_1")
      ->check(CLI::IsMember({"keep", "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1"}));
  cmd->add_option("--adapter-path", o->convert.adapter_path,
                  "Fuse a LoRA adapter directory (mlx-lm's adapter_config.json + adapters.safetensors) into the weights");
  cmd->add_flag("--report", o->report, "Print quantization error per tensor and in total");
  cmd->add_flag("--dequantize-unsupported", o->convert.dequantize_unsupported,
                "GGUF input: turn IQ4_NL, IQ4_XS and MXFP4 tensors into the model's float dtype instead of refusing");
  cmd->add_flag("--quiet", o->quiet, "No progress line on the terminal");
  cmd->add_option("--threads,-t", o->threads, "Threads (0 = one per CPU)")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  cmd->add_option("--alignment", o->convert.alignment, "Tensor alignment in the pack")
      ->capture_default_str()
      ->check(alignment_check());
  cmd->add_flag("--force,-f", o->convert.overwrite, "Overwrite the output if it exists");
  cmd->callback([o, exit_code] { *exit_code = run_convert(*o); });
}

}  // namespace mlxpack::cli
