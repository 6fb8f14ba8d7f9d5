#include "convert/gguf/gguf_tokenizer.h"

#include <algorithm>
#include <tuple>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <vector>

#include "format/names.h"

namespace mlxpack {

namespace {

using nlohmann::json;
using ordered_json = nlohmann::ordered_json;

// llama.cpp's token types (llama_token_type).
enum TokenType : int64_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

constexpr uint64_t kMaxVocab = uint64_t{1} << 22;
// llama.cpp writes -1 (as u32) for "no such token" in older files.
constexpr uint64_t kNoToken = 0xffffffffu;

struct Vocab {
  std::vector<std::string> tokens;
  std::vector<int64_t> types;
  std::unordered_map<std::string, int64_t> ids;
};

Result<Vocab> read_vocab(const GgufMetadata& meta) {
  Vocab v;
  MLXPACK_ASSIGN_OR_RETURN(const GgufValue* tokens, meta.array("tokenizer.ggml.tokens", GgufType::kString, {}));
  const uint64_t n = tokens->size();
  if (n == 0 || n > kMaxVocab) {
    return meta.invalid("tokenizer.ggml.tokens", std::to_string(n) + " tokens (1 to " + std::to_string(kMaxVocab) + ")");
  }
  v.tokens = tokens->strings;
  v.types.assign(n, kNormal);
  if (meta.find("tokenizer.ggml.token_type") != nullptr) {
    MLXPACK_ASSIGN_OR_RETURN(const GgufValue* types, meta.array("tokenizer.ggml.token_type", GgufType::kI64, n));
    for (uint64_t i = 0; i < n; ++i) {
      v.types[i] = types->ints[i];
      if (v.types[i] < kNormal || v.types[i] > kByte) {
        return meta.invalid("tokenizer.ggml.token_type",
                            "token " + std::to_string(i) + " has type " + std::to_string(v.types[i]) + " (1 to 6)");
      }
    }
  }
  v.ids.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    if (!is_valid_utf8(v.tokens[i])) {
      return meta.invalid("tokenizer.ggml.tokens", "token " + std::to_string(i) + " is not valid UTF-8");
    }
    auto [it, fresh] = v.ids.emplace(v.tokens[i], static_cast<int64_t>(i));
    if (!fresh) {
      return meta.invalid("tokenizer.ggml.tokens", "token " + std::to_string(i) + " (" + printable(v.tokens[i]) +
                                                       ") repeats token " + std::to_string(it->second));
    }
  }
  return v;
}

// An id key: absent, or the "none" value, or an id in the vocabulary.
Result<std::optional<uint64_t>> token_id(const GgufMetadata& meta, const char* key, uint64_t n) {
  MLXPACK_ASSIGN_OR_RETURN(std::optional<uint64_t> id, meta.optional_uint(key, 0, UINT64_MAX));
  if (!id || *id == kNoToken) return std::optional<uint64_t>();
  if (*id >= n) {
    return meta.invalid(key, "token id " + std::to_string(*id) + " is outside the vocabulary of " + std::to_string(n));
  }
  return id;
}

// Appends to an object without ordered_json's linear search for an existing
// key (quadratic over a 150k-token vocabulary); keys are unique already.
void append_unique(ordered_json* object, const std::string& key, ordered_json value) {
  object->get_ref<ordered_json::object_t&>().emplace_back(key, std::move(value));
}

ordered_json added_token(int64_t id, const std::string& content, bool special) {
  return ordered_json{{"id", id},           {"content", content}, {"single_word", false}, {"lstrip", false},
                      {"rstrip", false},    {"normalized", false}, {"special", special}};
}

// Unknown, control and user-defined tokens are added tokens; the first two special.
ordered_json added_tokens(const Vocab& v) {
  ordered_json out = ordered_json::array();
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    const int64_t t = v.types[i];
    if (t == kUnknown || t == kControl || t == kUserDefined) {
      out.push_back(added_token(static_cast<int64_t>(i), v.tokens[i], t != kUserDefined));
    }
  }
  return out;
}

// Length in bytes of the UTF-8 sequence starting with byte c (valid input).
size_t utf8_length(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

// transformers' SentencePieceExtractor: every split of a piece (at a
// character boundary) into two pieces is a merge, ranked by the piece's
// score (highest first; ties in piece order, then by the halves' ids).
ordered_json spm_merges(const Vocab& v, const std::vector<double>& scores) {
  struct Merge {
    int64_t left, right;
    double score;
    size_t piece;
  };
  std::vector<Merge> merges;
  for (size_t p = 0; p < v.tokens.size(); ++p) {
    const std::string& piece = v.tokens[p];
    std::vector<Merge> local;
    for (size_t at = utf8_length(piece[0]); at < piece.size(); at += utf8_length(piece[at])) {
      auto l = v.ids.find(piece.substr(0, at));
      auto r = v.ids.find(piece.substr(at));
      if (l != v.ids.end() && r != v.ids.end()) local.push_back({l->second, r->second, scores[p], p});
    }
    std::sort(local.begin(), local.end(),
              [](const Merge& a, const Merge& b) { return std::tie(a.left, a.right) < std::tie(b.left, b.right); });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) { return a.score > b.score; });
  ordered_json out = ordered_json::array();
  for (const Merge& m : merges) out.push_back(ordered_json::array({v.tokens[m.left], v.tokens[m.right]}));
  return out;
}

ordered_json template_processing(const Vocab& v, std::optional<uint64_t> bos, std::optional<uint64_t> eos) {
  ordered_json single = ordered_json::array(), pair = ordered_json::array(), special = ordered_json::object();
  auto add_special = [&](uint64_t id, int type_id, ordered_json* seq) {
    seq->push_back({{"SpecialToken", {{"id", v.tokens[id]}, {"type_id", type_id}}}});
    special[v.tokens[id]] = {{"id", v.tokens[id]}, {"ids", {id}}, {"tokens", {v.tokens[id]}}};
  };
  if (bos) add_special(*bos, 0, &single);
  single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
  if (eos) add_special(*eos, 0, &single);
  if (bos) add_special(*bos, 0, &pair);
  pair.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
  if (eos) add_special(*eos, 0, &pair);
  if (bos) add_special(*bos, 1, &pair);
  pair.push_back({{"Sequence", {{"id", "B"}, {"type_id", 1}}}});
  if (eos) add_special(*eos, 1, &pair);
  return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", special}};
}

ordered_json bpe_model(ordered_json vocab, ordered_json merges, std::optional<std::string> unk, bool spm,
                       bool ignore_merges) {
  return {{"type", "BPE"},
          {"dropout", nullptr},
          {"unk_token", unk ? ordered_json(*unk) : ordered_json(nullptr)},
          {"continuing_subword_prefix", nullptr},
          {"end_of_word_suffix", nullptr},
          {"fuse_unk", spm},
          {"byte_fallback", spm},
          {"ignore_merges", ignore_merges},
          {"vocab", std::move(vocab)},
          {"merges", std::move(merges)}};
}

struct Specials {
  std::optional<uint64_t> bos, eos, unk, pad, eot;
  bool add_bos = false, add_eos = false;
};

Result<ordered_json> spm_tokenizer(const GgufMetadata& meta, const Vocab& v, const Specials& s) {
  const uint64_t n = v.tokens.size();
  MLXPACK_ASSIGN_OR_RETURN(const GgufValue* scores_v, meta.array("tokenizer.ggml.scores", GgufType::kF64, n));
  std::vector<double> scores(n);
  for (uint64_t i = 0; i < n; ++i) scores[i] = scores_v->number_at(i);
  MLXPACK_ASSIGN_OR_RETURN(std::optional<bool> prefix, meta.optional_bool("tokenizer.ggml.add_space_prefix"));
  const bool add_prefix = prefix.value_or(true);
  ordered_json vocab = ordered_json::object();
  for (uint64_t i = 0; i < n; ++i) append_unique(&vocab, v.tokens[i], i);
  ordered_json normalizers = ordered_json::array();
  if (add_prefix) normalizers.push_back({{"type", "Prepend"}, {"prepend", "\u2581"}});
  normalizers.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}});
  ordered_json decoders = ordered_json::array(
      {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}}, {{"type", "ByteFallback"}},
       {{"type", "Fuse"}}});
  if (add_prefix) decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
  ordered_json t = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}};
  t["added_tokens"] = added_tokens(v);
  t["normalizer"] = {{"type", "Sequence"}, {"normalizers", normalizers}};
  t["pre_tokenizer"] = nullptr;
  t["post_processor"] = template_processing(v, s.add_bos ? s.bos : std::nullopt, s.add_eos ? s.eos : std::nullopt);
  t["decoder"] = {{"type", "Sequence"}, {"decoders", decoders}};
  t["model"] = bpe_model(std::move(vocab), spm_merges(v, scores),
                         s.unk ? std::optional<std::string>(v.tokens[*s.unk]) : std::nullopt, true, false);
  return t;
}

ordered_json byte_level(bool add_prefix_space, bool trim_offsets, bool use_regex) {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", add_prefix_space},
          {"trim_offsets", trim_offsets},
          {"use_regex", use_regex}};
}

ordered_json split_then_bytes(const char* regex) {
  return {{"type", "Sequence"},
          {"pretokenizers",
           ordered_json::array({{{"type", "Split"},
                                 {"pattern", {{"Regex", regex}}},
                                 {"behavior", "Isolated"},
                                 {"invert", false}},
                                byte_level(false, false, false)})}};
}

struct BpeStyle {
  ordered_json normalizer = nullptr;
  ordered_json pre_tokenizer;
  bool ignore_merges = false;
};

Result<BpeStyle> bpe_style(const GgufMetadata& meta) {
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> pre, meta.optional_string("tokenizer.ggml.pre"));
  const std::string name = pre.value_or("default");
  BpeStyle s;
  if (name == "default" || name == "gpt2" || name == "gpt-2") {
    s.pre_tokenizer = byte_level(false, true, true);
  } else if (name == "llama-bpe" || name == "llama3") {
    s.pre_tokenizer = split_then_bytes(kGgufLlama3Regex);
    s.ignore_merges = true;
  } else if (name == "qwen2") {
    s.normalizer = {{"type", "NFC"}};
    s.pre_tokenizer = split_then_bytes(kGgufQwen2Regex);
  } else if (name == "smollm") {
    s.pre_tokenizer = {{"type", "Sequence"},
                       {"pretokenizers", ordered_json::array({{{"type", "Digits"}, {"individual_digits", true}},
                                                              byte_level(false, true, true)})}};
  } else {
    return Status::unsupported(meta.name() + ": tokenizer.ggml.pre \"" + printable(name) +
                               "\" is not a pre-tokenizer this importer knows (default, gpt2, llama-bpe, llama3, "
                               "qwen2, smollm)");
  }
  return s;
}

Result<ordered_json> bpe_tokenizer(const GgufMetadata& meta, const Vocab& v, const Specials& s) {
  MLXPACK_ASSIGN_OR_RETURN(BpeStyle style, bpe_style(meta));
  MLXPACK_ASSIGN_OR_RETURN(const GgufValue* merges_v, meta.array("tokenizer.ggml.merges", GgufType::kString, {}));
  ordered_json merges = ordered_json::array();
  for (size_t i = 0; i < merges_v->strings.size(); ++i) {
    const std::string& m = merges_v->strings[i];
    const size_t space = m.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == m.size() ||
        m.find(' ', space + 1) != std::string::npos || !is_valid_utf8(m)) {
      return meta.invalid("tokenizer.ggml.merges",
                          "merge " + std::to_string(i) + " (" + printable(m) + ") is not two tokens and a space");
    }
    merges.push_back(m);
  }
  // Added tokens live outside the BPE vocabulary, as in the models' own files.
  ordered_json vocab = ordered_json::object();
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.types[i] != kControl && v.types[i] != kUserDefined) append_unique(&vocab, v.tokens[i], i);
  }
  ordered_json t = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}};
  t["added_tokens"] = added_tokens(v);
  t["normalizer"] = style.normalizer;
  t["pre_tokenizer"] = style.pre_tokenizer;
  ordered_json bytes = byte_level(false, false, false);
  if (s.add_bos || s.add_eos) {
    t["post_processor"] = {{"type", "Sequence"},
                           {"processors", ordered_json::array({bytes, template_processing(
                                                                          v, s.add_bos ? s.bos : std::nullopt,
                                                                          s.add_eos ? s.eos : std::nullopt)})}};
  } else {
    t["post_processor"] = bytes;
  }
  t["decoder"] = byte_level(false, false, false);
  t["model"] = bpe_model(std::move(vocab), std::move(merges), std::nullopt, false, style.ignore_merges);
  return t;
}

Result<Specials> read_specials(const GgufMetadata& meta, const Vocab& v, bool spm) {
  const uint64_t n = v.tokens.size();
  Specials s;
  MLXPACK_ASSIGN_OR_RETURN(s.bos, token_id(meta, "tokenizer.ggml.bos_token_id", n));
  MLXPACK_ASSIGN_OR_RETURN(s.eos, token_id(meta, "tokenizer.ggml.eos_token_id", n));
  MLXPACK_ASSIGN_OR_RETURN(s.unk, token_id(meta, "tokenizer.ggml.unknown_token_id", n));
  MLXPACK_ASSIGN_OR_RETURN(s.pad, token_id(meta, "tokenizer.ggml.padding_token_id", n));
  MLXPACK_ASSIGN_OR_RETURN(s.eot, token_id(meta, "tokenizer.ggml.eot_token_id", n));
  MLXPACK_ASSIGN_OR_RETURN(std::optional<bool> add_bos, meta.optional_bool("tokenizer.ggml.add_bos_token"));
  MLXPACK_ASSIGN_OR_RETURN(std::optional<bool> add_eos, meta.optional_bool("tokenizer.ggml.add_eos_token"));
  // llama.cpp's defaults: SentencePiece vocabularies add BOS, BPE ones not.
  s.add_bos = add_bos.value_or(spm) && s.bos.has_value();
  s.add_eos = add_eos.value_or(false) && s.eos.has_value();
  return s;
}

Result<std::string> tokenizer_config(const GgufMetadata& meta, const Vocab& v, const Specials& s, bool spm) {
  auto name_of = [&](std::optional<uint64_t> id) { return id ? ordered_json(v.tokens[*id]) : ordered_json(nullptr); };
  ordered_json c;
  c["add_bos_token"] = s.add_bos;
  c["add_eos_token"] = s.add_eos;
  ordered_json decoder = ordered_json::object();
  for (const ordered_json& a : added_tokens(v)) {
    ordered_json e = a;
    e.erase("id");
    append_unique(&decoder, std::to_string(a["id"].get<int64_t>()), e);
  }
  c["added_tokens_decoder"] = decoder;
  c["bos_token"] = name_of(s.bos);
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> chat, meta.optional_string("tokenizer.chat_template"));
  if (chat) {
    if (!is_valid_utf8(*chat)) return meta.invalid("tokenizer.chat_template", "not valid UTF-8");
    c["chat_template"] = *chat;
  }
  // llama.cpp never cleans up spaces; a GGUF we wrote says what the original did.
  MLXPACK_ASSIGN_OR_RETURN(std::optional<bool> clean_up,
                           meta.optional_bool("tokenizer.huggingface.clean_up_tokenization_spaces"));
  c["clean_up_tokenization_spaces"] = clean_up.value_or(false);
  c["eos_token"] = name_of(s.eot && !s.eos ? s.eot : s.eos);
  if (spm) c["legacy"] = true;
  c["pad_token"] = name_of(s.pad);
  c["tokenizer_class"] = spm ? "LlamaTokenizer" : "PreTrainedTokenizerFast";
  c["unk_token"] = name_of(s.unk);
  return c.dump(2) + "\n";
}

}  // namespace

// llama-vocab.cpp's regular expressions for these pre names, as the models'
// own tokenizer.json files (Llama 3, Qwen2/3) spell them.
const char* const kGgufLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kGgufQwen2Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

Result<GgufTokenizer> import_gguf_tokenizer(const GgufMetadata& meta) {
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> model, meta.optional_string("tokenizer.ggml.model"));
  if (!model) return Status::invalid_argument(meta.name() + ": no tokenizer (tokenizer.ggml.model is missing)");
  const bool spm = *model == "llama";
  if (!spm && *model != "gpt2") {
    return Status::unsupported(meta.name() + ": tokenizer.ggml.model \"" + printable(*model) +
                               "\" is not supported (llama: SentencePiece, gpt2: byte-level BPE)");
  }
  MLXPACK_ASSIGN_OR_RETURN(Vocab v, read_vocab(meta));
  MLXPACK_ASSIGN_OR_RETURN(Specials s, read_specials(meta, v, spm));
  ordered_json t;
  if (spm) {
    MLXPACK_ASSIGN_OR_RETURN(t, spm_tokenizer(meta, v, s));
  } else {
    MLXPACK_ASSIGN_OR_RETURN(t, bpe_tokenizer(meta, v, s));
  }
  GgufTokenizer out;
  out.tokenizer_json = t.dump(2) + "\n";
  MLXPACK_ASSIGN_OR_RETURN(out.tokenizer_config_json, tokenizer_config(meta, v, s, spm));
  out.vocab_size = v.tokens.size();
  out.bos_id = s.bos;
  out.eos_id = s.eos;
  out.eot_id = s.eot;
  out.pad_id = s.pad;
  return out;
}

}  // namespace mlxpack
