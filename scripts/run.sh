#!/usr/bin/env bash
# The main job: installs what is missing, builds, then packs a model, shows
# what is in the pack, verifies it, extracts it back (checking that every
# file comes back byte for byte), converts it to MLX 4-bit, tokenizes a
# prompt with the pack's own tokenizer, renders a chat template, and
# generates text from the pack and from its 4-bit conversion.
#   scripts/run.sh [MODEL_DIR]
# MODEL_DIR defaults to ../shared/models/stories260K when present; with no
# model at hand, a small synthetic one (random weights, byte-level tokenizer)
# is generated, so its generated text is noise.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build build -j"${JOBS:-2}" --target mlxpack make_synthetic_model
MLXPACK=build/cli/mlxpack
OUT=${OUT:-out}
mkdir -p "$OUT"

MODEL=${1:-}
if [ -z "$MODEL" ] && [ -d ../shared/models/stories260K ]; then MODEL=../shared/models/stories260K; fi
if [ -z "$MODEL" ]; then
  MODEL="$OUT/synthetic-model"
  build/bench/make_synthetic_model --shape tiny --dtype f32 --byte-tokenizer -o "$MODEL"
fi

echo "== mlxpack pack $MODEL $OUT/model.mlxpack"
"$MLXPACK" pack --force "$MODEL" "$OUT/model.mlxpack"
echo "== mlxpack info $OUT/model.mlxpack"
"$MLXPACK" info "$OUT/model.mlxpack"
echo "== mlxpack verify $OUT/model.mlxpack"
"$MLXPACK" verify "$OUT/model.mlxpack"
echo "== mlxpack extract $OUT/model.mlxpack $OUT/extracted"
"$MLXPACK" extract --force "$OUT/model.mlxpack" "$OUT/extracted"
for f in "$OUT/extracted"/*; do
  cmp "$f" "$MODEL/$(basename "$f")"
done
echo "all $(ls "$OUT/extracted" | wc -l) files restored byte for byte"
echo "== mlxpack convert -q --report $OUT/model.mlxpack $OUT/model-4bit.mlxpack"
"$MLXPACK" convert --force -q --report "$OUT/model.mlxpack" "$OUT/model-4bit.mlxpack" | tail -n 12
"$MLXPACK" info "$OUT/model-4bit.mlxpack" | sed -n '1,20p'
echo "== mlxpack tokenize --special -m $OUT/model.mlxpack (then --json)"
"$MLXPACK" tokenize --special -m "$OUT/model.mlxpack" "Once upon a time, there was a little cat."
"$MLXPACK" tokenize --json -m "$OUT/model.mlxpack" "Once upon a time" | head -n 12
IDS=$("$MLXPACK" tokenize -m "$OUT/model.mlxpack" "Once upon a time" | tr -d '[]')
echo "== mlxpack tokenize --decode \"$IDS\""
"$MLXPACK" tokenize -m "$OUT/model.mlxpack" --decode "$IDS"
# The model may have no chat template (stories260K is not chat-tuned): render
# a Llama 3 style one given as a file.
cat > "$OUT/context.json" <<'JSON'
{"messages": [{"role": "system", "content": "You tell short stories."},
              {"role": "user", "content": "Tell me about a cat."}],
 "add_generation_prompt": true}
JSON
TEMPLATE=../shared/tokenizers/llama3/tokenizer_config.json
if [ ! -f "$TEMPLATE" ]; then
  TEMPLATE="$OUT/chat_template.jinja"
  printf '%s' "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>{{ m.content | trim }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}" > "$TEMPLATE"
fi
echo "== mlxpack template --template $TEMPLATE --context $OUT/context.json"
"$MLXPACK" template --template "$TEMPLATE" --context "$OUT/context.json"
echo
echo "== mlxpack run -m $OUT/model.mlxpack --no-chat-template --prompt \"Once upon a time\" -n 80"
"$MLXPACK" run -m "$OUT/model.mlxpack" --no-chat-template --prompt "Once upon a time" -n 80 --threads 2
echo "== the same prompt, 4-bit pack, per-stage timings"
"$MLXPACK" run -m "$OUT/model-4bit.mlxpack" --no-chat-template --prompt "Once upon a time" -n 80 --threads 2 --verbose
EXPECTED="$MODEL/expected/greedy_ids_from_bos.txt"
if [ -f "$EXPECTED" ]; then
  N=$(tr ',' '\n' < "$EXPECTED" | grep -c .)
  BOS=$(sed -n 's/.*"bos_token_id": *\([0-9]*\).*/\1/p' "$MODEL/config.json" | head -n 1)
  echo "== mlxpack run --prompt-ids $BOS --output-ids -n $N: compared with $EXPECTED"
  GOT=$("$MLXPACK" run -m "$OUT/model.mlxpack" --prompt-ids "$BOS" --output-ids -n "$N" --threads 2 2> /dev/null)
  if [ "$(tr -d ' \n' <<< "$GOT")" = "$(tr -d ' \n' < "$EXPECTED")" ]; then
    echo "all $N greedy ids match the independent implementation's"
  else
    echo "greedy ids differ from $EXPECTED" >&2
    exit 1
  fi
fi
