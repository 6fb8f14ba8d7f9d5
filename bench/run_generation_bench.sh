#!/usr/bin/env bash
# Generation benchmark: synthetic models of real shapes (Llama-2 110M and
# Llama-3.2-1B by default) packed as F32 (110M only), BF16, 8-bit and 4-bit
# group 64, each run in its own process (so peak RSS is its own), side by
# side in this one run. Prints prefill and decode tokens/s, cold time to
# first token, peak RSS beside its budget (file + KV cache + 64 MiB), the
# decode's weight bandwidth as a fraction of the measured read bandwidth
# (rd_roof), the prefill's multiply-adds per second as a fraction of the
# FP32 FMA peak measured in the same run (fma_roof: the bound of float
# weights; int8 products can pass it), and decode ratios between weight
# types and kernel tables.
#
#   bench/run_generation_bench.sh [BUILD_DIR] [WORK_DIR] [THREADS] [SHAPES...]
#
# The synthetic models carry a real tokenizer from the test data
# ($MLXPACK_TEST_DATA/tokenizers: Mistral's for the 32000-token vocabulary,
# Llama 3's for 128256) so `mlxpack run` works on them too.
set -euo pipefail
BUILD=${1:-build}
WORK=${2:-/tmp/mlxpack-genbench}
THREADS=${3:-2}
shift $(( $# > 3 ? 3 : $# ))
SHAPES=("$@")
[ ${#SHAPES[@]} -gt 0 ] || SHAPES=(llama-2-110m llama-3.2-1b)
DATA=${MLXPACK_TEST_DATA:-../shared}
MLXPACK="$BUILD/cli/mlxpack"
BENCH="$BUILD/bench/generation_bench"
mkdir -p "$WORK"

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< " $2"; }

declare -A DECODE
for shape in "${SHAPES[@]}"; do
  case "$shape" in
    llama-3.2-1b) tok="$DATA/tokenizers/llama3"; types=(bf16 q8 q4) ;;
    *) tok="$DATA/tokenizers/mistral"; types=(f32 bf16 q8 q4) ;;
  esac
  for dtype in f32 bf16; do
    [[ " ${types[*]} " == *" $dtype "* ]] || continue
    dir="$WORK/$shape-$dtype"
    if [ ! -f "$dir/config.json" ]; then
      "$BUILD/bench/make_synthetic_model" --shape "$shape" --dtype "$dtype" -o "$dir" > /dev/null
      cp "$tok"/tokenizer.json "$tok"/tokenizer_config.json "$dir/"
    fi
  done
  base="$WORK/$shape-${types[0]}"
  for t in "${types[@]}"; do
    pack="$WORK/$shape-$t.mlxpack"
    [ -f "$pack" ] && continue
    case "$t" in
      # Embeddings quantized too, as mlx_lm.convert -q does (every layer
      # with to_quantized, Embedding included): with tied embeddings the
      # lm_head reads them every token.
      q8) "$MLXPACK" convert -q --q-bits 8 --q-group-size 64 --embedding-quantize 8,64 "$base" "$pack" > /dev/null ;;
      q4) "$MLXPACK" convert -q --q-bits 4 --q-group-size 64 --embedding-quantize 4,64 "$base" "$pack" > /dev/null ;;
      *) "$MLXPACK" pack "$WORK/$shape-$t" "$pack" > /dev/null ;;
    esac
  done
  echo "== $shape, $THREADS threads, 128-token prompt, 64 decoded tokens (best of 3)"
  printf '%-6s %-12s %9s %9s %10s %10s %10s %10s %8s %8s\n' weights kernels file_MiB prefill/s decode/s ttft_ms rss_MiB budget_MiB rd_roof fma_roof
  for t in "${types[@]}"; do
    pack="$WORK/$shape-$t.mlxpack"
    cat "$pack" > /dev/null  # warm page cache: measure compute, not the disk
    kernel_sets=(default)
    [ "$t" = q4 ] && kernel_sets=(default avx2 scalar)
    for k in "${kernel_sets[@]}"; do
      if [ "$k" = default ]; then
        line=$("$BENCH" --model-root "$pack" --threads "$THREADS")
      else
        line=$(MLXPACK_KERNELS=$k "$BENCH" --model-root "$pack" --threads "$THREADS" --repeat 1 --decode-tokens 16)
      fi
      kern=$(field kernels "$line")
      file=$(field file_mib "$line"); kv=$(field kv_mib "$line"); rss=$(field peak_rss_mib "$line")
      budget=$(awk -v f="$file" -v k="$kv" 'BEGIN {printf "%.1f", f + k + 64}')
      ok=$(awk -v r="$rss" -v b="$budget" 'BEGIN {print (r <= b) ? "" : " OVER"}')
      DECODE["$shape/$t/$kern"]=$(field decode_tps "$line")
      printf '%-6s %-12s %9s %9s %10s %10s %10s %10s %8s %8s\n' "$t" "$kern" "$file" "$(field prefill_tps "$line")" \
        "$(field decode_tps "$line")" "$(field ttft_cold_ms "$line")" "$rss" "$budget$ok" "$(field roofline_fraction "$line")" \
        "$(field prefill_fma_fraction "$line")"
      [ "$k" = default ] && best_kernel=$kern
    done
  done
  echo "machine (measured with the last row): read bandwidth $(field read_bandwidth_gbs "$line") GB/s, FP32 FMA peak $(field fma_peak_gmacs "$line") GMAC/s on $THREADS threads"
  ratio() { awk -v a="${DECODE[$1]:-0}" -v b="${DECODE[$2]:-0}" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }
  echo "decode ratios: q4/${types[0]} $(ratio "$shape/q4/$best_kernel" "$shape/${types[0]}/$best_kernel"), q8/${types[0]} $(ratio "$shape/q8/$best_kernel" "$shape/${types[0]}/$best_kernel"), q4 $best_kernel/avx2 $(ratio "$shape/q4/$best_kernel" "$shape/q4/avx2"), q4 $best_kernel/scalar $(ratio "$shape/q4/$best_kernel" "$shape/q4/scalar")"
done
