// What this CPU can run, probed once: the one place that reads CPUID and
// XGETBV. The kernels pick their table from it, the checksum its XXH3
// variant. Also how many CPUs this process may use, the default thread
// count of everything that runs threads.
#ifndef MLXPACK_FORMAT_CPU_FEATURES_H_
#define MLXPACK_FORMAT_CPU_FEATURES_H_

#include <string>

namespace mlxpack {

struct CpuFeatures {
  bool avx2 = false;     // AVX2 + FMA + F16C, with YMM state saved by the OS
  bool avx512 = false;   // avx2 and AVX-512 F/BW/VL/VNNI, with ZMM state saved by the OS
  bool avx512f = false;  // avx2 and AVX-512 F (all XXH3 needs), with ZMM state saved by the OS
  bool avx512_bf16 = false;  // avx512 and AVX512_BF16 (vdpbf16ps, vcvtneps2bf16)
  // avx512_bf16 and AMX-TILE + AMX-INT8 (Sapphire Rapids and later), with
  // the tile state saved by the OS and granted to this process: Linux hands
  // the 8 KiB tile registers out on request only (arch_prctl
  // ARCH_REQ_XCOMP_PERM), which the probe makes.
  bool amx_int8 = false;
  bool amx_bf16 = false;  // amx_int8 and AMX-BF16 (TDPBF16PS)
};

// The probe's result (all false off x86-64), computed on first use.
const CpuFeatures& cpu_features();

// The MLXPACK_KERNELS environment variable ("scalar", "avx2", "avx512",
// "avx512-bf16", "avx512-amx"),
// or "" when unset: a user's request to run slower instruction sets.
std::string requested_kernels();

// The number of CPUs this process may run on, at least 1: its affinity mask
// (sched_getaffinity), so `taskset`, cpusets and containers' CPU sets are
// respected, where hardware_concurrency() counts the whole machine.
int available_cpus();

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_CPU_FEATURES_H_
