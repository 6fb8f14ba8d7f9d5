// libFuzzer target: arbitrary bytes as a checkpoint's data.pkl through the
// restricted unpickler. Its promises: it returns (no crash, no unbounded
// recursion or memory), and every tensor it accepts lies inside its
// storage's stated elements.
#include <cstdint>

#include "format/torch_pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mlxpack;
  auto dict = parse_torch_pickle(data, size, "fuzz.pkl");
  if (!dict.is_ok()) return 0;
  for (const TorchTensor& t : dict->tensors) {
    const TorchStorage& s = dict->storages.at(t.storage);
    if (t.offset > s.numel || t.numel > s.numel - t.offset || t.dtype != s.dtype) __builtin_trap();
  }
  return 0;
}
