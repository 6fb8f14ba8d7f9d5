#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/progress.h"
#include "format/names.h"
#include "inspect/extract.h"
#include "inspect/human_size.h"

namespace mlxpack::cli {

namespace {

struct ExtractCommandOptions {
  std::string input;
  ExtractOptions extract;
  bool quiet = false;
};

int run_extract(const ExtractCommandOptions& options) {
  Result<std::unique_ptr<Reader>> reader = Reader::open(options.input);
  if (!reader.is_ok()) return report_error("extract", reader.status());
  ProgressBar bar("extracting", options.quiet);
  ExtractOptions extract = options.extract;
  extract.on_progress = [&](uint64_t done, uint64_t total) { bar.update(done, total); };
  Result<std::vector<ExtractedFile>> files = extract_pack(**reader, extract);
  bar.finish();
  if (!files.is_ok()) return report_error("extract", files.status());
  for (const ExtractedFile& f : *files) {
    std::printf("  %s/%s  %s\n", printable(options.extract.output_dir).c_str(), printable(f.name).c_str(), human_size(f.size_bytes).c_str());
  }
  std::printf("extracted %zu files\n", files->size());
  return kExitOk;
}

}  // namespace

void add_extract_command(CLI::App& root, int* exit_code) {
  auto options = std::make_shared<ExtractCommandOptions>();
  CLI::App* cmd = root.add_subcommand("extract", "Restore the original model files, byte for byte");
  cmd->add_option("input,--input,-i", options->input, "The .mlxpack file")->required();
  cmd->add_option("output,--output,-o", options->extract.output_dir, "Directory to write into (created if missing)")
      ->required();
  cmd->add_option("--file", options->extract.only, "Extract only this bundled or safetensors file");
  cmd->add_flag("--force,-f", options->extract.overwrite, "Overwrite existing files");
  cmd->add_flag("--quiet", options->quiet, "No progress line on the terminal");
  cmd->callback([options, exit_code] { *exit_code = run_extract(*options); });
}

}  // namespace mlxpack::cli
