// mlxpack chat templates: renders a model's Jinja chat template (from
// tokenizer_config.json or chat_template.jinja) the way Hugging Face does,
// with trim_blocks and lstrip_blocks on, as transformers sets them.
//
// The interpreter covers the Jinja subset chat templates use: text,
// {{ expressions }}, {# comments #}, whitespace control (-), statements if /
// elif / else, for (with loop.*, else, inline filter, tuple unpacking, break,
// continue), set (also block set and namespace attributes), macro (defaults,
// varargs, kwargs, caller), call blocks, filter blocks, and {% generation %}
// markers; the filters, tests and string/dict methods those templates call;
// the globals raise_exception, range, namespace and strftime_now.
//
// A template is untrusted input: it has no file or network access, and
// parsing and rendering are bounded (TemplateLimits) in nesting depth,
// work, output size, sequence sizes and total allocation, so a hostile
// template ends with an error instead of crashing, running forever or
// exhausting memory.
//
// This header is C++17 so downstream runtimes can include it.
#ifndef MLXPACK_CHAT_TEMPLATE_H_
#define MLXPACK_CHAT_TEMPLATE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "mlxpack/export.h"
#include "mlxpack/status.h"

namespace mlxpack {

class ModelSource;  // mlxpack/model_source.h

// Every limit is checked before the work or memory it bounds is spent; the
// error names the limit. The README's limits table lists these values.
struct TemplateLimits {
  uint64_t max_template_bytes = 1u << 20;   // template source
  uint32_t max_nesting_depth = 128;         // blocks and expressions (a + b + c counts each link) while
                                            // parsing; macro calls while rendering
  uint32_t max_render_depth = 1024;         // expression and statement frames active at once while rendering
  uint64_t max_steps = 5'000'000;           // work units per render: one per evaluated node, plus one per
                                            // 256 bytes a string operation reads (a long chat needs ~1e4)
  uint64_t max_output_bytes = 64u << 20;    // rendered text (and any single string)
  uint64_t max_sequence_length = 1u << 17;  // elements of any one list (range(), split, list, ...)
  uint64_t max_render_bytes = 256u << 20;   // bytes a render allocates in total: strings, list and dict
                                            // entries, copies of strings; values nest at most 512 deep
};

class MLXPACK_API ChatTemplate {
 public:
  // Parses `source`. InvalidArgument with the line and the problem if it is
  // not a template this interpreter understands.
  static Result<ChatTemplate> parse(std::string_view source, const TemplateLimits& limits = {});

  // Renders with the variables of `context_json`, a JSON object (e.g.
  // {"messages": [...], "add_generation_prompt": true, "bos_token": "<s>"}).
  // Errors are InvalidArgument. When the template calls raise_exception, the
  // message is exactly the text it raised (so callers can show it as is);
  // other errors read "line N: <problem>".
  Result<std::string> render(std::string_view context_json) const;

  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;
  ~ChatTemplate();

 private:
  struct MLXPACK_LOCAL Impl;
  MLXPACK_LOCAL explicit ChatTemplate(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A model's chat template with the special-token strings templates use.
struct ModelChatTemplate {
  std::string source;
  std::string origin;     // where it was found, for messages
  std::string bos_token;  // from tokenizer_config.json; empty if none
  std::string eos_token;
};

// Finds the chat template of `model_root` (a .mlxpack, a model directory or
// a tokenizer-only directory): chat_template.jinja, else chat_template.json,
// else tokenizer_config.json's chat_template. NotFound if there is none.
MLXPACK_API Result<ModelChatTemplate> load_chat_template(const std::string& model_root);
// The same, from an open source.
MLXPACK_API Result<ModelChatTemplate> load_chat_template(const ModelSource& source);

// The chat template held by a JSON document: a tokenizer_config.json or any
// object with a "chat_template" field (a string, or a list of named
// templates of which "default" is taken). NotFound if there is none.
MLXPACK_API Result<std::string> chat_template_from_json(std::string_view json_text, std::string_view origin);

}  // namespace mlxpack

#endif  // MLXPACK_CHAT_TEMPLATE_H_
