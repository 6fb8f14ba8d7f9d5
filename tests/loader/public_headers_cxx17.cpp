// Compiled as C++17 (tests/CMakeLists.txt): every public header must
// stay usable by downstream runtimes that are not on C++20.
#include "mlxpack/dtype.h"
#include "mlxpack/loader.h"
#include "mlxpack/mlxpack.h"
#include "mlxpack/mlxpack_runtime.h"
#include "mlxpack/model_source.h"
#include "mlxpack/chat_template.h"
#include "mlxpack/runtime.h"
#include "mlxpack/tokenizer.h"
#include "mlxpack/version.h"
#include "mlxpack/status.h"

static_assert(__cplusplus == 201703L, "this file must be compiled as C++17");

namespace mlxpack_test {

// Opens `path` through the C++ API and sums the bytes of every tensor view.
unsigned long long sum_tensor_bytes_cxx17(const std::string& path) {
  auto reader = mlxpack::Reader::open(path);
  if (!reader.is_ok()) return 0;
  unsigned long long total = 0;
  for (uint64_t i = 0; i < (*reader)->entry_count(); ++i) {
    const mlxpack::EntryInfo e = (*reader)->entry(i);
    if (e.type != mlxpack::EntryType::kTensor) continue;
    auto t = (*reader)->tensor(e.name);
    if (t.is_ok()) total += t->size_bytes;
  }
  return total;
}

}  // namespace mlxpack_test
