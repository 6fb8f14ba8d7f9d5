// mlxpack run: generate from a prompt, streaming text (or ids, or per-token
// log-probabilities as JSON lines) to stdout and statistics to stderr.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/flag_checks.h"
#include "cli/generation_common.h"
#include "cli/input.h"
#include "mlxpack/runtime.h"

namespace mlxpack::cli {

namespace {

struct RunOptions {
  GenerationFlags flags;
  std::string prompt;
  std::string prompt_ids;
  bool no_chat_template = false;
  bool output_ids = false;
};

std::string token_text(const Tokenizer& tok, int32_t id) {
  Result<std::string> t = tok.decode({id});
  return t.is_ok() ? *t : std::string();
}

int run(RunOptions& o) {
  if (o.prompt == "-") {  // mlx_lm and llama.cpp: the prompt from standard input
    auto text = read_input("-", kMaxStdinPromptBytes);
    if (!text.is_ok()) return report_error("run", text.status().with_context("--prompt -"));
    o.prompt = std::move(*text);
  }
  if (Status s = require_existing(o.flags.model_root); !s.is_ok()) return report_error("run", s);
  auto opened = open_verified(o.flags);
  if (!opened.is_ok()) return report_error("run", opened.status());
  Runtime& rt = **opened;
  const Tokenizer& tok = rt.tokenizer();

  std::vector<int32_t> prompt;
  if (!o.prompt_ids.empty()) {
    auto ids = parse_ids(o.prompt_ids, "--prompt-ids");
    if (!ids.is_ok()) {  // a flag value that does not parse: a usage error
      report_error("run", ids.status());
      return kExitUsage;
    }
    prompt = std::move(*ids);
  } else if (!o.no_chat_template && !rt.chat_template_source().empty()) {
    std::vector<Message> messages;
    if (!o.flags.system.empty()) messages.emplace_back("system", o.flags.system);
    messages.emplace_back("user", o.prompt);
    auto text = render_chat(rt, messages);
    if (!text.is_ok()) return report_error("run", text.status().with_context("chat template"));
    // The rendered text carries its own BOS, as apply_chat_template's does.
    auto ids = tok.encode(*text, /*add_special_tokens=*/false);
    if (!ids.is_ok()) return report_error("run", ids.status());
    prompt = std::move(*ids);
  } else {
    if (!o.flags.system.empty()) {
      return report_error("run", Status::invalid_argument(
                                     "--system needs a chat template, and this model has none (or --no-chat-template "
                                     "was given)"));
    }
    auto ids = tok.encode(o.prompt, /*add_special_tokens=*/true);
    if (!ids.is_ok()) return report_error("run", ids.status());
    prompt = std::move(*ids);
  }
  if (o.flags.verbose) {
    std::fprintf(stderr, "prompt: %zu tokens; %s, context %d, kernels %s\n", prompt.size(), rt.architecture().c_str(),
                 rt.context_size(), rt.kernel_name());
  }

  TextStreamer streamer(tok, prompt.empty() ? -1 : prompt.back());
  bool first_id = true;
  auto on_token = [&](const TokenEvent& e) {
    if (o.flags.generation.logprobs > 0) {
      nlohmann::json line = {{"id", e.id}, {"token", token_text(tok, e.id)}, {"logprob", e.logprob}};
      line["top_logprobs"] = nlohmann::json::array();
      for (const auto& [id, lp] : e.top_logprobs) {
        line["top_logprobs"].push_back({{"id", id}, {"token", token_text(tok, id)}, {"logprob", lp}});
      }
      std::printf("%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else if (o.output_ids) {
      std::printf("%s%d", first_id ? "" : ",", e.id);
      first_id = false;
    } else if (!e.is_stop) {
      const std::string text = streamer.push(e.id);
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
    std::fflush(stdout);
    return true;
  };
  GenerationStats stats;
  const Status s = rt.generate(prompt, o.flags.generation, o.flags.filters, on_token, &stats);
  if (!s.is_ok()) return report_error("run", s);
  if (o.output_ids) {
    std::printf("\n");
  } else if (o.flags.generation.logprobs == 0) {
    const std::string rest = streamer.flush();
    std::fwrite(rest.data(), 1, rest.size(), stdout);
    std::printf("\n");
  }
  std::fflush(stdout);
  print_stats(rt, stats, o.flags.verbose);
  return kExitOk;
}

}  // namespace

void add_run_command(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = root.add_subcommand("run", "Generate text from a prompt with a model (pack or directory)");
  add_generation_flags(cmd, &o->flags);
  auto* prompt = cmd->add_option("--prompt,-p", o->prompt, "The prompt text (\"-\": read it from standard input)");
  auto* ids = cmd->add_option("--prompt-ids", o->prompt_ids, "The prompt as token ids (\"1,450,4996\"), fed as is");
  prompt->excludes(ids);
  cmd->add_flag("--no-chat-template,--ignore-chat-template", o->no_chat_template,
                "Feed the prompt as plain text (with BOS), not as a chat");
  cmd->add_flag("--output-ids", o->output_ids, "Print the generated token ids instead of text");
  cmd->add_option("--logprobs", o->flags.generation.logprobs,
                  "Print each generated token with its N most likely candidates as JSON lines")
      ->check(CLI::Range(0, 1000));
  cmd->callback([o, exit_code, prompt, ids] {
    if (prompt->count() == 0 && ids->count() == 0) {
      std::fprintf(stderr, "mlxpack run: error: give --prompt TEXT or --prompt-ids IDS\n");
      *exit_code = kExitUsage;
      return;
    }
    *exit_code = run(*o);
  });
}

}  // namespace mlxpack::cli
