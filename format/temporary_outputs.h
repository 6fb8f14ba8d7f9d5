// The temporary files and directories outputs are written under before
// their rename into place, named ".<name>.tmp-<pid>-<8 hex digits>" beside
// the output. Two guarantees rest on this file:
//  - An interrupted run leaves nothing: every temporary in progress is
//    registered, and remove_registered_temporaries() (async-signal-safe)
//    removes them from a SIGINT/SIGTERM/SIGHUP handler. The library never
//    installs handlers itself; the CLI does.
//  - A run that was killed outright (SIGKILL, power loss) leaves its
//    temporary behind; the next run writing the same output removes it,
//    recognising it by its exact name pattern and a process id that no
//    longer exists. Nothing else is ever removed.
#ifndef MLXPACK_FORMAT_TEMPORARY_OUTPUTS_H_
#define MLXPACK_FORMAT_TEMPORARY_OUTPUTS_H_

#include <string>

namespace mlxpack {

// "<dir of final_path>/.<name of final_path>.tmp-<pid>-<8 hex>", with a
// random suffix; the caller creates it exclusively and retries on EEXIST.
std::string temporary_path_for(const std::string& final_path);

// Registers a temporary this process is about to create (register first,
// then create: a handler running on another thread meanwhile must know
// it). Returns a slot for
// unregister_temporary, or -1 when all slots are taken (the temporary is
// then only removed by its owner's normal cleanup). A directory must hold
// only regular files.
int register_temporary(const std::string& path, bool is_directory);
void unregister_temporary(int slot);

// Async-signal-safe: unlinks every registered temporary file, and empties
// and removes every registered temporary directory.
void remove_registered_temporaries();

// Removes temporaries of `final_path` left by processes that no longer
// exist (kill(pid, 0) fails with ESRCH): regular files, and directories
// holding only regular files. Best effort; errors are ignored.
void remove_stale_temporaries(const std::string& final_path);

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_TEMPORARY_OUTPUTS_H_
