#include "tests/support/test_support.h"

#include <sys/wait.h>

#include <cstdio>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "format/byte_order.h"
#include "format/checksum.h"
#include "format/layout.h"
#include "pack/packer.h"

namespace mlxpack::test {

namespace fs = std::filesystem;

CommandResult run_command(const std::string& command_line, const std::string& stderr_path) {
  CommandResult r;
  const std::string redirect = stderr_path.empty() ? " 2>&1" : " 2>" + stderr_path;
  FILE* p = ::popen((command_line + redirect).c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (!stderr_path.empty()) r.err = read_file(stderr_path);
  return r;
}

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

void write_zero_model(const std::string& dir, uint64_t mib) {
  fs::create_directories(dir);
  write_file(dir + "/config.json", R"({"model_type":"llama","architectures":["LlamaForCausalLM"]})");
  const uint64_t floats = mib << 18;
  std::string header = R"({"w":{"dtype":"F32","shape":[)" + std::to_string(floats) + R"(],"data_offsets":[0,)" +
                       std::to_string(floats * 4) + "]}}";
  while (header.size() % 8) header += ' ';
  std::string prefix(8, '\0');
  for (int k = 0; k < 8; ++k) prefix[k] = static_cast<char>((header.size() >> (8 * k)) & 0xff);
  write_file(dir + "/model.safetensors", prefix + header);
  fs::resize_file(dir + "/model.safetensors", 8 + header.size() + floats * 4);
}

void write_model_dir(const std::string& dir, const std::vector<SafetensorsWriteTensor>& tensors) {
  write_file(dir + "/config.json",
             R"({"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":8,)"
             R"("num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":1,"vocab_size":16,)"
             R"("bos_token_id":1,"eos_token_id":[2,3]})");
  write_file(dir + "/model.safetensors", encode_safetensors(tensors, {{"format", "pt"}}));
}

std::vector<SafetensorsWriteTensor> sample_tensors() {
  return {
      {"model.embed_tokens.weight", DType::kF32, {16, 8}, random_bytes(16 * 8 * 4, 1)},
      {"model.layers.0.self_attn.q_proj.weight", DType::kBF16, {8, 8}, random_bytes(8 * 8 * 2, 2)},
      {"model.norm.weight", DType::kF16, {8}, random_bytes(8 * 2, 3)},
      {"step", DType::kI64, {}, random_bytes(8, 4)},
  };
}

void pack_or_die(const std::string& dir, const std::string& out, uint32_t alignment) {
  PackOptions options;
  options.input_dir = dir;
  options.output_path = out;
  options.alignment = alignment;
  options.overwrite = true;
  auto report = pack_model_dir(options);
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
}

uint64_t PackBytes::get_u64(size_t at) const { return load_le64(reinterpret_cast<const uint8_t*>(bytes.data()) + at); }
uint32_t PackBytes::get_u32(size_t at) const { return load_le32(reinterpret_cast<const uint8_t*>(bytes.data()) + at); }
void PackBytes::put_u32(size_t at, uint32_t v) { store_le32(reinterpret_cast<uint8_t*>(bytes.data()) + at, v); }
void PackBytes::put_u64(size_t at, uint64_t v) { store_le64(reinterpret_cast<uint8_t*>(bytes.data()) + at, v); }

uint64_t PackBytes::index_offset() const { return get_u64(layout::kSbIndexOffsetOffset); }
uint64_t PackBytes::index_size() const { return get_u64(layout::kSbIndexSizeOffset); }
uint64_t PackBytes::entry_count() const { return get_u64(index_offset() + layout::kIxEntryCountOffset); }
size_t PackBytes::entry_at(uint64_t i) const {
  return index_offset() + layout::kIndexHeaderSize + i * layout::kEntrySize;
}

void PackBytes::rehash_entry(uint64_t i) {
  const size_t e = entry_at(i);
  const Checksum128 c = checksum_bytes(bytes.data() + get_u64(e + layout::kEnDataOffsetOffset),
                                       get_u64(e + layout::kEnStoredSizeOffset));
  put_u64(e + layout::kEnChecksumOffset, c.low64);
  put_u64(e + layout::kEnChecksumOffset + 8, c.high64);
}

void PackBytes::reseal() {
  auto* b = reinterpret_cast<uint8_t*>(bytes.data());
  const uint64_t off = index_offset(), size = index_size();
  if (off <= bytes.size() && size <= bytes.size() - off) {
    const Checksum128 c = checksum_bytes(b + off, size);
    store_le64(b + layout::kSbIndexChecksumOffset, c.low64);
    store_le64(b + layout::kSbIndexChecksumOffset + 8, c.high64);
  }
  const Checksum128 self = checksum_bytes(b, layout::kSbChecksumOffset);
  store_le64(b + layout::kSbChecksumOffset, self.low64);
  store_le64(b + layout::kSbChecksumOffset + 8, self.high64);
  if (bytes.size() >= 2 * layout::kSuperblockSize) {
    std::copy(b, b + layout::kSuperblockSize, b + bytes.size() - layout::kSuperblockSize);
  }
}

}  // namespace mlxpack::test
