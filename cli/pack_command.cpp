#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/input.h"
#include "cli/flag_checks.h"
#include "format/names.h"
#include "cli/progress.h"
#include "inspect/human_size.h"
#include "pack/packer.h"

namespace mlxpack::cli {

namespace {

int run_pack(const PackOptions& base, bool quiet) {
  if (Status s = require_existing(base.input_dir); !s.is_ok()) return report_error("pack", s);
  PackOptions options = base;
  ProgressBar bar("packing", quiet);
  options.on_progress = [&](uint64_t done, uint64_t total) { bar.update(done, total); };
  Result<PackReport> report = pack_model_dir(options);
  bar.finish();
  if (!report.is_ok()) return report_error("pack", report.status());
  const ModelDirPlan& plan = report->plan;
  std::printf("packed %s -> %s\n", printable(options.input_dir).c_str(), printable(options.output_path).c_str());
  std::printf("  architecture  %s\n", printable(plan.architecture).c_str());
  for (const auto& f : plan.files) std::printf("  file          %s  %s\n", printable(f.name).c_str(), human_size(f.size_bytes).c_str());
  for (const auto& s : plan.sources) {
    std::printf("  safetensors   %s  %s, %zu tensors\n", printable(s.name).c_str(), human_size(s.size_bytes).c_str(),
                s.header.tensors.size());
  }
  for (const auto& s : plan.skipped) std::printf("  skipped       %s\n", printable(s).c_str());
  std::printf("  tensors       %llu, %s\n", static_cast<unsigned long long>(plan.tensor_count),
              human_size(plan.tensor_bytes).c_str());
  std::printf("  output        %s (%llu bytes) in %.2f s\n", human_size(report->output_size_bytes).c_str(),
              static_cast<unsigned long long>(report->output_size_bytes), report->seconds);
  return kExitOk;
}

}  // namespace

void add_pack_command(CLI::App& root, int* exit_code) {
  auto options = std::make_shared<PackOptions>();
  CLI::App* cmd = root.add_subcommand("pack", "Pack a Hugging Face / MLX model directory into one .mlxpack file");
  cmd->add_option("input,--input,-i", options->input_dir, "Model directory (config.json, tokenizer, safetensors)")
      ->required();
  cmd->add_option("output,--output,-o", options->output_path, "The .mlxpack file to write")->required();
  cmd->add_option("--alignment", options->alignment, "Alignment of every tensor in bytes (power of two, 64..1048576)")
      ->capture_default_str()
      ->check(alignment_check());
  cmd->add_flag("--force,-f", options->overwrite, "Overwrite the output if it exists");
  cmd->add_option("--adapter-path", options->adapter_path,
                  "Bundle a LoRA adapter directory (adapter_config.json + adapters.safetensors) beside the base");
  auto quiet = std::make_shared<bool>(false);
  cmd->add_flag("--quiet", *quiet, "No progress line on the terminal");
  cmd->callback([options, quiet, exit_code] { *exit_code = run_pack(*options, *quiet); });
}

}  // namespace mlxpack::cli
