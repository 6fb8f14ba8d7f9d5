// The public API of mlxpack/chat_template.h: the only place where template
// errors (exceptions inside the engine) become a Status.
#include "mlxpack/chat_template.h"

#include <nlohmann/json.hpp>

#include "runtime/template/ast.h"
#include "runtime/template/interpreter.h"
#include "runtime/template/lexer.h"
#include "runtime/template/template_error.h"
#include "runtime/text/utf8.h"
#include "runtime/tokenizer/tokenizer_config.h"

namespace mlxpack {

struct ChatTemplate::Impl {
  TemplateLimits limits;
  jinja::NodeList program;
};

namespace {

Status to_status(const jinja::TemplateError& e) {
  if (e.raised()) return Status::invalid_argument(e.what());
  if (e.line() > 0) return Status::invalid_argument("line " + std::to_string(e.line()) + ": " + e.what());
  return Status::invalid_argument(e.what());
}

}  // namespace

ChatTemplate::ChatTemplate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;
ChatTemplate::~ChatTemplate() = default;

Result<ChatTemplate> ChatTemplate::parse(std::string_view source, const TemplateLimits& limits) {
  if (source.size() > limits.max_template_bytes) {
    return Status::invalid_argument("template is " + std::to_string(source.size()) + " bytes, more than the limit " +
                                    std::to_string(limits.max_template_bytes));
  }
  if (auto bad = text::find_invalid_utf8(source)) {
    return Status::invalid_argument("template is not valid UTF-8 at byte " + std::to_string(*bad));
  }
  auto impl = std::make_unique<Impl>();
  impl->limits = limits;
  try {
    impl->program = jinja::parse(jinja::tokenize(source), limits.max_nesting_depth);
  } catch (const jinja::TemplateError& e) {
    return to_status(e);
  } catch (const std::bad_alloc&) {
    return Status::out_of_memory("out of memory while parsing the template");
  }
  return ChatTemplate(std::move(impl));
}

Result<std::string> ChatTemplate::render(std::string_view context_json) const {
  try {
    jinja::Value context;
    std::string error;
    if (!jinja::Value::parse_json(context_json, &context, &error)) return Status::invalid_argument("context: " + error);
    if (!context.is_mapping()) return Status::invalid_argument("context must be a JSON object of variables");
    jinja::Interpreter interpreter(impl_->limits);
    auto globals = std::make_shared<jinja::Environment>();
    interpreter.install_globals(globals);
    for (auto& [key, value] : context.object->items) globals->set(key, std::move(value));
    return interpreter.render(impl_->program, globals);
  } catch (const jinja::TemplateError& e) {
    return to_status(e);
  } catch (const std::bad_alloc&) {
    return Status::out_of_memory("out of memory while rendering the template");
  } catch (const std::exception& e) {
    return Status::invalid_argument(std::string("template error: ") + e.what());
  }
}

Result<std::string> chat_template_from_json(std::string_view json_text, std::string_view origin) {
  return tokenizer::chat_template_from_json(json_text, origin);
}

}  // namespace mlxpack
