// libFuzzer target: arbitrary bytes as a chat template (raw Jinja, or a
// JSON object with "chat_template", so the reference templates are seeds)
// and, after the first NUL, the context JSON; parse and render must end
// with text or an error, within the limits.
#include <cstdint>
#include <cstring>
#include <string>

#include "mlxpack/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* p = reinterpret_cast<const char*>(data);
  const void* nul = std::memchr(p, 0, size);
  const size_t split = nul != nullptr ? static_cast<size_t>(static_cast<const char*>(nul) - p) : size;
  std::string source(p, split);
  const std::string context =
      split < size ? std::string(p + split + 1, size - split - 1)
                   : std::string(R"({"messages":[{"role":"system","content":"s"},{"role":"user","content":"Hi"},)"
                                 R"({"role":"assistant","content":"<think>x</think>ok","tool_calls":[{"type":"function",)"
                                 R"("function":{"name":"f","arguments":{"a":1}}}]},{"role":"tool","content":"42"}],)"
                                 R"("add_generation_prompt":true,"bos_token":"<s>","eos_token":"</s>",)"
                                 R"("tools":[{"type":"function","function":{"name":"f","parameters":{}}}]})");
  if (auto t = mlxpack::chat_template_from_json(source, "fuzz"); t.is_ok()) source = *t;
  mlxpack::TemplateLimits limits;
  limits.max_steps = 200'000;
  limits.max_output_bytes = 1 << 20;
  limits.max_sequence_length = 1 << 12;
  auto tmpl = mlxpack::ChatTemplate::parse(source, limits);
  if (!tmpl.is_ok()) return 0;
  (void)tmpl->render(context);
  return 0;
}
