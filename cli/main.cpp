// mlxpack: pack, inspect, extract and verify .mlxpack model files.
#include <CLI/CLI.hpp>
#include <csignal>
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

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

bool is_command(const CLI::App& app, const std::string& word) {
  const auto subs = app.get_subcommands([&](const CLI::App* sub) { return sub->check_name(word); });
  return !subs.empty();
}

// Levenshtein distance, for "did you mean".
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// An unknown first word: "unknown command 'inof'; did you mean `info`?"
// (the closest within 2 edits or a shared prefix), else the list of commands.
std::string unknown_command_message(const CLI::App& app, const std::string& word) {
  std::string best, all;
  size_t best_distance = 3;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    const std::string& name = sub->get_name();
    all += (all.empty() ? "" : ", ") + name;
    size_t d = edit_distance(word, name);
    if (name.rfind(word, 0) == 0 && word.size() >= 2) d = 1;
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  std::string message = "unknown command '" + printable(word) + "'";
  return message + (best.empty() ? "; the commands are " + all : "; did you mean `" + best + "`?");
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
  CLI::App app{std::string("mlxpack ") + mlxpack_version() +
               ": one file for a language model: pack, info, extract, verify, convert, tokenize, template, run, chat"};
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
  if (argc >= 2 && argv[1][0] != '-' && !is_command(app, argv[1])) {
    std::fprintf(stderr, "mlxpack: error: %s\nRun with --help for more information.\n",
                 unknown_command_message(app, argv[1]).c_str());
    return kExitUsage;
  }
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
