// mlxpack chat: an interactive conversation over the model's chat template.
// The KV cache is kept between turns: each turn feeds only the text the
// template adds after what the cache already holds. When the template
// rewrites earlier text (some strip or reformat past turns), the turn starts
// from an empty cache instead, so the model always sees exactly the render.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/input.h"
#include "cli/generation_common.h"
#include "mlxpack/runtime.h"

namespace mlxpack::cli {

namespace {

int chat(const GenerationFlags& flags) {
  if (Status s = require_existing(flags.model_root); !s.is_ok()) return report_error("chat", s);
  auto opened = Runtime::open(flags.model_root, flags.runtime);
  if (!opened.is_ok()) return report_error("chat", opened.status());
  Runtime& rt = **opened;
  const Tokenizer& tok = rt.tokenizer();
  if (rt.chat_template_source().empty()) {
    return report_error("chat", Status::not_found(flags.model_root +
                                                  ": the model has no chat template; use `mlxpack run "
                                                  "--no-chat-template` for plain completion"));
  }
  const bool interactive = ::isatty(STDIN_FILENO) != 0;
  std::vector<Message> messages;
  if (!flags.system.empty()) messages.emplace_back("system", flags.system);
  std::string cached_text;         // the text whose tokens the cache (plus `pending`) holds
  std::vector<int32_t> pending;    // the last sampled token, not yet fed
  if (interactive) std::fprintf(stderr, "mlxpack chat: /reset starts over, /exit or Ctrl-D ends\n");
  std::string line;
  for (;;) {
    if (interactive) std::fprintf(stderr, "> ");
    auto more = read_line(stdin, &line, kMaxChatLineBytes);
    if (!more.is_ok()) return report_error("chat", more.status());
    if (!*more) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      messages.resize(flags.system.empty() ? 0 : 1);
      cached_text.clear();
      pending.clear();
      rt.reset();
      continue;
    }
    if (line.empty()) continue;
    messages.emplace_back("user", line);
    auto rendered = render_chat(rt, messages);
    if (!rendered.is_ok()) return report_error("chat", rendered.status().with_context("chat template"));
    std::vector<int32_t> input;
    if (!cached_text.empty() && rendered->compare(0, cached_text.size(), cached_text) == 0) {
      input = pending;
      auto more = tok.encode(rendered->substr(cached_text.size()), false);
      if (!more.is_ok()) return report_error("chat", more.status());
      input.insert(input.end(), more->begin(), more->end());
    } else {
      rt.reset();
      auto all = tok.encode(*rendered, false);
      if (!all.is_ok()) return report_error("chat", all.status());
      input = std::move(*all);
    }
    TextStreamer streamer(tok, input.back());
    std::vector<int32_t> generated;
    int32_t last_sampled = -1;
    GenerationStats stats;
    const Status s = rt.generate(input, flags.generation, flags.filters,
                                 [&](const TokenEvent& e) {
                                   generated.push_back(e.id);
                                   last_sampled = e.id;
                                   if (!e.is_stop) {
                                     const std::string text = streamer.push(e.id);
                                     std::fwrite(text.data(), 1, text.size(), stdout);
                                     std::fflush(stdout);
                                   }
                                   return true;
                                 },
                                 &stats);
    if (!s.is_ok()) {
      // Most likely the conversation outgrew the context: say so, start over.
      report_error("chat", s);
      messages.resize(flags.system.empty() ? 0 : 1);
      cached_text.clear();
      pending.clear();
      rt.reset();
      continue;
    }
    const std::string rest = streamer.flush();
    std::fwrite(rest.data(), 1, rest.size(), stdout);
    std::printf("\n");
    std::fflush(stdout);
    if (flags.verbose) print_stats(rt, stats, true);

    // A model's vocabulary may be larger than its tokenizer's (padding rows);
    // ids without a token have no text.
    generated.erase(std::remove_if(generated.begin(), generated.end(),
                                   [&](int32_t id) { return static_cast<size_t>(id) >= tok.vocab_size(); }),
                    generated.end());
    DecodeOptions content_options;
    content_options.skip_special_tokens = true;
    content_options.clean_up_tokenization_spaces = false;
    auto content = tok.decode(generated, content_options);
    DecodeOptions exact;
    exact.clean_up_tokenization_spaces = false;
    auto exact_text = tok.decode(generated, exact);
    if (!content.is_ok()) return report_error("chat", content.status());
    if (!exact_text.is_ok()) return report_error("chat", exact_text.status());
    messages.emplace_back("assistant", *content);
    cached_text = *rendered + *exact_text;
    pending.clear();
    if (last_sampled >= 0) pending.push_back(last_sampled);
  }
  return kExitOk;
}

}  // namespace

void add_chat_command(CLI::App& root, int* exit_code) {
  auto flags = std::make_shared<GenerationFlags>();
  CLI::App* cmd = root.add_subcommand("chat", "Chat with a model interactively (one message per line on stdin)");
  add_generation_flags(cmd, flags.get());
  cmd->callback([flags, exit_code] { *exit_code = chat(*flags); });
}

}  // namespace mlxpack::cli
