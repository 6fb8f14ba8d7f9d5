// libFuzzer target: arbitrary bytes as a safetensors file, through the
// header parser that pack and convert use.
#include <cstdint>
#include <string>

#include "format/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) {
    uint8_t prefix[8] = {};
    (void)mlxpack::parse_safetensors_header_size(prefix, size, "fuzz");
    return 0;
  }
  auto n = mlxpack::parse_safetensors_header_size(data, size, "fuzz");
  if (!n.is_ok()) return 0;
  const std::string header(reinterpret_cast<const char*>(data) + 8, static_cast<size_t>(*n));
  auto h = mlxpack::parse_safetensors_header(header, size, "fuzz");
  if (h.is_ok()) {
    // The parser's promise: every tensor lies in the file, back to back.
    uint64_t cursor = 0;
    for (const auto& t : h->tensors) {
      if (t.data_begin != cursor || h->data_offset() + t.data_end > size) __builtin_trap();
      cursor = t.data_end;
    }
  }
  return 0;
}
