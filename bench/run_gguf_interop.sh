#!/usr/bin/env bash
# GGUF interoperability with llama.cpp (not run in CI: it builds llama.cpp).
#
#   bench/run_gguf_interop.sh [BUILD_DIR] [WORK_DIR] [THREADS]
#
# llama.cpp comes from npm's node-llama-cpp 3.22.1: its prebuilt library
# runs the models (bench/llama_cpp_greedy.mjs), and the llama.cpp source
# its package carries (a git bundle) is built for llama-quantize.
#
# 1. Import: stories260K (trained; our F32 GGUF export) and the synthetic
#    110M shape (hidden 768, so K-quants apply everywhere) quantized by
#    llama-quantize to Q8_0, Q4_0, Q4_1, Q4_K_M and Q6_K; each file is
#    imported and `mlxpack run` generates greedy ids beside llama.cpp's on
#    the same file. llama.cpp multiplies with activations quantized to 8
#    bits (Q8_0/Q8_K), mlxpack with int8 blocks of 32 (groups of 16: float
#    rows), so where two logits are nearly tied the two can part: the table
#    gives the common prefix and the matching ids out of N.
# 2. Export: our GGUFs (f32, q8_0, q4_0, q4_1, and keep of a 4-bit pack)
#    loaded by llama.cpp, its greedy ids beside `mlxpack run` on the same
#    model.
# 3. Figures on the Llama-3.2-1B shape: export (bf16 directory -> Q8_0 and
#    Q4_0 GGUF; 4-bit pack -> GGUF keep) and import (GGUF Q8_0, Q4_0 ->
#    pack) throughput and peak RSS, beside llama-quantize's time for the
#    same model (BF16 GGUF -> Q8_0, Q4_0).
set -euo pipefail
cd "$(dirname "$0")/.."
HERE=$(pwd)/bench
. "$HERE/lib.sh"
BUILD=${1:-build}
WORK=${2:-/tmp/mlxpack-gguf-interop}
THREADS=${3:-2}
DATA=${MLXPACK_TEST_DATA:-../shared}
MLXPACK="$BUILD/cli/mlxpack"
mkdir -p "$WORK"
build_targets "$BUILD" mlxpack make_synthetic_model

# llama.cpp: the npm package (runtime) and llama-quantize built from its source.
NLC="$WORK/llama.cpp-npm"
if [ ! -d "$NLC/node_modules/@node-llama-cpp/linux-x64" ]; then
  mkdir -p "$NLC"
  (cd "$NLC" && npm install --silent --no-audit --no-fund --omit=optional \
    node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1 > /dev/null)
fi
cp "$HERE/llama_cpp_greedy.mjs" "$NLC/"
SRC="$WORK/llama.cpp-src"
QUANTIZE="$SRC/build/bin/llama-quantize"
if [ ! -x "$QUANTIZE" ]; then
  [ -d "$SRC" ] || git clone -q "$NLC/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$SRC"
  cmake -S "$SRC" -B "$SRC/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DGGML_NATIVE=ON \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF > /dev/null
  cmake --build "$SRC/build" -j"$THREADS" --target llama-quantize > /dev/null
fi

# seconds and peak RSS (MiB) of a command: "S M"
measure() {
  /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" > /dev/null 2>&1
  awk '{printf "%.2f %.0f", $1, $2 / 1024}' "$WORK/time.txt"
}
llama_ids() { (cd "$NLC" && node llama_cpp_greedy.mjs "$1" --prompt-ids "$2" --tokens "$3"); }
mlx_ids() { "$MLXPACK" run -m "$1" --prompt-ids "$2" -n "$3" --output-ids --context-size 512 --no-verify 2> /dev/null | head -1; }
# "common-prefix matches/N" of two comma-separated id lists
agree() {
  python3 -c 'import sys
a, b = sys.argv[1].split(","), sys.argv[2].split(",")
p = 0
while p < min(len(a), len(b)) and a[p] == b[p]: p += 1
print("%d %d/%d" % (p, sum(x == y for x, y in zip(a, b)), max(len(a), len(b))))' "$1" "$2"
}

echo "== import: llama-quantize's files, greedy ids (mlxpack run on the import vs llama.cpp on the file)"
printf '%-12s %-8s %-18s %8s %14s\n' model type "imported as" prefix matching
STORIES="$WORK/stories-f32.gguf"
"$MLXPACK" convert --force --quiet "$DATA/models/stories260K" "$STORIES" --output-format gguf > /dev/null
SYN="$WORK/llama-2-110m-f16"
synthetic_model "$BUILD" llama-2-110m f16 "$SYN"
cp "$DATA/tokenizers/mistral/tokenizer.json" "$DATA/tokenizers/mistral/tokenizer_config.json" "$SYN/"
"$MLXPACK" convert --force --quiet "$SYN" "$WORK/110m-f16.gguf" --output-format gguf > /dev/null
for src in stories:"$STORIES":1:200 110m:"$WORK/110m-f16.gguf":1,500,900,4000,77:32; do
  IFS=: read -r name file prompt n <<< "$src"
  for type in Q8_0 Q4_0 Q4_1 Q4_K_M Q6_K; do
    q="$WORK/$name-$type.gguf"
    [ -f "$q" ] || "$QUANTIZE" "$file" "$q" "$type" "$THREADS" > "$WORK/quantize-$name-$type.log" 2>&1
    "$MLXPACK" convert --force --quiet "$q" "$WORK/$name-$type.mlxpack" > "$WORK/import-$name-$type.log" 2>&1
    kinds=$("$MLXPACK" info --json "$WORK/$name-$type.mlxpack" | python3 -c 'import json,sys
s = json.load(sys.stdin)["model"]["storage"]
print(",".join(sorted(k["kind"] if isinstance(k, dict) else k for k in s)).replace("affine ", ""))' 2> /dev/null || echo "?")
    read -r p m <<< "$(agree "$(llama_ids "$q" "$prompt" "$n")" "$(mlx_ids "$WORK/$name-$type.mlxpack" "$prompt" "$n")")"
    printf '%-12s %-8s %-18s %8s %14s\n' "$name" "$type" "${kinds:0:18}" "$p" "$m"
  done
done

echo
echo "== export: our GGUFs in llama.cpp (its greedy ids vs mlxpack run on the model exported)"
printf '%-12s %-12s %8s %14s\n' model gguf-type prefix matching
"$MLXPACK" convert --force --quiet -q --q-bits 4 --q-group-size 32 --dtype f16 "$DATA/models/stories260K" \
  "$WORK/stories-q4g32.mlxpack" > /dev/null
for type in f32 q8_0 q4_0 q4_1 keep-q4g32; do
  src="$DATA/models/stories260K"
  [ "$type" = keep-q4g32 ] && src="$WORK/stories-q4g32.mlxpack"
  g="$WORK/export-$type.gguf"
  "$MLXPACK" convert --force --quiet "$src" "$g" --output-format gguf --gguf-type "${type%%-*}" > /dev/null
  # mlxpack on what was exported: the original for f32 and keep, else the GGUF imported back
  m="$src"
  if [ "$type" != f32 ] && [ "$type" != keep-q4g32 ]; then
    "$MLXPACK" convert --force --quiet "$g" "$WORK/export-$type.mlxpack" > /dev/null
    m="$WORK/export-$type.mlxpack"
  fi
  read -r p n <<< "$(agree "$(llama_ids "$g" 1 200)" "$(mlx_ids "$m" 1 200)")"
  printf '%-12s %-12s %8s %14s\n' stories260K "$type" "$p" "$n"
done

echo
echo "== Llama-3.2-1B shape: throughput (MB/s of output) and peak RSS"
ONEB="$WORK/llama-3.2-1b-bf16"
synthetic_model "$BUILD" llama-3.2-1b bf16 "$ONEB"
cp "$DATA/tokenizers/llama3/tokenizer.json" "$DATA/tokenizers/llama3/tokenizer_config.json" "$ONEB/"
"$MLXPACK" convert --force --quiet -q --q-bits 4 --q-group-size 32 "$ONEB" "$WORK/1b-q4g32.mlxpack" > /dev/null
printf '%-40s %9s %9s %10s\n' step seconds "MB/s" "peak MiB"
row() {  # label output command...
  local label=$1 out=$2
  shift 2
  read -r s m <<< "$(measure "$@")"
  local size
  size=$(du -sb "$out" | cut -f1)
  printf '%-40s %9s %9.0f %10s\n' "$label" "$s" "$(awk -v b="$size" -v s="$s" 'BEGIN {print b / 1e6 / s}')" "$m"
}
row "export bf16 dir -> gguf bf16" "$WORK/1b-bf16.gguf" \
  "$MLXPACK" convert --force --quiet "$ONEB" "$WORK/1b-bf16.gguf" --output-format gguf
row "export bf16 dir -> gguf q8_0" "$WORK/1b-q8_0.gguf" \
  "$MLXPACK" convert --force --quiet "$ONEB" "$WORK/1b-q8_0.gguf" --output-format gguf --gguf-type q8_0
row "export bf16 dir -> gguf q4_0" "$WORK/1b-q4_0.gguf" \
  "$MLXPACK" convert --force --quiet "$ONEB" "$WORK/1b-q4_0.gguf" --output-format gguf --gguf-type q4_0
row "export 4-bit g32 pack -> gguf keep (Q4_1)" "$WORK/1b-keep.gguf" \
  "$MLXPACK" convert --force --quiet "$WORK/1b-q4g32.mlxpack" "$WORK/1b-keep.gguf" --output-format gguf
row "import gguf q8_0 -> pack" "$WORK/1b-from-q8_0.mlxpack" \
  "$MLXPACK" convert --force --quiet "$WORK/1b-q8_0.gguf" "$WORK/1b-from-q8_0.mlxpack"
row "import gguf q4_0 -> pack" "$WORK/1b-from-q4_0.mlxpack" \
  "$MLXPACK" convert --force --quiet "$WORK/1b-q4_0.gguf" "$WORK/1b-from-q4_0.mlxpack"
row "llama-quantize bf16 gguf -> Q8_0" "$WORK/1b-lq-q8_0.gguf" \
  "$QUANTIZE" "$WORK/1b-bf16.gguf" "$WORK/1b-lq-q8_0.gguf" Q8_0 "$THREADS"
row "llama-quantize bf16 gguf -> Q4_0" "$WORK/1b-lq-q4_0.gguf" \
  "$QUANTIZE" "$WORK/1b-bf16.gguf" "$WORK/1b-lq-q4_0.gguf" Q4_0 "$THREADS"
# Our Q8_0/Q4_0 blocks against llama-quantize's for the same weights.
python3 - "$WORK/1b-q8_0.gguf" "$WORK/1b-lq-q8_0.gguf" "$WORK/1b-q4_0.gguf" "$WORK/1b-lq-q4_0.gguf" << 'EOF'
import struct, sys
def tensors(path):
    f = open(path, "rb"); b = f.read(1 << 24)
    o = 4
    def rd(fmt):
        nonlocal o
        v = struct.unpack_from("<" + fmt, b, o); o += struct.calcsize("<" + fmt); return v[0]
    def rs():
        nonlocal o
        n = rd("Q"); s = b[o:o + n]; o += n; return s.decode("utf-8", "replace")
    sizes = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
    def skip(t):
        nonlocal o
        if t == 8: rs()
        elif t == 9:
            et = rd("I"); n = rd("Q")
            for _ in range(n): skip(et)
        else: o += struct.calcsize("<" + sizes[t])
    rd("I"); nt = rd("Q"); nkv = rd("Q")  # after the magic: version, counts
    align = 32
    for _ in range(nkv):
        k = rs(); t = rd("I")
        if k == "general.alignment": align = rd("I")
        else: skip(t)
    out = {}
    for _ in range(nt):
        name = rs(); nd = rd("I"); dims = [rd("Q") for _ in range(nd)]; typ = rd("I"); off = rd("Q")
        out[name] = (typ, off)
    data = (o + align - 1) // align * align
    return f, data, out
for ours, theirs in ((sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])):
    fa, da, ta = tensors(ours); fb, db, tb = tensors(theirs)
    compared = equal = 0
    for name, (typ, off) in ta.items():
        if name not in tb or tb[name][0] != typ or typ not in (2, 8): continue
        fa.seek(da + off); fb.seek(db + tb[name][1])
        compared += 1
        equal += fa.read(1 << 20) == fb.read(1 << 20)
    print(f"{ours.rsplit('/', 1)[-1]}: {equal} of {compared} tensors of the same block type begin (first MiB) "
          "as llama-quantize's")
EOF
