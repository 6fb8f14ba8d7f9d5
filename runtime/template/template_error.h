// The exception the template engine uses internally. It never leaves the
// library: ChatTemplate turns it into a Status at the API boundary.
#ifndef MLXPACK_RUNTIME_TEMPLATE_TEMPLATE_ERROR_H_
#define MLXPACK_RUNTIME_TEMPLATE_TEMPLATE_ERROR_H_

#include <stdexcept>
#include <string>

namespace mlxpack::jinja {

class TemplateError : public std::runtime_error {
 public:
  // line 0: unknown. raised: from raise_exception (the message is the
  // template's own text and is reported without decoration).
  TemplateError(std::string message, int line = 0, bool raised = false)
      : std::runtime_error(message), line_(line), raised_(raised) {}
  int line() const { return line_; }
  bool raised() const { return raised_; }

 private:
  int line_;
  bool raised_;
};

}  // namespace mlxpack::jinja

#endif  // MLXPACK_RUNTIME_TEMPLATE_TEMPLATE_ERROR_H_
