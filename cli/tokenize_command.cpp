// mlxpack tokenize: the token ids (and pieces) a model's tokenizer gives a
// text, or the text of ids; for debugging prompts, like llama.cpp's tool.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
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
  auto tok = Tokenizer::load(options.model_root);
  if (!tok.is_ok()) return report_error("tokenize", tok.status());
  if (!options.decode.empty()) {
    auto ids = parse_ids(options.decode, "--decode");
    if (!ids.is_ok()) return report_error("tokenize", ids.status());
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
    auto data = read_input(options.input);
    if (!data.is_ok()) return report_error("tokenize", data.status());
    text = std::move(*data);
  }
  auto pieces = (*tok)->encode_pieces(text, options.special);
  if (!pieces.is_ok()) return report_error("tokenize", pieces.status());
  if (options.json) {
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
    return kExitOk;
  }
  std::string line = "[";
  for (size_t i = 0; i < pieces->size(); ++i) {
    if (i) line += ", ";
    line += std::to_string((*pieces)[i].id);
  }
  line += "]\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
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
