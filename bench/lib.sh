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
