#!/usr/bin/env bash
# The installed library as its users meet it. Installs BUILD_DIR into a
# temporary prefix, then:
#   1. the exported symbols of libmlxpack.so against exported_symbols.txt;
#   2. tests/consumer built through find_package(mlxpack) and run: the C
#      program checks a tensor of stories260K's pack against its safetensors
#      file, the C++ program generates its 200 greedy ids (C++ and C APIs);
#   3. the C program built through pkg-config alone, against the shared
#      library and against libmlxpack.a with `pkg-config --static`;
#   4. the Debian packages (cpack -G DEB): listed, unpacked into a temporary
#      root, and the consumer built against that root;
#   5. the Python package installed offline with pip into a virtual
#      environment (Debian's numpy and pytest from the system) and its tests
#      run against the installed library.
#   tests/consumer/run.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=$(realpath "${1:-build}")
DATA=$(realpath "${MLXPACK_TEST_DATA:-../shared}")
HERE=$(pwd)/tests/consumer
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
STORIES="$DATA/models/stories260K"
[ -d "$STORIES" ] || { echo "consumer: test data not found: $STORIES"; exit 1; }

"$BUILD/cli/mlxpack" pack "$STORIES" "$WORK/stories.mlxpack" > /dev/null
check_consumer() {  # check_consumer BIN_DIR: runs both programs
  "$1/consumer_c" "$WORK/stories.mlxpack" "$STORIES/model.safetensors" model.embed_tokens.weight | tail -1
  if [ -x "$1/consumer_cxx" ]; then
    "$1/consumer_cxx" "$WORK/stories.mlxpack" "$STORIES/expected/greedy_ids_from_bos.txt" | tail -1
  fi
}

echo "== install"
cmake --install "$BUILD" --prefix "$WORK/prefix" > "$WORK/install.log"
LIBDIR=$(dirname "$(find "$WORK/prefix" -name 'libmlxpack.so' | head -1)")
ls "$WORK/prefix/include/mlxpack"
readelf -d "$LIBDIR/libmlxpack.so" | grep SONAME
find "$LIBDIR" -maxdepth 1 -name 'libmlxpack*' -printf '%f -> %l\n' | sed 's/ -> $//' | sort
"$WORK/prefix/bin/mlxpack" --version

echo "== exported symbols"
nm -D --defined-only "$LIBDIR/libmlxpack.so" | awk '{print $3}' | c++filt | sort -u > "$WORK/symbols.txt"
if ! diff -u "$HERE/exported_symbols.txt" "$WORK/symbols.txt"; then
  echo "consumer: libmlxpack.so exports other symbols than tests/consumer/exported_symbols.txt"
  exit 1
fi
echo "$(wc -l < "$WORK/symbols.txt") symbols, as listed"

echo "== find_package"
cmake -S "$HERE" -B "$WORK/consumer" -DCMAKE_PREFIX_PATH="$WORK/prefix" > /dev/null
cmake --build "$WORK/consumer" -j2 > /dev/null
check_consumer "$WORK/consumer"

echo "== pkg-config"
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
pkg-config --modversion mlxpack mlxpack-runtime
# shellcheck disable=SC2046
cc -std=c99 -o "$WORK/consumer_pc" "$HERE/consumer.c" $(pkg-config --cflags --libs mlxpack) -Wl,-rpath,"$LIBDIR"
mkdir -p "$WORK/pc" && mv "$WORK/consumer_pc" "$WORK/pc/consumer_c"
check_consumer "$WORK/pc"
# Static: the archive in place of -lmlxpack, the rest from Libs.private and Requires.private.
static_flags=$(pkg-config --static --libs mlxpack | sed "s|-lmlxpack |$LIBDIR/libmlxpack.a |")
# shellcheck disable=SC2046,SC2086
cc -std=c99 -o "$WORK/pc/consumer_c" "$HERE/consumer.c" $(pkg-config --cflags mlxpack) $static_flags
if ldd "$WORK/pc/consumer_c" | grep -q libmlxpack; then echo "consumer: the static build links libmlxpack.so"; exit 1; fi
check_consumer "$WORK/pc"
# The README's C example, as written there.
awk '/^### From C$/ {on = 1} on && /^```c$/ {code = 1; next} code && /^```$/ {exit} code' README.md > "$WORK/demo.c"
# shellcheck disable=SC2046
cc "$WORK/demo.c" $(pkg-config --cflags --libs mlxpack) -Wl,-rpath,"$LIBDIR" -o "$WORK/demo"
"$WORK/demo" "$WORK/stories.mlxpack" | grep -c ' F32 \[' | sed 's/$/ tensors listed by the README example/'

echo "== Debian packages"
(cd "$BUILD" && cpack -G DEB -B "$WORK/deb" > "$WORK/cpack.log") || { cat "$WORK/cpack.log"; exit 1; }
for deb in "$WORK"/deb/*.deb; do
  echo "$(basename "$deb"):"
  dpkg-deb -c "$deb" | awk '{$1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, "  "); print}'
  dpkg-deb -x "$deb" "$WORK/root"
done
cmake -S "$HERE" -B "$WORK/consumer-deb" -DCMAKE_PREFIX_PATH="$WORK/root/usr" > /dev/null
cmake --build "$WORK/consumer-deb" -j2 > /dev/null
LD_LIBRARY_PATH="$(dirname "$(find "$WORK/root" -name 'libmlxpack.so.1' | head -1)")" check_consumer "$WORK/consumer-deb"
echo "== Python"
# Debian's python3 (the one python3-numpy and python3-pytest belong to),
# whatever else is first on PATH.
/usr/bin/python3 -m venv --system-site-packages "$WORK/venv"
"$WORK/venv/bin/pip" install --no-build-isolation --no-index --quiet "$HERE/../../python"
rm -rf "$HERE/../../python/build" "$HERE/../../python/mlxpack.egg-info"
(cd "$WORK" && LD_LIBRARY_PATH="$LIBDIR" "$WORK/venv/bin/python" -c 'import mlxpack; print("mlxpack", mlxpack.__version__, "from", mlxpack.__file__)')
(cd "$WORK" && LD_LIBRARY_PATH="$LIBDIR" MLXPACK_CLI="$WORK/prefix/bin/mlxpack" MLXPACK_TEST_DATA="$DATA" \
  "$WORK/venv/bin/python" -m pytest -q -p no:cacheprovider "$HERE/../../python/tests")
# The README's Python example, as written there, in a folder whose
# model.mlxpack is stories260K with a chat template added.
mkdir -p "$WORK/readme/model"
cp "$STORIES"/config.json "$STORIES"/model.safetensors "$STORIES"/tokenizer.json "$WORK/readme/model/"
/usr/bin/python3 - "$STORIES/tokenizer_config.json" "$WORK/readme/model/tokenizer_config.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["chat_template"] = "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}"
json.dump(config, open(sys.argv[2], "w"))
PY
"$WORK/prefix/bin/mlxpack" pack "$WORK/readme/model" "$WORK/readme/model.mlxpack" > /dev/null
awk '/^### From Python$/ {on = 1} on && /^```python$/ {code = 1; next} code && /^```$/ {exit} code' README.md \
  > "$WORK/readme/example.py"
(cd "$WORK/readme" && LD_LIBRARY_PATH="$LIBDIR" "$WORK/venv/bin/python" example.py | wc -c |
  sed 's/$/ characters generated by the README example/')
echo "consumer: all routes passed"
