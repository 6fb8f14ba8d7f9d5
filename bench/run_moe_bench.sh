#!/usr/bin/env bash
# Mixture-of-experts benchmark: a Mixtral-shaped model scaled to fit this
# machine (mixtral-mini: 8 layers of 8 experts, top 2) against the dense
# Llama with the same active parameters per token (mixtral-mini-dense: one
# MLP twice an expert's width), both converted from BF16 to 4-bit and
# 8-bit group 64 (convert stacks the experts into switch_mlp), run side by
# side in this one run, alternating, best of 3 each time. The goal: MoE
# decode within 1.3x of the dense model's time per token, since a token
# reads the same number of weight bytes in both. Prefill of a 128-token
# prompt is printed for the same pair (a batch routes its tokens to all
# eight experts, so it multiplies more weights per token than decode does).
#
#   bench/run_moe_bench.sh [BUILD_DIR] [WORK_DIR] [THREADS] [ROUNDS]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BUILD=${1:-build}
WORK=${2:-/tmp/mlxpack-moebench}
THREADS=${3:-2}
ROUNDS=${4:-2}
build_targets "$BUILD" mlxpack generation_bench make_synthetic_model
DATA=${MLXPACK_TEST_DATA:-../shared}
MLXPACK="$BUILD/cli/mlxpack"
BENCH=${GENERATION_BENCH:-$BUILD/bench/generation_bench}
mkdir -p "$WORK"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< " $2"; }

for shape in mixtral-mini mixtral-mini-dense; do
  dir="$WORK/$shape-bf16"
  synthetic_model "$BUILD" "$shape" bf16 "$dir"
  cp "$DATA/tokenizers/mistral/tokenizer.json" "$DATA/tokenizers/mistral/tokenizer_config.json" "$dir/"
  for bits in 4 8; do
    pack="$WORK/$shape-q$bits.mlxpack"
    [ -f "$pack" ] || "$MLXPACK" convert -q --q-bits "$bits" --q-group-size 64 "$dir" "$pack" > /dev/null
  done
done

echo "== mixtral-mini (8 experts, top 2) beside mixtral-mini-dense, $THREADS threads, 128-token prompt, 64 decoded tokens"
printf '%-5s %-5s %-20s %9s %10s %10s %10s\n' round bits model file_MiB prefill/s decode/s ms/token
declare -A BEST_DECODE BEST_PREFILL
for round in $(seq 1 "$ROUNDS"); do
  for bits in 4 8; do
    for shape in mixtral-mini mixtral-mini-dense; do
      pack="$WORK/$shape-q$bits.mlxpack"
      cat "$pack" > /dev/null  # warm page cache: measure compute, not the disk
      line=$("$BENCH" --model-root "$pack" --threads "$THREADS" --no-peaks)
      decode=$(field decode_tps "$line") prefill=$(field prefill_tps "$line")
      printf '%-5s %-5s %-20s %9s %10s %10s %10s\n' "$round" "q$bits" "$shape" "$(field file_mib "$line")" "$prefill" \
        "$decode" "$(awk -v d="$decode" 'BEGIN {printf "%.2f", 1000 / d}')"
      key="$bits/$shape"
      BEST_DECODE[$key]=$(awk -v a="${BEST_DECODE[$key]:-0}" -v b="$decode" 'BEGIN {print (b > a) ? b : a}')
      BEST_PREFILL[$key]=$(awk -v a="${BEST_PREFILL[$key]:-0}" -v b="$prefill" 'BEGIN {print (b > a) ? b : a}')
    done
  done
done
for bits in 4 8; do
  awk -v md="${BEST_DECODE[$bits/mixtral-mini]}" -v dd="${BEST_DECODE[$bits/mixtral-mini-dense]}" \
      -v mp="${BEST_PREFILL[$bits/mixtral-mini]}" -v dp="${BEST_PREFILL[$bits/mixtral-mini-dense]}" -v b="$bits" \
      'BEGIN {printf "q%s (best of the rounds): MoE time per token / dense: decode %.2f (goal <= 1.3), prefill %.2f\n", b, dd / md, dp / mp}'
done
