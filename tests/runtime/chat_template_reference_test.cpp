// Every case of ../shared/reference/chat/cases.json: the rendered text, or
// the error the template raises, must equal the reference's exactly.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "mlxpack/chat_template.h"
#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

TEST(ChatTemplateReference, EveryCaseMatchesTheReference) {
  std::string cases_path;
  MLXPACK_REQUIRE_TEST_DATA("reference/chat/cases.json", cases_path);
  const auto cases = nlohmann::ordered_json::parse(test::read_file(cases_path));
  const std::string templates_dir = cases_path.substr(0, cases_path.rfind('/')) + "/" + cases["templates_dir"].get<std::string>();
  ASSERT_GE(cases["cases"].size(), 200u);
  size_t outputs = 0;
  size_t errors = 0;
  for (const auto& c : cases["cases"]) {
    const std::string name = c["template"].get<std::string>() + "/" + c["conversation_id"].get<std::string>();
    const std::string template_json = test::read_file(templates_dir + "/" + c["template"].get<std::string>() + ".json");
    auto source = chat_template_from_json(template_json, name);
    ASSERT_TRUE(source.is_ok()) << source.status().to_string();
    auto tmpl = ChatTemplate::parse(*source);
    ASSERT_TRUE(tmpl.is_ok()) << name << ": " << tmpl.status().to_string();
    auto rendered = tmpl->render(c["context"].dump());
    if (c.contains("output")) {
      ASSERT_TRUE(rendered.is_ok()) << name << ": " << rendered.status().to_string();
      EXPECT_EQ(*rendered, c["output"].get<std::string>()) << name;
      ++outputs;
    } else {
      ASSERT_FALSE(rendered.is_ok()) << name << " rendered instead of failing:\n" << *rendered;
      EXPECT_EQ(rendered.status().message(), c["error"].get<std::string>()) << name;
      ++errors;
    }
  }
  EXPECT_EQ(outputs + errors, cases["cases"].size());
  EXPECT_GT(errors, 0u);
}

}  // namespace
}  // namespace mlxpack
