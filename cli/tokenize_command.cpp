// mlxpack tokenize: the token ids (and pieces) a model's tokenizer gives a
// text, or the text of ids; for debugging prompts, like llama.cpp's tool.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/input.h"
#include "mlxpack/tokenizer.h"

namespace mlxpack::cli {

namespace {

struct TokenizeOptions {
  std::string model_root;
  std::string text;
  std::string input;
  std::string decode;
  bool special = false;
  bool json = false;
  bool skip_special = false;
};


int run_tokenize(const TokenizeOptions& options) {
  if (Status s = require_existing(options.model_root); !s.is_ok()) return report_error("tokenize", s);
  auto tok = Tokenizer::load(options.model_root);
  if (!tok.is_ok()) return report_error("tokenize", tok.status());
  if (!options.decode.empty()) {
    auto ids = parse_ids(options.decode, "--decode");
    if (!ids.is_ok()) {  // a flag value that does not parse: a usage error
      report_error("tokenize", ids.status());
      return kExitUsage;
    }
    DecodeOptions decode_options;
    decode_options.skip_special_tokens = options.skip_special;
    auto text = (*tok)->decode(*ids, decode_options);
    if (!text.is_ok()) return report_error("tokenize", text.status());
    if (options.json) {
      nlohmann::json j = {{"ids", *ids}, {"text", *text}};
      std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      std::fwrite(text->data(), 1, text->size(), stdout);
      std::fputc('\n', stdout);
    }
    return kExitOk;
  }
  std::string text = options.text;
  if (!options.input.empty()) {
    auto data = read_input(options.input, kMaxTokenizeInputBytes);
    if (!data.is_ok()) return report_error("tokenize", data.status());
    text = std::move(*data);
  }
  if (!options.json) {
    // Ids only (4 bytes a token), printed as they are formatted: a 50 MB
    // line no longer keeps a piece string per token.
    auto ids = (*tok)->encode(text, options.special);
    if (!ids.is_ok()) return report_error("tokenize", ids.status());
    std::string().swap(text);
    std::string chunk = "[";
    for (size_t i = 0; i < ids->size(); ++i) {
      if (i) chunk += ", ";
      chunk += std::to_string((*ids)[i]);
      if (chunk.size() >= (1 << 16)) {
        std::fwrite(chunk.data(), 1, chunk.size(), stdout);
        chunk.clear();
      }
    }
    chunk += "]\n";
    std::fwrite(chunk.data(), 1, chunk.size(), stdout);
    return kExitOk;
  }
  auto pieces = (*tok)->encode_pieces(text, options.special);
  if (!pieces.is_ok()) return report_error("tokenize", pieces.status());
  {
    nlohmann::json j;
    j["ids"] = nlohmann::json::array();
    j["tokens"] = nlohmann::json::array();
    for (const TokenPiece& p : *pieces) {
      j["ids"].push_back(p.id);
      auto one = (*tok)->decode({p.id});
      j["tokens"].push_back({{"id", p.id},
                             {"piece", p.piece},
                             {"text", one.is_ok() ? *one : std::string()},
                             {"special", (*tok)->is_special(p.id)}});
    }
    j["count"] = pieces->size();
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
  return kExitOk;
}

}  // namespace

void add_tokenize_command(CLI::App& root, int* exit_code) {
  auto options = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = root.add_subcommand("tokenize", "Show the token ids of a text (or the text of ids) for a model");
  cmd->add_option("--model-root,-m", options->model_root,
                  "A .mlxpack, a model directory, or a directory with only tokenizer files")
      ->required();
  auto* text = cmd->add_option("text", options->text, "The text to tokenize");
  auto* input = cmd->add_option("--input,-f", options->input, "Read the text from FILE ('-' for stdin)");
  auto* decode = cmd->add_option("--decode", options->decode, "Decode token IDS (\"1,2,3\") to text instead");
  text->excludes(input);
  decode->excludes(text);
  decode->excludes(input);
  cmd->add_flag("--special", options->special, "Add the model's special tokens (e.g. BOS) as its post-processor says");
  cmd->add_flag("--skip-special", options->skip_special, "With --decode: leave special tokens out of the text");
  cmd->add_flag("--json", options->json, "Print JSON with each token's id, piece and text");
  cmd->callback([cmd, options, exit_code, text, input, decode] {
    if (text->count() == 0 && input->count() == 0 && decode->count() == 0) {
      std::fprintf(stderr, "mlxpack tokenize: error: give TEXT, --input FILE or --decode IDS\n");
      *exit_code = kExitUsage;
      return;
    }
    (void)cmd;
    *exit_code = run_tokenize(*options);
  });
}

}  // namespace mlxpack::cli
