#include "convert/gguf/gguf_tokenizer_export.h"

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>
#include <vector>

#include "convert/gguf/gguf_tokenizer.h"
#include "format/names.h"

namespace mlxpack {

namespace {

using nlohmann::json;

constexpr int64_t kMaxTokenId = int64_t{1} << 22;
enum : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

struct Vocab {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<bool> added;
  std::unordered_map<std::string, int64_t> ids;
  std::optional<int64_t> id(const std::string& token) const {
    auto it = ids.find(token);
    return it == ids.end() ? std::nullopt : std::optional<int64_t>(it->second);
  }
};

Result<json> read_json(const ModelSource& in, const char* name, bool required) {
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> text, in.optional_file(name));
  if (!text) {
    if (required) return Status::invalid_argument(in.describe(name) + ": missing; a GGUF needs the tokenizer");
    return json::object();
  }
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::invalid_argument(in.describe(name) + ": not a JSON object");
  return j;
}

// Members read without exceptions: a missing member or one of another
// type is null, "" or the default.
const json& member(const json& j, const char* key) {
  static const json null;
  if (!j.is_object()) return null;
  auto it = j.find(key);
  return it == j.end() ? null : *it;
}
std::string str(const json& j, const char* key) {
  const json& m = member(j, key);
  return m.is_string() ? m.get<std::string>() : "";
}
bool flag(const json& j, const char* key, bool otherwise) {
  const json& m = member(j, key);
  return m.is_boolean() ? m.get<bool>() : otherwise;
}
std::optional<std::string> string_at(const json& j, const char* key) {
  const json& m = member(j, key);
  if (!m.is_string()) return std::nullopt;
  return m.get<std::string>();
}

// tokenizer_config's special tokens are strings or {"content": ...} objects.
std::optional<std::string> special_token(const json& config, const char* key) {
  const json& m = member(config, key);
  if (m.is_string()) return m.get<std::string>();
  return string_at(m, "content");
}

Status put_token(Vocab* v, int64_t id, const std::string& token, const std::string& where) {
  if (id < 0 || id >= kMaxTokenId) {
    return Status::invalid_argument(where + ": token id " + std::to_string(id) + " is outside [0, " +
                                    std::to_string(kMaxTokenId) + ")");
  }
  if (static_cast<size_t>(id) >= v->tokens.size()) {
    v->tokens.resize(id + 1);
    v->types.resize(id + 1, 0);
    v->added.resize(id + 1, false);
  }
  if (v->types[id] != 0 && v->tokens[id] != token) {
    return Status::invalid_argument(where + ": id " + std::to_string(id) + " is both " + printable(v->tokens[id]) +
                                    " and " + printable(token));
  }
  v->tokens[id] = token;
  v->types[id] = kNormal;
  return Status::ok();
}

Result<Vocab> read_vocab(const ModelSource& in, const json& t) {
  const std::string where = in.describe("tokenizer.json");
  Vocab v;
  const json& vocab = member(member(t, "model"), "vocab");
  if (!vocab.is_object()) return Status::invalid_argument(where + ".model.vocab: not an object");
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer()) return Status::invalid_argument(where + ".model.vocab: an id is not an integer");
    MLXPACK_RETURN_IF_ERROR(put_token(&v, it.value().get<int64_t>(), it.key(), where + ".model.vocab"));
  }
  const json& added = member(t, "added_tokens");
  if (!added.is_array() && !added.is_null()) return Status::invalid_argument(where + ".added_tokens: not an array");
  for (const json& a : added.is_array() ? added : json::array()) {
    if (!member(a, "id").is_number_integer() || !string_at(a, "content")) {
      return Status::invalid_argument(where + ".added_tokens: an entry without an integer id and a content");
    }
    const int64_t id = member(a, "id").get<int64_t>();
    MLXPACK_RETURN_IF_ERROR(put_token(&v, id, *string_at(a, "content"), where + ".added_tokens"));
    const bool special = flag(a, "special", false);
    v.types[id] = special ? kControl : kUserDefined;
    v.added[id] = true;
  }
  for (size_t id = 0; id < v.tokens.size(); ++id) {
    if (v.types[id] == 0) {  // a hole: llama.cpp's converter writes a padding token
      v.tokens[id] = "[PAD" + std::to_string(id) + "]";
      v.types[id] = kUnused;
    }
    v.ids.emplace(v.tokens[id], static_cast<int64_t>(id));
  }
  return v;
}

// Merges as "left right" strings (tokenizer.json has them so or as pairs).
Result<std::vector<std::string>> read_merges(const json& t, const std::string& where) {
  std::vector<std::string> out;
  const json& merges = member(member(t, "model"), "merges");
  if (!merges.is_array() && !merges.is_null()) return Status::invalid_argument(where + ".model.merges: not an array");
  for (const json& m : merges.is_array() ? merges : json::array()) {
    if (m.is_string()) {
      out.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      out.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    } else {
      return Status::invalid_argument(where + ".model.merges: an entry is neither \"a b\" nor [a, b]");
    }
  }
  return out;
}

bool is_byte_piece(const std::string& s) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
  return s.size() == 6 && s.compare(0, 3, "<0x") == 0 && hex(s[3]) && hex(s[4]) && s[5] == '>';
}

// Whether SentencePiece-style normalization prepends "▁".
bool adds_space_prefix(const json& t) {
  const json& n = member(t, "normalizer");
  auto prepends = [](const json& x) { return str(x, "type") == "Prepend"; };
  if (prepends(n)) return true;
  if (member(n, "normalizers").is_array()) {
    for (const json& x : member(n, "normalizers")) {
      if (prepends(x)) return true;
    }
  }
  const json& p = member(t, "pre_tokenizer");
  return str(p, "type") == "Metaspace" && str(p, "prepend_scheme") != "never";
}

// Scores that rank each piece by its first merge; pieces no merge makes
// (single characters, bytes, specials) have none to follow and score 0.
std::vector<float> spm_scores(const Vocab& v, const std::vector<std::string>& merges) {
  std::vector<float> scores(v.tokens.size(), 0.0f);
  std::vector<bool> seen(v.tokens.size(), false);
  for (size_t k = 0; k < merges.size(); ++k) {
    const size_t space = merges[k].find(' ');
    std::string joined = merges[k];
    if (space != std::string::npos) joined.erase(space, 1);
    if (auto id = v.id(joined); id && !seen[*id]) {
      seen[*id] = true;
      scores[*id] = -static_cast<float>(k);
    }
  }
  return scores;
}

// llama.cpp's pre-tokenizer name for a byte-level tokenizer.json.
Result<std::string> pre_name(const json& t, const std::string& where) {
  const json& p = member(t, "pre_tokenizer");
  auto byte_level = [](const json& x, bool regex) {
    return str(x, "type") == "ByteLevel" && flag(x, "use_regex", true) == regex;
  };
  if (byte_level(p, true)) return std::string("gpt-2");
  const json& list = member(p, "pretokenizers");
  if (str(p, "type") == "Sequence" && list.is_array() && list.size() == 2) {
    const json& a = list[0];
    const json& b = list[1];
    if (str(a, "type") == "Digits" && flag(a, "individual_digits", false) && byte_level(b, true)) {
      return std::string("smollm");
    }
    if (str(a, "type") == "Split" && byte_level(b, false)) {
      const std::string regex = str(member(a, "pattern"), "Regex");
      if (regex == kGgufLlama3Regex) return std::string("llama-bpe");
      if (regex == kGgufQwen2Regex) return std::string("qwen2");
    }
  }
  return Status::unsupported(where + ".pre_tokenizer: not one llama.cpp names (GPT-2's byte level, Llama 3's or "
                                     "Qwen2's split, SmolLM's digits)");
}

struct Specials {
  std::optional<int64_t> bos, eos, eot, unk, pad;
  bool add_bos = false, add_eos = false;
};

// The special tokens the post-processor puts around a single sequence.
void template_specials(const json& pp, const Vocab& v, Specials* s) {
  if (str(pp, "type") == "Sequence" && member(pp, "processors").is_array()) {
    for (const json& x : member(pp, "processors")) template_specials(x, v, s);
    return;
  }
  if (str(pp, "type") != "TemplateProcessing" || !member(pp, "single").is_array()) return;
  bool after = false;
  for (const json& piece : member(pp, "single")) {
    if (!member(piece, "Sequence").is_null()) {
      after = true;
    } else if (member(piece, "SpecialToken").is_object()) {
      const std::optional<std::string> name = string_at(member(piece, "SpecialToken"), "id");
      const std::optional<int64_t> id = name ? v.id(*name) : std::nullopt;
      if (!id) continue;
      if (after) s->eos = *id, s->add_eos = true;
      else s->bos = *id, s->add_bos = true;
    }
  }
}

Result<Specials> read_specials(const ModelSource& in, const json& t, const Vocab& v) {
  MLXPACK_ASSIGN_OR_RETURN(json config, read_json(in, "tokenizer_config.json", false));
  MLXPACK_ASSIGN_OR_RETURN(json generation, read_json(in, "generation_config.json", false));
  Specials s;
  template_specials(member(t, "post_processor"), v, &s);
  auto id_of = [&](const char* key) -> std::optional<int64_t> {
    std::optional<std::string> name = special_token(config, key);
    return name ? v.id(*name) : std::nullopt;
  };
  if (!s.bos) s.bos = id_of("bos_token");
  if (!s.add_bos && flag(config, "add_bos_token", false) && s.bos) s.add_bos = true;
  if (auto e = id_of("eos_token")) s.eos = e;
  std::vector<int64_t> stops;
  {
    const json& e = member(generation, "eos_token_id");
    if (e.is_number_integer()) stops.push_back(e.get<int64_t>());
    if (e.is_array()) {
      for (const json& x : e) {
        if (x.is_number_integer()) stops.push_back(x.get<int64_t>());
      }
    }
  }
  for (int64_t id : stops) {
    if (id < 0 || static_cast<size_t>(id) >= v.tokens.size()) continue;
    if (!s.eos) s.eos = id;
    else if (id != *s.eos && !s.eot) s.eot = id;
  }
  if (auto unk = string_at(member(t, "model"), "unk_token")) s.unk = v.id(*unk);
  s.pad = id_of("pad_token");
  return s;
}

Result<std::optional<std::string>> chat_template(const ModelSource& in) {
  MLXPACK_ASSIGN_OR_RETURN(json config, read_json(in, "tokenizer_config.json", false));
  const json& chat = member(config, "chat_template");
  if (chat.is_string()) return std::optional<std::string>(chat.get<std::string>());
  if (chat.is_array()) {
    for (const json& named : chat) {
      if (str(named, "name") == "default" && member(named, "template").is_string()) {
        return std::optional<std::string>(member(named, "template").get<std::string>());
      }
    }
  }
  return in.optional_file("chat_template.jinja");
}

}  // namespace

Status add_gguf_tokenizer(const ModelSource& in, GgufWriter* w) {
  const std::string where = in.describe("tokenizer.json");
  MLXPACK_ASSIGN_OR_RETURN(json t, read_json(in, "tokenizer.json", true));
  if (str(member(t, "model"), "type") != "BPE") {
    return Status::unsupported(where + ".model: only BPE tokenizers are written to GGUF");
  }
  MLXPACK_ASSIGN_OR_RETURN(Vocab v, read_vocab(in, t));
  MLXPACK_ASSIGN_OR_RETURN(std::vector<std::string> merges, read_merges(t, where));
  MLXPACK_ASSIGN_OR_RETURN(Specials s, read_specials(in, t, v));
  const bool spm = flag(member(t, "model"), "byte_fallback", false);
  if (spm) {
    for (size_t id = 0; id < v.tokens.size(); ++id) {
      if (v.types[id] == kNormal && is_byte_piece(v.tokens[id])) v.types[id] = kByte;
    }
    if (s.unk) v.types[*s.unk] = kUnknown;
    w->add_string("tokenizer.ggml.model", "llama");
    w->add_strings("tokenizer.ggml.tokens", v.tokens);
    w->add_f32s("tokenizer.ggml.scores", spm_scores(v, merges));
    w->add_bool("tokenizer.ggml.add_space_prefix", adds_space_prefix(t));
  } else {
    MLXPACK_ASSIGN_OR_RETURN(std::string pre, pre_name(t, where));
    w->add_string("tokenizer.ggml.model", "gpt2");
    w->add_string("tokenizer.ggml.pre", pre);
    w->add_strings("tokenizer.ggml.tokens", v.tokens);
    w->add_strings("tokenizer.ggml.merges", merges);
  }
  w->add_i32s("tokenizer.ggml.token_type", v.types);
  if (s.bos) w->add_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(*s.bos));
  if (s.eos) w->add_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(*s.eos));
  if (s.eot) w->add_u32("tokenizer.ggml.eot_token_id", static_cast<uint32_t>(*s.eot));
  if (s.unk) w->add_u32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(*s.unk));
  if (s.pad) w->add_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(*s.pad));
  w->add_bool("tokenizer.ggml.add_bos_token", s.add_bos);
  w->add_bool("tokenizer.ggml.add_eos_token", s.add_eos);
  // Not a llama.cpp key (it never cleans up), but transformers' decode does
  // and the imported tokenizer_config.json should say so as the original did.
  MLXPACK_ASSIGN_OR_RETURN(json config, read_json(in, "tokenizer_config.json", false));
  w->add_bool("tokenizer.huggingface.clean_up_tokenization_spaces",
              flag(config, "clean_up_tokenization_spaces", false));
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> chat, chat_template(in));
  if (chat) w->add_string("tokenizer.chat_template", *chat);
  return Status::ok();
}

}  // namespace mlxpack
