// The C API over mlxpack::Reader. Every entry point catches everything:
// no exception may cross into C.
#include "mlxpack/mlxpack.h"

#include <cstdlib>
#include <cstring>
#include <set>
#include <mutex>
#include <new>
#include <string>

#include "format/layout.h"
#include "loader/src/c_api_support.h"
#include "mlxpack/loader.h"

// The C enums are the C++ enums' values (both are the spec's numbers).
static_assert(MLXPACK_FORMAT_VERSION_MAJOR == mlxpack::layout::kVersionMajor);
static_assert(MLXPACK_FORMAT_VERSION_MINOR == mlxpack::layout::kVersionMinor);
static_assert(MLXPACK_DTYPE_BOOL == static_cast<int>(mlxpack::DType::kBool));
static_assert(MLXPACK_DTYPE_F8_E5M2 == static_cast<int>(mlxpack::DType::kF8E5M2));
static_assert(MLXPACK_DTYPE_F8_E5M2 == mlxpack::kMaxDTypeCode);
static_assert(MLXPACK_RULE_BAD_MAGIC == static_cast<int>(mlxpack::FormatError::kBadMagic));
static_assert(MLXPACK_RULE_BAD_SAFETENSORS == static_cast<int>(mlxpack::FormatError::kBadSafetensors));

struct mlxpack_reader {
  std::unique_ptr<mlxpack::Reader> reader;
  // NUL-terminated copies of the names handed out, one per distinct name
  // (so repeated calls do not grow memory), kept until close.
  mutable std::set<std::string, std::less<>> names;
  mutable std::mutex names_mu;
};

namespace mlxpack::c_api {

namespace {
thread_local std::string g_last_error;
thread_local int g_last_format_error = 0;
}  // namespace

mlxpack_status fail(const Status& s) {
  g_last_error = s.to_string();
  g_last_format_error = static_cast<int>(s.format_error());
  switch (s.code()) {
    case StatusCode::kOk: return MLXPACK_OK;
    case StatusCode::kNotFound: return MLXPACK_NOT_FOUND;
    case StatusCode::kCorruption: return MLXPACK_CORRUPTION;
    case StatusCode::kUnsupported: return MLXPACK_UNSUPPORTED;
    case StatusCode::kInvalidArgument:
    case StatusCode::kAlreadyExists: return MLXPACK_INVALID_ARGUMENT;
    case StatusCode::kIOError: return MLXPACK_IO_ERROR;
  }
  return MLXPACK_IO_ERROR;
}

mlxpack_status fail_message(mlxpack_status code, std::string_view message) {
  g_last_error = message;
  g_last_format_error = 0;
  return code;
}

char* malloc_copy(std::string_view bytes) {
  char* buf = static_cast<char*>(std::malloc(bytes.size() + 1));
  if (buf == nullptr) return nullptr;
  std::memcpy(buf, bytes.data(), bytes.size());
  buf[bytes.size()] = '\0';
  return buf;
}

const char* last_error() { return g_last_error.c_str(); }
int last_format_error() { return g_last_format_error; }

}  // namespace mlxpack::c_api

namespace {

using mlxpack::c_api::fail;
using mlxpack::c_api::fail_message;
using mlxpack::c_api::guarded;

// The spec's kind numbers (§6.1) for the loader's EntryType.
mlxpack_entry_type c_entry_type(mlxpack::EntryType type) {
  switch (type) {
    case mlxpack::EntryType::kTensor: return MLXPACK_ENTRY_TENSOR;
    case mlxpack::EntryType::kFile: return MLXPACK_ENTRY_FILE;
    case mlxpack::EntryType::kSource: return MLXPACK_ENTRY_SOURCE;
  }
  return MLXPACK_ENTRY_TENSOR;
}

const char* keep_name(const mlxpack_reader* r, std::string_view name) {
  std::lock_guard<std::mutex> lock(r->names_mu);
  auto it = r->names.find(name);
  if (it == r->names.end()) it = r->names.emplace(name).first;
  return it->c_str();
}

}  // namespace

extern "C" {

const char* mlxpack_version(void) { return MLXPACK_VERSION_STRING; }

void mlxpack_format_version(uint16_t* major, uint16_t* minor) {
  if (major) *major = mlxpack::layout::kVersionMajor;
  if (minor) *minor = mlxpack::layout::kVersionMinor;
}

const char* mlxpack_dtype_name(int dtype) {
  if (dtype < 0 || dtype > 255 || !mlxpack::dtype_code_is_known(static_cast<uint8_t>(dtype))) return nullptr;
  return mlxpack::dtype_name(static_cast<mlxpack::DType>(dtype));
}

uint32_t mlxpack_dtype_size(int dtype) {
  return mlxpack_dtype_name(dtype) == nullptr ? 0 : mlxpack::dtype_size_bytes(static_cast<mlxpack::DType>(dtype));
}

const char* mlxpack_error_rule_name(int rule) {
  if (rule <= 0 || rule > MLXPACK_RULE_BAD_SAFETENSORS) return nullptr;
  return mlxpack::format_error_name(static_cast<mlxpack::FormatError>(rule));
}

const char* mlxpack_last_error(void) { return mlxpack::c_api::last_error(); }
int mlxpack_last_format_error(void) { return mlxpack::c_api::last_format_error(); }

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
    if (type) *type = c_entry_type(info.type);
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

mlxpack_status mlxpack_tensor_file_offset(const mlxpack_reader* reader, const char* name, uint64_t* offset) {
  return guarded([&] {
    if (reader == nullptr || name == nullptr || offset == nullptr) {
      return fail_message(MLXPACK_INVALID_ARGUMENT, "reader, name and offset must not be NULL");
    }
    // Tensors come first in the index, sorted by name (spec §5.3).
    const mlxpack::Reader& r = *reader->reader;
    uint64_t lo = 0, hi = r.info().tensor_count;
    while (lo < hi) {
      const uint64_t mid = lo + (hi - lo) / 2;
      const mlxpack::EntryInfo e = r.entry(mid);
      const int order = e.name.compare(name);
      if (order == 0) {
        *offset = e.offset;
        return MLXPACK_OK;
      }
      if (order < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return fail(mlxpack::Status::not_found(r.path() + ": no tensor named '" + name + "'"));
  });
}

mlxpack_status mlxpack_file_get(const mlxpack_reader* reader, const char* name, void** data, size_t* size) {
  return guarded([&] {
    if (reader == nullptr || name == nullptr || data == nullptr || size == nullptr) {
      return fail_message(MLXPACK_INVALID_ARGUMENT, "reader, name, data and size must not be NULL");
    }
    auto bytes = reader->reader->file(name);
    if (!bytes.is_ok()) return fail(bytes.status());
    char* buf = mlxpack::c_api::malloc_copy(*bytes);
    if (buf == nullptr) return fail_message(MLXPACK_IO_ERROR, "out of memory");
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
