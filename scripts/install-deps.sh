#!/usr/bin/env bash
# Installs the Debian packages mlxpack needs, only when some are missing.
#   scripts/install-deps.sh [--test] [--bench]
#   --test adds clang and libFuzzer (fuzzing) and the s390x cross compiler
#   with qemu-user (big-endian tests); --bench adds the benchmark tools
#   (python3 for bench/lib.sh's huge_page_cache; node/npm when absent,
#   for the tokenizer and llama.cpp comparisons).
set -euo pipefail
packages=(g++ cmake make pkg-config libzstd-dev libxxhash-dev nlohmann-json3-dev libcli11-dev libgtest-dev
          libonig-dev libutf8proc-dev libsentencepiece-dev libedit-dev)
for arg in "$@"; do
  case "$arg" in
    --test) packages+=(clang-14 libclang-rt-14-dev g++-s390x-linux-gnu qemu-user-static dpkg-dev file
                      python3 python3-numpy python3-pytest python3-venv python3-pip python3-setuptools) ;;
    --bench) packages+=(xxhash time bc python3) ;;
  esac
done
# The tokenizer benchmark compares with the Hugging Face JavaScript
# implementation: it needs node and npm (any install; Debian's if none).
for arg in "$@"; do
  if [ "$arg" = --bench ] && ! command -v npm > /dev/null; then packages+=(nodejs npm); fi
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
