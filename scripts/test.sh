#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with -Wall -Wextra
# -Werror, runs every test under CTest, builds and runs them all again with
# AddressSanitizer and UndefinedBehaviorSanitizer, runs each libFuzzer target
# for FUZZ_SECONDS (default 60), and runs the format tests on a big-endian
# target (s390x under qemu-user) against packs written here.
# Test data: $MLXPACK_TEST_DATA, default ../shared beside the project root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
if [ -z "${MLXPACK_TEST_DATA:-}" ] && [ -d ../shared ]; then
  export MLXPACK_TEST_DATA="$(cd ../shared && pwd)"
fi
JOBS=${JOBS:-2}

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMLXPACK_WERROR=ON > /dev/null
cmake --build build -j"$JOBS"
ctest --test-dir build -j"$JOBS" --output-on-failure --timeout 900

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMLXPACK_SANITIZE=ON -DMLXPACK_WERROR=ON > /dev/null
cmake --build build-asan -j"$JOBS"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -j"$JOBS" --output-on-failure --timeout 1800

tests/fuzz/run_fuzzers.sh "${FUZZ_SECONDS:-60}" build-fuzz
tests/bigendian/run.sh build
