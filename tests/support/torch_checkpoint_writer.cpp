#include "tests/support/torch_checkpoint_writer.h"

#include "format/byte_order.h"
#include "format/zip_archive.h"

namespace mlxpack::test {
namespace {

std::string le(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

std::string binint(uint64_t v) { return "J" + le(v, 4); }

const char* storage_type(DType d) {
  return d == DType::kF32 ? "FloatStorage" : d == DType::kF16 ? "HalfStorage" : "BFloat16Storage";
}

}  // namespace

std::string pickle_unicode(const std::string& s) { return "X" + le(s.size(), 4) + s; }
std::string pickle_global(const std::string& module, const std::string& name) {
  return "c" + module + "\n" + name + "\n";
}

std::string state_dict_pickle(const std::vector<PickledTensor>& tensors) {
  std::string p = std::string("\x80\x02}q\x00(", 6);
  for (size_t k = 0; k < tensors.size(); ++k) {
    const PickledTensor& t = tensors[k];
    uint64_t numel = 1;
    for (uint64_t d : t.shape) numel *= d;
    p += pickle_unicode(t.name) + pickle_global("torch._utils", "_rebuild_tensor_v2") + "(";
    p += "(" + pickle_unicode("storage") + pickle_global("torch", storage_type(t.dtype)) +
         pickle_unicode(std::to_string(k)) + pickle_unicode("cpu") + binint(numel) + "tQ";
    p += binint(0) + "(";
    for (uint64_t d : t.shape) p += binint(d);
    p += "t(";
    uint64_t stride = numel;
    for (uint64_t d : t.shape) {
      stride = d ? stride / d : 0;
      p += binint(stride);
    }
    p += "t\x89" + pickle_global("collections", "OrderedDict") + ")Rtr" + le(1000 + k, 4) + "R";
  }
  return p + "u.";
}

std::string zip_archive(const std::vector<std::pair<std::string, std::string>>& entries, bool zip64) {
  std::string out, central;
  for (const auto& [name, bytes] : entries) {
    const uint32_t crc = zip_crc32(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    const uint64_t local = out.size();
    out += le(0x04034b50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(crc, 4) + le(bytes.size(), 4) +
           le(bytes.size(), 4) + le(name.size(), 2) + le(0, 2) + name + bytes;
    central += le(0x02014b50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(crc, 4) +
               le(bytes.size(), 4) + le(bytes.size(), 4) + le(name.size(), 2) + le(0, 2) + le(0, 2) + le(0, 2) +
               le(0, 2) + le(0, 4) + le(local, 4) + name;
  }
  const uint64_t at = out.size();
  out += central;
  if (zip64) {
    const uint64_t record = out.size();
    out += le(0x06064b50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4) + le(entries.size(), 8) +
           le(entries.size(), 8) + le(central.size(), 8) + le(at, 8);
    out += le(0x07064b50, 4) + le(0, 4) + le(record, 8) + le(1, 4);
    return out + le(0x06054b50, 4) + le(0, 2) + le(0, 2) + le(0xffff, 2) + le(0xffff, 2) + le(0xffffffff, 4) +
           le(0xffffffff, 4) + le(0, 2);
  }
  return out + le(0x06054b50, 4) + le(0, 2) + le(0, 2) + le(entries.size(), 2) + le(entries.size(), 2) +
         le(central.size(), 4) + le(at, 4) + le(0, 2);
}

std::string torch_checkpoint(const std::vector<PickledTensor>& tensors, const std::string& prefix,
                             const std::string& pickle, bool zip64) {
  std::vector<std::pair<std::string, std::string>> entries = {
      {prefix + "/data.pkl", pickle.empty() ? state_dict_pickle(tensors) : pickle}};
  for (size_t k = 0; k < tensors.size(); ++k) entries.push_back({prefix + "/data/" + std::to_string(k), tensors[k].bytes});
  entries.push_back({prefix + "/version", "3\n"});
  entries.push_back({prefix + "/byteorder", "little"});
  return zip_archive(entries, zip64);
}

}  // namespace mlxpack::test
