// libFuzzer target: arbitrary bytes as config.json (and, split at the first
// NUL, generation_config.json) through the interpretation info and convert use.
#include <cstdint>
#include <cstring>
#include <string>

#include "inspect/model_summary.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* p = reinterpret_cast<const char*>(data);
  const void* nul = std::memchr(p, 0, size);
  const size_t split = nul != nullptr ? static_cast<size_t>(static_cast<const char*>(nul) - p) : size;
  const std::string config(p, split);
  const std::string generation = split < size ? std::string(p + split + 1, size - split - 1) : std::string("{}");
  mlxpack::ModelSummary s;
  (void)mlxpack::interpret_model_files(&config, &generation, &config, "fuzz", &s);
  return 0;
}
