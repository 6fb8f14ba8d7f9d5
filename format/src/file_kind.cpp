#include "format/file_kind.h"

#include <cstring>
#include <string_view>

#include "format/byte_order.h"

namespace mlxpack {

namespace {

bool starts_with(const uint8_t* bytes, size_t size, std::string_view magic) {
  return size >= magic.size() && std::memcmp(bytes, magic.data(), magic.size()) == 0;
}

// A zip's first local file header names its first member at offset 30
// (name length at 26). PyTorch's torch.save writes "<archive>/data.pkl"
// or "<archive>/byteorder" or ".../version" first; any "/data.pkl" or
// "/byteorder" member name in that first header marks a checkpoint.
bool zip_is_pytorch(const uint8_t* bytes, size_t size) {
  if (size < 30) return false;
  const size_t name_length = load_le16(bytes + 26);
  if (size < 30 + name_length) return false;
  const std::string_view name(reinterpret_cast<const char*>(bytes + 30), name_length);
  for (std::string_view member : {"/data.pkl", "/byteorder", "/version", "/.format_version"}) {
    if (name.size() >= member.size() && name.substr(name.size() - member.size()) == member) return true;
  }
  return false;
}

}  // namespace

ForeignFile identify_foreign_file(const uint8_t* bytes, size_t size, uint64_t file_size) {
  if (starts_with(bytes, size, "GGUF")) return ForeignFile::kGguf;
  if (starts_with(bytes, size, std::string_view("PK\x03\x04", 4))) {
    return zip_is_pytorch(bytes, size) ? ForeignFile::kPyTorchZip : ForeignFile::kZip;
  }
  // Pickle protocol 2-5 starts with PROTO (0x80) and the protocol number.
  if (size >= 2 && bytes[0] == 0x80 && bytes[1] >= 2 && bytes[1] <= 5) return ForeignFile::kPickle;
  // safetensors: a little-endian u64 header length, then a JSON object
  // that fits in the file.
  if (size >= 9 && bytes[8] == '{') {
    const uint64_t header = load_le64(bytes);
    if (header >= 2 && file_size >= 8 && header <= file_size - 8) return ForeignFile::kSafetensors;
  }
  return ForeignFile::kUnknown;
}

std::string foreign_file_hint(ForeignFile kind) {
  switch (kind) {
    case ForeignFile::kGguf:
      return "; this is a GGUF file (llama.cpp's format): import it first (`mlxpack convert FILE.gguf "
             "OUT.mlxpack`), then run the pack; `mlxpack info FILE.gguf` describes it";
    case ForeignFile::kSafetensors:
      return "; this is a safetensors file, one part of a model: give mlxpack the directory that holds it with "
             "its config.json and tokenizer (`mlxpack run -m DIR`, or `mlxpack pack DIR OUT.mlxpack`)";
    case ForeignFile::kPyTorchZip:
    case ForeignFile::kPickle:
      return "; this is a PyTorch checkpoint (pickle), which mlxpack does not load because unpickling can run "
             "code: save the model as safetensors (transformers: model.save_pretrained(dir, "
             "safe_serialization=True)) and give mlxpack that directory";
    case ForeignFile::kZip:
      return "; this is a zip archive: unpack it and give mlxpack the model directory inside";
    case ForeignFile::kUnknown:
      break;
  }
  return "";
}

}  // namespace mlxpack
