// The C API's enums and names against spec/FORMAT.md's tables: every dtype
// code of §6.2, every entry kind of §6.1 and every rule code of §9, read from
// the spec's text, so the two cannot drift apart.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "mlxpack/mlxpack.h"

namespace {

std::string spec_text() {
  std::ifstream in(std::filesystem::path(MLXPACK_SOURCE_DIR) / "spec" / "FORMAT.md");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The text of section `heading` (e.g. "### 6.2") up to the next heading.
std::string section(const std::string& spec, const std::string& heading) {
  const size_t begin = spec.find("\n" + heading + " ");
  if (begin == std::string::npos) return "";
  const size_t end = spec.find("\n#", begin + 1);
  return spec.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

#define C_CONSTANT(prefix, name) {#name, prefix##name}

TEST(CApiEnums, DtypesAreTheCodesOfSection6_2) {
  const std::map<std::string, int> c_dtypes = {
      C_CONSTANT(MLXPACK_DTYPE_, BOOL), C_CONSTANT(MLXPACK_DTYPE_, U8),  C_CONSTANT(MLXPACK_DTYPE_, I8),
      C_CONSTANT(MLXPACK_DTYPE_, U16),  C_CONSTANT(MLXPACK_DTYPE_, I16), C_CONSTANT(MLXPACK_DTYPE_, U32),
      C_CONSTANT(MLXPACK_DTYPE_, I32),  C_CONSTANT(MLXPACK_DTYPE_, U64), C_CONSTANT(MLXPACK_DTYPE_, I64),
      C_CONSTANT(MLXPACK_DTYPE_, F16),  C_CONSTANT(MLXPACK_DTYPE_, BF16), C_CONSTANT(MLXPACK_DTYPE_, F32),
      C_CONSTANT(MLXPACK_DTYPE_, F64),  C_CONSTANT(MLXPACK_DTYPE_, F8_E4M3), C_CONSTANT(MLXPACK_DTYPE_, F8_E5M2)};
  // Rows hold two "| code | name | bytes |" cells side by side.
  const std::string table = section(spec_text(), "### 6.2");
  const std::regex cell(R"(\| ([0-9]+) \| ([A-Z0-9_]+) \| ([0-9]+) )");
  int seen = 0;
  for (auto it = std::sregex_iterator(table.begin(), table.end(), cell); it != std::sregex_iterator(); ++it) {
    const int code = std::stoi((*it)[1]);
    const std::string name = (*it)[2];
    ++seen;
    ASSERT_TRUE(c_dtypes.count(name)) << "no MLXPACK_DTYPE_" << name;
    EXPECT_EQ(c_dtypes.at(name), code) << name;
    ASSERT_NE(mlxpack_dtype_name(code), nullptr) << code;
    EXPECT_STREQ(mlxpack_dtype_name(code), name.c_str());
    EXPECT_EQ(mlxpack_dtype_size(code), static_cast<uint32_t>(std::stoi((*it)[3]))) << name;
  }
  EXPECT_EQ(seen, static_cast<int>(c_dtypes.size())) << "dtype rows found in §6.2";
  EXPECT_EQ(mlxpack_dtype_name(0), nullptr);
  EXPECT_EQ(mlxpack_dtype_name(16), nullptr);
  EXPECT_EQ(mlxpack_dtype_name(-1), nullptr);
  EXPECT_EQ(mlxpack_dtype_size(300), 0u);
}

TEST(CApiEnums, EntryTypesAreTheKindsOfSection6_1) {
  const std::map<std::string, int> c_kinds = {{"tensor", MLXPACK_ENTRY_TENSOR}, {"file", MLXPACK_ENTRY_FILE},
                                              {"source", MLXPACK_ENTRY_SOURCE}};
  const std::string entry = section(spec_text(), "### 6.1");
  std::smatch row;
  ASSERT_TRUE(std::regex_search(entry, row, std::regex(R"(`kind` \| ([^|]*)\|)"))) << "no kind row in §6.1";
  const std::string kinds = row[1];
  const std::regex kind(R"(([0-9]+) (tensor|file|source))");
  int seen = 0;
  for (auto it = std::sregex_iterator(kinds.begin(), kinds.end(), kind); it != std::sregex_iterator(); ++it) {
    EXPECT_EQ(c_kinds.at((*it)[2]), std::stoi((*it)[1])) << (*it)[2];
    ++seen;
  }
  EXPECT_EQ(seen, 3);
}

TEST(CApiEnums, ErrorRulesAreTheCodesOfSection9) {
  const std::map<std::string, int> c_rules = {
      C_CONSTANT(MLXPACK_RULE_, BAD_MAGIC), C_CONSTANT(MLXPACK_RULE_, UNSUPPORTED_VERSION),
      C_CONSTANT(MLXPACK_RULE_, BAD_SUPERBLOCK_SIZE), C_CONSTANT(MLXPACK_RULE_, SUPERBLOCK_CHECKSUM),
      C_CONSTANT(MLXPACK_RULE_, UNKNOWN_REQUIRED_FEATURE), C_CONSTANT(MLXPACK_RULE_, SUPERBLOCK_RESERVED),
      C_CONSTANT(MLXPACK_RULE_, BAD_ALIGNMENT), C_CONSTANT(MLXPACK_RULE_, BAD_CHECKSUM_ALGORITHM),
      C_CONSTANT(MLXPACK_RULE_, FILE_SIZE_MISMATCH), C_CONSTANT(MLXPACK_RULE_, TRAILER_MISMATCH),
      C_CONSTANT(MLXPACK_RULE_, INDEX_OUT_OF_BOUNDS), C_CONSTANT(MLXPACK_RULE_, INDEX_CHECKSUM),
      C_CONSTANT(MLXPACK_RULE_, BAD_INDEX_MAGIC), C_CONSTANT(MLXPACK_RULE_, BAD_ENTRY_SIZE),
      C_CONSTANT(MLXPACK_RULE_, TOO_MANY_ENTRIES), C_CONSTANT(MLXPACK_RULE_, INDEX_SIZE_MISMATCH),
      C_CONSTANT(MLXPACK_RULE_, INDEX_RESERVED), C_CONSTANT(MLXPACK_RULE_, BAD_ENTRY_KIND),
      C_CONSTANT(MLXPACK_RULE_, ENTRY_RESERVED), C_CONSTANT(MLXPACK_RULE_, BAD_NAME),
      C_CONSTANT(MLXPACK_RULE_, BAD_PATH), C_CONSTANT(MLXPACK_RULE_, UNSORTED_OR_DUPLICATE),
      C_CONSTANT(MLXPACK_RULE_, BAD_DTYPE), C_CONSTANT(MLXPACK_RULE_, BAD_RANK),
      C_CONSTANT(MLXPACK_RULE_, SHAPE_SIZE_MISMATCH), C_CONSTANT(MLXPACK_RULE_, BAD_ENCODING),
      C_CONSTANT(MLXPACK_RULE_, BAD_ORIGINAL_SIZE), C_CONSTANT(MLXPACK_RULE_, BAD_SOURCE_INDEX),
      C_CONSTANT(MLXPACK_RULE_, SOURCE_SIZE_MISMATCH), C_CONSTANT(MLXPACK_RULE_, ENTRY_OUT_OF_BOUNDS),
      C_CONSTANT(MLXPACK_RULE_, MISALIGNED), C_CONSTANT(MLXPACK_RULE_, OVERLAP_OR_HOLE),
      C_CONSTANT(MLXPACK_RULE_, CHECKSUM_MISMATCH), C_CONSTANT(MLXPACK_RULE_, NONZERO_PADDING),
      C_CONSTANT(MLXPACK_RULE_, BAD_COMPRESSED_DATA), C_CONSTANT(MLXPACK_RULE_, BAD_SAFETENSORS)};
  const std::string rules = section(spec_text(), "## 9.");
  const std::regex row(R"(\n\| ([0-9]+) \| `([a-z_]+)` \|)");
  int seen = 0;
  for (auto it = std::sregex_iterator(rules.begin(), rules.end(), row); it != std::sregex_iterator(); ++it) {
    const int code = std::stoi((*it)[1]);
    const std::string identifier = (*it)[2];
    ++seen;
    ASSERT_TRUE(c_rules.count(upper(identifier))) << "no MLXPACK_RULE_" << upper(identifier);
    EXPECT_EQ(c_rules.at(upper(identifier)), code) << identifier;
    ASSERT_NE(mlxpack_error_rule_name(code), nullptr) << code;
    EXPECT_STREQ(mlxpack_error_rule_name(code), identifier.c_str());
  }
  EXPECT_EQ(seen, static_cast<int>(c_rules.size())) << "rule rows found in §9";
  EXPECT_EQ(MLXPACK_RULE_NONE, 0);
  EXPECT_EQ(mlxpack_error_rule_name(0), nullptr);
  EXPECT_EQ(mlxpack_error_rule_name(static_cast<int>(c_rules.size()) + 1), nullptr);
}

TEST(CApiEnums, VersionsAreTheBuildsAndTheSpecs) {
  EXPECT_STREQ(mlxpack_version(), MLXPACK_VERSION_STRING);
  const std::string expected = std::to_string(MLXPACK_VERSION_MAJOR) + "." + std::to_string(MLXPACK_VERSION_MINOR) +
                               "." + std::to_string(MLXPACK_VERSION_PATCH);
  EXPECT_EQ(expected, mlxpack_version());
  uint16_t major = 0, minor = 0;
  mlxpack_format_version(&major, &minor);
  std::smatch m;
  const std::string spec = spec_text();
  ASSERT_TRUE(std::regex_search(spec, m, std::regex(R"(format_major ([0-9]+), format_minor ([0-9]+))")));
  EXPECT_EQ(major, std::stoi(m[1]));
  EXPECT_EQ(minor, std::stoi(m[2]));
}

}  // namespace
