// `mlxpack tokenize` and `mlxpack template`: outputs, inputs from packs and
// directories, exit codes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

TEST(TokenizeCommand, PrintsIdsPiecesAndDecodes) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("tokenizers/llama3", dir);
  test::TempDir tmp;
  test::CommandResult r = test::run_cli("tokenize --model-root " + dir + " 'Hello world'", tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[9906, 1917]\n");  // the reference's ids for this text (reference/tokenizers/llama3.json)
  r = test::run_cli("tokenize -m " + dir + " --json 'Hello world'", tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["count"], 2);
  EXPECT_EQ(j["tokens"][1]["piece"], "\xC4\xA0world");
  EXPECT_EQ(j["tokens"][1]["text"], " world");
  r = test::run_cli("tokenize -m " + dir + " --decode '9906, 1917'", tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello world\n");
  test::write_file(tmp.file("in.txt"), "Hello world");
  r = test::run_cli("tokenize -m " + dir + " --input " + tmp.file("in.txt"), tmp);
  EXPECT_EQ(r.out, "[9906, 1917]\n");
}

TEST(TokenizeCommand, ReadsTheTokenizerBundledInAPack) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K", dir);
  test::TempDir tmp;
  test::pack_or_die(dir, tmp.file("m.mlxpack"));
  test::CommandResult from_pack = test::run_cli("tokenize --special -m " + tmp.file("m.mlxpack") + " 'Once upon a time'", tmp);
  test::CommandResult from_dir = test::run_cli("tokenize --special -m " + dir + " 'Once upon a time'", tmp);
  ASSERT_EQ(from_pack.exit_code, 0) << from_pack.err;
  EXPECT_EQ(from_pack.out, from_dir.out);
  EXPECT_EQ(from_pack.out.rfind("[1, ", 0), 0u) << from_pack.out;  // BOS first with --special
}

TEST(TokenizeCommand, BadInputExitsWithAClearError) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("tokenizers/llama3", dir);
  test::TempDir tmp;
  test::write_file(tmp.file("bad.txt"), "ok\xff");
  EXPECT_TRUE(test::cli_fails_with("tokenize -m " + dir + " --input " + tmp.file("bad.txt"), tmp,
                                   3, "not valid UTF-8: invalid byte 0xff at byte offset 2"));
  EXPECT_TRUE(test::cli_fails_with("tokenize -m " + dir + " --decode 'x1'", tmp, 2, "'x1' is not a token id"));
  test::CommandResult r = test::run_cli("tokenize -m " + dir + " --decode 999999999", tmp);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(test::cli_fails_with("tokenize -m " + tmp.path() + " hi", tmp,
                                   3, "has neither tokenizer.json nor tokenizer.model"));
  EXPECT_EQ(test::run_cli("tokenize -m " + dir, tmp).exit_code, 2);
  test::write_file(tmp.file("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": [], \"merges\": []}}");
  EXPECT_TRUE(test::cli_fails_with("tokenize -m " + tmp.path() + " hi", tmp,
                                   3, "tokenizer.json.model.vocab: expected an object, got array"));
}

TEST(TemplateCommand, RendersAModelsTemplateExactly) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("tokenizers/qwen3", dir);
  test::TempDir tmp;
  test::write_file(tmp.file("ctx.json"),
                   R"({"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": true})");
  test::CommandResult r = test::run_cli("template --model-root " + dir + " --context " + tmp.file("ctx.json"), tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  // The same template given as a file, and as a bare Jinja file.
  r = test::run_cli("template --template " + dir + "/tokenizer_config.json --context " + tmp.file("ctx.json"), tmp);
  EXPECT_EQ(r.out, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  test::write_file(tmp.file("chat_template.jinja"), "{{ bos_token }}{% for m in messages %}[{{ m.content }}]{% endfor %}");
  test::write_file(tmp.file("ctx2.json"), R"({"messages": [{"role": "user", "content": "a"}], "bos_token": "<s>"})");
  r = test::run_cli("template -t " + tmp.file("chat_template.jinja") + " -c " + tmp.file("ctx2.json"), tmp);
  EXPECT_EQ(r.out, "<s>[a]");
}

TEST(TemplateCommand, FillsBosAndEosFromTheModelAndReadsPacks) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K", dir);
  test::TempDir tmp;
  // stories260K has no chat template: give it one, then pack it.
  test::TempDir model;
  for (const std::string& f : test::list_files(dir)) test::write_file(model.file(f), test::read_file(dir + "/" + f));
  test::write_file(model.file("chat_template.jinja"), "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}");
  test::pack_or_die(model.path(), tmp.file("m.mlxpack"));
  test::write_file(tmp.file("ctx.json"), R"({"messages": [{"role": "user", "content": "story"}]})");
  test::CommandResult r = test::run_cli("template -m " + tmp.file("m.mlxpack") + " -c " + tmp.file("ctx.json"), tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "<s>story</s>");
}

TEST(TemplateCommand, TemplateErrorsExitNonZero) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("reference/chat/templates", dir);
  test::TempDir tmp;
  test::write_file(tmp.file("ctx.json"), R"({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]})");
  test::CommandResult r = test::run_cli("template -t " + dir + "/gemma2.json -c " + tmp.file("ctx.json"), tmp);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("System role not supported"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");  // nothing half-rendered
  test::write_file(tmp.file("bad.jinja"), "{% if %}");
  EXPECT_TRUE(test::cli_fails_with("template -t " + tmp.file("bad.jinja") + " -c " + tmp.file("ctx.json"), tmp, 3,
                                   "line 1"));
  test::write_file(tmp.file("notjson.json"), "[");
  r = test::run_cli("template -t " + tmp.file("bad.jinja") + " -c " + tmp.file("notjson.json"), tmp);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(test::run_cli("template -c " + tmp.file("ctx.json"), tmp).exit_code, 2);
}

}  // namespace
}  // namespace mlxpack
