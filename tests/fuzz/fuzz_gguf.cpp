// libFuzzer target: arbitrary bytes as a GGUF file, through the header
// reader, info's summary, and the importer's tokenizer and architecture
// steps (metadata carried as tensors is read from the input itself).
#include <cstdint>
#include <string>

#include "convert/gguf/gguf_architecture.h"
#include "convert/gguf/gguf_tokenizer.h"
#include "format/gguf.h"
#include "inspect/gguf_summary.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mlxpack;
  auto file = parse_gguf(data, size, size, "fuzz.gguf");
  if (!file.is_ok()) return 0;
  // The reader's promise: every tensor lies inside the file.
  for (const GgufTensorInfo& t : file->tensors) {
    if (t.offset > size || t.size_bytes > size - t.offset) __builtin_trap();
  }
  (void)gguf_summary_text(*file, true);
  (void)gguf_summary_json(*file, true);
  const GgufMetadata meta(*file, "fuzz.gguf");
  auto tokenizer = import_gguf_tokenizer(meta);
  if (!tokenizer.is_ok()) return 0;
  (void)plan_gguf_model(meta, *tokenizer, [&](const GgufTensorInfo& t) -> Result<std::string> {
    return std::string(reinterpret_cast<const char*>(data) + t.offset, t.size_bytes);
  });
  return 0;
}
