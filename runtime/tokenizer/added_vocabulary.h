// Added tokens of tokenizer.json ("added_tokens"): strings such as
// "<|eot_id|>" that are matched in the text before any other processing and
// map to one id each. Matching is leftmost-longest, as in the reference;
// lstrip/rstrip swallow neighbouring whitespace; single_word matches only
// whole words. Tokens with normalized=false are matched in the raw text,
// the others in the normalized text.
#ifndef MLXPACK_RUNTIME_TOKENIZER_ADDED_VOCABULARY_H_
#define MLXPACK_RUNTIME_TOKENIZER_ADDED_VOCABULARY_H_

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mlxpack::tokenizer {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

struct Segment {
  size_t begin;
  size_t end;
  int32_t token = -1;  // index into tokens(), or -1 for plain text
};

class AddedVocabulary {
 public:
  // `match_content[i]` is the string to look for for tokens[i] (its content,
  // or for normalized tokens its normalized content).
  void build(std::vector<AddedToken> tokens, const std::vector<std::string>& match_content);

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  bool empty() const { return tokens_.empty(); }

  // Splits `text` into plain-text segments and matches of the tokens whose
  // `normalized` flag equals `normalized_class`. Empty text segments are
  // omitted; the segments cover `text` except swallowed whitespace.
  void split(std::string_view text, bool normalized_class, std::vector<Segment>* out) const;

 private:
  struct Trie {
    std::unordered_map<uint64_t, int32_t> edges;  // (node << 8 | byte) -> child
    std::vector<int32_t> token_at;                 // node -> token index or -1
    std::bitset<256> first_bytes;
    int32_t add_node() {
      token_at.push_back(-1);
      return static_cast<int32_t>(token_at.size() - 1);
    }
  };
  // Longest token of `trie` starting at text[pos]: its index and length.
  bool longest_match(const Trie& trie, std::string_view text, size_t pos, int32_t* token, size_t* length) const;

  std::vector<AddedToken> tokens_;
  Trie raw_;
  Trie normalized_;
};

}  // namespace mlxpack::tokenizer

#endif  // MLXPACK_RUNTIME_TOKENIZER_ADDED_VOCABULARY_H_
