// mlxpack: pack, inspect, extract and verify .mlxpack model files.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/flag_checks.h"
#include "format/names.h"
#include "format/temporary_outputs.h"
#include "mlxpack/mlxpack.h"

namespace mlxpack::cli {

int report_error(const char* command, const Status& status) {
  // Messages quote file names, fields and values from the input: escaped.
  std::fprintf(stderr, "mlxpack %s: error: %s\n", command, printable(with_flag_names(status.to_string())).c_str());
  return exit_code_for(status);
}

namespace {

// Ctrl-C, kill and a closed terminal remove the temporary output of a
// pack, convert or extract in progress, then end the process by the same
// signal (its exit status says so, 130 for Ctrl-C in a shell).
void remove_temporaries_and_die(int sig) {
  remove_registered_temporaries();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

void install_interrupt_cleanup() {
  struct sigaction action {};
  action.sa_handler = remove_temporaries_and_die;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &action, nullptr);
}

}  // namespace mlxpack::cli

int main(int argc, char** argv) {
  using namespace mlxpack::cli;
  // Past a file-size limit (RLIMIT_FSIZE), let write() fail with EFBIG so
  // the error is reported and temporary files are removed, rather than the
  // process being killed mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  install_interrupt_cleanup();
  CLI::App app{"mlxpack: one file for a language model: pack, info, extract, verify, convert, tokenize, template, run, chat"};
  uint16_t format_major = 0, format_minor = 0;
  mlxpack_format_version(&format_major, &format_minor);
  app.set_version_flag("--version", std::string("mlxpack ") + mlxpack_version() + " (format " +
                                        std::to_string(format_major) + "." + std::to_string(format_minor) +
                                        ", ABI " + std::to_string(MLXPACK_ABI_VERSION) + ")");
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 success, 2 usage error (bad flags, output exists without --force),\n"
      "3 invalid or corrupt input, 4 I/O failure.");
  int exit_code = kExitOk;
  add_pack_command(app, &exit_code);
  add_info_command(app, &exit_code);
  add_extract_command(app, &exit_code);
  add_verify_command(app, &exit_code);
  add_convert_command(app, &exit_code);
  add_tokenize_command(app, &exit_code);
  add_template_command(app, &exit_code);
  add_run_command(app, &exit_code);
  add_chat_command(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    // Bad flags, values that do not parse or are out of range: exit 2.
    std::fprintf(stderr, "mlxpack: error: %s\nRun with --help for more information.\n", mlxpack::printable(e.what()).c_str());
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mlxpack: internal error: %s\n", e.what());
    return 1;
  }
  return exit_code;
}
