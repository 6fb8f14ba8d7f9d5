// Reading a command's text input: a file, or standard input for "-".
#ifndef MLXPACK_CLI_INPUT_H_
#define MLXPACK_CLI_INPUT_H_

#include <string>

#include "mlxpack/status.h"

namespace mlxpack::cli {

// The whole content of `path` ("-": standard input). IOError names the path.
Result<std::string> read_input(const std::string& path);

}  // namespace mlxpack::cli

#endif
