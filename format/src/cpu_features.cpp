#include "format/cpu_features.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

#if defined(__linux__)
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif

namespace mlxpack {

namespace {

#if defined(__x86_64__) || defined(_M_X64)
// Asks Linux for the AMX tile data state (XFEATURE_XTILEDATA, component 18):
// without the grant the first tile instruction raises SIGILL. The grant is
// for the whole process and permanent; asking twice is harmless. x86 only,
// as its one caller (an s390x build warned of it unused).
bool request_tile_state() {
#if defined(__linux__) && defined(SYS_arch_prctl)
  constexpr int kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}
#endif

// CPUID and XGETBV read directly: __builtin_cpu_supports differs between
// compilers (clang has no "f16c"), and neither checks that the OS saves the
// wide registers, which XGETBV does.
CpuFeatures probe() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(_M_X64)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(1, 0, a, b, c, d);
  const bool fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
  if (!osxsave || !avx) return f;
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool ymm_state = (xcr0_lo & 0x6) == 0x6;
  const bool zmm_state = (xcr0_lo & 0xE6) == 0xE6;
  __cpuid_count(7, 0, a, b, c, d);
  const unsigned leaf7_subleaves = a;
  const bool avx2 = (b >> 5) & 1;
  const bool avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
  const bool avx512vnni = (c >> 11) & 1;
  const bool amx_bf16 = (d >> 22) & 1, amx_tile = (d >> 24) & 1, amx_int8 = (d >> 25) & 1;
  const bool tile_state = (xcr0_lo & 0x60000) == 0x60000;  // XTILECFG and XTILEDATA
  f.avx2 = ymm_state && avx2 && fma && f16c;
  f.avx512f = f.avx2 && zmm_state && avx512f;
  f.avx512 = f.avx512f && avx512bw && avx512vl && avx512vnni;
  if (leaf7_subleaves >= 1) {
    __cpuid_count(7, 1, a, b, c, d);
    f.avx512_bf16 = f.avx512 && ((a >> 5) & 1);
  }
  f.amx_int8 = f.avx512_bf16 && amx_tile && amx_int8 && tile_state && request_tile_state();
  f.amx_bf16 = f.amx_int8 && amx_bf16;
#endif
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = probe();
  return features;
}

std::string requested_kernels() {
  const char* forced = std::getenv("MLXPACK_KERNELS");
  return forced != nullptr ? forced : "";
}

int available_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace mlxpack
