#!/usr/bin/env bash
# Generation benchmark: synthetic models of real shapes (Llama-2 110M and
# Llama-3.2-1B by default) packed as F32 (110M only), BF16, 8-bit and 4-bit
# group 64, each run in its own process (so peak RSS is its own), side by
# side in this one run. Prints prefill and decode tokens/s, decode at a
# long context (a 1,000-token prompt, then 24 steps: positions 1,000 to
# 1,024, where attention's reads of the KV cache count), cold time to first
# token, peak RSS beside its budget (file + KV cache + 64 MiB), the
# decode's weight bandwidth as a fraction of the measured read bandwidth
# (rd_roof), the prefill's multiply-adds per second as a fraction of the
# FP32 FMA peak (fma_roof: the bound of float weights), of the int8
# vpdpbusd peak (int8_roof: the bound of quantized weights) and, on CPUs
# with AMX, of the tile products' peak (amx_roof; - without AMX), all
# measured in the same run, how much of the pack the kernel maps in 2 MiB
# pages (huge_MiB: decode is faster in them; see loader/src/mapped_file.cpp)
# and decode ratios between weight types and kernel tables.
#
#   bench/run_generation_bench.sh [BUILD_DIR] [WORK_DIR] [THREADS] [SHAPES...]
#
# Side by side with llama.cpp (every shape, when node and npm are there):
# the 110M F32 / 1B BF16 model written as GGUF F32 or BF16 / Q8_0 / Q4_0
# (make_gguf.mjs; the same bits per weight as MLX 8- and 4-bit group 64)
# and run by llama.cpp through node-llama-cpp's prebuilt library
# (llama_cpp_bench.mjs, installed into WORK_DIR), beside generation_bench
# on the packs: prefill on THREADS threads, decode on one (node-llama-cpp's
# llama.cpp starts its threads for every decode step, so its multi-thread
# decode is printed but is not its real speed; see llama_cpp_bench.mjs),
# and one-thread decode at the long context. Before each pair runs, both
# files are put in 2 MiB page-cache folios (huge_page_cache in lib.sh):
# either engine's decode depends on the folio size its file is cached in.
#
# The synthetic models carry a real tokenizer from the test data
# ($MLXPACK_TEST_DATA/tokenizers: Mistral's for the 32000-token vocabulary,
# Llama 3's for 128256) so `mlxpack run` works on them too.
# GENERATION_BENCH=path runs another generation_bench binary (a before/after
# comparison with an older build); LLAMA_CPP=0 skips the llama.cpp tables.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BUILD=${1:-build}
WORK=${2:-/tmp/mlxpack-genbench}
THREADS=${3:-2}
shift $(( $# > 3 ? 3 : $# ))
build_targets "$BUILD" mlxpack generation_bench make_synthetic_model
SHAPES=("$@")
[ ${#SHAPES[@]} -gt 0 ] || SHAPES=(llama-2-110m llama-3.2-1b)
DATA=${MLXPACK_TEST_DATA:-../shared}
MLXPACK="$BUILD/cli/mlxpack"
BENCH=${GENERATION_BENCH:-$BUILD/bench/generation_bench}
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
    synthetic_model "$BUILD" "$shape" "$dtype" "$dir"
    cp "$tok"/tokenizer.json "$tok"/tokenizer_config.json "$dir/"
  done
  base="$WORK/$shape-${types[0]}"
  for t in "${types[@]}"; do
    pack="$WORK/$shape-$t.mlxpack"
    [ -f "$pack" ] && continue
    case "$t" in
      # -q quantizes embeddings too, as mlx_lm.convert -q does (every layer
      # with to_quantized, Embedding included): with tied embeddings the
      # lm_head reads them every token.
      q8) "$MLXPACK" convert -q --q-bits 8 --q-group-size 64 "$base" "$pack" > /dev/null ;;
      q4) "$MLXPACK" convert -q --q-bits 4 --q-group-size 64 "$base" "$pack" > /dev/null ;;
      *) "$MLXPACK" pack "$WORK/$shape-$t" "$pack" > /dev/null ;;
    esac
  done
  echo "== $shape, $THREADS threads, 128-token prompt, 64 decoded tokens (best of 3)"
  printf '%-6s %-12s %9s %9s %10s %10s %10s %10s %10s %8s %8s %9s %8s %9s\n' weights kernels file_MiB prefill/s decode/s decode_1k/s ttft_ms rss_MiB budget_MiB rd_roof fma_roof int8_roof amx_roof huge_MiB
  for t in "${types[@]}"; do
    pack="$WORK/$shape-$t.mlxpack"
    # Warm the page cache through the runtime's own mapping, as a first run
    # would (measure compute, not the disk): a cold file read by `cat` comes
    # into the cache in small folios, which the mapping then keeps.
    "$BENCH" --model-root "$pack" --no-peaks --repeat 1 --prompt-tokens 1 --decode-tokens 2 > /dev/null
    kernel_sets=(default)
    [ "$t" = q4 ] && kernel_sets=(default avx2 scalar)
    for k in "${kernel_sets[@]}"; do
      long=-
      if [ "$k" = default ]; then
        line=$("$BENCH" --model-root "$pack" --threads "$THREADS")
        long=$(field decode_tps "$("$BENCH" --model-root "$pack" --threads "$THREADS" --no-peaks --repeat 1 \
          --prompt-tokens 1000 --decode-tokens 24)")
      else
        line=$(MLXPACK_KERNELS=$k "$BENCH" --model-root "$pack" --threads "$THREADS" --repeat 1 --decode-tokens 16)
      fi
      kern=$(field kernels "$line")
      file=$(field file_mib "$line"); kv=$(field kv_mib "$line"); rss=$(field peak_rss_mib "$line")
      budget=$(awk -v f="$file" -v k="$kv" 'BEGIN {printf "%.1f", f + k + 64}')
      ok=$(awk -v r="$rss" -v b="$budget" 'BEGIN {print (r <= b) ? "" : " OVER"}')
      DECODE["$shape/$t/$kern"]=$(field decode_tps "$line")
      amx=$(field prefill_amx_fraction "$line")
      [ "$(field amx_peak_gmacs "$line")" = 0.0 ] && amx=-
      printf '%-6s %-12s %9s %9s %10s %10s %10s %10s %10s %8s %8s %9s %8s %9s\n' "$t" "$kern" "$file" "$(field prefill_tps "$line")" \
        "$(field decode_tps "$line")" "$long" "$(field ttft_cold_ms "$line")" "$rss" "$budget$ok" \
        "$(field roofline_fraction "$line")" "$(field prefill_fma_fraction "$line")" "$(field prefill_int8_fraction "$line")" "$amx" \
        "$(field huge_mapped_mib "$line")"
      [ "$k" = default ] && best_kernel=$kern
    done
  done
  echo "machine (measured with the last row): read bandwidth $(field read_bandwidth_gbs "$line") GB/s, FP32 FMA peak $(field fma_peak_gmacs "$line") GMAC/s, int8 peak $(field int8_peak_gmacs "$line") GMAC/s, AMX peak $(field amx_peak_gmacs "$line") GMAC/s (0: no AMX) on $THREADS threads"
  ratio() { awk -v a="${DECODE[$1]:-0}" -v b="${DECODE[$2]:-0}" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }
  echo "decode ratios: q4/${types[0]} $(ratio "$shape/q4/$best_kernel" "$shape/${types[0]}/$best_kernel"), q8/${types[0]} $(ratio "$shape/q8/$best_kernel" "$shape/${types[0]}/$best_kernel"), q4 $best_kernel/avx2 $(ratio "$shape/q4/$best_kernel" "$shape/q4/avx2"), q4 $best_kernel/scalar $(ratio "$shape/q4/$best_kernel" "$shape/q4/scalar")"
done

# llama.cpp, side by side: each shape's float directory is the GGUF source.
HERE=$(cd "$(dirname "$0")" && pwd)
[ "${LLAMA_CPP:-1}" = 0 ] && exit 0
if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  echo "llama.cpp comparison skipped: node and npm are needed"
  exit 0
fi
NLC="$WORK/llama.cpp-npm"
if [ ! -d "$NLC/node_modules/@node-llama-cpp/linux-x64" ]; then
  mkdir -p "$NLC"
  # Only the CPU build (the optional GPU packages are large and unused).
  if ! (cd "$NLC" && npm install --silent --no-audit --no-fund --omit=optional \
        node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1 > /dev/null 2>&1); then
    echo "llama.cpp comparison skipped: npm install node-llama-cpp failed"
    exit 0
  fi
fi
cp "$HERE/llama_cpp_bench.mjs" "$NLC/"
r() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }
for shape in "${SHAPES[@]}"; do
  case "$shape" in
    llama-3.2-1b) src="$WORK/$shape-bf16"; pairs=(q4:q4_0 q8:q8_0 bf16:bf16); vocab=128256 ;;
    *) src="$WORK/$shape-f32"; pairs=(q4:q4_0 q8:q8_0 f32:f32); vocab=32000 ;;
  esac
  [ -f "$src/config.json" ] || continue
  echo "== $shape beside llama.cpp (node-llama-cpp 3.22.1), prefill $THREADS threads, decode 1 thread (best of 3), decode_1k 1 thread"
  printf '%-6s %-6s %11s %11s %7s %11s %11s %7s %11s %11s %7s %14s\n' mlxpack gguf "llama.cpp" mlxpack ratio "llama.cpp" mlxpack ratio \
    "llama.cpp" mlxpack ratio "llama.cpp"
  printf '%-6s %-6s %11s %11s %7s %11s %11s %7s %11s %11s %7s %14s\n' "" "" prefill/s prefill/s "" decode/s decode/s "" \
    decode_1k/s decode_1k/s "" "decode/s ${THREADS}t*"
  HUGE=()
  for pair in "${pairs[@]}"; do
    t=${pair%%:*} g=${pair##*:}
    gguf="$WORK/$shape-$g.gguf"
    [ -f "$gguf" ] || node "$HERE/make_gguf.mjs" "$src" "$gguf" "$g" > /dev/null
    pack="$WORK/$shape-$t.mlxpack"
    HUGE+=("$(huge_page_cache "$gguf" "$pack" | tr '\n' ' ')")
    lp=$(cd "$NLC" && node llama_cpp_bench.mjs "$gguf" --threads "$THREADS" --vocab "$vocab")
    l1=$(cd "$NLC" && node llama_cpp_bench.mjs "$gguf" --threads 1 --vocab "$vocab")
    ll=$(cd "$NLC" && node llama_cpp_bench.mjs "$gguf" --threads 1 --vocab "$vocab" --repeat 1 --prompt-tokens 1000 \
      --decode-tokens 24)
    mp=$("$BENCH" --model-root "$pack" --threads "$THREADS" --no-peaks)
    m1=$("$BENCH" --model-root "$pack" --threads 1 --no-peaks)
    ml=$("$BENCH" --model-root "$pack" --threads 1 --no-peaks --repeat 1 --prompt-tokens 1000 --decode-tokens 24)
    printf '%-6s %-6s %11s %11s %7s %11s %11s %7s %11s %11s %7s %14s\n' "$t" "$g" "$(field prefill_tps "$lp")" \
      "$(field prefill_tps "$mp")" "$(r "$(field prefill_tps "$mp")" "$(field prefill_tps "$lp")")" \
      "$(field decode_tps "$l1")" "$(field decode_tps "$m1")" "$(r "$(field decode_tps "$m1")" "$(field decode_tps "$l1")")" \
      "$(field decode_tps "$ll")" "$(field decode_tps "$ml")" "$(r "$(field decode_tps "$ml")" "$(field decode_tps "$ll")")" \
      "$(field decode_tps "$lp")"
  done
  echo "in 2 MiB pages before the runs: ${HUGE[*]}"
done
echo "ratio = mlxpack / llama.cpp; * llama.cpp starts its threads every decode step under node-llama-cpp (not its real multi-thread speed)"
