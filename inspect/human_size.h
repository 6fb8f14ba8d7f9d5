// Byte counts for people: "1.5 MiB".
#ifndef MLXPACK_INSPECT_HUMAN_SIZE_H_
#define MLXPACK_INSPECT_HUMAN_SIZE_H_

#include <cstdint>
#include <cstdio>
#include <string>

namespace mlxpack {

inline std::string human_size(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  }
  return buf;
}

}  // namespace mlxpack

#endif
