#include "cli/input.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>

namespace mlxpack::cli {

Result<std::string> read_input(const std::string& path) {
  std::string data;
  if (path == "-") {
    data.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return data;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error(path + ": cannot open: " + std::strerror(errno));
  data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::io_error(path + ": read failed");
  return data;
}

// "1,2,3", "1 2 3" or "[1, 2, 3]".
Result<std::vector<int32_t>> parse_ids(const std::string& s, const std::string& flag) {
  std::vector<int32_t> ids;
  std::string token;
  auto flush = [&]() -> Status {
    if (token.empty()) return Status::ok();
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(token.c_str(), &end, 10);
    if (*end != '\0' || errno == ERANGE || v < INT32_MIN || v > INT32_MAX) {
      return Status::invalid_argument(flag + ": '" + token + "' is not a token id (an integer)");
    }
    ids.push_back(static_cast<int32_t>(v));
    token.clear();
    return Status::ok();
  };
  for (char c : s) {
    if (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '[' || c == ']') {
      MLXPACK_RETURN_IF_ERROR(flush());
    } else {
      token.push_back(c);
    }
  }
  MLXPACK_RETURN_IF_ERROR(flush());
  return ids;
}

}  // namespace mlxpack::cli
