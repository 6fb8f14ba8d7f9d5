// Reading a command's text input: a file, or standard input for "-".
#ifndef MLXPACK_CLI_INPUT_H_
#define MLXPACK_CLI_INPUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "mlxpack/status.h"

namespace mlxpack::cli {

// The whole content of `path` ("-": standard input). IOError names the path.
Result<std::string> read_input(const std::string& path);

// Token ids written "1,2,3", "1 2 3" or "[1, 2, 3]". InvalidArgument names
// `flag` and the bad item.
Result<std::vector<int32_t>> parse_ids(const std::string& s, const std::string& flag);

}  // namespace mlxpack::cli

#endif
