// What the C API's entry points share (loader/src/c_api.cpp and the
// runtime's runtime/engine/c_api.cpp): the per-thread last error, the
// mapping of a Status to an mlxpack_status, and the guard that keeps every
// exception on the C++ side.
#ifndef MLXPACK_LOADER_SRC_C_API_SUPPORT_H_
#define MLXPACK_LOADER_SRC_C_API_SUPPORT_H_

#include <exception>
#include <new>
#include <string_view>

#include "mlxpack/mlxpack.h"
#include "mlxpack/status.h"

namespace mlxpack::c_api {

// Records `s` as this thread's last error and returns its C status.
mlxpack_status fail(const Status& s);
// Records `message` (no rule) and returns `code`.
mlxpack_status fail_message(mlxpack_status code, std::string_view message);

// Runs `body` (returning an mlxpack_status); an exception becomes an error.
template <typename F>
mlxpack_status guarded(F&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail_message(MLXPACK_IO_ERROR, "out of memory");
  } catch (const std::exception& e) {
    return fail_message(MLXPACK_IO_ERROR, e.what());
  } catch (...) {
    return fail_message(MLXPACK_IO_ERROR, "unknown error");
  }
}

const char* last_error();
int last_format_error();

// A malloc'ed copy of `bytes` with a NUL after them, for the caller to free
// with mlxpack_free; nullptr when memory runs out.
char* malloc_copy(std::string_view bytes);

}  // namespace mlxpack::c_api

#endif  // MLXPACK_LOADER_SRC_C_API_SUPPORT_H_
