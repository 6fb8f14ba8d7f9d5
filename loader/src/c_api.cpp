// The C API over mlxpack::Reader. Every entry point catches everything:
// no exception may cross into C.
#include "mlxpack/mlxpack.h"

#include <cstdlib>
#include <cstring>
#include <set>
#include <mutex>
#include <new>
#include <string>

#include "mlxpack/loader.h"

struct mlxpack_reader {
  std::unique_ptr<mlxpack::Reader> reader;
  // NUL-terminated copies of the names handed out, one per distinct name
  // (so repeated calls do not grow memory), kept until close.
  mutable std::set<std::string, std::less<>> names;
  mutable std::mutex names_mu;
};

namespace {

thread_local std::string g_last_error;
thread_local int g_last_format_error = 0;

mlxpack_status fail(const mlxpack::Status& s) {
  g_last_error = s.to_string();
  g_last_format_error = static_cast<int>(s.format_error());
  switch (s.code()) {
    case mlxpack::StatusCode::kOk: return MLXPACK_OK;
    case mlxpack::StatusCode::kNotFound: return MLXPACK_NOT_FOUND;
    case mlxpack::StatusCode::kCorruption: return MLXPACK_CORRUPTION;
    case mlxpack::StatusCode::kUnsupported: return MLXPACK_UNSUPPORTED;
    case mlxpack::StatusCode::kInvalidArgument:
    case mlxpack::StatusCode::kAlreadyExists: return MLXPACK_INVALID_ARGUMENT;
    case mlxpack::StatusCode::kIOError: return MLXPACK_IO_ERROR;
  }
  return MLXPACK_IO_ERROR;
}

mlxpack_status fail_message(mlxpack_status code, const char* message) {
  g_last_error = message;
  g_last_format_error = 0;
  return code;
}

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

const char* keep_name(const mlxpack_reader* r, std::string_view name) {
  std::lock_guard<std::mutex> lock(r->names_mu);
  auto it = r->names.find(name);
  if (it == r->names.end()) it = r->names.emplace(name).first;
  return it->c_str();
}

}  // namespace

extern "C" {

const char* mlxpack_last_error(void) { return g_last_error.c_str(); }
int mlxpack_last_format_error(void) { return g_last_format_error; }

mlxpack_status mlxpack_open(const char* path, mlxpack_verify_mode verify, mlxpack_reader** out) {
  return guarded([&] {
    if (path == nullptr || out == nullptr) return fail_message(MLXPACK_INVALID_ARGUMENT, "path and out must not be NULL");
    *out = nullptr;
    mlxpack::OpenOptions options;
    switch (verify) {
      case MLXPACK_VERIFY_NONE: options.verify = mlxpack::VerifyMode::kNone; break;
      case MLXPACK_VERIFY_LAZY: options.verify = mlxpack::VerifyMode::kLazy; break;
      case MLXPACK_VERIFY_AT_OPEN: options.verify = mlxpack::VerifyMode::kAtOpen; break;
      default: return fail_message(MLXPACK_INVALID_ARGUMENT, "unknown verify mode");
    }
    auto reader = mlxpack::Reader::open(path, options);
    if (!reader.is_ok()) return fail(reader.status());
    auto* handle = new mlxpack_reader;
    handle->reader = std::move(reader).value();
    *out = handle;
    return MLXPACK_OK;
  });
}

void mlxpack_close(mlxpack_reader* reader) { delete reader; }

uint64_t mlxpack_entry_count(const mlxpack_reader* reader) {
  return reader == nullptr ? 0 : reader->reader->entry_count();
}

mlxpack_status mlxpack_entry(const mlxpack_reader* reader, uint64_t index, mlxpack_entry_type* type,
                             const char** name) {
  return guarded([&] {
    if (reader == nullptr || index >= reader->reader->entry_count()) {
      return fail_message(MLXPACK_INVALID_ARGUMENT, "reader is NULL or index is out of range");
    }
    const mlxpack::EntryInfo info = reader->reader->entry(index);
    if (type) *type = static_cast<mlxpack_entry_type>(info.type);
    if (name) *name = keep_name(reader, info.name);
    return MLXPACK_OK;
  });
}

mlxpack_status mlxpack_tensor_get(const mlxpack_reader* reader, const char* name, mlxpack_tensor* out) {
  return guarded([&] {
    if (reader == nullptr || name == nullptr || out == nullptr) {
      return fail_message(MLXPACK_INVALID_ARGUMENT, "reader, name and out must not be NULL");
    }
    auto view = reader->reader->tensor(name);
    if (!view.is_ok()) return fail(view.status());
    std::memset(out, 0, sizeof *out);
    out->name = keep_name(reader, view->name);
    out->dtype = static_cast<int>(view->dtype);
    out->rank = view->rank;
    for (uint32_t d = 0; d < view->rank; ++d) out->shape[d] = view->shape[d];
    out->data = view->data;
    out->size_bytes = view->size_bytes;
    return MLXPACK_OK;
  });
}

mlxpack_status mlxpack_file_get(const mlxpack_reader* reader, const char* name, void** data, size_t* size) {
  return guarded([&] {
    if (reader == nullptr || name == nullptr || data == nullptr || size == nullptr) {
      return fail_message(MLXPACK_INVALID_ARGUMENT, "reader, name, data and size must not be NULL");
    }
    auto bytes = reader->reader->file(name);
    if (!bytes.is_ok()) return fail(bytes.status());
    void* buf = std::malloc(bytes->size() == 0 ? 1 : bytes->size());
    if (buf == nullptr) return fail_message(MLXPACK_IO_ERROR, "out of memory");
    std::memcpy(buf, bytes->data(), bytes->size());
    *data = buf;
    *size = bytes->size();
    return MLXPACK_OK;
  });
}

void mlxpack_free(void* data) { std::free(data); }

mlxpack_status mlxpack_verify(const mlxpack_reader* reader, const char* name) {
  return guarded([&] {
    if (reader == nullptr || name == nullptr) return fail_message(MLXPACK_INVALID_ARGUMENT, "reader and name must not be NULL");
    mlxpack::Status s = reader->reader->verify(name);
    return s.is_ok() ? MLXPACK_OK : fail(s);
  });
}

mlxpack_status mlxpack_verify_all(const mlxpack_reader* reader, unsigned threads,
                                  void (*on_corrupt)(void* user, const char* name, const char* reason),
                                  void* user, uint64_t* n_corrupt) {
  return guarded([&] {
    if (reader == nullptr) return fail_message(MLXPACK_INVALID_ARGUMENT, "reader must not be NULL");
    auto bad = reader->reader->verify_all(threads);
    if (!bad.is_ok()) return fail(bad.status());
    if (n_corrupt) *n_corrupt = bad->size();
    if (on_corrupt) {
      for (const auto& c : *bad) on_corrupt(user, c.name.c_str(), c.reason.c_str());
    }
    return MLXPACK_OK;
  });
}

}  // extern "C"
