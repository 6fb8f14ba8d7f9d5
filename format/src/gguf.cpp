// GGUF header parsing (see format/gguf.h). One pass through a ByteCursor:
// header, key/values, tensor table; then the tensor table is checked
// against the file (alignment, sizes, bounds).
#include "format/gguf.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "format/byte_order.h"
#include "format/file_io.h"

namespace mlxpack {

namespace {

// Block sizes and bytes per block from ggml-common.h; removed ids absent.
constexpr GgmlType kGgmlTypes[] = {
    {0, "F32", 1, 4},        {1, "F16", 1, 2},         {2, "Q4_0", 32, 18},     {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},     {7, "Q5_1", 32, 24},      {8, "Q8_0", 32, 34},     {9, "Q8_1", 32, 36},
    {10, "Q2_K", 256, 84},   {11, "Q3_K", 256, 110},   {12, "Q4_K", 256, 144},  {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210},  {15, "Q8_K", 256, 292},   {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74},
    {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},  {20, "IQ4_NL", 32, 18},  {21, "IQ3_S", 256, 110},
    {22, "IQ2_S", 256, 82},  {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1},        {25, "I16", 1, 2},
    {26, "I32", 1, 4},       {27, "I64", 1, 8},        {28, "F64", 1, 8},       {29, "IQ1_M", 256, 56},
    {30, "BF16", 1, 2},      {34, "TQ1_0", 256, 54},   {35, "TQ2_0", 256, 66},  {39, "MXFP4", 32, 17},
};

// Bytes of a scalar of type t (0 for strings and arrays).
uint64_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kBool: return 1;
    case GgufType::kU16: case GgufType::kI16: return 2;
    case GgufType::kU32: case GgufType::kI32: case GgufType::kF32: return 4;
    case GgufType::kU64: case GgufType::kI64: case GgufType::kF64: return 8;
    case GgufType::kString: case GgufType::kArray: return 0;
  }
  return 0;
}

// The fewest bytes an item of type t takes in the file.
uint64_t min_item_size(GgufType t) {
  if (t == GgufType::kString) return 8;
  if (t == GgufType::kArray) return 12;
  return scalar_size(t);
}

class Parser {
 public:
  Parser(const uint8_t* data, size_t size, uint64_t file_size, const std::string& name)
      : cur_(data, size), size_(size), file_size_(file_size), name_(name) {}

  Result<GgufFile> parse();
  bool needs_more() const { return needs_more_; }

 private:
  Status fail(const std::string& msg) const { return Status::invalid_argument(name_ + ": " + msg); }
  // A read past the bytes at hand: the file is truncated, or (when more of
  // it exists) the caller should read a longer prefix.
  Status short_read(const std::string& what) {
    if (size_ < file_size_) {
      needs_more_ = true;
      return fail("the GGUF header goes on past the first " + std::to_string(size_) + " bytes (" + what + ")");
    }
    return fail("the file ends inside " + what + " (GGUF header truncated at " + std::to_string(file_size_) +
                " bytes)");
  }
  // Bytes left in the whole file after the cursor.
  uint64_t file_left() const { return file_size_ - cur_.position(); }

  Status u32(uint32_t* v, const std::string& what) { return cur_.read_u32(v) ? Status::ok() : short_read(what); }
  Status u64(uint64_t* v, const std::string& what) { return cur_.read_u64(v) ? Status::ok() : short_read(what); }
  Status string(std::string* out, uint64_t limit, const std::string& what);
  Status value(GgufType type, int depth, const std::string& key, GgufValue* out);
  Status array(int depth, const std::string& key, GgufValue* out);
  Status scalar(GgufType type, const std::string& key, GgufValue* out);
  Status key_values(uint64_t count, GgufFile* file);
  Status tensor_info(uint32_t alignment, std::set<std::string, std::less<>>* names, GgufTensorInfo* t);
  Status check_tensor(const GgufFile& file, const GgufTensorInfo& t);

  ByteCursor cur_;
  size_t size_;
  uint64_t file_size_;
  const std::string& name_;
  bool needs_more_ = false;
  uint64_t array_items_ = 0;
};

Status Parser::string(std::string* out, uint64_t limit, const std::string& what) {
  uint64_t n = 0;
  MLXPACK_RETURN_IF_ERROR(u64(&n, "the length of " + what));
  if (n > file_left()) {
    return fail(what + " is " + std::to_string(n) + " bytes long but the file has " + std::to_string(file_left()) +
                " bytes left");
  }
  if (n > limit) return fail(what + " is " + std::to_string(n) + " bytes long (limit " + std::to_string(limit) + ")");
  const uint8_t* p = nullptr;
  if (!cur_.read_bytes(static_cast<size_t>(n), &p)) return short_read(what);
  out->assign(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
  return Status::ok();
}

Status Parser::scalar(GgufType type, const std::string& key, GgufValue* out) {
  const uint64_t n = scalar_size(type);
  const uint8_t* p = nullptr;
  if (!cur_.read_bytes(n, &p)) return short_read("the value of " + key);
  uint64_t bits = n == 1 ? p[0] : n == 2 ? load_le16(p) : n == 4 ? load_le32(p) : load_le64(p);
  out->type = type;
  switch (type) {
    case GgufType::kBool:
      if (bits > 1) return fail(key + ": a bool must be 0 or 1, not " + std::to_string(bits));
      [[fallthrough]];
    case GgufType::kU8: case GgufType::kU16: case GgufType::kU32: case GgufType::kU64:
      out->u = bits;
      break;
    case GgufType::kI8: out->i = static_cast<int8_t>(bits); break;
    case GgufType::kI16: out->i = static_cast<int16_t>(bits); break;
    case GgufType::kI32: out->i = static_cast<int32_t>(bits); break;
    case GgufType::kI64: out->i = static_cast<int64_t>(bits); break;
    case GgufType::kF32: {
      const uint32_t b32 = static_cast<uint32_t>(bits);
      float f;
      std::memcpy(&f, &b32, 4);
      out->f = f;
      break;
    }
    case GgufType::kF64: std::memcpy(&out->f, &bits, 8); break;
    case GgufType::kString: case GgufType::kArray: break;
  }
  return Status::ok();
}

Status Parser::array(int depth, const std::string& key, GgufValue* out) {
  uint32_t element = 0;
  uint64_t count = 0;
  MLXPACK_RETURN_IF_ERROR(u32(&element, "the element type of " + key));
  if (element > static_cast<uint32_t>(GgufType::kF64)) {
    return fail(key + ": unknown array element type " + std::to_string(element));
  }
  const auto type = static_cast<GgufType>(element);
  if (type == GgufType::kArray && depth + 1 >= kGgufMaxArrayDepth) {
    return fail(key + ": arrays nested deeper than " + std::to_string(kGgufMaxArrayDepth));
  }
  MLXPACK_RETURN_IF_ERROR(u64(&count, "the length of " + key));
  uint64_t least = 0;
  if (mul_overflows(count, min_item_size(type), &least) || least > file_left()) {
    return fail(key + ": an array of " + std::to_string(count) + " " + gguf_type_name(type) +
                " items cannot fit in the " + std::to_string(file_left()) + " bytes left in the file");
  }
  if (count > kGgufMaxArrayItems - array_items_) {
    return fail(key + ": an array of " + std::to_string(count) + " items passes the limit of " +
                std::to_string(kGgufMaxArrayItems) + " array items in a file");
  }
  array_items_ += count;
  out->type = GgufType::kArray;
  out->element = type;
  const std::string item_name = key + "[]";
  GgufValue item;
  for (uint64_t k = 0; k < count; ++k) {
    MLXPACK_RETURN_IF_ERROR(value(type, depth + 1, item_name, &item));
    if (type == GgufType::kString) {
      out->strings.push_back(std::move(item.s));
    } else if (type == GgufType::kArray) {
      out->arrays.push_back(std::move(item));
      item = GgufValue();
    } else if (type == GgufType::kF32 || type == GgufType::kF64) {
      out->floats.push_back(item.f);
    } else {
      const bool is_signed = type == GgufType::kI8 || type == GgufType::kI16 || type == GgufType::kI32 ||
                             type == GgufType::kI64;
      out->ints.push_back(is_signed ? item.i : static_cast<int64_t>(item.u));
    }
  }
  return Status::ok();
}

Status Parser::value(GgufType type, int depth, const std::string& key, GgufValue* out) {
  if (type == GgufType::kString) {
    out->type = GgufType::kString;
    return string(&out->s, file_size_, "the string value of " + key);
  }
  if (type == GgufType::kArray) return array(depth, key, out);
  return scalar(type, key, out);
}

Status Parser::key_values(uint64_t count, GgufFile* file) {
  for (uint64_t k = 0; k < count; ++k) {
    std::string key;
    MLXPACK_RETURN_IF_ERROR(string(&key, kGgufMaxKeyBytes, "metadata key " + std::to_string(k)));
    uint32_t type = 0;
    MLXPACK_RETURN_IF_ERROR(u32(&type, "the type of " + key));
    if (type > static_cast<uint32_t>(GgufType::kF64)) {
      return fail("metadata key " + key + " has unknown value type " + std::to_string(type));
    }
    GgufValue v;
    MLXPACK_RETURN_IF_ERROR(value(static_cast<GgufType>(type), 0, key, &v));
    if (file->metadata.count(key)) return fail("metadata key " + key + " appears twice");
    file->keys.push_back(key);
    file->metadata.emplace(std::move(key), std::move(v));
  }
  return Status::ok();
}

Status Parser::tensor_info(uint32_t alignment, std::set<std::string, std::less<>>* names, GgufTensorInfo* t) {
  const std::string which = "tensor " + std::to_string(names->size());
  MLXPACK_RETURN_IF_ERROR(string(&t->name, kGgufMaxKeyBytes, "the name of " + which));
  if (!names->insert(t->name).second) return fail("tensor " + t->name + " appears twice");
  uint32_t n_dims = 0;
  MLXPACK_RETURN_IF_ERROR(u32(&n_dims, "the dimension count of " + t->name));
  if (n_dims == 0 || n_dims > kGgufMaxDims) {
    return fail("tensor " + t->name + " has " + std::to_string(n_dims) + " dimensions (1 to " +
                std::to_string(kGgufMaxDims) + ")");
  }
  t->elements = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    uint64_t n = 0;
    MLXPACK_RETURN_IF_ERROR(u64(&n, "the dimensions of " + t->name));
    if (n == 0 || mul_overflows(t->elements, n, &t->elements) || t->elements > uint64_t{INT64_MAX}) {
      return fail("tensor " + t->name + ": dimension " + std::to_string(d) + " of " + std::to_string(n) +
                  " gives an element count that is zero or past 2^63");
    }
    t->dims.push_back(n);
  }
  MLXPACK_RETURN_IF_ERROR(u32(&t->type, "the type of " + t->name));
  MLXPACK_RETURN_IF_ERROR(u64(&t->offset, "the data offset of " + t->name));
  const GgmlType* type = ggml_type(t->type);
  if (type == nullptr) {
    return Status::unsupported(name_ + ": tensor " + t->name + " has ggml type id " + std::to_string(t->type) +
                               ", which this reader does not know");
  }
  if (t->dims[0] % type->block_size != 0) {
    return fail("tensor " + t->name + ": its rows of " + std::to_string(t->dims[0]) + " are not whole " +
                type->name + " blocks of " + std::to_string(type->block_size));
  }
  if (mul_overflows(t->elements / type->block_size, type->type_size, &t->size_bytes)) {
    return fail("tensor " + t->name + ": its size overflows 64 bits");
  }
  if (t->offset % alignment != 0) {
    return fail("tensor " + t->name + ": data offset " + std::to_string(t->offset) +
                " is not a multiple of the alignment " + std::to_string(alignment));
  }
  return Status::ok();
}

Status Parser::check_tensor(const GgufFile& file, const GgufTensorInfo& t) {
  uint64_t end = 0;
  if (t.offset > file_size_ || add_overflows(t.offset, t.size_bytes, &end) || end > file_size_) {
    return fail("tensor " + t.name + ": its " + std::to_string(t.size_bytes) + " bytes at offset " +
                std::to_string(t.offset - file.data_offset) + " of the data section lie outside the file of " +
                std::to_string(file_size_) + " bytes");
  }
  return Status::ok();
}

Result<GgufFile> Parser::parse() {
  GgufFile file;
  file.file_size = file_size_;
  uint32_t magic = 0;
  if (!cur_.read_u32(&magic) || magic != kGgufMagic) return fail("not a GGUF file (no GGUF magic)");
  MLXPACK_RETURN_IF_ERROR(u32(&file.version, "the version"));
  if (file.version == 0x02000000 || file.version == 0x03000000) {
    return Status::unsupported(name_ + ": a big-endian GGUF; only little-endian GGUF files are read");
  }
  if (file.version != 2 && file.version != 3) {
    return Status::unsupported(name_ + ": GGUF version " + std::to_string(file.version) +
                               "; versions 2 and 3 are read");
  }
  uint64_t n_tensors = 0, n_kv = 0;
  MLXPACK_RETURN_IF_ERROR(u64(&n_tensors, "the tensor count"));
  MLXPACK_RETURN_IF_ERROR(u64(&n_kv, "the metadata count"));
  if (n_tensors > kGgufMaxTensors) {
    return fail("tensor count " + std::to_string(n_tensors) + " (limit " + std::to_string(kGgufMaxTensors) + ")");
  }
  if (n_kv > kGgufMaxKeyValues) {
    return fail("metadata count " + std::to_string(n_kv) + " (limit " + std::to_string(kGgufMaxKeyValues) + ")");
  }
  MLXPACK_RETURN_IF_ERROR(key_values(n_kv, &file));
  if (const GgufValue* a = file.find("general.alignment")) {
    if (a->type != GgufType::kU32 || a->u == 0 || (a->u & (a->u - 1)) != 0 || a->u > kGgufMaxAlignment) {
      return fail("general.alignment must be a u32 power of two up to " + std::to_string(kGgufMaxAlignment));
    }
    file.alignment = static_cast<uint32_t>(a->u);
  }
  std::set<std::string, std::less<>> names;
  file.tensors.resize(static_cast<size_t>(std::min<uint64_t>(n_tensors, file_left() / 24)));
  if (file.tensors.size() != n_tensors) {
    return fail(std::to_string(n_tensors) + " tensors cannot fit in the " + std::to_string(file_left()) +
                " bytes left in the file");
  }
  for (GgufTensorInfo& t : file.tensors) MLXPACK_RETURN_IF_ERROR(tensor_info(file.alignment, &names, &t));
  const uint64_t header_end = cur_.position();
  file.data_offset = (header_end + file.alignment - 1) / file.alignment * file.alignment;
  for (GgufTensorInfo& t : file.tensors) {
    if (add_overflows(t.offset, file.data_offset, &t.offset)) return fail("tensor " + t.name + ": offset overflows");
    MLXPACK_RETURN_IF_ERROR(check_tensor(file, t));
  }
  return file;
}

}  // namespace

const char* gguf_type_name(GgufType t) {
  static const char* const kNames[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                       "bool", "string", "array", "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(t);
  return i < sizeof(kNames) / sizeof(kNames[0]) ? kNames[i] : "unknown";
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kU16: case GgufType::kI16: case GgufType::kU32:
    case GgufType::kI32: case GgufType::kU64: case GgufType::kI64: return true;
    default: return false;
  }
}

std::optional<uint64_t> GgufValue::as_uint() const {
  switch (type) {
    case GgufType::kU8: case GgufType::kU16: case GgufType::kU32: case GgufType::kU64: case GgufType::kBool:
      return u;
    case GgufType::kI8: case GgufType::kI16: case GgufType::kI32: case GgufType::kI64:
      if (i < 0) return std::nullopt;
      return static_cast<uint64_t>(i);
    default: return std::nullopt;
  }
}

std::optional<double> GgufValue::as_number() const {
  if (type == GgufType::kF32 || type == GgufType::kF64) return f;
  if (type == GgufType::kI8 || type == GgufType::kI16 || type == GgufType::kI32 || type == GgufType::kI64) {
    return static_cast<double>(i);
  }
  if (is_integer()) return static_cast<double>(u);
  return std::nullopt;
}

uint64_t GgufValue::size() const {
  if (type != GgufType::kArray) return 0;
  return ints.size() + floats.size() + strings.size() + arrays.size();
}

const GgmlType* ggml_type(uint32_t id) {
  for (const GgmlType& t : kGgmlTypes) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = metadata.find(key);
  return it == metadata.end() ? nullptr : &it->second;
}

const GgufTensorInfo* GgufFile::tensor(std::string_view name) const {
  for (const GgufTensorInfo& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

Result<GgufFile> parse_gguf(const uint8_t* data, size_t size, uint64_t file_size, const std::string& name,
                            bool* needs_more) {
  Parser parser(data, size, file_size, name);
  Result<GgufFile> r = parser.parse();
  if (needs_more != nullptr) *needs_more = !r.is_ok() && parser.needs_more();
  return r;
}

bool is_gguf_file(const std::string& path) {
  Result<InputFile> in = InputFile::open(path);
  uint8_t magic[4];
  return in.is_ok() && in->size_bytes() >= 4 && in->read_at(0, magic, 4).is_ok() && load_le32(magic) == kGgufMagic;
}

Result<GgufFile> read_gguf(const std::string& path) {
  MLXPACK_ASSIGN_OR_RETURN(InputFile in, InputFile::open(path));
  const uint64_t whole = in.size_bytes();
  const uint64_t cap = std::min(whole, kGgufMaxHeaderBytes);
  uint64_t n = std::min<uint64_t>(cap, 1u << 20);
  std::string buffer;
  for (;;) {
    buffer.resize(static_cast<size_t>(n));
    MLXPACK_RETURN_IF_ERROR(in.read_at(0, buffer.data(), buffer.size()));
    bool more = false;
    Result<GgufFile> r = parse_gguf(reinterpret_cast<const uint8_t*>(buffer.data()), buffer.size(), whole, path, &more);
    if (r.is_ok() || !more) return r;
    if (n == cap) {
      return Status::invalid_argument(path + ": the GGUF header is larger than the limit of " +
                                      std::to_string(kGgufMaxHeaderBytes >> 20) + " MiB");
    }
    n = std::min(cap, n * 4);
  }
}

}  // namespace mlxpack
