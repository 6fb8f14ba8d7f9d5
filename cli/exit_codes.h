// Exit codes of every `mlxpack` command (documented in README.md).
#ifndef MLXPACK_CLI_EXIT_CODES_H_
#define MLXPACK_CLI_EXIT_CODES_H_

#include "mlxpack/status.h"

namespace mlxpack::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;    // bad flags, or an output exists without --force
inline constexpr int kExitInvalid = 3;  // invalid or corrupt input (incl. verify finding corruption)
inline constexpr int kExitIO = 4;       // the system refused a read or write

inline int exit_code_for(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kAlreadyExists: return kExitUsage;
    case StatusCode::kIOError: return kExitIO;
    case StatusCode::kNotFound:
    case StatusCode::kCorruption:
    case StatusCode::kUnsupported:
    case StatusCode::kInvalidArgument: return kExitInvalid;
  }
  return kExitInvalid;
}

}  // namespace mlxpack::cli

#endif
