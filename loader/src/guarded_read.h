// Reading mapped bytes when the file may shrink underneath the mapping.
//
// If another process truncates a pack after it was mapped, touching a page
// past the new end raises SIGBUS. run_guarded() turns such a fault during
// `fn` into a false return instead of killing the process. Only pure reads
// may run under the guard (no allocation, no locks): the fault unwinds with
// siglongjmp.
#ifndef MLXPACK_LOADER_GUARDED_READ_H_
#define MLXPACK_LOADER_GUARDED_READ_H_

namespace mlxpack {

// Returns false if a SIGBUS hit this thread while `fn(arg)` ran.
bool run_guarded(void (*fn)(void* arg), void* arg);

}  // namespace mlxpack

#endif
