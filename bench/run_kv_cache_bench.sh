#!/usr/bin/env bash
# KV cache benchmark: decode at a long context with each cache type, side
# by side in this one run. A synthetic model of a real shape (Llama-2 110M
# and Llama-3.2-1B by default) converted to 4-bit group 64 gets a
# 2,048-token prompt, then decodes 32 tokens (positions 2,048 to 2,080,
# where attention reads the whole cache at every step), with F32, F16 (the
# default) and Q8_0 entries, alternating, best of ROUNDS. Prints decode
# tokens/s, Q8_0's and F32's decode against F16's, the cache's bytes for the
# context and the process's peak RSS.
#
#   bench/run_kv_cache_bench.sh [BUILD_DIR] [WORK_DIR] [THREADS] [ROUNDS] [SHAPES...]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BUILD=${1:-build}
WORK=${2:-/tmp/mlxpack-kvbench}
THREADS=${3:-2}
ROUNDS=${4:-2}
shift $(( $# > 4 ? 4 : $# ))
SHAPES=("$@")
[ ${#SHAPES[@]} -gt 0 ] || SHAPES=(llama-2-110m llama-3.2-1b)
build_targets "$BUILD" mlxpack generation_bench make_synthetic_model
DATA=${MLXPACK_TEST_DATA:-../shared}
MLXPACK="$BUILD/cli/mlxpack"
BENCH=${GENERATION_BENCH:-$BUILD/bench/generation_bench}
mkdir -p "$WORK"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< " $2"; }

for shape in "${SHAPES[@]}"; do
  case "$shape" in
    llama-3.2-1b) tok="$DATA/tokenizers/llama3" ;;
    *) tok="$DATA/tokenizers/mistral" ;;
  esac
  dir="$WORK/$shape-bf16"
  synthetic_model "$BUILD" "$shape" bf16 "$dir"
  cp "$tok"/tokenizer.json "$tok"/tokenizer_config.json "$dir/"
  pack="$WORK/$shape-q4.mlxpack"
  [ -f "$pack" ] || "$MLXPACK" convert -q --q-bits 4 --q-group-size 64 "$dir" "$pack" > /dev/null
done

echo "== decode at positions 2,048-2,080 (4-bit g64 weights), $THREADS threads, best of $ROUNDS"
printf '%-14s %-5s %10s %10s %12s\n' model cache decode/s kv_MiB peak_RSS_MiB
declare -A BEST KV RSS
for round in $(seq 1 "$ROUNDS"); do
  for shape in "${SHAPES[@]}"; do
    pack="$WORK/$shape-q4.mlxpack"
    cat "$pack" > /dev/null  # warm page cache: measure compute, not the disk
    for kv in f32 f16 q8_0; do
      line=$("$BENCH" --model-root "$pack" --threads "$THREADS" --no-peaks --repeat 1 --prompt-tokens 2048 \
        --decode-tokens 32 --kv-cache-type "$kv")
      key="$shape/$kv"
      BEST[$key]=$(awk -v a="${BEST[$key]:-0}" -v b="$(field decode_tps "$line")" 'BEGIN {print (b > a) ? b : a}')
      KV[$key]=$(field kv_mib "$line")
      RSS[$key]=$(field peak_rss_mib "$line")
    done
  done
done
for shape in "${SHAPES[@]}"; do
  for kv in f32 f16 q8_0; do
    key="$shape/$kv"
    printf '%-14s %-5s %10s %10s %12s\n' "$shape" "$kv" "${BEST[$key]}" "${KV[$key]}" "${RSS[$key]}"
  done
  awk -v q="${BEST[$shape/q8_0]}" -v h="${BEST[$shape/f16]}" -v f="${BEST[$shape/f32]}" -v s="$shape" \
    'BEGIN {printf "%s: decode / F16 cache'"'"'s: Q8_0 %.2f, F32 %.2f\n", s, q / h, f / h}'
done
