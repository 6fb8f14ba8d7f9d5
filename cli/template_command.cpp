// mlxpack template: renders a chat template with the variables of a JSON
// context file and prints the text exactly (no newline added).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/input.h"
#include "mlxpack/chat_template.h"

namespace mlxpack::cli {

namespace {

struct TemplateOptions {
  std::string model_root;
  std::string template_file;
  std::string context_file;
};


int run_template(const TemplateOptions& options) {
  std::string source;
  std::string bos;
  std::string eos;
  if (!options.model_root.empty()) {
    if (Status s = require_existing(options.model_root); !s.is_ok()) return report_error("template", s);
    auto found = load_chat_template(options.model_root);
    if (!found.is_ok()) return report_error("template", found.status());
    source = found->source;
    bos = found->bos_token;
    eos = found->eos_token;
  } else {
    auto text = read_input(options.template_file, kMaxTemplateFileBytes);
    if (!text.is_ok()) return report_error("template", text.status());
    // A JSON object (tokenizer_config.json or {"chat_template": ...}) holds
    // the template in a field; anything else is the template itself.
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (!j.is_discarded() && j.is_object()) {
      auto t = chat_template_from_json(*text, options.template_file);
      if (!t.is_ok()) return report_error("template", t.status());
      source = std::move(*t);
      if (j.contains("bos_token") && j["bos_token"].is_string()) bos = j["bos_token"];
      if (j.contains("eos_token") && j["eos_token"].is_string()) eos = j["eos_token"];
    } else {
      source = std::move(*text);
    }
  }
  auto context_text = read_input(options.context_file, kMaxContextBytes);
  if (!context_text.is_ok()) return report_error("template", context_text.status());
  nlohmann::json context;
  try {
    context = nlohmann::json::parse(*context_text);
  } catch (const nlohmann::json::exception& e) {  // names the line, column and what is wrong (e.g. bad UTF-8)
    return report_error("template", Status::invalid_argument(options.context_file + ": not valid JSON: " + e.what()));
  }
  if (!context.is_object()) {
    return report_error("template", Status::invalid_argument(options.context_file + ": is JSON but not an object of "
                                                             "variables (it is " + context.type_name() + ")"));
  }
  // The model's own special-token strings, unless the context sets them:
  // added as text after the opening brace so the context's key order (which
  // templates print in) is kept.
  std::string extra;
  if (!bos.empty() && !context.contains("bos_token")) extra += "\"bos_token\":" + nlohmann::json(bos).dump() + ",";
  if (!eos.empty() && !context.contains("eos_token")) extra += "\"eos_token\":" + nlohmann::json(eos).dump() + ",";
  std::string context_json = *context_text;
  if (!extra.empty()) {
    const size_t brace = context_json.find('{');
    if (context.empty()) extra.pop_back();  // no trailing comma before "}"
    context_json.insert(brace + 1, extra);
  }
  auto tmpl = ChatTemplate::parse(source);
  if (!tmpl.is_ok()) return report_error("template", tmpl.status());
  auto rendered = tmpl->render(context_json);
  if (!rendered.is_ok()) return report_error("template", rendered.status());
  std::fwrite(rendered->data(), 1, rendered->size(), stdout);
  return kExitOk;
}

}  // namespace

void add_template_command(CLI::App& root, int* exit_code) {
  auto options = std::make_shared<TemplateOptions>();
  CLI::App* cmd = root.add_subcommand("template", "Render a model's chat template with a JSON context");
  auto* model = cmd->add_option("--model-root,-m", options->model_root,
                                "A .mlxpack, a model directory, or a directory with tokenizer files");
  auto* file = cmd->add_option("--template,-t", options->template_file,
                               "A tokenizer_config.json, a chat_template.jinja, or a JSON object with chat_template");
  model->excludes(file);
  cmd->add_option("--context,-c", options->context_file,
                  "JSON object of variables: messages, add_generation_prompt, tools, bos_token, ... ('-' for stdin)")
      ->required();
  cmd->callback([options, exit_code, model, file] {
    if (model->count() == 0 && file->count() == 0) {
      std::fprintf(stderr, "mlxpack template: error: give --model-root PATH or --template FILE\n");
      *exit_code = kExitUsage;
      return;
    }
    *exit_code = run_template(*options);
  });
}

}  // namespace mlxpack::cli
