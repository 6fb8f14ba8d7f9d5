// The command line against hostile inputs and mistaken flags: bounded reads,
// non-blocking opens, escaped names, sizes checked before allocating, and the
// README's exit codes for every command (issue 16, classes 7, 9, 14-19).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/runtime/tiny_model.h"
#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

class HostileCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_tiny_model(dir_.file("m"), {});
    ASSERT_EQ(run("pack " + dir_.file("m") + " " + pack()).exit_code, 0);
  }
  // `timeout` turns a command that blocks (a FIFO open) into exit 124.
  test::CommandResult run(const std::string& args, const std::string& stdin_path = "/dev/null") {
    return test::run_command("timeout 60 " + std::string(MLXPACK_CLI_PATH) + " " + args + " < " + stdin_path,
                             dir_.file("stderr.txt"));
  }
  std::string pack() const { return dir_.file("m.mlxpack"); }
  std::string model() const { return dir_.file("m"); }
  test::TempDir dir_;
};

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_F(HostileCliTest, AMissingInputIsExit4ForEveryCommand) {
  const std::string none = dir_.file("absent");
  test::write_file(dir_.file("ctx.json"), "{}");
  test::write_file(dir_.file("t.jinja"), "x");
  for (const std::string& args :
       {"pack " + none + " " + dir_.file("o.mlxpack"), "info " + none, "verify " + none,
        "extract " + none + " " + dir_.file("o"), "convert " + none + " " + dir_.file("o.mlxpack"),
        "tokenize -m " + none + " hi", "tokenize -m " + model() + " --input " + none,
        "template -m " + none + " -c " + dir_.file("ctx.json"), "template -t " + none + " -c " + dir_.file("ctx.json"),
        "template -t " + dir_.file("t.jinja") + " -c " + none, "run -m " + none + " --prompt-ids 1",
        "chat -m " + none}) {
    SCOPED_TRACE(args);
    auto r = run(args);
    EXPECT_EQ(r.exit_code, 4) << r.err;
    EXPECT_TRUE(has(r.err, "absent")) << r.err;
  }
}

TEST_F(HostileCliTest, BadAndOutOfRangeFlagValuesAreUsageErrorsForEveryCommand) {
  const std::string out = dir_.file("o.mlxpack");
  const std::string m = model();
  const std::vector<std::string> cases = {
      // unparseable
      "pack " + m + " " + out + " --alignment x", "info " + pack() + " --bogus", "verify " + pack() + " --threads x",
      "extract " + pack() + " " + dir_.file("x") + " --bogus", "convert " + m + " " + out + " --q-bits x",
      "tokenize -m " + m + " --decode x1", "template -m " + m + " --bogus", "run -m " + m + " --prompt-ids 1,x",
      "run -m " + m + " --prompt-ids 1 --temp warm", "chat -m " + m + " --top-k many",
      // out of range
      "pack " + m + " " + out + " --alignment 3", "pack " + m + " " + out + " --alignment 100",
      "verify " + pack() + " --threads -1", "convert " + m + " " + out + " -q --q-bits 7",
      "convert " + m + " " + out + " -q --q-group-size 48", "convert " + m + " " + out + " --alignment 96",
      "convert " + m + " " + out + " --embedding-quantize 4,33", "convert " + m + " " + out + " --dtype f8",
      "convert " + m + " " + out + " --output-format onnx", "convert " + m + " " + out + " --gguf-type q3_k",
      "convert " + m + " " + out + " --q-recipe mixed_9_9",
      "run -m " + m + " --prompt-ids 1 --top-p 2", "run -m " + m + " --prompt-ids 1 --top-p 0",
      "run -m " + m + " --prompt-ids 1 --temp -1", "run -m " + m + " --prompt-ids 1 --context-size 1",
      "run -m " + m + " --prompt-ids 1 --eviction-batch-percent 0", "run -m " + m + " --prompt-ids 1 --logprobs 5000",
      "chat -m " + m + " --top-k -1", "chat -m " + m + " --threads 100000"};
  for (const std::string& args : cases) {
    SCOPED_TRACE(args);
    auto r = run(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(has(r.err, "error")) << r.err;
  }
  // The message says what the range is.
  EXPECT_TRUE(has(run("run -m " + m + " --prompt-ids 1 --context-size 1").err, "not in range 2 to 4194304"));
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST_F(HostileCliTest, InputsAreReadWithinTheirLimits) {
  test::write_file(dir_.file("ctx.json"), R"({"messages": []})");
  test::write_file(dir_.file("t.jinja"), "ok");
  auto r = run("template -t /dev/zero -c " + dir_.file("ctx.json"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(has(r.err, "/dev/zero: more than the limit of 16777216 bytes")) << r.err;
  r = run("template -t " + dir_.file("t.jinja") + " -c /dev/zero");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(has(r.err, "/dev/zero: more than the limit of 67108864 bytes")) << r.err;
  r = run("tokenize -m " + model() + " --input /dev/zero");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(has(r.err, "/dev/zero: more than the limit of 268435456 bytes")) << r.err;
  // A sparse 5 GB file: refused by its size, before reading.
  {
    std::FILE* f = std::fopen(dir_.file("sparse.txt").c_str(), "w");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(::ftruncate(::fileno(f), 5ll << 30), 0);
    std::fclose(f);
  }
  r = run("tokenize -m " + model() + " --input " + dir_.file("sparse.txt"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(has(r.err, "file is 5368709120 bytes, more than the limit of 268435456")) << r.err;
  r = run("template -t " + dir_.file("sparse.txt") + " -c " + dir_.file("ctx.json"));
  EXPECT_EQ(r.exit_code, 3);
  // Directories given as files: a plain message, exit 3.
  for (const std::string& args : {"template -t " + dir_.path() + " -c " + dir_.file("ctx.json"),
                                  "template -t " + dir_.file("t.jinja") + " -c " + dir_.path(),
                                  "tokenize -m " + model() + " --input " + dir_.path(), "verify " + dir_.path()}) {
    SCOPED_TRACE(args);
    r = run(args);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_TRUE(has(r.err, "is a directory, expected a file")) << r.err;
  }
  // chat reads one bounded line at a time.
  test::write_file(model() + "/tokenizer_config.json", R"({"chat_template": "{{ messages[0]['content'] }}"})");
  r = run("chat -m " + model() + " -n 1", "/dev/zero");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(has(r.err, "standard input: a line is more than the limit of 16777216 bytes")) << r.err;
}

TEST_F(HostileCliTest, AFifoIsRefusedWithoutBlocking) {
  ASSERT_EQ(::mkfifo(dir_.file("fifo").c_str(), 0644), 0);
  for (const std::string& args : {"info " + dir_.file("fifo"), "verify " + dir_.file("fifo"),
                                  "extract " + dir_.file("fifo") + " " + dir_.file("x"),
                                  "run -m " + dir_.file("fifo") + " --prompt-ids 1"}) {
    SCOPED_TRACE(args);
    auto r = run(args);
    EXPECT_EQ(r.exit_code, 3) << r.err;  // 124 if open() blocked
    EXPECT_TRUE(has(r.err, "not a regular file")) << r.err;
  }
  // config.json as a FIFO: said so, not "no config.json".
  std::filesystem::remove(model() + "/config.json");
  ASSERT_EQ(::mkfifo((model() + "/config.json").c_str(), 0644), 0);
  auto r = run("pack " + model() + " " + dir_.file("o.mlxpack"));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(has(r.err, "config.json: not a regular file")) << r.err;
}

TEST_F(HostileCliTest, NamesFromFilesAreEscapedWhenPrinted) {
  const std::string evil = "x\x1b[2J\nFAKE.safetensors";
  std::filesystem::rename(model() + "/model.safetensors", model() + "/" + evil);
  auto r = run("pack " + model() + " " + dir_.file("e.mlxpack"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "x\\x1b[2J\\x0aFAKE.safetensors")) << r.out;
  EXPECT_FALSE(has(r.out, "\x1b")) << r.out;
  r = run("info " + dir_.file("e.mlxpack"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "x\\x1b[2J\\x0aFAKE.safetensors")) << r.out;
  EXPECT_FALSE(has(r.out, "\x1b")) << r.out;
  // In error messages too.
  r = run("info '" + dir_.file("no\x07such\x1b]0;title\x07") + "'");
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_TRUE(has(r.err, "no\\x07such\\x1b]0;title\\x07")) << r.err;
  EXPECT_FALSE(has(r.err, "\x1b")) << r.err;
}

TEST_F(HostileCliTest, AContextThatIsNotUtf8SaysSo) {
  test::write_file(dir_.file("t.jinja"), "ok");
  test::write_file(dir_.file("ctx.json"), "{\"a\": \"\xff\"}");
  auto r = run("template -t " + dir_.file("t.jinja") + " -c " + dir_.file("ctx.json"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(has(r.err, "not valid JSON")) << r.err;
  EXPECT_TRUE(has(r.err, "ill-formed UTF-8")) << r.err;
  EXPECT_FALSE(has(r.err, "\xff")) << r.err;
  test::write_file(dir_.file("ctx.json"), "[1]");
  r = run("template -t " + dir_.file("t.jinja") + " -c " + dir_.file("ctx.json"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(has(r.err, "is JSON but not an object of variables (it is array)")) << r.err;
}

TEST_F(HostileCliTest, SizesAreCheckedBeforeAllocating) {
  // A tensor declared 100 GB over a sparse file.
  const std::string big = dir_.file("big");
  std::filesystem::create_directory(big);
  std::string header = R"({"model.layers.0.mlp.up_proj.weight":{"dtype":"F32","shape":[250000,100000],)"
                       R"("data_offsets":[0,100000000000]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string prefix(8, '\0');
  for (int k = 0; k < 8; ++k) prefix[k] = static_cast<char>((header.size() >> (8 * k)) & 0xFF);
  test::write_file(big + "/model.safetensors", prefix + header);
  ASSERT_EQ(::truncate((big + "/model.safetensors").c_str(), static_cast<off_t>(8 + header.size() + 100000000000ll)), 0);
  test::write_file(big + "/config.json", R"({"model_type": "llama", "architectures": ["LlamaForCausalLM"]})");
  auto r = run("convert " + big + " " + dir_.file("big.mlxpack") + " --dtype bf16");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(has(r.err, "model.layers.0.mlp.up_proj.weight: converting it needs 100000000000 bytes of memory at once"))
      << r.err;
  // A KV cache larger than the machine: 32 GiB per layer at 4,194,304 positions.
  const uint64_t memory = static_cast<uint64_t>(::sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  test::TinySpec wide;
  wide.hidden = 1024;
  wide.heads = 8;
  wide.kv_heads = 8;
  wide.head_dim = 128;
  wide.intermediate = 32;
  wide.layers = static_cast<int>(memory / (32ull << 30)) + 1;
  test::write_tiny_model(dir_.file("wide"), wide);
  r = run("run -m " + dir_.file("wide") + " --prompt-ids 1 -n 1 --context-size 4194304 --kv-cache-type f32");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(has(r.err, "--context-size 4194304: the KV cache would take")) << r.err;
}

TEST_F(HostileCliTest, AMillionStopIdsAreRefusedQuickly) {
  nlohmann::json config = nlohmann::json::parse(test::read_file(model() + "/config.json"));
  config["eos_token_id"] = std::vector<int>(1'000'000, 3);
  test::write_file(model() + "/config.json", config.dump());
  std::filesystem::remove(model() + "/generation_config.json");
  auto r = run("run -m " + model() + " --prompt-ids 1 -n 1");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(has(r.err, "config.json.eos_token_id: lists 1000000 token ids, more than the limit of 1024")) << r.err;
}

#if !defined(__SANITIZE_ADDRESS__)
// tokenize printed ids through a piece string per token (about 40 bytes per
// input byte on one long line); it now keeps 4 bytes per token. Under an
// address-space cap of 1 GiB a 50 MB single line must go through (the old
// path needed ~0.8-2 GB). ASan reserves terabytes of address space.
TEST_F(HostileCliTest, ALongSingleLineTokenizesInBoundedMemory) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("tokenizers/llama3", dir);
  std::string line;
  line.reserve(50u << 20);
  const char* words[] = {"the ", "quick ", "brown ", "fox, ", "jumps ", "over ", "42 ", "lazy ", "dogs! "};
  for (size_t k = 0; line.size() < (50u << 20); ++k) line += words[(k * 7 + k / 3) % 9];
  test::write_file(dir_.file("line.txt"), line);
  auto r = test::run_command("bash -c 'ulimit -v 1048576; exec " + std::string(MLXPACK_CLI_PATH) + " tokenize -m " +
                                 dir + " --input " + dir_.file("line.txt") + " > " + dir_.file("ids.txt") + "'",
                             dir_.file("stderr.txt"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string ids = test::read_file(dir_.file("ids.txt"));
  EXPECT_GT(ids.size(), 20u << 20);
  EXPECT_EQ(ids.substr(ids.size() - 2), "]\n");
}
#endif

}  // namespace
}  // namespace mlxpack
