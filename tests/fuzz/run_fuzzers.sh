#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for
# SECONDS (default 60). Seeds: packs made from the shared models and from
# generated fixtures, the shared safetensors files and config files, and the
# regression inputs under tests/fuzz/regressions/. The corpus grows in
# BUILD_DIR/corpus/ across runs. Exits non-zero if any target finds a crash,
# leak, hang or sanitizer report (the input is left in BUILD_DIR/artifacts/).
# SEED_TOOLS=DIR takes the seeds' mlxpack and make_synthetic_model from an
# existing build (scripts/test.sh passes its own) instead of building them
# with the fuzzing flags: the CLI is two fifths of that build.
#   tests/fuzz/run_fuzzers.sh [SECONDS] [BUILD_DIR] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET=${1:-60}
BUILD=${2:-build-fuzz}
shift $(( $# > 2 ? 2 : $# )) || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(fuzz_loader fuzz_safetensors fuzz_config fuzz_shard_index fuzz_recipe
  fuzz_tokenizer_json fuzz_encode fuzz_template fuzz_gguf fuzz_torch_pickle fuzz_lora_adapter fuzz_tiktoken)
DATA=${MLXPACK_TEST_DATA:-../shared}

CLANG=$(command -v clang++-14 || command -v clang++ || true)
[ -n "$CLANG" ] || { echo "clang++ is needed for fuzzing (apt-get install clang-14 libclang-rt-14-dev)"; exit 2; }
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$CLANG" \
  -DCMAKE_C_COMPILER="${CLANG/++/}" -DMLXPACK_FUZZ=ON -DMLXPACK_BUILD_TESTS=OFF > /dev/null
TOOLS=${SEED_TOOLS:-$BUILD}
if [ -n "${SEED_TOOLS:-}" ]; then
  [ -x "$TOOLS/cli/mlxpack" ] && [ -x "$TOOLS/bench/make_synthetic_model" ] ||
    { echo "SEED_TOOLS=$TOOLS has no cli/mlxpack or bench/make_synthetic_model"; exit 2; }
  cmake --build "$BUILD" -j"${JOBS:-2}" --target "${TARGETS[@]}" > /dev/null
else
  cmake --build "$BUILD" -j"${JOBS:-2}" --target "${TARGETS[@]}" mlxpack make_synthetic_model > /dev/null
fi

# Seeds.
SEEDS="$BUILD/seeds"
rm -rf "$SEEDS" && mkdir -p "$SEEDS"/{fuzz_loader,fuzz_safetensors,fuzz_config,fuzz_shard_index,fuzz_recipe,fuzz_tokenizer_json,fuzz_encode,fuzz_template,fuzz_gguf,fuzz_torch_pickle,fuzz_lora_adapter,fuzz_tiktoken}
MLXPACK="$TOOLS/cli/mlxpack"
if [ -d "$DATA/models" ]; then
  "$MLXPACK" pack --force "$DATA/models/stories260K" "$SEEDS/fuzz_loader/stories.mlxpack" > /dev/null
  "$MLXPACK" pack --force "$DATA/models/stories260K-sharded" "$SEEDS/fuzz_loader/sharded.mlxpack" > /dev/null
  cp "$DATA"/safetensors-samples/*.safetensors "$SEEDS/fuzz_safetensors/"
  cp "$DATA/models/stories260K-sharded/model-00001-of-00002.safetensors" "$SEEDS/fuzz_safetensors/"
  cp "$DATA/models/stories260K-sharded/model.safetensors.index.json" "$SEEDS/fuzz_shard_index/stories.json"
  i=0
  for f in "$DATA"/models/*/config.json "$DATA"/tokenizers/*/tokenizer_config.json "$DATA"/models/*/generation_config.json; do
    [ -f "$f" ] && cp "$f" "$SEEDS/fuzz_config/seed$((i++)).json"
  done
  cp "$DATA/models/stories260K/tokenizer.json" "$SEEDS/fuzz_tokenizer_json/stories.json"
  cp "$DATA/models/stories260K-gguf/stories260K.gguf" "$SEEDS/fuzz_gguf/"
  cp "$DATA"/reference/chat/templates/*.json "$SEEDS/fuzz_template/"
  for f in "$DATA"/tokenizers/*/tokenizer_config.json; do
    cp "$f" "$SEEDS/fuzz_template/$(basename "$(dirname "$f")").json"
  done
fi
printf 'Hello world, h\xc3\xa9llo \xe4\xb8\xad\xe6\x96\x87 <|end|>\n\n  the  cat ab aab\t42\xf0\x9f\x98\x80' > "$SEEDS/fuzz_encode/mixed.txt"

# A small generated model (F16, two layers) with a compressible tokenizer file.
SMALL="$BUILD/seed-model"
rm -rf "$SMALL"
"$TOOLS/bench/make_synthetic_model" --shape tiny --dtype f16 -o "$SMALL" > /dev/null
printf '%0200d' 0 > "$SMALL/tokenizer.json"
"$MLXPACK" pack --force "$SMALL" "$SEEDS/fuzz_loader/small.mlxpack" > /dev/null
"$MLXPACK" pack --force --alignment 4096 "$SMALL" "$SEEDS/fuzz_loader/small-4k.mlxpack" > /dev/null
cp "$SMALL/model.safetensors" "$SEEDS/fuzz_safetensors/tiny.safetensors"

printf '{"metadata":{"total_size":27},"weight_map":{"a.weight":"model-00001-of-00002.safetensors","b.weight":"model-00001-of-00002.safetensors","c.weight":"model-00002-of-00002.safetensors"}}' \
  > "$SEEDS/fuzz_shard_index/valid.json"
printf '{"default":{"bits":4,"group_size":64},"overrides":[{"pattern":"*.q_proj","bits":8},{"pattern":"lm_head","quantize":false}]}' \
  > "$SEEDS/fuzz_recipe/recipe.json"

# Targets that need a scratch file put it under TMPDIR; keep those in a
# directory of ours so nothing is left behind in /tmp, even after a crash.
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
export TMPDIR="$SCRATCH"

status=0
for t in "${TARGETS[@]}"; do
  corpus="$BUILD/corpus/$t"
  mkdir -p "$corpus" "$BUILD/artifacts/$t"
  echo "== $t for ${SECONDS_PER_TARGET}s"
  if ! "$BUILD/tests/fuzz/$t" "$corpus" "$SEEDS/$t" "tests/fuzz/regressions/$t" \
      -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len="${MAX_LEN:-1048576}" \
      -artifact_prefix="$BUILD/artifacts/$t/" -print_final_stats=1 > "$BUILD/$t.log" 2>&1; then
    echo "$t FAILED: see $BUILD/$t.log and $BUILD/artifacts/$t/"
    tail -40 "$BUILD/$t.log"
    status=1
  fi
  grep -E "stat::number_of_executed_units|cov:" "$BUILD/$t.log" | tail -2 || true
done
exit $status
