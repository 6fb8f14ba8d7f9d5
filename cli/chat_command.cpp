// mlxpack chat: an interactive conversation over the model's chat template.
// The KV cache is kept between turns: each turn feeds only the text the
// template adds after what the cache already holds. When the template
// rewrites earlier text (some strip or reformat past turns), the turn starts
// from an empty cache instead, so the model always sees exactly the render.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/input.h"
#include "cli/generation_common.h"
#include "format/names.h"
#include "mlxpack/runtime.h"

#if defined(MLXPACK_HAVE_LIBEDIT)
#include <editline/readline.h>
#endif

namespace mlxpack::cli {

namespace {

// Ctrl-C during a reply stops it and returns to the prompt; at the prompt
// it leaves. The handler only sets a flag (a lock-free atomic store is
// async-signal-safe); SA_RESTART is off so a read at the prompt returns.
std::atomic<bool> g_interrupted{false};
void note_interrupt(int) { g_interrupted.store(true); }

void install_chat_interrupt() {
  struct sigaction action {};
  action.sa_handler = note_interrupt;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
}

[[noreturn]] void leave_by_interrupt() {
  std::fprintf(stderr, "\n");
  ::signal(SIGINT, SIG_DFL);
  ::raise(SIGINT);
  std::_Exit(130);  // not reached
}

constexpr const char* kChatHelp =
    "commands: /help this list; /reset forget the conversation; /exit or /quit leave.\n"
    "Ctrl-C stops a reply; Ctrl-C at the prompt or end of input (Ctrl-D) leaves.\n";

// A line that is one word after '/' ("/reset") is a command, answered here
// and never sent to the model; "/usr/bin is ..." is a message.
bool is_command(const std::string& line) {
  if (line.size() < 2 || line[0] != '/') return false;
  return std::all_of(line.begin() + 1, line.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
}

// The next message. On a terminal, with line editing and history
// (libedit's readline: arrows, Ctrl-A/E, Up for earlier lines) when built
// with it; otherwise a plain bounded line. false at the end of input.
Result<bool> next_line(bool interactive, std::string* line) {
#if defined(MLXPACK_HAVE_LIBEDIT)
  if (interactive) {
    char* got = ::readline("> ");
    if (got == nullptr) return false;
    line->assign(got);
    std::free(got);
    if (line->size() > kMaxChatLineBytes) {
      return Status::invalid_argument("standard input: a line is more than the limit of " +
                                      std::to_string(kMaxChatLineBytes) + " bytes");
    }
    if (!line->empty()) ::add_history(line->c_str());
    return true;
  }
#endif
  if (interactive) std::fprintf(stderr, "> ");
  return read_line(stdin, line, kMaxChatLineBytes);
}

int chat(const GenerationFlags& flags) {
  if (Status s = require_existing(flags.model_root); !s.is_ok()) return report_error("chat", s);
  auto opened = open_verified(flags);
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
  if (interactive) std::fprintf(stderr, "mlxpack chat: /help lists the commands, /exit or Ctrl-D ends\n");
  install_chat_interrupt();
  std::string line;
  for (;;) {
    g_interrupted.store(false);
    auto more = next_line(interactive, &line);
    if (g_interrupted.load()) leave_by_interrupt();
    if (!more.is_ok()) return report_error("chat", more.status());
    if (!*more) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/help") {
      std::fputs(kChatHelp, stderr);
      continue;
    }
    if (line == "/reset") {
      messages.resize(flags.system.empty() ? 0 : 1);
      cached_text.clear();
      pending.clear();
      rt.reset();
      std::fprintf(stderr, "conversation cleared\n");
      continue;
    }
    if (is_command(line)) {
      std::fprintf(stderr, "unknown command %s; /help lists the commands\n", printable(line).c_str());
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
                                   return !g_interrupted.load();  // Ctrl-C: stop this reply
                                 },
                                 &stats);
    if (g_interrupted.exchange(false)) std::fprintf(stderr, "\n[reply stopped]\n");
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
