#include "convert/meta/tiktoken_import.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>

namespace mlxpack {
namespace {

using ordered_json = nlohmann::ordered_json;

// Llama 3's pre-tokenizer, as its tokenizer.py and tokenizer.json have it.
constexpr const char* kPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool base64_decode(std::string_view in, std::string* out) {
  out->clear();
  if (in.empty() || in.size() % 4 != 0) return false;
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      if (in[i + k] == '=' && i + 4 == in.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else if (pad > 0 || (v[k] = base64_value(in[i + k])) < 0) {
        return false;
      }
    }
    const uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out->push_back(static_cast<char>(n >> 16));
    if (pad < 2) out->push_back(static_cast<char>(n >> 8));
    if (pad < 1) out->push_back(static_cast<char>(n));
  }
  return true;
}

// GPT-2's byte-level alphabet: byte b as a printable character's UTF-8.
const std::vector<std::string>& byte_chars() {
  static const std::vector<std::string> table = [] {
    std::vector<std::string> t(256);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const int cp = printable ? b : 256 + extra++;
      t[b] = cp < 0x80 ? std::string(1, static_cast<char>(cp))
                       : std::string{static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
    }
    return t;
  }();
  return table;
}

std::string as_chars(const std::string& bytes) {
  std::string s;
  for (unsigned char b : bytes) s += byte_chars()[b];
  return s;
}

std::vector<std::string> special_tokens(bool llama31) {
  std::vector<std::string> s = {"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                                "<|reserved_special_token_1|>"};
  int next;
  if (llama31) {
    for (const char* t : {"<|finetune_right_pad_id|>", "<|reserved_special_token_2|>", "<|start_header_id|>",
                          "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"}) {
      s.push_back(t);
    }
    next = 3;
  } else {
    for (const char* t : {"<|reserved_special_token_2|>", "<|reserved_special_token_3|>", "<|start_header_id|>",
                          "<|end_header_id|>", "<|reserved_special_token_4|>", "<|eot_id|>"}) {
      s.push_back(t);
    }
    next = 5;
  }
  while (s.size() < 256) s.push_back("<|reserved_special_token_" + std::to_string(next++) + "|>");
  return s;
}

}  // namespace

bool looks_like_tiktoken(const std::string& bytes) {
  const size_t space = bytes.find(' ');
  const size_t end = bytes.find('\n');
  if (space == std::string::npos || space == 0 || end == std::string::npos || end <= space + 1) return false;
  for (size_t i = 0; i < space; ++i) {
    if (base64_value(bytes[i]) < 0 && bytes[i] != '=') return false;
  }
  for (size_t i = space + 1; i < end; ++i) {
    if (bytes[i] < '0' || bytes[i] > '9') return false;
  }
  return true;
}

Result<TiktokenImport> import_tiktoken(const std::string& bytes, const std::string& label, bool llama31_specials,
                                       int64_t context) {
  std::vector<std::string> tokens;
  std::unordered_map<std::string, int64_t> rank;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t end = bytes.find('\n', pos);
    if (end == std::string::npos) end = bytes.size();
    const std::string_view line(bytes.data() + pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    const std::string where = label + ": line " + std::to_string(tokens.size() + 1);
    if (tokens.size() >= kMaxTiktokenTokens) {
      return Status::invalid_argument(label + ": more than " + std::to_string(kMaxTiktokenTokens) + " tokens");
    }
    const size_t space = line.find(' ');
    std::string token;
    if (space == std::string::npos || !base64_decode(line.substr(0, space), &token)) {
      return Status::invalid_argument(where + ": not '<base64 token> <rank>'");
    }
    const std::string_view digits = line.substr(space + 1);
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoll(std::string(digits)) != static_cast<int64_t>(tokens.size())) {
      return Status::invalid_argument(where + ": rank '" + std::string(digits.substr(0, 16)) + "', expected " +
                                      std::to_string(tokens.size()) + " (ranks count up from 0)");
    }
    if (token.empty() || token.size() > kMaxTiktokenTokenBytes) {
      return Status::invalid_argument(where + ": a token of " + std::to_string(token.size()) + " bytes (1 to " +
                                      std::to_string(kMaxTiktokenTokenBytes) + ")");
    }
    if (!rank.emplace(token, static_cast<int64_t>(tokens.size())).second) {
      return Status::invalid_argument(where + ": the token is already at rank " + std::to_string(rank[token]));
    }
    tokens.push_back(std::move(token));
  }
  // std::map-backed: ordered_json's vector-backed object would insert
  // 128,000 keys in quadratic time.
  nlohmann::json vocab = nlohmann::json::object();
  nlohmann::json merges = nlohmann::json::array();
  for (size_t r = 0; r < tokens.size(); ++r) {
    const std::string& t = tokens[r];
    vocab[as_chars(t)] = r;
    // Ranks ascend, so the merges come out ordered by the merged token's.
    std::vector<std::pair<int64_t, int64_t>> splits;  // the parts' ranks
    std::vector<size_t> at;
    for (size_t i = 1; i < t.size(); ++i) {
      auto l = rank.find(t.substr(0, i)), rr = rank.find(t.substr(i));
      if (l != rank.end() && rr != rank.end()) {
        splits.push_back({l->second, rr->second});
        at.push_back(i);
      }
    }
    std::vector<size_t> order(splits.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return splits[a] < splits[b]; });
    for (size_t k : order) merges.push_back(as_chars(t.substr(0, at[k])) + " " + as_chars(t.substr(at[k])));
  }
  TiktokenImport out;
  const std::vector<std::string> specials = special_tokens(llama31_specials);
  nlohmann::json added = nlohmann::json::array();
  const int64_t first = static_cast<int64_t>(tokens.size());
  for (size_t k = 0; k < specials.size(); ++k) {
    added.push_back({{"id", first + int64_t(k)}, {"content", specials[k]}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  }
  const auto id_of = [&](const std::string& name) {
    return first + (std::find(specials.begin(), specials.end(), name) - specials.begin());
  };
  out.bos = id_of("<|begin_of_text|>");
  out.eos = {id_of("<|end_of_text|>")};
  if (llama31_specials) out.eos.push_back(id_of("<|eom_id|>"));
  out.eos.push_back(id_of("<|eot_id|>"));
  const nlohmann::json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                                   {"use_regex", false}};
  nlohmann::json j = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", kPattern}}}, {"behavior", "Isolated"}, {"invert", false}},
          byte_level}}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}},
                    {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair", {{{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}},
                  {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                  {{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 1}}}},
                  {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
        {"special_tokens",
         {{"<|begin_of_text|>", {{"id", "<|begin_of_text|>"}, {"ids", {out.bos}}, {"tokens", {"<|begin_of_text|>"}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", true},
        {"vocab", std::move(vocab)}, {"merges", std::move(merges)}}}};
  out.tokenizer_json = j.dump() + "\n";
  out.tokenizer_config_json = ordered_json({{"bos_token", "<|begin_of_text|>"},
                                            {"eos_token", "<|end_of_text|>"},
                                            {"clean_up_tokenization_spaces", true},
                                            {"model_max_length", context},
                                            {"tokenizer_class", "PreTrainedTokenizerFast"}})
                                  .dump(2) +
                              "\n";
  return out;
}

}  // namespace mlxpack
