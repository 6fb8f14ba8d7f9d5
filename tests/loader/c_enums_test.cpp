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
#include <vector>

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

// The capture groups of every match of `re` in `text`.
std::vector<std::vector<std::string>> rows(const std::string& text, const std::regex& re) {
  std::vector<std::vector<std::string>> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
    std::vector<std::string> groups;
    for (size_t g = 1; g < it->size(); ++g) groups.push_back((*it)[g]);
    out.push_back(groups);
  }
  return out;
}

// The spec's row (code, name) against the C constant named `key` and the
// name the C API gives the code.
void expect_row(const std::map<std::string, int>& constants, const std::string& key, int code, const char* c_name,
                const std::string& spec_name) {
  ASSERT_TRUE(constants.count(key)) << "no C constant for " << key;
  EXPECT_EQ(constants.at(key), code) << key;
  ASSERT_NE(c_name, nullptr) << code;
  EXPECT_EQ(std::string(c_name), spec_name);
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
  const auto found = rows(table, std::regex(R"(\| ([0-9]+) \| ([A-Z0-9_]+) \| ([0-9]+) )"));
  for (const auto& r : found) {
    const int code = std::stoi(r[0]);
    expect_row(c_dtypes, r[1], code, mlxpack_dtype_name(code), r[1]);
    EXPECT_EQ(mlxpack_dtype_size(code), static_cast<uint32_t>(std::stoi(r[2]))) << r[1];
  }
  const int seen = static_cast<int>(found.size());
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
  const auto found = rows(rules, std::regex(R"(\n\| ([0-9]+) \| `([a-z_]+)` \|)"));
  for (const auto& r : found) {
    const int code = std::stoi(r[0]);
    expect_row(c_rules, upper(r[1]), code, mlxpack_error_rule_name(code), r[1]);
  }
  const int seen = static_cast<int>(found.size());
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
