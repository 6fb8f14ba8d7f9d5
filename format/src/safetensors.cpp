#include "format/safetensors.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "format/byte_order.h"
#include "format/layout.h"
#include "format/names.h"

namespace mlxpack {
namespace {

using nlohmann::json;

Status bad(const std::string& what, const std::string& msg) {
  return Status::corruption(FormatError::kBadSafetensors, what + ": " + msg);
}


Result<SafetensorsTensor> parse_tensor(const std::string& name, const json& value,
                                       const std::string& what) {
  const std::string where = "tensor '" + name + "'";
  if (!value.is_object()) return bad(what, where + " is not a JSON object");
  if (std::string reason = check_entry_name(name); !reason.empty()) {
    return bad(what, where + ": " + reason);
  }
  SafetensorsTensor t;
  t.name = name;
  auto dtype_it = value.find("dtype");
  if (dtype_it == value.end() || !dtype_it->is_string()) {
    return bad(what, where + " has no string field 'dtype'");
  }
  const std::string dtype_name_str = dtype_it->get<std::string>();
  std::optional<DType> dtype = dtype_from_name(dtype_name_str);
  if (!dtype) {
    return Status::unsupported(what + ": " + where + " has dtype '" + dtype_name_str +
                               "', which mlxpack does not support (supported: BOOL U8 I8 U16 I16 U32 I32 U64 "
                               "I64 F16 BF16 F32 F64 F8_E4M3 F8_E5M2)");
  }
  t.dtype = *dtype;
  auto shape_it = value.find("shape");
  if (shape_it == value.end() || !shape_it->is_array()) {
    return bad(what, where + " has no array field 'shape'");
  }
  if (shape_it->size() > layout::kMaxRank) {
    return bad(what, where + " has rank " + std::to_string(shape_it->size()) + ", the limit is " + std::to_string(layout::kMaxRank));
  }
  uint64_t elements = 1;
  bool overflow = false;
  for (const json& d : *shape_it) {
    if (!d.is_number_unsigned()) return bad(what, where + " has a shape entry that is not a non-negative integer");
    const uint64_t dim = d.get<uint64_t>();
    t.shape.push_back(dim);
    overflow |= mul_overflows(elements, dim, &elements);
  }
  auto offsets_it = value.find("data_offsets");
  if (offsets_it == value.end() || !offsets_it->is_array() || offsets_it->size() != 2 ||
      !(*offsets_it)[0].is_number_unsigned() || !(*offsets_it)[1].is_number_unsigned()) {
    return bad(what, where + " has no field 'data_offsets' of two non-negative integers");
  }
  t.data_begin = (*offsets_it)[0].get<uint64_t>();
  t.data_end = (*offsets_it)[1].get<uint64_t>();
  if (t.data_end < t.data_begin) {
    return bad(what, where + " has data_offsets [" + std::to_string(t.data_begin) + ", " + std::to_string(t.data_end) +
                         "]: end before begin");
  }
  uint64_t bytes = 0;
  overflow |= mul_overflows(elements, dtype_size_bytes(t.dtype), &bytes);
  if (overflow || bytes != t.size_bytes()) {
    return bad(what, where + " has data_offsets [" + std::to_string(t.data_begin) + ", " + std::to_string(t.data_end) + "] (" +
                         std::to_string(t.size_bytes()) + " bytes) but its dtype " + dtype_name_str + " and shape give " +
                         (overflow ? std::string("more than 2^64") : std::to_string(bytes)) + " bytes");
  }
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (it.key() != "dtype" && it.key() != "shape" && it.key() != "data_offsets") {
      return bad(what, where + " has unknown field '" + it.key() + "'");
    }
  }
  return t;
}

// Records the first top-level key seen twice.
struct DuplicateKeyFinder : nlohmann::json_sax<json> {
  int depth = 0;
  std::set<std::string, std::less<>> seen;
  std::string duplicate;
  std::string error;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return ++depth, true; }
  bool end_object() override { return --depth, true; }
  bool start_array(std::size_t) override { return ++depth, true; }
  bool end_array() override { return --depth, true; }
  bool key(string_t& k) override {
    if (depth == 1 && !seen.insert(k).second && duplicate.empty()) duplicate = k;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    error = e.what() + std::string(" (at byte ") + std::to_string(position) + ")";
    return false;
  }
};

}  // namespace

Result<uint64_t> parse_safetensors_header_size(const uint8_t prefix[8], uint64_t file_size,
                                               const std::string& what) {
  if (file_size < 8) {
    return bad(what, "file is " + std::to_string(file_size) + " bytes, too short for the 8-byte header size");
  }
  const uint64_t n = load_le64(prefix);
  if (n > layout::kMaxSafetensorsHeaderSize) {
    return bad(what, "header size is " + std::to_string(n) + " bytes, more than the limit of " +
                         std::to_string(layout::kMaxSafetensorsHeaderSize));
  }
  if (n > file_size - 8) {
    return bad(what, "header size is " + std::to_string(n) + " bytes but only " + std::to_string(file_size - 8) +
                         " bytes follow the size field");
  }
  return n;
}

Result<SafetensorsHeader> parse_safetensors_header(const std::string& header, uint64_t file_size,
                                                   const std::string& what) {
  if (file_size < 8 || header.size() > file_size - 8) {
    return bad(what, "header of " + std::to_string(header.size()) + " bytes does not fit in a " + std::to_string(file_size) + "-byte file");
  }
  if (header.empty() || header[0] != '{') {
    return bad(what, "header does not start with '{'");
  }
  // Duplicate keys are an error (nlohmann would keep the last silently). A
  // SAX pass finds them in linear time; nlohmann's callback parser would be
  // quadratic in the number of tensors.
  DuplicateKeyFinder finder;
  json doc;
  try {
    if (!json::sax_parse(header, &finder)) return bad(what, "header is not valid JSON: " + finder.error);
    doc = json::parse(header);
  } catch (const json::exception& e) {
    return bad(what, std::string("header is not valid JSON: ") + e.what());
  }
  const std::string& duplicate = finder.duplicate;
  if (!duplicate.empty()) return bad(what, "header has the key '" + duplicate + "' twice");
  if (!doc.is_object()) return bad(what, "header JSON is not an object");

  SafetensorsHeader out;
  out.header_size = header.size();
  const uint64_t data_size = file_size - 8 - header.size();
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) return bad(what, "__metadata__ is not a JSON object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) return bad(what, "__metadata__ value for '" + m.key() + "' is not a string");
      }
      continue;
    }
    MLXPACK_ASSIGN_OR_RETURN(SafetensorsTensor t, parse_tensor(it.key(), it.value(), what));
    out.tensors.push_back(std::move(t));
  }
  std::stable_sort(out.tensors.begin(), out.tensors.end(), [](const auto& a, const auto& b) {
    return a.data_begin != b.data_begin ? a.data_begin < b.data_begin : a.data_end < b.data_end;
  });
  uint64_t cursor = 0;
  for (const SafetensorsTensor& t : out.tensors) {
    if (t.data_begin != cursor) {
      return bad(what, "tensor '" + t.name + "' starts at data offset " + std::to_string(t.data_begin) +
                           " but the previous tensor ends at " + std::to_string(cursor) +
                           (t.data_begin < cursor ? " (overlap)" : " (hole)"));
    }
    if (t.data_end > data_size) {
      return bad(what, "tensor '" + t.name + "' ends at data offset " + std::to_string(t.data_end) +
                           ", past the " + std::to_string(data_size) + "-byte data section");
    }
    cursor = t.data_end;
  }
  if (cursor != data_size) {
    return bad(what, "tensors cover " + std::to_string(cursor) + " bytes of the " + std::to_string(data_size) +
                         "-byte data section (trailing bytes)");
  }
  return out;
}

std::string encode_safetensors_header(
    const std::vector<SafetensorsTensor>& tensors,
    const std::vector<std::pair<std::string, std::string>>& metadata) {
  // ordered_json keeps insertion order, so the header lists tensors in data order.
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    doc["__metadata__"] = meta;
  }
  for (const SafetensorsTensor& t : tensors) {
    doc[t.name] = {{"dtype", dtype_name(t.dtype)},
                   {"shape", t.shape},
                   {"data_offsets", {t.data_begin, t.data_end}}};
  }
  std::string header = doc.dump();
  header.append((8 - header.size() % 8) % 8, ' ');
  return header;
}

std::string encode_safetensors_header_region(
    const std::vector<SafetensorsTensor>& tensors,
    const std::vector<std::pair<std::string, std::string>>& metadata) {
  const std::string header = encode_safetensors_header(tensors, metadata);
  std::string region(8, '\0');
  store_le64(reinterpret_cast<uint8_t*>(region.data()), header.size());
  return region + header;
}

std::string encode_safetensors(const std::vector<SafetensorsWriteTensor>& tensors,
                               const std::vector<std::pair<std::string, std::string>>& metadata) {
  std::vector<SafetensorsTensor> layout_tensors;
  uint64_t offset = 0;
  for (const SafetensorsWriteTensor& t : tensors) {
    layout_tensors.push_back({t.name, t.dtype, t.shape, offset, offset + t.bytes.size()});
    offset += t.bytes.size();
  }
  std::string out = encode_safetensors_header_region(layout_tensors, metadata);
  for (const SafetensorsWriteTensor& t : tensors) out += t.bytes;
  return out;
}

}  // namespace mlxpack
