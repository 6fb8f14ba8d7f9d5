#!/usr/bin/env bash
# Builds the format library and its byte-level tests for a big-endian
# target (s390x, Debian's cross compiler) and runs them under qemu-user
# against packs written here, on a little-endian machine.
#   tests/bigendian/run.sh [HOST_BUILD_DIR]
# Needs: g++-s390x-linux-gnu qemu-user-static (installed when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
HOST_BUILD=${1:-build}
OUT=build-s390x
missing=()
for p in g++-s390x-linux-gnu qemu-user-static; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
[ -x "$HOST_BUILD/cli/mlxpack" ] || { cmake -S . -B "$HOST_BUILD" > /dev/null && cmake --build "$HOST_BUILD" -j2 --target mlxpack; }
mkdir -p "$OUT/obj" "$OUT/data/tiny"

# Packs written on this (little-endian) host. The tiny one is spec/FORMAT.md §10's.
printf '{"architectures":["LlamaForCausalLM"],"hidden_size":4}' > "$OUT/data/tiny/config.json"
{
  printf '\x40\x00\x00\x00\x00\x00\x00\x00'
  printf '{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}       '
  printf '\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40'
} > "$OUT/data/tiny/model.safetensors"
"$HOST_BUILD/cli/mlxpack" pack --force "$OUT/data/tiny" "$OUT/data/tiny.mlxpack" > /dev/null
DATA=${MLXPACK_TEST_DATA:-../shared}
"$HOST_BUILD/cli/mlxpack" pack --force "$DATA/models/stories260K" "$OUT/data/stories.mlxpack" > /dev/null
"$HOST_BUILD/cli/mlxpack" info --json --tensors "$OUT/data/stories.mlxpack" > "$OUT/data/stories.json"

CXX=s390x-linux-gnu-g++
FLAGS=(-std=c++20 -O1 -Wall -Wextra -I. -Iformat/include -I/usr/src/googletest/googletest
       -I/usr/src/googletest/googletest/include "-DMLXPACK_SOURCE_DIR=\"$PWD\"")
SOURCES=(format/src/status.cpp format/src/dtype.cpp format/src/names.cpp format/src/checksum.cpp
         format/src/cpu_features.cpp format/src/checksum_generic.cpp format/src/checksum_no_x86.cpp format/src/superblock.cpp
         format/src/index.cpp format/src/safetensors.cpp format/src/file_io.cpp format/src/file_kind.cpp
         format/src/temporary_outputs.cpp format/src/gguf.cpp tests/support/test_files.cpp
         /usr/src/googletest/googletest/src/gtest-all.cc /usr/src/googletest/googletest/src/gtest_main.cc
         tests/format/superblock_test.cpp tests/format/names_test.cpp tests/format/cross_endian_test.cpp
         tests/format/gguf_test.cpp)
objs=()
for s in "${SOURCES[@]}"; do
  o="$OUT/obj/$(echo "$s" | tr '/' '_').o"
  [ "$o" -nt "$s" ] || "$CXX" "${FLAGS[@]}" -c "$s" -o "$o" &
  objs+=("$o")
  [ "$(jobs -r | wc -l)" -ge "${JOBS:-2}" ] && wait -n
done
wait
"$CXX" -static -pthread -o "$OUT/format_tests_s390x" "${objs[@]}"
MLXPACK_LE_TINY="$OUT/data/tiny.mlxpack" MLXPACK_LE_STORIES="$OUT/data/stories.mlxpack" \
MLXPACK_LE_STORIES_JSON="$OUT/data/stories.json" MLXPACK_TEST_DATA="$DATA" qemu-s390x-static "$OUT/format_tests_s390x"
