// libFuzzer target: arbitrary bytes as Llama 3's tiktoken tokenizer.model
// through the import that turns it into tokenizer.json (the first byte
// picks the special-token list). Its promise: it returns, and what it
// accepts is a JSON document.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "convert/meta/tiktoken_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mlxpack;
  if (size < 1) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto imported = import_tiktoken(bytes, "fuzz", data[0] & 1, 4096);
  if (!imported.is_ok()) return 0;
  if (nlohmann::json::parse(imported->tokenizer_json, nullptr, false).is_discarded()) __builtin_trap();
  return 0;
}
