#!/usr/bin/env bash
# Speculative decoding benchmark: decode tokens/s of `mlxpack run` without
# proposals, with a draft model and with prompt lookup, side by side in
# this one run (alternating, best of ROUNDS), and the acceptance each got.
#
#   1. The 1B shape (4-bit g64) with the 110M layout as its draft
#      (llama-2-110m-v128k: Llama 3's vocabulary, 4-bit g64): 128 tokens
#      after a short prompt, 3 and 5 proposed a step.
#   2. The same 1B on a repetitive prompt (a paragraph of the Llama 3
#      tokenizer's text four times), prompt lookup proposing 10 a step.
#   3. stories260K (the trained model in the test data) on the same two
#      kinds of prompt, its greedy story and a repeated one, prompt lookup.
#
# The synthetic models have random weights: a random draft rarely guesses a
# random model's tokens, so (1) shows the cost of speculation when it loses
# and the figures are printed as they come. Every run's ids are compared
# with the plain run's: the script fails if they differ.
#
#   bench/run_speculative_bench.sh [BUILD_DIR] [WORK_DIR] [THREADS] [ROUNDS]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BUILD=${1:-build}
WORK=${2:-/tmp/mlxpack-specbench}
THREADS=${3:-2}
ROUNDS=${4:-2}
build_targets "$BUILD" mlxpack make_synthetic_model
DATA=${MLXPACK_TEST_DATA:-../shared}
MLXPACK="$BUILD/cli/mlxpack"
mkdir -p "$WORK"

for shape in llama-3.2-1b llama-2-110m-v128k; do
  dir="$WORK/$shape-bf16"
  synthetic_model "$BUILD" "$shape" bf16 "$dir"
  cp "$DATA/tokenizers/llama3/tokenizer.json" "$DATA/tokenizers/llama3/tokenizer_config.json" "$dir/"
  [ -f "$WORK/$shape-q4.mlxpack" ] || "$MLXPACK" convert -q --q-bits 4 --q-group-size 64 "$dir" "$WORK/$shape-q4.mlxpack" > /dev/null
done
TARGET="$WORK/llama-3.2-1b-q4.mlxpack"
DRAFT="$WORK/llama-2-110m-v128k-q4.mlxpack"
STORIES="$DATA/models/stories260K"
PARAGRAPH="The quick brown fox jumps over the lazy dog while the farmer counts his sheep in the morning light. "
REPEATED="$PARAGRAPH$PARAGRAPH$PARAGRAPH$PARAGRAPH"

# run NAME MODEL N PROMPT FLAGS...: one run; prints its row, checks its ids.
declare -A BEST PLAIN_IDS
run() {
  local name=$1 model=$2 n=$3 prompt=$4
  shift 4
  local out err
  out=$("$MLXPACK" run -m "$model" -p "$prompt" -n "$n" --threads "$THREADS" --output-ids -v --no-verify "$@" 2> "$WORK/err")
  err=$(cat "$WORK/err")
  local key="$name|$*"
  local tps
  tps=$(sed -n 's/.*decode: \([0-9.]*\) tokens\/s.*/\1/p' <<< "$err")
  if [ $# -eq 0 ]; then
    PLAIN_IDS[$name]=$out
  elif [ "$out" != "${PLAIN_IDS[$name]}" ]; then
    echo "speculative run differs from the plain one: $name $*" >&2
    exit 1
  fi
  BEST[$key]=$(awk -v a="${BEST[$key]:-0}" -v b="$tps" 'BEGIN {print (b > a) ? b : a}')
  SPEC[$key]=$(sed -n 's/^speculative: \([0-9]*\) tokens proposed.*, \([0-9]*\) accepted (\([0-9.]*\)%).*(\([0-9.]*\) a pass).*/\1 proposed, \2 accepted (\3%), \4 tokens a pass/p' <<< "$err")
}
declare -A SPEC
STORY_PROMPT="Once upon a time"
STORY_REPEATED="Tom had a red ball. Tom had a red ball. Tom had a red ball. Tom had a red ball."
CASES=(
  "1b-short|$TARGET|128|Once upon a time, in a land far away|"
  "1b-short|$TARGET|128|Once upon a time, in a land far away|--draft-model $DRAFT --num-draft-tokens 3"
  "1b-short|$TARGET|128|Once upon a time, in a land far away|--draft-model $DRAFT --num-draft-tokens 5"
  "1b-short|$TARGET|128|Once upon a time, in a land far away|--prompt-lookup"
  "1b-repeated|$TARGET|128|$REPEATED|"
  "1b-repeated|$TARGET|128|$REPEATED|--prompt-lookup"
  "1b-repeated|$TARGET|128|$REPEATED|--draft-model $DRAFT --num-draft-tokens 3"
  "stories|$STORIES|200|$STORY_PROMPT|"
  "stories|$STORIES|200|$STORY_PROMPT|--prompt-lookup"
  "stories-repeated|$STORIES|200|$STORY_REPEATED|"
  "stories-repeated|$STORIES|200|$STORY_REPEATED|--prompt-lookup"
)
cat "$TARGET" "$DRAFT" > /dev/null  # warm page cache
for round in $(seq 1 "$ROUNDS"); do
  for c in "${CASES[@]}"; do
    IFS='|' read -r name model n prompt flags <<< "$c"
    # shellcheck disable=SC2086
    run "$name" "$model" "$n" "$prompt" $flags
  done
done
echo "== decode tokens/s, $THREADS threads, best of $ROUNDS (ids identical to the plain run's in every run)"
printf '%-17s %-62s %9s %8s  %s\n' case flags decode/s vs_plain proposals
for c in "${CASES[@]}"; do
  IFS='|' read -r name model n prompt flags <<< "$c"
  key="$name|$flags"
  plain="${BEST[$name|]}"
  printf '%-17s %-62s %9s %8s  %s\n' "$name" "${flags:-(plain)}" "${BEST[$key]}" \
    "$(awk -v a="${BEST[$key]}" -v b="$plain" 'BEGIN {printf "%.2fx", a / b}')" "${SPEC[$key]:-}"
done | sed "s|$WORK/||g"
