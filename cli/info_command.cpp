#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "format/gguf.h"
#include "inspect/gguf_summary.h"
#include "inspect/model_summary.h"
#include "mlxpack/model_source.h"

namespace mlxpack::cli {

namespace {

struct InfoOptions {
  std::string input;
  bool json = false;
  bool tensors = false;
};

// A directory is read as a model directory (the same fields, from its
// files); anything else must be a pack.
Result<ModelSummary> summarize_input(const std::string& input) {
  std::error_code ec;
  if (std::filesystem::is_directory(input, ec)) {
    MLXPACK_ASSIGN_OR_RETURN(const std::unique_ptr<ModelSource> source, ModelSource::open(input));
    return summarize(*source);
  }
  MLXPACK_ASSIGN_OR_RETURN(const std::unique_ptr<Reader> reader, Reader::open(input));
  return summarize(*reader);
}

int run_gguf_info(const InfoOptions& options) {
  Result<GgufFile> file = read_gguf(options.input);
  if (!file.is_ok()) return report_error("info", file.status());
  const std::string text =
      options.json ? gguf_summary_json(*file, options.tensors) : gguf_summary_text(*file, options.tensors);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return kExitOk;
}

int run_info(const InfoOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_directory(options.input, ec) && is_gguf_file(options.input)) return run_gguf_info(options);
  Result<ModelSummary> summary = summarize_input(options.input);
  if (!summary.is_ok()) return report_error("info", summary.status());
  const std::string text = options.json ? summary_to_json(*summary, options.tensors)
                                        : summary_to_text(*summary, options.tensors);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return kExitOk;
}

}  // namespace

void add_info_command(CLI::App& root, int* exit_code) {
  auto options = std::make_shared<InfoOptions>();
  CLI::App* cmd = root.add_subcommand("info", "Describe a .mlxpack file, a model directory or a GGUF file without reading its weights");
  cmd->add_option("input,--input,-i", options->input, "The .mlxpack file, model directory or GGUF file")->required();
  cmd->add_flag("--json", options->json, "Print JSON");
  cmd->add_flag("--tensors", options->tensors, "List every tensor");
  cmd->callback([options, exit_code] { *exit_code = run_info(*options); });
}

}  // namespace mlxpack::cli
