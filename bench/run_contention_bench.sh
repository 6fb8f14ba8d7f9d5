#!/usr/bin/env bash
# Decode on a busy machine: starts k = 0, 1, 2 busy background processes
# (CPU-bound shell loops, each bounded by `timeout` and stopped by this
# script), and under each load measures decode tokens/s of
#   - mlxpack (bench/generation_bench) with the default threads, -t 1, -t 2
#   - llama.cpp (node-llama-cpp, bench/llama_cpp_bench.mjs) with -t 1, -t 2
# on stories260K (the test data's, F32), and the Llama-2 110M shape at
# 4-bit (GGUF Q4_0 for llama.cpp) and F32, all side by side in this run.
#
#   bench/run_contention_bench.sh [BUILD_DIR] [WORK_DIR] [BUSY_COUNTS...]
#
# Printed per row: the three mlxpack figures, default / best of -t 1 and
# -t 2 (goal: >= 0.8), llama.cpp's two figures, and each engine's best under
# this load as a fraction of its best with no load (goal: mlxpack keeps more
# than llama.cpp), overall and on one thread. node-llama-cpp's llama.cpp
# starts its threads for every decode step (see llama_cpp_bench.mjs), so its
# -t 2 decode understates it and its idle best is its -t 1: the one-thread
# fractions are the like-for-like comparison.
#   CONTENTION_ROUNDS=N   rounds per load (default 2)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BUILD=${1:-build}
WORK=${2:-/tmp/mlxpack-contention}
shift $(( $# > 2 ? 2 : $# ))
LOADS=("$@")
[ ${#LOADS[@]} -gt 0 ] || LOADS=(0 1 2)
DATA=${MLXPACK_TEST_DATA:-../shared}
HERE=$(cd "$(dirname "$0")" && pwd)
MLXPACK="$BUILD/cli/mlxpack"
BENCH="$BUILD/bench/generation_bench"
build_targets "$BUILD" mlxpack generation_bench make_synthetic_model
mkdir -p "$WORK"

BUSY=()
stop_busy() {
  for pid in "${BUSY[@]}"; do kill "$pid" 2> /dev/null || true; done
  for pid in "${BUSY[@]}"; do wait "$pid" 2> /dev/null || true; done
  BUSY=()
}
trap stop_busy EXIT INT TERM
start_busy() {
  for ((i = 0; i < $1; i++)); do
    timeout 1800 sh -c 'while :; do :; done' &
    BUSY+=($!)
  done
  sleep 0.5
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< " $2"; }

# Models: name, pack, GGUF, vocabulary, decoded tokens, repeats. stories260K
# decodes a token in ~40 us: it needs many tokens and repeats to span
# scheduler ticks (4 ms) under load.
s260k="$DATA/models/stories260K"
[ -f "$s260k/config.json" ] || { echo "stories260K not found under $DATA/models"; exit 1; }
[ -f "$WORK/stories260k.mlxpack" ] || "$MLXPACK" pack "$s260k" "$WORK/stories260k.mlxpack" > /dev/null
src="$WORK/llama-2-110m-f32"
synthetic_model "$BUILD" llama-2-110m f32 "$src"
cp "$DATA/tokenizers/mistral/tokenizer.json" "$DATA/tokenizers/mistral/tokenizer_config.json" "$src/"
[ -f "$WORK/llama-2-110m-f32.mlxpack" ] || "$MLXPACK" pack "$src" "$WORK/llama-2-110m-f32.mlxpack" > /dev/null
[ -f "$WORK/llama-2-110m-q4.mlxpack" ] ||
  "$MLXPACK" convert -q --q-bits 4 --q-group-size 64 "$src" "$WORK/llama-2-110m-q4.mlxpack" > /dev/null
MODELS=("stories260K|$WORK/stories260k.mlxpack|$DATA/models/stories260K-gguf/stories260K.gguf|512|480|5"
        "110m-q4|$WORK/llama-2-110m-q4.mlxpack|$WORK/llama-2-110m-q4_0.gguf|32000|128|2"
        "110m-f32|$WORK/llama-2-110m-f32.mlxpack|$WORK/llama-2-110m-f32.gguf|32000|128|2")

LLAMA=""
if command -v node > /dev/null && command -v npm > /dev/null; then
  NLC="$WORK/llama.cpp-npm"
  if [ ! -d "$NLC/node_modules/@node-llama-cpp/linux-x64" ]; then
    mkdir -p "$NLC"
    (cd "$NLC" && npm install --silent --no-audit --no-fund --omit=optional \
       node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1 > /dev/null 2>&1) || true
  fi
  if [ -d "$NLC/node_modules/@node-llama-cpp/linux-x64" ]; then
    cp "$HERE/llama_cpp_bench.mjs" "$NLC/"
    [ -f "$WORK/llama-2-110m-q4_0.gguf" ] || node "$HERE/make_gguf.mjs" "$src" "$WORK/llama-2-110m-q4_0.gguf" q4_0 > /dev/null
    [ -f "$WORK/llama-2-110m-f32.gguf" ] || node "$HERE/make_gguf.mjs" "$src" "$WORK/llama-2-110m-f32.gguf" f32 > /dev/null
    LLAMA=$NLC
  fi
fi
[ -n "$LLAMA" ] || echo "llama.cpp columns skipped: node, npm and node-llama-cpp 3.22.1 are needed"

mlx() {  # PACK THREADS TOKENS REPEATS -> decode tokens/s
  local line
  line=$("$BENCH" --model-root "$1" --threads "$2" --no-peaks --prompt-tokens 16 --decode-tokens "$3" --repeat "$4")
  field decode_tps "$line"
}
llama() {  # GGUF THREADS VOCAB TOKENS REPEATS -> decode tokens/s
  [ -n "$LLAMA" ] || { echo "-"; return; }
  local line
  line=$(cd "$LLAMA" && node llama_cpp_bench.mjs "$1" --threads "$2" --vocab "$3" --prompt-tokens 16 --decode-tokens "$4" --repeat "$5")
  field decode_tps "$line"
}
best() { awk -v a="$1" -v b="$2" 'BEGIN {print (a + 0 > b + 0) ? a : b}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 > 0 && a != "-") printf "%.2f", a / b; else print "-"}'; }

# Each figure is the best of ROUNDS rounds, and a round runs every
# configuration once, so no configuration always runs first after the load
# starts (single runs under load vary by 20% with where the scheduler puts
# the threads).
ROUNDS=${CONTENTION_ROUNDS:-2}
declare -A BASE_MLX BASE_LLAMA BASE_MLX1 BASE_LLAMA1
echo "== decode tokens/s under k busy processes ($(nproc) CPUs), 16-token prompt; stories260K 480 tokens, 110M 128;" \
  "best of $ROUNDS interleaved rounds"
printf '%-2s %-12s %9s %9s %9s %8s %9s %9s %9s %9s %9s %9s\n' k model default t1 t2 def/best llama_t1 llama_t2 \
  mlx_kept llama_kept mlx1_kept llama1_kept
for k in "${LOADS[@]}"; do
  start_busy "$k"
  for m in "${MODELS[@]}"; do
    IFS='|' read -r name pack gguf vocab tokens repeats <<< "$m"
    cat "$pack" > /dev/null
    d=0 t1=0 t2=0 l1=0 l2=0
    for ((round = 0; round < ROUNDS; round++)); do
      d=$(best "$d" "$(mlx "$pack" 0 "$tokens" "$repeats")")
      t1=$(best "$t1" "$(mlx "$pack" 1 "$tokens" "$repeats")")
      t2=$(best "$t2" "$(mlx "$pack" 2 "$tokens" "$repeats")")
      l1=$(best "$l1" "$(llama "$gguf" 1 "$vocab" "$tokens" "$repeats")")
      l2=$(best "$l2" "$(llama "$gguf" 2 "$vocab" "$tokens" "$repeats")")
    done
    [ -n "$LLAMA" ] || { l1=-; l2=-; }
    mb=$(best "$t1" "$t2"); mb=$(best "$mb" "$d"); lb=$(best "$l1" "$l2")
    if [ "$k" = "${LOADS[0]}" ]; then
      BASE_MLX[$name]=$mb; BASE_LLAMA[$name]=$lb; BASE_MLX1[$name]=$t1; BASE_LLAMA1[$name]=$l1
    fi
    printf '%-2s %-12s %9s %9s %9s %8s %9s %9s %9s %9s %9s %9s\n' "$k" "$name" "$d" "$t1" "$t2" \
      "$(ratio "$d" "$(best "$t1" "$t2")")" "$l1" "$l2" "$(ratio "$mb" "${BASE_MLX[$name]}")" \
      "$(ratio "$lb" "${BASE_LLAMA[$name]}")" "$(ratio "$t1" "${BASE_MLX1[$name]}")" "$(ratio "$l1" "${BASE_LLAMA1[$name]}")"
  done
  stop_busy
done
echo "def/best = default / best of -t 1, -t 2 (goal >= 0.8); *_kept = this load's best / the first load's best;"
echo "*1_kept = the same for one thread (llama.cpp's -t 2 through node-llama-cpp understates it, see above)"
