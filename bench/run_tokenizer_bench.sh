#!/usr/bin/env bash
# Tokenizer benchmark: load time and single-thread encode/decode speed of
# mlxpack's tokenizer beside the Hugging Face JavaScript implementation
# (@huggingface/tokenizers, the reference of the tokenizer tests), measured
# one after the other in this run on the same text; ratios are printed.
#
#   bench/run_tokenizer_bench.sh [BUILD_DIR] [WORK_DIR] [MEGABYTES]
#
# The text is English prose: the license texts Debian ships in
# /usr/share/common-licenses, repeated to MEGABYTES (default 5). Both
# implementations cache word pieces, so repetition helps both alike.
# Needs node and npm; installs @huggingface/tokenizers into WORK_DIR.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BUILD=${1:-build}
build_targets "$BUILD" tokenizer_bench
WORK=${2:-/tmp/mlxpack-tokbench}
MB=${3:-5}
DATA=${MLXPACK_TEST_DATA:-../shared}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$WORK"
TEXT="$WORK/english-${MB}mb.txt"
if [ ! -f "$TEXT" ]; then
  : > "$TEXT"
  while [ "$(stat -c %s "$TEXT")" -lt $((MB * 1000000)) ]; do
    cat /usr/share/common-licenses/{GPL-3,Apache-2.0,MPL-2.0,LGPL-2.1,GFDL-1.3,Artistic} >> "$TEXT"
  done
  truncate -s $((MB * 1000000)) "$TEXT"
  # Do not end inside a UTF-8 sequence (the texts are ASCII, but be safe).
  iconv -f utf-8 -t utf-8 -c "$TEXT" -o "$TEXT.tmp" && mv "$TEXT.tmp" "$TEXT"
fi
if [ ! -d "$WORK/node_modules/@huggingface/tokenizers" ]; then
  (cd "$WORK" && npm install --silent --no-audit --no-fund @huggingface/tokenizers@0.2.0 > /dev/null)
fi
printf '%-8s %-26s %10s %10s %12s %12s\n' tokenizer implementation load_ms tokens encode_MB/s decode_MB/s
for name in llama3 qwen3 mistral; do
  dir="$DATA/tokenizers/$name"
  ours=$("$BUILD/bench/tokenizer_bench" --model-root "$dir" --text "$TEXT" --repeat 3 | tail -1)
  ref=$(node "$HERE/tokenizer_bench_reference.mjs" "$WORK" "$dir" "$TEXT" 3)
  for line in "$ours" "$ref"; do
    node -e '
      const r = JSON.parse(process.argv[1]);
      console.log([process.argv[2].padEnd(8), r.impl.padEnd(26), String(r.load_ms).padStart(10),
                   String(r.tokens).padStart(10), r.encode_mb_s.toFixed(2).padStart(12),
                   r.decode_mb_s.toFixed(2).padStart(12)].join(" "));' "$line" "$name"
  done
  node -e '
    const a = JSON.parse(process.argv[1]), b = JSON.parse(process.argv[2]);
    const same = a.tokens === b.tokens && a.ids_fnv1a === b.ids_fnv1a ? "same ids (count and FNV-1a checksum)"
               : `IDS DIFFER: ${a.tokens} tokens (checksum ${a.ids_fnv1a}) vs ${b.tokens} (${b.ids_fnv1a})`;
    console.log(`${process.argv[3]}: encode speed ratio mlxpack/reference ${(a.encode_mb_s / b.encode_mb_s).toFixed(2)}, ` +
                `load time ratio ${(a.load_ms / b.load_ms).toFixed(2)}; ${same}`);' "$ours" "$ref" "$name"
done
