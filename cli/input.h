// Reading a command's text input: a file, or standard input for "-".
#ifndef MLXPACK_CLI_INPUT_H_
#define MLXPACK_CLI_INPUT_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "mlxpack/status.h"

namespace mlxpack::cli {

// The content of `path` ("-": standard input), at most `max_bytes`. A
// regular file's size is checked before anything is read; a stream (a pipe,
// a FIFO, a device such as /dev/zero) is read up to the limit and no
// further. InvalidArgument names the path, its size and the limit when it is
// larger, and a path that is a directory; IOError when it does not exist or
// cannot be read. Opening does not block on a FIFO; reading waits for its
// writer, as a pipe's reader does.
Result<std::string> read_input(const std::string& path, uint64_t max_bytes);

// One line of `in` without its newline into *line: false at the end of the
// input. InvalidArgument when the line is longer than `max_bytes`.
Result<bool> read_line(std::FILE* in, std::string* line, uint64_t max_bytes);

// Input limits of the commands (README, "Limits on untrusted input").
inline constexpr uint64_t kMaxTokenizeInputBytes = 256ull << 20;
inline constexpr uint64_t kMaxTemplateFileBytes = 16ull << 20;
inline constexpr uint64_t kMaxContextBytes = 64ull << 20;
inline constexpr uint64_t kMaxChatLineBytes = 16ull << 20;

// Whether `path` names something that exists: IOError ("no such file or
// directory") otherwise, so a missing input is exit 4 for every command.
Status require_existing(const std::string& path);

// Token ids written "1,2,3", "1 2 3" or "[1, 2, 3]". InvalidArgument names
// `flag` and the bad item.
Result<std::vector<int32_t>> parse_ids(const std::string& s, const std::string& flag);

}  // namespace mlxpack::cli

#endif
