// libFuzzer target: arbitrary bytes as text through two fixed tokenizers, a
// byte-level one (GPT-2 regex, merges) and a SentencePiece-style one
// (metaspace, byte fallback), checking the round trip decode(encode(x)) == x
// whenever x is valid UTF-8. A mismatch aborts: that is a finding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "mlxpack/tokenizer.h"

namespace {

std::string byte_char(int b) {
  // GPT-2's byte-to-code-point map.
  int n = 0;
  for (int x = 0; x < 256; ++x) {
    const bool printable = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
    const int cp = printable ? x : 256 + n++;
    if (x == b) {
      std::string s;
      if (cp < 0x80) {
        s.push_back(static_cast<char>(cp));
      } else {
        s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      }
      return s;
    }
  }
  return "";
}

std::unique_ptr<mlxpack::Tokenizer> make(const nlohmann::json& j) {
  auto tok = mlxpack::Tokenizer::from_json(j.dump());
  if (!tok.is_ok()) {
    std::fprintf(stderr, "fixture does not load: %s\n", tok.status().to_string().c_str());
    std::abort();
  }
  return std::move(tok).value();
}

std::unique_ptr<mlxpack::Tokenizer> byte_level() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_char(b)] = b;
  const char* merges[][2] = {{"t", "h"}, {"th", "e"}, {"\xC4\xA0", "the"}, {"i", "n"}, {"\xC4\xA0", "a"}, {"e", "r"}};
  nlohmann::json merge_list = nlohmann::json::array();
  int next = 256;
  for (auto& m : merges) {
    merge_list.push_back(nlohmann::json::array({m[0], m[1]}));
    vocab[std::string(m[0]) + m[1]] = next++;
  }
  vocab["<|end|>"] = next;
  nlohmann::json split = {{"type", "Split"},
                          {"pattern", {{"Regex", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}}},
                          {"behavior", "Isolated"},
                          {"invert", false}};
  return make({{"added_tokens", {{{"id", next}, {"content", "<|end|>"}, {"special", true}, {"normalized", false}}}},
               {"normalizer", {{"type", "NFC"}}},
               {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", {split, {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
               {"post_processor", nullptr},
               {"decoder", {{"type", "ByteLevel"}}},
               {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}, {"ignore_merges", true}}}});
}

std::unique_ptr<mlxpack::Tokenizer> metaspace() {
  nlohmann::json vocab = nlohmann::json::object();
  vocab["<unk>"] = 0;
  vocab["<s>"] = 1;
  char hex[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(hex, sizeof(hex), "<0x%02X>", b);
    vocab[hex] = 2 + b;
  }
  int next = 258;
  for (const char* t : {"\xE2\x96\x81", "a", "b", "\xE2\x96\x81" "a", "ab", "\xE2\x96\x81\xE2\x96\x81"}) vocab[t] = next++;
  nlohmann::json merges = nlohmann::json::array({nlohmann::json::array({"\xE2\x96\x81", "a"}), nlohmann::json::array({"a", "b"}),
                                                 nlohmann::json::array({"\xE2\x96\x81", "\xE2\x96\x81"})});
  return make({{"added_tokens", {{{"id", 1}, {"content", "<s>"}, {"special", true}, {"normalized", false}}}},
               {"normalizer", {{"type", "Sequence"}, {"normalizers", {{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}}, {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}}}}},
               {"pre_tokenizer", nullptr},
               {"post_processor", nullptr},
               {"decoder", {{"type", "Sequence"}, {"decoders", {{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}}, {{"type", "ByteFallback"}}, {{"type", "Fuse"}}, {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
               {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}, {"byte_fallback", true}, {"unk_token", "<unk>"}, {"fuse_unk", true}}}});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto bl = byte_level();
  static const auto ms = metaspace();
  const std::string text(reinterpret_cast<const char*>(data), size);
  mlxpack::DecodeOptions raw;
  raw.clean_up_tokenization_spaces = false;
  for (const auto* tok : {bl.get(), ms.get()}) {
    auto ids = tok->encode(text);
    if (!ids.is_ok()) continue;  // invalid UTF-8
    auto back = tok->decode(*ids, raw);
    // NFC may change the byte-level tokenizer's text; the metaspace one must
    // give back exactly its input, unless the input itself contains "▁",
    // which decodes to a space (as in the reference).
    if (tok == ms.get() && text.find("\xE2\x96\x81") == std::string::npos && (!back.is_ok() || *back != text)) {
      std::fprintf(stderr, "round trip mismatch\n");
      std::abort();
    }
    if (tok == bl.get()) {
      auto again = tok->encode(*back);
      if (!again.is_ok() || *again != *ids) {
        std::fprintf(stderr, "byte-level: encode(decode(ids)) != ids\n");
        std::abort();
      }
    }
  }
  return 0;
}
