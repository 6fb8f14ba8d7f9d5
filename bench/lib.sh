# Shared by the bench/run_*.sh scripts (sourced, not run).

# build_targets BUILD TARGET...: builds the tools a script runs (a no-op when
# they are up to date), configuring BUILD first when it is not a CMake build
# directory yet, so a script never runs a missing or stale binary.
build_targets() {
  local build=$1
  shift
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$(dirname "${BASH_SOURCE[0]}")/.." -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
  fi
  cmake --build "$build" -j"${JOBS:-2}" --target "$@" > /dev/null
}

# synthetic_model BUILD SHAPE DTYPE DIR [make_synthetic_model flags...]:
# writes a synthetic model of SHAPE into DIR unless DIR already holds one
# (the scripts reuse their work directory between runs).
synthetic_model() {
  local build=$1 shape=$2 dtype=$3 dir=$4
  shift 4
  [ -f "$dir/config.json" ] && return 0
  "$build/bench/make_synthetic_model" --shape "$shape" --dtype "$dtype" "$@" -o "$dir" > /dev/null
}

# model_bench_args "$@": BUILD, WORK, SHAPE and DTYPE from the positional
# arguments of the model benchmarks, with their defaults.
model_bench_args() {
  BUILD=${1:-build}
  WORK=${2:-/tmp/mlxpack-bench}
  SHAPE=${3:-llama-3.2-1b}
  DTYPE=${4:-bf16}
  MLXPACK="$BUILD/cli/mlxpack"
  MODEL="$WORK/$SHAPE-$DTYPE"
  mkdir -p "$WORK"
}

# huge_page_cache FILE...: drops the files' pages from the page cache and
# reads them back through a MADV_HUGEPAGE mapping, so that each is held in
# 2 MiB folios where the kernel does that (Linux 6.18 on ext4 does), and
# prints per file how many MiB a mapping of it got in 2 MiB pages. Both
# engines' files start a side-by-side run so: a decode's speed depends on
# the folio size its file happens to be cached in (llama.cpp's 1B Q8_0 on
# one thread, AMD Zen 4: 13.9-14.2 tokens/s in small folios, 18.6-19.3 in
# 2 MiB ones). The kernel makes 2 MiB folios only from free 2 MiB blocks,
# so memory is compacted first where this user may ask for it (root).
# Only for files the benchmark wrote itself.
huge_page_cache() {
  sync -f "$@"
  if [ -w /proc/sys/vm/compact_memory ]; then echo 1 > /proc/sys/vm/compact_memory || true; fi
  python3 - "$@" <<'PY'
import mmap, os, re, sys
for path in sys.argv[1:]:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        size = os.fstat(fd).st_size
        if size == 0:
            continue
        m = mmap.mmap(fd, size, prot=mmap.PROT_READ)
        if hasattr(mmap, "MADV_HUGEPAGE"):
            m.madvise(mmap.MADV_HUGEPAGE)
        total = 0
        for off in range(0, size, 4096):
            total += m[off]
        huge_kb = 0
        with open("/proc/self/smaps") as smaps:
            for block in re.split(r"\n(?=[0-9a-f]+-[0-9a-f]+ )", smaps.read()):
                if block.split("\n", 1)[0].endswith(" " + os.path.realpath(path)):
                    found = re.search(r"FilePmdMapped:\s+(\d+) kB", block)
                    huge_kb += int(found.group(1)) if found else 0
        print(f"{os.path.basename(path)} {huge_kb // 1024} of {size >> 20} MiB")
        m.close()
    finally:
        os.close(fd)
PY
}
