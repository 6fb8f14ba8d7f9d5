#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with -Wall -Wextra
# -Werror, runs every test under CTest, builds and runs them all again with
# AddressSanitizer and UndefinedBehaviorSanitizer, installs the library and
# builds an outside consumer against it (CMake package, pkg-config, .deb),
# runs each libFuzzer target
# for FUZZ_SECONDS (default 20: the twelve targets are four of CI's
# minutes; run longer campaigns by hand), and runs the format tests on a big-endian
# target (s390x under qemu-user) against packs written here.
# Test data: $MLXPACK_TEST_DATA, default ../shared beside the project root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
if [ -z "${MLXPACK_TEST_DATA:-}" ] && [ -d ../shared ]; then
  export MLXPACK_TEST_DATA="$(cd ../shared && pwd)"
fi
JOBS=${JOBS:-2}
# Seconds per step, printed at the end: CI must stay under 40 minutes on 2 cores.
times=(); step_start=$SECONDS
step_done() { times+=("$1 $((SECONDS - step_start))s"); step_start=$SECONDS; }

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMLXPACK_WERROR=ON > /dev/null
cmake --build build -j"$JOBS"
step_done build
ctest --test-dir build -j"$JOBS" --output-on-failure --timeout 900 | tee build/ctest.log
step_done ctest
tests/consumer/run.sh build | tee build/consumer.log
step_done consumer

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMLXPACK_SANITIZE=ON -DMLXPACK_WERROR=ON \
  -DMLXPACK_INSTALL_STATIC=OFF > /dev/null
cmake --build build-asan -j"$JOBS"
step_done asan-build
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -j"$JOBS" --output-on-failure --timeout 1800 | tee build-asan/ctest.log
step_done asan-ctest

SEED_TOOLS=build tests/fuzz/run_fuzzers.sh "${FUZZ_SECONDS:-20}" build-fuzz | tee build/fuzz.log
step_done fuzz
tests/bigendian/run.sh build | tee build/bigendian.log
step_done big-endian

# One closing line over everything above (each step already failed the run
# on any failure): CTest cases, sanitizer cases, fuzz targets, big-endian cases.
count() { grep -o "$2" "$1" | grep -o '[0-9]*' | tail -n 1; }
normal=$(count build/ctest.log 'tests failed out of [0-9]*')
asan=$(count build-asan/ctest.log 'tests failed out of [0-9]*')
fuzz=$(grep -c '^== fuzz_' build/fuzz.log)
be=$(count build/bigendian.log 'PASSED  \] [0-9]*')
consumer=$(grep -c '^== ' build/consumer.log)
echo "CTest ${normal}, under ASan+UBSan ${asan}, install/consumer routes ${consumer}, fuzz targets ${fuzz}, big-endian ${be}"
echo "seconds: ${times[*]} (total ${SECONDS}s)"
echo "tests: $((normal + asan + consumer + fuzz + be)) passed, 0 failed"
