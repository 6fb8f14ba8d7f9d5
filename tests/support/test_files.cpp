#include "tests/support/test_files.h"

#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mlxpack::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "mlxpack-test-XXXXXX").string();
  char* p = ::mkdtemp(tmpl.data());
  if (p == nullptr) std::abort();
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::string> list_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    std::error_code ec;  // a symlink loop a test made is not a file
    if (e.is_regular_file(ec)) out.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

std::optional<std::string> test_data_dir() {
  if (const char* env = std::getenv("MLXPACK_TEST_DATA"); env != nullptr && *env) {
    if (fs::is_directory(env)) return fs::canonical(env).string();
    return std::nullopt;
  }
  const fs::path beside = fs::path(MLXPACK_SOURCE_DIR) / ".." / "shared";
  if (fs::is_directory(beside)) return fs::canonical(beside).string();
  return std::nullopt;
}

std::string test_data_path(const std::string& relative, bool* missing) {
  auto dir = test_data_dir();
  *missing = !dir || !fs::exists(fs::path(*dir) / relative);
  return dir ? (fs::path(*dir) / relative).string() : std::string();
}

}  // namespace mlxpack::test
