// libFuzzer target: arbitrary bytes as a LoRA adapter's two files (the
// first two bytes, little-endian, give adapter_config.json's length; the
// rest is adapters.safetensors) through parse_lora_adapter. Its promise:
// every module it accepts holds exactly in x rank and rank x out floats.
#include <cstdint>
#include <string_view>

#include "format/lora_adapter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mlxpack;
  if (size < 2) return 0;
  const size_t config_size = std::min<size_t>(size - 2, data[0] | (data[1] << 8));
  const std::string_view config(reinterpret_cast<const char*>(data) + 2, config_size);
  const std::string_view weights(reinterpret_cast<const char*>(data) + 2 + config_size, size - 2 - config_size);
  auto adapter = parse_lora_adapter(config, weights, "fuzz");
  if (!adapter.is_ok()) return 0;
  for (const LoraModule& m : adapter->modules) {
    if (m.a.size() != size_t(m.in) * adapter->rank || m.b.size() != size_t(adapter->rank) * m.out) __builtin_trap();
  }
  return 0;
}
