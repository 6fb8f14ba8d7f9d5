// The BPE model of tokenizer.json ("model": {"type": "BPE", ...}): a
// vocabulary, ranked merges, and what to do with characters outside the
// vocabulary (byte_fallback to <0xXX> tokens, or the unk token, fused when
// fuse_unk). ignore_merges emits a piece found whole in the vocabulary as is.
//
// Merging follows the reference exactly: repeatedly merge the adjacent pair
// of lowest merge rank, leftmost first. Short pieces use a scan, long ones a
// heap over a linked list (O(n log n)), so one 10 MB piece is still linear-ish.
#ifndef MLXPACK_RUNTIME_TOKENIZER_BPE_MODEL_H_
#define MLXPACK_RUNTIME_TOKENIZER_BPE_MODEL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mlxpack/status.h"
#include "mlxpack/tokenizer.h"
#include "runtime/tokenizer/flat_map.h"
#include "format/json_fields.h"

namespace mlxpack::tokenizer {

class BpeModel {
 public:
  // `model` is tokenizer.json's "model" object. InvalidArgument names the
  // field or merge at fault; vocab ids must be in [0, limits.max_vocab_size).
  static Result<std::unique_ptr<BpeModel>> from_json(const Json& model, const std::string& where,
                                                     const TokenizerLimits& limits);

  // Appends the ids of one pre-tokenized piece to `ids`.
  void tokenize(std::string_view piece, std::vector<int32_t>* ids) const;

  // Parts of `piece` whose tokenizations, concatenated, equal the
  // tokenization of `piece`, one at a time: returns the part that starts at
  // byte *from and advances *from past it; start at 0 and stop when *from
  // reaches piece.size(). The part is the rest of `piece` when no split is
  // provably safe. SentencePiece-style files have no pre-tokenizer, so the
  // whole text is one piece; but when no vocabulary token contains "▁" after
  // another character (checked at load), no merge can cross a point where
  // "▁" follows a non-"▁" character, so the text splits there exactly. This
  // turns one O(n log n) merge over the whole text into cached word-sized
  // ones, in constant memory.
  std::string_view next_independent_part(std::string_view piece, size_t* from) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // "" for an id with no vocabulary entry.
  const std::string& id_to_token(int32_t id) const;
  // Largest id + 1.
  size_t size() const { return id_to_token_.size(); }

 private:
  using MergeTarget = MergeMap::Target;
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    int32_t alive;  // 0 once merged into its left neighbour
  };

  BpeModel() = default;
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  const MergeTarget* find_merge(int32_t a, int32_t b) const;
  void initial_symbols(std::string_view piece, std::vector<Symbol>* symbols) const;
  void merge_scan(std::vector<Symbol>* symbols) const;
  void merge_heap(std::vector<Symbol>* symbols) const;
  std::optional<int32_t> char_id(std::string_view ch, char32_t cp) const;

  std::vector<std::string> id_to_token_;
  TokenIdMap token_to_id_;
  MergeMap merges_;
  std::vector<int32_t> bmp_char_id_;  // id of each single-BMP-code-point token, -1 if none
  std::optional<int32_t> unk_id_;
  std::vector<int32_t> byte_ids_;     // <0xXX> ids when byte_fallback (all 256 or empty)
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  bool split_at_metaspace_ = false;
};

}  // namespace mlxpack::tokenizer

#endif  // MLXPACK_RUNTIME_TOKENIZER_BPE_MODEL_H_
