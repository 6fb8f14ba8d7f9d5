#!/usr/bin/env bash
# Convert benchmark: a synthetic Llama-3.2-1B-shaped BF16 model to MLX 4-bit
# group 64, with 1 and 2 threads, side by side in one run: seconds, MB/s of
# input and peak RSS.
#   bench/run_convert_bench.sh [BUILD_DIR] [WORK_DIR] [SHAPE] [DTYPE]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
model_bench_args "$@"
build_targets "$BUILD" mlxpack make_synthetic_model
synthetic_model "$BUILD" "$SHAPE" "$DTYPE" "$MODEL" --max-shard-size 1
cat "$MODEL"/*.safetensors > /dev/null
BYTES=$(cat "$MODEL"/*.safetensors | wc -c)
LARGEST=$("$MLXPACK" pack --force "$MODEL" "$WORK/largest-probe.mlxpack" > /dev/null && \
          "$MLXPACK" info --json --tensors "$WORK/largest-probe.mlxpack" | \
          awk '/"list"/ {inlist = 1} inlist && /"size":/ {gsub(/[^0-9]/, "", $2); if ($2 + 0 > m) m = $2 + 0} END {print m}')
rm -f "$WORK/largest-probe.mlxpack"
echo "== convert $SHAPE $DTYPE ($((BYTES / 1000000)) MB; largest tensor $((LARGEST / 1000000)) MB) to 4-bit group 64"
for threads in 1 2; do
  rm -f "$WORK/q4-t$threads.mlxpack"
  /usr/bin/time -f "%e %M" -o "$WORK/convert.time" \
    "$MLXPACK" convert -q --q-bits 4 --q-group-size 64 --threads "$threads" "$MODEL" "$WORK/q4-t$threads.mlxpack" > /dev/null
  read -r SECONDS_TAKEN RSS_KB < "$WORK/convert.time"
  echo "threads $threads: ${SECONDS_TAKEN} s, $(echo "scale=1; $BYTES / 1000000 / $SECONDS_TAKEN" | bc -l) MB/s, peak RSS $((RSS_KB / 1024)) MiB (bound: 256 MiB + 3 x largest = $(( (256 * 1048576 + 3 * LARGEST) / 1048576 )) MiB)"
done
cmp "$WORK/q4-t1.mlxpack" "$WORK/q4-t2.mlxpack" && echo "outputs with 1 and 2 threads are identical"
