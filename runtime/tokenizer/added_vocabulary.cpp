#include "runtime/tokenizer/added_vocabulary.h"

#include "runtime/text/unicode.h"
#include "runtime/text/utf8.h"

namespace mlxpack::tokenizer {

namespace {

bool is_word_char(char32_t cp) { return cp == '_' || text::is_letter(cp) || text::is_number(cp); }

// The code point ending just before `pos` (pos > 0) and its start.
char32_t codepoint_before(std::string_view s, size_t pos, size_t* start) {
  size_t b = pos - 1;
  while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
  size_t p = b;
  char32_t cp = 0xFFFD;
  if (!text::decode_next(s, &p, &cp)) cp = 0xFFFD;
  *start = b;
  return cp;
}

}  // namespace

void AddedVocabulary::build(std::vector<AddedToken> tokens, const std::vector<std::string>& match_content) {
  tokens_ = std::move(tokens);
  raw_ = Trie();
  normalized_ = Trie();
  raw_.add_node();
  normalized_.add_node();
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const std::string& s = match_content[i];
    if (s.empty()) continue;
    Trie& trie = tokens_[i].normalized ? normalized_ : raw_;
    int32_t node = 0;
    for (unsigned char c : s) {
      const uint64_t key = (static_cast<uint64_t>(node) << 8) | c;
      auto it = trie.edges.find(key);
      if (it == trie.edges.end()) {
        const int32_t child = trie.add_node();
        trie.edges.emplace(key, child);
        node = child;
      } else {
        node = it->second;
      }
    }
    trie.first_bytes.set(static_cast<unsigned char>(s[0]));
    if (trie.token_at[static_cast<size_t>(node)] < 0) trie.token_at[static_cast<size_t>(node)] = static_cast<int32_t>(i);
  }
}

bool AddedVocabulary::longest_match(const Trie& trie, std::string_view text, size_t pos, int32_t* token,
                                    size_t* length) const {
  int32_t node = 0;
  bool found = false;
  for (size_t j = pos; j < text.size(); ++j) {
    auto it = trie.edges.find((static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(text[j]));
    if (it == trie.edges.end()) break;
    node = it->second;
    const int32_t t = trie.token_at[static_cast<size_t>(node)];
    if (t >= 0) {
      *token = t;
      *length = j + 1 - pos;
      found = true;
    }
  }
  return found;
}

void AddedVocabulary::split(std::string_view text, bool normalized_class, std::vector<Segment>* out) const {
  out->clear();
  const Trie& trie = normalized_class ? normalized_ : raw_;
  size_t text_start = 0;  // start of the pending plain-text segment
  size_t pos = 0;
  while (pos < text.size()) {
    int32_t token = -1;
    size_t length = 0;
    if (!trie.first_bytes.test(static_cast<unsigned char>(text[pos])) ||
        !longest_match(trie, text, pos, &token, &length)) {
      ++pos;
      continue;
    }
    const AddedToken& t = tokens_[static_cast<size_t>(token)];
    size_t begin = pos;
    size_t end = pos + length;
    if (t.single_word) {
      size_t before_start = 0;
      const bool word_before = begin > 0 && is_word_char(codepoint_before(text, begin, &before_start));
      bool word_after = false;
      if (end < text.size()) {
        size_t p = end;
        char32_t cp;
        word_after = text::decode_next(text, &p, &cp) && is_word_char(cp);
      }
      if (word_before || word_after) {
        ++pos;
        continue;
      }
    }
    if (t.lstrip) {
      while (begin > text_start) {
        size_t start = 0;
        if (!text::is_whitespace(codepoint_before(text, begin, &start))) break;
        begin = start;
      }
    }
    if (t.rstrip) {
      while (end < text.size()) {
        size_t p = end;
        char32_t cp;
        if (!text::decode_next(text, &p, &cp) || !text::is_whitespace(cp)) break;
        end = p;
      }
    }
    if (begin > text_start) out->push_back({text_start, begin, -1});
    out->push_back({begin, end, token});
    pos = end;
    text_start = end;
  }
  if (text.size() > text_start) out->push_back({text_start, text.size(), -1});
}

}  // namespace mlxpack::tokenizer
