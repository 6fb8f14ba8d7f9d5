#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "inspect/model_summary.h"

namespace mlxpack::cli {

namespace {

struct InfoOptions {
  std::string input;
  bool json = false;
  bool tensors = false;
};

int run_info(const InfoOptions& options) {
  Result<std::unique_ptr<Reader>> reader = Reader::open(options.input);
  if (!reader.is_ok()) return report_error("info", reader.status());
  Result<ModelSummary> summary = summarize(**reader);
  if (!summary.is_ok()) return report_error("info", summary.status());
  const std::string text = options.json ? summary_to_json(*summary, options.tensors, **reader)
                                        : summary_to_text(*summary, options.tensors, **reader);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return kExitOk;
}

}  // namespace

void add_info_command(CLI::App& root, int* exit_code) {
  auto options = std::make_shared<InfoOptions>();
  CLI::App* cmd = root.add_subcommand("info", "Describe a .mlxpack file without reading its weights");
  cmd->add_option("input,--input,-i", options->input, "The .mlxpack file")->required();
  cmd->add_flag("--json", options->json, "Print JSON");
  cmd->add_flag("--tensors", options->tensors, "List every tensor");
  cmd->callback([options, exit_code] { *exit_code = run_info(*options); });
}

}  // namespace mlxpack::cli
