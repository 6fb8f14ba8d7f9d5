// libFuzzer target: arbitrary bytes as a .mlxpack file. Opens it, walks
// every entry, reads every bundled file and source, and verifies all.
// Any crash, hang or sanitizer report is a bug; errors are expected.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "mlxpack/loader.h"

namespace {

std::string scratch_path() {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/mlxpack-fuzz-loader-" + std::to_string(::getpid()) +
         ".mlxpack";
}

// The scratch file is ours; libFuzzer ends a timed run with exit(), so an
// atexit hook removes it (run_fuzzers.sh also points TMPDIR at a directory it
// deletes, which covers crashes).
void remove_scratch() { std::remove(scratch_path().c_str()); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = [] {
    std::atexit(remove_scratch);
    return scratch_path();
  }();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  auto reader = mlxpack::Reader::open(path, {mlxpack::VerifyMode::kLazy});
  if (!reader.is_ok()) return 0;
  const mlxpack::Reader& r = **reader;
  for (uint64_t i = 0; i < r.entry_count(); ++i) {
    const mlxpack::EntryInfo e = r.entry(i);
    switch (e.type) {
      case mlxpack::EntryType::kTensor: {
        auto t = r.tensor(e.name);
        if (t.is_ok() && t->size_bytes > 0) {
          volatile uint8_t sink = static_cast<const uint8_t*>(t->data)[t->size_bytes - 1];
          (void)sink;
        }
        break;
      }
      case mlxpack::EntryType::kFile: (void)r.file(e.name); break;
      case mlxpack::EntryType::kSource: (void)r.source(e.name); break;
    }
  }
  (void)r.verify_all(1);
  return 0;
}
