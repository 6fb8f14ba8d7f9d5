#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/flag_checks.h"
#include "cli/progress.h"
#include "format/names.h"
#include "mlxpack/loader.h"

namespace mlxpack::cli {

namespace {

struct VerifyOptions {
  std::string input;
  unsigned threads = 0;
  bool json = false;
  bool quiet = false;
};

int run_verify(const VerifyOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  Result<std::unique_ptr<Reader>> reader = Reader::open(options.input);
  if (!reader.is_ok()) return report_error("verify", reader.status());
  ProgressBar bar("verifying", options.quiet);
  Result<std::vector<CorruptEntry>> bad =
      (*reader)->verify_all(options.threads, [&](uint64_t done, uint64_t total) { bar.update(done, total); });
  bar.finish();
  if (!bad.is_ok()) return report_error("verify", bad.status());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const PackInfo& info = (*reader)->info();
  if (options.json) {
    nlohmann::json j;
    j["path"] = options.input;
    j["ok"] = bad->empty();
    j["entries"] = info.entry_count;
    j["bytes"] = info.file_size_bytes;
    j["seconds"] = seconds;
    j["corrupt"] = nlohmann::json::array();
    for (const CorruptEntry& c : *bad) {
      j["corrupt"].push_back({{"type", entry_type_name(c.type)}, {"name", c.name}, {"reason", c.reason}});
    }
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    for (const CorruptEntry& c : *bad) {
      std::printf("CORRUPT %s '%s': %s\n", entry_type_name(c.type), printable(c.name).c_str(),
                  printable(c.reason).c_str());
    }
    std::printf("%s: %s (%llu entries, %llu bytes, %.2f s)\n", printable(options.input).c_str(),
                bad->empty() ? "OK" : (std::to_string(bad->size()) + " corrupt").c_str(),
                static_cast<unsigned long long>(info.entry_count),
                static_cast<unsigned long long>(info.file_size_bytes), seconds);
  }
  return bad->empty() ? kExitOk : kExitInvalid;
}

}  // namespace

void add_verify_command(CLI::App& root, int* exit_code) {
  auto options = std::make_shared<VerifyOptions>();
  CLI::App* cmd = root.add_subcommand("verify", "Check every checksum; exit 0 only if all are sound");
  cmd->add_option("input,--input,-i", options->input, "The .mlxpack file")->required();
  cmd->add_option("--threads,-t", options->threads, "Worker threads (0 = one per CPU)")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  cmd->add_flag("--json", options->json, "Print JSON");
  cmd->add_flag("--quiet", options->quiet, "No progress line on the terminal");
  cmd->callback([options, exit_code] { *exit_code = run_verify(*options); });
}

}  // namespace mlxpack::cli
