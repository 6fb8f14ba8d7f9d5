// The subcommands of `mlxpack`. Each add_*_command registers its flags on
// the root app and a callback that stores the command's exit code.
#ifndef MLXPACK_CLI_COMMANDS_H_
#define MLXPACK_CLI_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "mlxpack/status.h"

namespace mlxpack::cli {

void add_pack_command(CLI::App& root, int* exit_code);
void add_info_command(CLI::App& root, int* exit_code);
void add_extract_command(CLI::App& root, int* exit_code);
void add_verify_command(CLI::App& root, int* exit_code);
void add_convert_command(CLI::App& root, int* exit_code);
void add_tokenize_command(CLI::App& root, int* exit_code);
void add_template_command(CLI::App& root, int* exit_code);
void add_run_command(CLI::App& root, int* exit_code);
void add_chat_command(CLI::App& root, int* exit_code);

// Prints "mlxpack <command>: error: <status>" to stderr and returns its exit code.
int report_error(const char* command, const Status& status);

// SIGINT, SIGTERM and SIGHUP remove the temporary outputs in progress and
// end the process by that signal (main installs it; chat replaces SIGINT's).
void install_interrupt_cleanup();

}  // namespace mlxpack::cli

#endif
