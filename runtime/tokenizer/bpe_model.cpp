#include "runtime/tokenizer/bpe_model.h"

#include <algorithm>
#include <queue>

#include "runtime/text/utf8.h"

namespace mlxpack::tokenizer {

namespace {

const std::string kEmpty;

const std::string kMetaspace = "\xE2\x96\x81";  // U+2581

// Above this many symbols the heap beats rescanning every pair per merge.
constexpr size_t kScanLimit = 48;

std::string byte_token(uint8_t b) {
  static const char* hex = "0123456789ABCDEF";
  return std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
}

}  // namespace

Result<std::unique_ptr<BpeModel>> BpeModel::from_json(const Json& model, const std::string& where,
                                                      const TokenizerLimits& limits) {
  std::unique_ptr<BpeModel> m(new BpeModel());
  MLXPACK_ASSIGN_OR_RETURN(const Json* vocab, required_object(model, "vocab", where));
  MLXPACK_ASSIGN_OR_RETURN(const Json* merges, required_array(model, "merges", where));
  if (vocab->size() > limits.max_vocab_size) {
    return field_error(where + ".vocab", "has " + std::to_string(vocab->size()) + " entries, more than the limit " +
                                             std::to_string(limits.max_vocab_size));
  }
  // Ids first, so the table is sized once and the map's keys (views of its
  // strings) never move.
  int64_t max_id = -1;
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 ||
        it->get<int64_t>() >= static_cast<int64_t>(limits.max_vocab_size)) {
      return field_error(where + ".vocab[\"" + it.key() + "\"]",
                         "id " + it->dump() + " is not an integer in [0, " + std::to_string(limits.max_vocab_size) + ")");
    }
    max_id = std::max(max_id, it->get<int64_t>());
  }
  m->id_to_token_.resize(static_cast<size_t>(max_id + 1));
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    const auto id = static_cast<size_t>(it->get<int64_t>());
    if (!m->id_to_token_[id].empty()) {
      return field_error(where + ".vocab", "id " + std::to_string(id) + " is given to both \"" + m->id_to_token_[id] +
                                               "\" and \"" + it.key() + "\"");
    }
    if (auto bad = text::find_invalid_utf8(it.key())) {
      return field_error(where + ".vocab", "a token is not valid UTF-8 (byte " + std::to_string(*bad) + ")");
    }
    // Decoding repeats a token's string for every occurrence of its id: a
    // 50 MB token would make each id 50 MB of output.
    if (it.key().size() > limits.max_token_bytes) {
      return field_error(where + ".vocab", "token with id " + std::to_string(id) + " is " +
                                               std::to_string(it.key().size()) + " bytes, more than the limit " +
                                               std::to_string(limits.max_token_bytes));
    }
    m->id_to_token_[id] = it.key();
  }
  m->token_to_id_.build(&m->id_to_token_);

  MLXPACK_ASSIGN_OR_RETURN(m->continuing_subword_prefix_,
                           optional_string(model, "continuing_subword_prefix", where, ""));
  MLXPACK_ASSIGN_OR_RETURN(m->end_of_word_suffix_, optional_string(model, "end_of_word_suffix", where, ""));
  MLXPACK_ASSIGN_OR_RETURN(m->byte_fallback_, optional_bool(model, "byte_fallback", where, false));
  MLXPACK_ASSIGN_OR_RETURN(m->fuse_unk_, optional_bool(model, "fuse_unk", where, false));
  MLXPACK_ASSIGN_OR_RETURN(m->ignore_merges_, optional_bool(model, "ignore_merges", where, false));
  MLXPACK_ASSIGN_OR_RETURN(std::string unk, optional_string(model, "unk_token", where, ""));
  if (!unk.empty()) {
    auto id = m->token_to_id(unk);
    if (!id) return field_error(where + ".unk_token", "\"" + unk + "\" is not in the vocabulary");
    m->unk_id_ = *id;
  }
  if (m->byte_fallback_) {
    m->byte_ids_.resize(256);
    for (int b = 0; b < 256; ++b) {
      auto id = m->token_to_id(byte_token(static_cast<uint8_t>(b)));
      if (!id) {  // the reference falls back to unk when a byte token is missing
        m->byte_ids_.clear();
        break;
      }
      m->byte_ids_[b] = *id;
    }
  }

  m->merges_.reserve(merges->size());
  std::string joined;
  for (size_t rank = 0; rank < merges->size(); ++rank) {
    const Json& entry = (*merges)[rank];
    std::string left;
    std::string right;
    // Built only for a message: 280,000 merges are common.
    auto path = [&] { return where + ".merges[" + std::to_string(rank) + "]"; };
    if (entry.is_string()) {
      const std::string& s = entry.get_ref<const std::string&>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        return field_error(path(), "\"" + s + "\" is not two tokens separated by one space");
      }
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else if (entry.is_array() && entry.size() == 2 && entry[0].is_string() && entry[1].is_string()) {
      left = entry[0].get<std::string>();
      right = entry[1].get<std::string>();
    } else {
      return field_error(path(), "expected \"a b\" or [\"a\", \"b\"], got " + entry.dump());
    }
    auto a = m->token_to_id(left);
    auto b = m->token_to_id(right);
    joined.assign(left).append(right);
    auto ab = m->token_to_id(joined);
    if (!a || !b || !ab) {
      return field_error(path(), "merge \"" + left + "\" + \"" + right + "\" uses a token that is not in the vocabulary");
    }
    // A pair listed twice keeps its last rank, as in both reference
    // implementations (they build their maps by inserting in order).
    m->merges_.insert(pair_key(*a, *b), MergeTarget{static_cast<int32_t>(rank), *ab});
  }

  // See next_independent_part(): safe only if no token has "▁" right after a
  // character other than "▁", and there are no affixes.
  if (m->continuing_subword_prefix_.empty() && m->end_of_word_suffix_.empty() && m->token_to_id(kMetaspace)) {
    bool safe = true;
    for (const std::string& t : m->id_to_token_) {
      for (size_t pos = t.find(kMetaspace, 1); pos != std::string::npos && safe; pos = t.find(kMetaspace, pos + 1)) {
        if (pos < kMetaspace.size() || t.compare(pos - kMetaspace.size(), kMetaspace.size(), kMetaspace) != 0) safe = false;
      }
      if (!safe) break;
    }
    m->split_at_metaspace_ = safe;
  }

  if (m->continuing_subword_prefix_.empty() && m->end_of_word_suffix_.empty()) {
    m->bmp_char_id_.assign(0x10000, -1);
    for (size_t id = 0; id < m->id_to_token_.size(); ++id) {
      const std::string& t = m->id_to_token_[id];
      if (t.empty() || t.size() > 3) continue;
      size_t pos = 0;
      char32_t cp;
      if (text::decode_next(t, &pos, &cp) && pos == t.size() && cp < 0x10000) {
        m->bmp_char_id_[cp] = static_cast<int32_t>(id);
      }
    }
  }
  return m;
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  const int32_t id = token_to_id_.find(token);
  if (id < 0) return std::nullopt;
  return id;
}

const std::string& BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) return kEmpty;
  return id_to_token_[static_cast<size_t>(id)];
}

const BpeModel::MergeTarget* BpeModel::find_merge(int32_t a, int32_t b) const {
  return merges_.find(pair_key(a, b));
}

std::optional<int32_t> BpeModel::char_id(std::string_view ch, char32_t cp) const {
  if (!bmp_char_id_.empty() && cp < 0x10000) {
    const int32_t id = bmp_char_id_[cp];
    if (id < 0) return std::nullopt;
    return id;
  }
  return token_to_id(ch);
}

void BpeModel::initial_symbols(std::string_view piece, std::vector<Symbol>* symbols) const {
  symbols->clear();
  bool last_was_unk = false;
  auto push = [&](int32_t id) {
    const auto index = static_cast<int32_t>(symbols->size());
    symbols->push_back(Symbol{id, index - 1, index + 1, 1});
  };
  const bool affixes = !continuing_subword_prefix_.empty() || !end_of_word_suffix_.empty();
  std::string scratch;
  size_t i = 0;
  while (i < piece.size()) {
    const size_t begin = i;
    char32_t cp;
    if (!text::decode_next(piece, &i, &cp)) {  // not reachable for validated text
      cp = 0xFFFD;
      i = begin + 1;
    }
    std::string_view ch = piece.substr(begin, i - begin);
    std::optional<int32_t> id;
    if (affixes) {
      scratch.assign(begin > 0 ? continuing_subword_prefix_ : std::string());
      scratch.append(ch);
      if (i == piece.size()) scratch += end_of_word_suffix_;
      id = token_to_id(scratch);
    } else {
      id = char_id(ch, cp);
    }
    if (id) {
      push(*id);
      last_was_unk = false;
      continue;
    }
    if (byte_fallback_ && !byte_ids_.empty()) {
      for (char c : ch) push(byte_ids_[static_cast<uint8_t>(c)]);
      last_was_unk = false;
      continue;
    }
    if (unk_id_) {
      if (!(fuse_unk_ && last_was_unk)) push(*unk_id_);
      last_was_unk = true;
    }
    // No unk token: the character is dropped, as in the reference.
  }
  if (!symbols->empty()) symbols->back().next = -1;
}

void BpeModel::merge_scan(std::vector<Symbol>* symbols) const {
  // Symbols are kept dense (erase on merge): cheap for short pieces.
  std::vector<int32_t> ids;
  ids.reserve(symbols->size());
  for (const Symbol& s : *symbols) ids.push_back(s.id);
  for (;;) {
    int32_t best_rank = INT32_MAX;
    size_t best = 0;
    int32_t best_id = 0;
    for (size_t k = 0; k + 1 < ids.size(); ++k) {
      const MergeTarget* t = find_merge(ids[k], ids[k + 1]);
      if (t && t->rank < best_rank) {
        best_rank = t->rank;
        best = k;
        best_id = t->id;
      }
    }
    if (best_rank == INT32_MAX) break;
    ids[best] = best_id;
    ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
  symbols->clear();
  for (int32_t id : ids) symbols->push_back(Symbol{id, 0, 0, 1});
}

void BpeModel::merge_heap(std::vector<Symbol>* symbols) const {
  // 16 bytes per candidate: the merge target is looked up again when a
  // candidate is popped, which keeps a 10 MB piece within a few hundred MB.
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t left_id;
    int32_t right_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::vector<Symbol>& sym = *symbols;
  std::vector<Candidate> storage;
  storage.reserve(sym.size());
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue(std::greater<Candidate>(),
                                                                                      std::move(storage));
  auto consider = [&](int32_t left) {
    if (left < 0) return;
    const int32_t right = sym[static_cast<size_t>(left)].next;
    if (right < 0) return;
    const MergeTarget* t = find_merge(sym[static_cast<size_t>(left)].id, sym[static_cast<size_t>(right)].id);
    if (t) queue.push({t->rank, left, sym[static_cast<size_t>(left)].id, sym[static_cast<size_t>(right)].id});
  };
  for (size_t k = 0; k + 1 < sym.size(); ++k) consider(static_cast<int32_t>(k));
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = sym[static_cast<size_t>(c.pos)];
    // Stale entries: the left symbol was merged away or changed, or its right
    // neighbour is no longer the one this candidate was made for.
    if (!left.alive || left.id != c.left_id || left.next < 0) continue;
    Symbol& right = sym[static_cast<size_t>(left.next)];
    if (right.id != c.right_id) continue;
    left.id = find_merge(c.left_id, c.right_id)->id;
    right.alive = 0;
    left.next = right.next;
    if (left.next >= 0) sym[static_cast<size_t>(left.next)].prev = c.pos;
    consider(left.prev);
    consider(c.pos);
  }
  std::vector<Symbol> kept;
  for (int32_t k = sym.empty() ? -1 : 0; k >= 0; k = sym[static_cast<size_t>(k)].next) kept.push_back(sym[static_cast<size_t>(k)]);
  sym = std::move(kept);
}

std::string_view BpeModel::next_independent_part(std::string_view piece, size_t* from) const {
  const size_t start = *from;
  if (split_at_metaspace_) {
    for (size_t pos = piece.find(kMetaspace, start + 1); pos != std::string_view::npos;
         pos = piece.find(kMetaspace, pos + 1)) {
      // A boundary where "▁" follows a character that is not "▁".
      const bool after_metaspace =
          pos >= kMetaspace.size() && piece.compare(pos - kMetaspace.size(), kMetaspace.size(), kMetaspace) == 0;
      if (!after_metaspace) {
        *from = pos;
        return piece.substr(start, pos - start);
      }
    }
  }
  *from = piece.size();
  return piece.substr(start);
}

void BpeModel::tokenize(std::string_view piece, std::vector<int32_t>* ids) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    if (auto id = token_to_id(piece)) {
      ids->push_back(*id);
      return;
    }
  }
  std::vector<Symbol> symbols;
  initial_symbols(piece, &symbols);
  if (symbols.size() <= kScanLimit) {
    merge_scan(&symbols);
  } else {
    merge_heap(&symbols);
  }
  for (const Symbol& s : symbols) ids->push_back(s.id);
}

}  // namespace mlxpack::tokenizer
