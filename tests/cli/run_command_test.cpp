// `mlxpack run` and `mlxpack chat`: streamed text, ids, log-probabilities,
// statistics, errors and exit codes.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <cstdlib>
#include <chrono>
#include <filesystem>
#include <thread>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/runtime/tiny_model.h"
#include "tests/support/test_support.h"
#include "tests/support/torch_checkpoint_writer.h"

namespace mlxpack {
namespace {

// The CLI on stories260K from the test data: `dir` is its folder.
class RunOnStories : public ::testing::Test {
 protected:
  void SetUp() override { MLXPACK_REQUIRE_TEST_DATA("models/stories260K", dir); }
  std::string dir;
  test::TempDir tmp;
};

TEST_F(RunOnStories, StreamsTheGreedyStoryAsTextAndAsIds) {
  auto r = test::run_cli("run -m " + dir + " --prompt-ids 1 -n 200", tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // llama2.c prints the same story (its file has no final newline; ours does).
  EXPECT_EQ(r.out, test::read_file(dir + "/expected/greedy_text_from_bos.txt") + "\n");
  for (const char* field : {"prompt tokens: 1", "generated tokens: 200", "time to first token:", "prefill:",
                            "decode:", "peak RSS:"}) {
    EXPECT_NE(r.err.find(field), std::string::npos) << field << " in " << r.err;
  }
  r = test::run_cli("run -m " + dir + " --prompt-ids 1 -n 200 --output-ids", tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string expected = test::read_file(dir + "/expected/greedy_ids_from_bos.txt");
  while (!expected.empty() && (expected.back() == '\n' || expected.back() == ' ')) expected.pop_back();
  EXPECT_EQ(r.out, expected + "\n");
  // Both float KV cache types keep the story, named in the verbose summary.
  for (const std::string kv : {"f32", "f16"}) {
    r = test::run_cli("run -m " + dir + " --prompt-ids 1 -n 200 --output-ids -v --kv-cache-type " + kv, tmp);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, expected + "\n") << kv;
    EXPECT_NE(r.err.find(kv == "f32" ? "KV cache F32 " : "KV cache F16 "), std::string::npos) << r.err;
  }
  // The int8 cache (whose agreement forward_test holds to the README's
  // floor) runs and says so; 512 positions of head_dim 8 in groups of 8:
  // 5 layers x 2 x 512 positions x 32 (4 kv heads of 8) x 1.25 bytes.
  r = test::run_cli("run -m " + dir + " --prompt-ids 1 -n 200 --output-ids -v --kv-cache-type q8_0", tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), ','), 199) << r.out;
  EXPECT_NE(r.err.find("KV cache Q8_0 0.2 MiB for 512 positions"), std::string::npos) << r.err;
}

// Speculative decoding tells the same story, and -v says how it went.
TEST_F(RunOnStories, SpeculativeDecodingTellsTheSameStory) {
  const auto plain = test::run_cli("run -m " + dir + " --prompt-ids 1 -n 120 --output-ids", tmp);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  for (const std::string& flags : {"--draft-model " + dir, "--draft-model " + dir + " --num-draft-tokens 6",
                                  std::string("--prompt-lookup"), std::string("--prompt-lookup --prompt-lookup-ngram 1")}) {
    auto r = test::run_cli("run -m " + dir + " --prompt-ids 1 -n 120 --output-ids -v " + flags, tmp);
    ASSERT_EQ(r.exit_code, 0) << flags << ": " << r.err;
    EXPECT_EQ(r.out, plain.out) << flags;
    EXPECT_NE(r.err.find("speculative: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(" accepted ("), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("speed-up "), std::string::npos) << r.err;
  }
  EXPECT_TRUE(test::cli_fails_with("run -m " + dir + " --prompt-ids 1 --prompt-lookup --draft-model " + dir, tmp, 2,
                                   "excludes"));
  EXPECT_TRUE(test::cli_fails_with("run -m " + dir + " --prompt-ids 1 --prompt-lookup-ngram 2", tmp, 2,
                                   "requires --prompt-lookup"));
  EXPECT_TRUE(test::cli_fails_with("run -m " + dir + " --prompt-ids 1 --draft-model " + tmp.file("none"), tmp, 4,
                                   "draft model " + tmp.file("none")));
}

// A Meta release directory (params.json, consolidated.00.pth,
// tokenizer.model) converts to a pack that runs, quantized on the way; a
// pickle that names os.system is refused with exit 3 and no output.
TEST(ConvertCommand, MetaCheckpointDirectoriesConvertAndRun) {
  std::string sp;
  MLXPACK_REQUIRE_TEST_DATA("tokenizers/llama2-sentencepiece", sp);
  test::TempDir tmp;
  const std::string dir = tmp.file("llama");
  std::filesystem::create_directories(dir);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  const auto tensor = [&](const std::string& name, std::vector<uint64_t> shape) {
    uint64_t n = 1;
    for (uint64_t d : shape) n *= d;
    std::vector<float> v(n);
    for (float& x : v) x = name.find("norm") != std::string::npos ? 1.0f : normal(rng);
    test::PickledTensor t{name, DType::kBF16, shape, std::string(n * 2, '\0')};
    for (uint64_t i = 0; i < n; ++i) {
      uint32_t bits;
      std::memcpy(&bits, &v[i], 4);
      t.bytes[2 * i] = static_cast<char>(bits >> 16);
      t.bytes[2 * i + 1] = static_cast<char>(bits >> 24);
    }
    return t;
  };
  std::vector<test::PickledTensor> tensors = {tensor("tok_embeddings.weight", {32000, 64}),
                                              tensor("norm.weight", {64}), tensor("output.weight", {32000, 64})};
  for (const std::string l : {"0", "1"}) {
    const std::string p = "layers." + l + ".";
    for (const auto& [name, shape] : std::vector<std::pair<std::string, std::vector<uint64_t>>>{
             {"attention.wq.weight", {64, 64}}, {"attention.wk.weight", {32, 64}}, {"attention.wv.weight", {32, 64}},
             {"attention.wo.weight", {64, 64}}, {"feed_forward.w1.weight", {128, 64}},
             {"feed_forward.w2.weight", {64, 128}}, {"feed_forward.w3.weight", {128, 64}},
             {"attention_norm.weight", {64}}, {"ffn_norm.weight", {64}}}) {
      tensors.push_back(tensor(p + name, shape));
    }
  }
  test::write_file(dir + "/consolidated.00.pth", test::torch_checkpoint(tensors, "consolidated"));
  test::write_file(dir + "/params.json", R"({"dim": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2,
    "vocab_size": 32000, "multiple_of": 64, "norm_eps": 1e-05})");
  std::filesystem::copy_file(sp + "/tokenizer.model", dir + "/tokenizer.model");
  auto r = test::run_cli("convert " + dir + " " + tmp.file("m.mlxpack") + " -q --q-bits 4 --q-group-size 32", tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run_cli("run -m " + tmp.file("m.mlxpack") + " -p 'Once upon a time' -n 4 -v", tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("generated tokens: 4"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("affine 4-bit g32"), std::string::npos) << r.err;
  // The same directory with a pickle that would call os.system.
  test::write_file(dir + "/consolidated.00.pth",
                   test::torch_checkpoint({}, "consolidated",
                                          "\x80\x02" + test::pickle_global("os", "system") + "(" +
                                              test::pickle_unicode("touch " + tmp.file("pwned")) + "tR."));
  EXPECT_TRUE(test::cli_fails_with("convert " + dir + " " + tmp.file("x.mlxpack"), tmp, 3,
                                   "global os.system is not one a state dict uses"));
  EXPECT_FALSE(std::filesystem::exists(tmp.file("x.mlxpack")));
  EXPECT_FALSE(std::filesystem::exists(tmp.file("pwned")));
}

// llama.cpp's own GGUF of the same model, imported, tells the same story.
TEST_F(RunOnStories, ImportedGgufTellsTheSameGreedyStory) {
  std::string gguf;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K-gguf", gguf);
  auto r = test::run_cli("convert " + gguf + "/stories260K.gguf " + tmp.file("g.mlxpack"), tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The GGUF says a 128-token context (llama2.c's converter); the story is 201.
  r = test::run_cli("run -m " + tmp.file("g.mlxpack") + " --prompt-ids 1 -n 200 --output-ids --context-size 256", tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string expected = test::read_file(dir + "/expected/greedy_ids_from_bos.txt");
  while (!expected.empty() && (expected.back() == '\n' || expected.back() == ' ')) expected.pop_back();
  EXPECT_EQ(r.out, expected + "\n");
  // info describes it from its header.
  r = test::run_cli("info " + gguf + "/stories260K.gguf", tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* field : {"GGUF file (llama.cpp's format), version 3, alignment 32", "architecture  llama",
                            "llama.block_count", "tokenizer     llama (pre -), 512 tokens",
                            "tensors       48, 292800 parameters", "F32: 48 tensors"}) {
    EXPECT_NE(r.out.find(field), std::string::npos) << field << " in " << r.out;
  }
  r = test::run_cli("info --json --tensors " + gguf + "/stories260K.gguf", tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["metadata"]["llama.embedding_length"], 64);
  EXPECT_EQ(j["metadata"]["tokenizer.ggml.tokens"]["length"], 512);
  EXPECT_EQ(j["tensors"][0]["name"], "token_embd.weight");
  EXPECT_EQ(j["tensors"][0]["dims"], nlohmann::json::array({64, 512}));
  // A GGUF that is not one: exit code 3 and the file named.
  test::write_file(tmp.file("bad.gguf"), std::string("GGUF\x03\0\0\0", 8));
  EXPECT_TRUE(test::cli_fails_with("convert " + tmp.file("bad.gguf") + " " + tmp.file("b.mlxpack"), tmp, 3,
                                   tmp.file("bad.gguf") + ": the file ends inside the tensor count"));
  EXPECT_TRUE(test::cli_fails_with("info " + tmp.file("bad.gguf"), tmp, 3, "the file ends inside the tensor count"));
}

// The flags people type by habit: mlx_lm's --model, --system-prompt,
// --ignore-chat-template; llama.cpp's -c/--ctx-size, --repeat-penalty,
// --repeat-last-n, --min-p; "-p -" reads the prompt from standard input.
TEST_F(RunOnStories, FamiliarSpellingsGiveTheSameResults) {
  const std::string base = "run --model-root " + dir + " -p 'Once upon a time' -n 30 --output-ids --context-size 256";
  auto expected = test::run_cli(base, tmp);
  ASSERT_EQ(expected.exit_code, 0) << expected.err;
  auto r = test::run_cli("run --model " + dir + " -p 'Once upon a time' -n 30 --output-ids -c 256", tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected.out);
  r = test::run_cli("run -m " + dir + " -p 'Once upon a time' -n 30 --output-ids --ctx-size 256 --ignore-chat-template", tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected.out);
  test::write_file(tmp.file("prompt.txt"), "Once upon a time");
  r = test::run_cli("run -m " + dir + " -p - -n 30 --output-ids -c 256 < " + tmp.file("prompt.txt"), tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected.out);
  r = test::run_cli("run -m " + dir + " --prompt - -n 30 --output-ids -c 256 < " + tmp.file("prompt.txt"), tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected.out);
  // The penalty changes the greedy story; both spellings agree.
  auto a = test::run_cli(base + " --repeat-penalty 5 --repeat-last-n 200", tmp);
  auto b = test::run_cli(base + " --repetition-penalty 5 --repeat-last-n 200", tmp);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, expected.out);
  r = test::run_cli(base + " --temp 1 --min-p 1 --seed 3", tmp);  // min-p 1: only the best token is left
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected.out);
  EXPECT_TRUE(test::cli_fails_with(base + " --min-p 2", tmp, 2, "--min-p"));
  EXPECT_TRUE(test::cli_fails_with(base + " --repeat-penalty 0", tmp, 2, "--repetition-penalty: value 0 is outside"));
  EXPECT_TRUE(test::cli_fails_with("run -m " + dir + " -p abc --system-prompt 'be nice'", tmp, 3,
                                   "--system needs a chat template"));
}

TEST_F(RunOnStories, TextPromptsVerboseTableAndLogprobs) {
  auto r = test::run_cli("run -m " + dir + " -p 'Once upon a time' -n 20 --verbose", tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(r.out.empty());
  for (const char* stage : {"embedding", "attention", "mlp", "lm_head", "sampling", "kernels"}) {
    EXPECT_NE(r.err.find(stage), std::string::npos) << stage;
  }
  r = test::run_cli("run -m " + dir + " --prompt-ids 1 -n 5 --logprobs 3", tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    ASSERT_EQ(j["top_logprobs"].size(), 3u);
    // Greedy: the chosen token is the most likely one, best first.
    EXPECT_EQ(j["id"], j["top_logprobs"][0]["id"]);
    EXPECT_GE(j["top_logprobs"][0]["logprob"].get<double>(), j["top_logprobs"][1]["logprob"].get<double>());
    EXPECT_LE(j["logprob"].get<double>(), 0.0);
    ++count;
  }
  EXPECT_EQ(count, 5);
}

// The new architectures through the CLI: `run` on each packed tiny model
// continues the prompt with the reference's greedy ids (F32 cache), and
// `info` on a 4-bit conversion names what makes the architecture.
TEST(RunCommand, NewArchitecturesGiveTheReferenceGreedyIds) {
  std::vector<test::TinySpec> specs(3);
  specs[0].model_type = "phi";
  specs[0].partial_rotary = 0.5;
  specs[1].model_type = "gemma3_text";
  specs[1].layers = 3;
  specs[1].tie_embeddings = true;
  specs[1].sliding_window = 3;
  specs[1].sliding_window_pattern = 3;
  specs[1].local_rope_theta = 10000.0;
  specs[1].rope_theta = 1000000.0;
  specs[1].final_softcap = 3.0;
  specs[2].model_type = "mixtral";
  specs[2].experts = 4;
  specs[2].experts_per_token = 2;
  for (const test::TinySpec& spec : specs) {
    SCOPED_TRACE(spec.model_type);
    test::TempDir tmp;
    const test::Tensors w = test::write_tiny_model(tmp.file("m"), spec);
    ASSERT_EQ(test::run_cli("pack " + tmp.file("m") + " " + tmp.file("m.mlxpack"), tmp).exit_code, 0);
    std::vector<int> ids = {1, 5, 9, 14};
    const size_t prompt = ids.size();
    std::string expected;
    for (int step = 0; step < 8; ++step) {
      const std::vector<double> last = test::reference_logits(spec, w, ids).back();
      std::vector<double> sorted = last;
      std::sort(sorted.rbegin(), sorted.rend());
      if (sorted[0] - sorted[1] < 1e-3) break;  // a near tie: the float rounding may pick either
      const int best = int(std::max_element(last.begin(), last.end()) - last.begin());
      if (best == 2) break;  // EOS ends the run
      ids.push_back(best);
      expected += (expected.empty() ? "" : ",") + std::to_string(best);
    }
    ASSERT_GE(ids.size(), prompt + 3) << "too few reference steps to compare";
    const size_t n = ids.size() - prompt;
    auto r = test::run_cli("run -m " + tmp.file("m.mlxpack") + " --prompt-ids 1,5,9,14 --output-ids --kv-cache-type f32 -n " +
                               std::to_string(n),
                           tmp);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, expected + "\n");
  }
  test::TempDir tmp;
  test::write_tiny_model(tmp.file("m"), specs[2]);
  ASSERT_EQ(test::run_cli("convert -q --q-group-size 32 " + tmp.file("m") + " " + tmp.file("q.mlxpack"), tmp).exit_code, 0);
  auto r = test::run_cli("info " + tmp.file("q.mlxpack"), tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("  experts          4, 2 per token\n"), std::string::npos) << r.out;
  // The router's own quantization, recorded in config.json.
  EXPECT_NE(r.out.find("    model.layers.0.block_sparse_moe.gate: 8-bit, group size 64\n"), std::string::npos) << r.out;
  r = test::run_cli("info --json --tensors " + tmp.file("q.mlxpack"), tmp);
  EXPECT_NE(r.out.find("model.layers.0.block_sparse_moe.switch_mlp.gate_proj.weight"), std::string::npos);
  r = test::run_cli("run -m " + tmp.file("q.mlxpack") + " --prompt-ids 1,5,9,14 --output-ids -n 4", tmp);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// A LoRA adapter through the CLI: `run --adapter-path` on the base and
// `run` on a pack bundling it (`pack --adapter-path`) give the greedy ids
// of `convert --adapter-path`'s fused pack (not the base's), and a bad
// adapter is an error naming it.
TEST(RunCommand, AnAdapterAppliedAtRunTimeMatchesTheFusedModel) {
  test::TempDir tmp;
  test::TinySpec spec;
  const test::Tensors w = test::write_tiny_model(tmp.file("m"), spec);
  test::write_lora_adapter(tmp.file("a"), w,
                           {"model.layers.0.self_attn.q_proj", "model.layers.1.mlp.up_proj", "lm_head"}, 4, 4.0,
                           DType::kF32, 3);
  auto r = test::run_cli("convert --adapter-path " + tmp.file("a") + " " + tmp.file("m") + " " + tmp.file("f.mlxpack"), tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("  adapter       fused into 3 layers\n"), std::string::npos) << r.out;
  const std::string args = " --prompt-ids 1,5,9,14 --output-ids --kv-cache-type f32 -n 12";
  auto fused = test::run_cli("run -m " + tmp.file("f.mlxpack") + args, tmp);
  auto applied = test::run_cli("run -m " + tmp.file("m") + " --adapter-path " + tmp.file("a") + args, tmp);
  auto base = test::run_cli("run -m " + tmp.file("m") + args, tmp);
  ASSERT_EQ(fused.exit_code, 0) << fused.err;
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_EQ(applied.out, fused.out);
  EXPECT_NE(applied.out, base.out);
  // Bundled beside the base (spec §6.6): run applies it, --no-adapter
  // does not, extract gives both files back byte for byte.
  r = test::run_cli("pack --adapter-path " + tmp.file("a") + " " + tmp.file("m") + " " + tmp.file("b.mlxpack"), tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto bundled = test::run_cli("run -m " + tmp.file("b.mlxpack") + args, tmp);
  auto unapplied = test::run_cli("run -m " + tmp.file("b.mlxpack") + " --no-adapter" + args, tmp);
  EXPECT_EQ(bundled.out, fused.out);
  EXPECT_EQ(unapplied.out, base.out);
  r = test::run_cli("info " + tmp.file("b.mlxpack"), tmp);
  EXPECT_NE(r.out.find("  adapter/adapter_config.json"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  adapter/adapters.safetensors"), std::string::npos) << r.out;
  ASSERT_EQ(test::run_cli("extract " + tmp.file("b.mlxpack") + " " + tmp.file("x"), tmp).exit_code, 0);
  EXPECT_EQ(test::read_file(tmp.file("x/adapter/adapters.safetensors")), test::read_file(tmp.file("a/adapters.safetensors")));
  EXPECT_EQ(test::read_file(tmp.file("x/adapter/adapter_config.json")), test::read_file(tmp.file("a/adapter_config.json")));
  // The mlx-dir export keeps it as the folder adapter/ (mlx_lm.generate
  // --adapter-path DIR/adapter); --force replaces only what convert wrote.
  const std::string to_dir = "convert --output-format mlx-dir " + tmp.file("b.mlxpack") + " " + tmp.file("d");
  ASSERT_EQ(test::run_cli(to_dir, tmp).exit_code, 0);
  EXPECT_EQ(test::read_file(tmp.file("d/adapter/adapters.safetensors")), test::read_file(tmp.file("a/adapters.safetensors")));
  EXPECT_EQ(test::run_cli("run -m " + tmp.file("d") + " --adapter-path " + tmp.file("d/adapter") + args, tmp).out, fused.out);
  EXPECT_EQ(test::run_cli(to_dir + " --force", tmp).exit_code, 0);
  test::write_file(tmp.file("d/adapter/notes.txt"), "mine");
  r = test::run_cli(to_dir + " --force", tmp);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("holds 'adapter/notes.txt', which convert did not write"), std::string::npos) << r.err;
  EXPECT_EQ(test::read_file(tmp.file("d/adapter/notes.txt")), "mine");
  EXPECT_TRUE(test::cli_fails_with("convert --adapter-path " + tmp.file("a") + " " + tmp.file("b.mlxpack") + " " +
                                       tmp.file("twice.mlxpack"),
                                   tmp, 3, "bundles an adapter already"));
  test::write_file(tmp.file("a/adapter_config.json"), R"({"fine_tune_type": "dora", "lora_parameters": {"rank": 4}})");
  EXPECT_TRUE(test::cli_fails_with("pack --adapter-path " + tmp.file("a") + " " + tmp.file("m") + " " +
                                       tmp.file("c.mlxpack"),
                                   tmp, 3, "fine_tune_type: \"dora\" is not supported"));
  EXPECT_TRUE(test::cli_fails_with("run -m " + tmp.file("m") + " --adapter-path " + tmp.file("a") + args, tmp, 3,
                                   "fine_tune_type: \"dora\" is not supported"));
  EXPECT_TRUE(test::cli_fails_with("run -m " + tmp.file("m") + " --adapter-path " + tmp.file("nothing") + args, tmp, 4,
                                   "nothing/adapter_config.json"));
}

TEST(RunCommand, BadInputGetsAClearErrorAndExitCode) {
  test::TempDir tmp;
  test::write_tiny_model(tmp.path(), {});
  const std::string dir = tmp.path();
  auto r = test::run_cli("run -m " + dir + " --prompt-ids 5,6 -n 2", tmp);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(test::cli_fails_with("run -m " + dir + " --prompt-ids 5,x", tmp,
                                   2, "--prompt-ids: 'x' is not a token id"));
  EXPECT_TRUE(test::cli_fails_with("run -m " + dir + " --prompt-ids 5,6,7,8,9,10,11,12,13,14 --context-size 8 --num-sink-tokens 4", tmp,
                                   3, "context holds 8"));
  EXPECT_TRUE(test::cli_fails_with("run -m " + dir + " -p abc --system 'be nice'", tmp,
                                   3, "--system needs a chat template"));
  r = test::run_cli("run -m " + dir, tmp);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(test::cli_fails_with("run -m " + dir + " --prompt-ids 5,6 --kv-cache-type f8", tmp,
                                   2, "--kv-cache-type: f8 not in {f16,f32,q8_0}"));
  EXPECT_TRUE(test::cli_fails_with("run -m " + tmp.file("nothing-here") + " -p hi", tmp, 4, "nothing-here"));
  std::string config = test::read_file(tmp.file("config.json"));
  config.replace(config.find("\"llama\""), 7, "\"mamba\"");
  test::write_file(tmp.file("config.json"), config);
  EXPECT_TRUE(test::cli_fails_with("run -m " + dir + " -p hi", tmp,
                                   3, "'mamba' is not supported; supported: llama (LlamaForCausalLM)"));
}

// run and chat check a pack's checksums before the first token: a flipped
// byte in a tensor is exit 3 naming it; --no-verify skips the check.
TEST(RunCommand, ACorruptPackFailsBeforeTheFirstTokenUnlessNoVerify) {
  test::TempDir tmp;
  test::write_tiny_model(tmp.file("m"), {});
  test::write_file(tmp.file("m/tokenizer_config.json"), R"({"chat_template": "{{ messages[0]['content'] }}"})");
  ASSERT_EQ(test::run_cli("pack " + tmp.file("m") + " " + tmp.file("m.mlxpack"), tmp).exit_code, 0);
  const auto info = nlohmann::json::parse(test::run_cli("info --json --tensors " + tmp.file("m.mlxpack"), tmp).out);
  const auto& victim = info["tensors"]["list"][1];
  std::string bytes = test::read_file(tmp.file("m.mlxpack"));
  bytes[victim["offset"].get<size_t>() + 3] ^= 0x10;
  test::write_file(tmp.file("m.mlxpack"), bytes);
  const std::string name = victim["name"];
  EXPECT_TRUE(test::cli_fails_with("run -m " + tmp.file("m.mlxpack") + " --prompt-ids 5,6 -n 2", tmp, 3,
                                   "corrupt entries (" + name + ")"));
  test::write_file(tmp.file("line.txt"), "hi\n");
  EXPECT_TRUE(test::cli_fails_with("chat -m " + tmp.file("m.mlxpack") + " -n 2 < " + tmp.file("line.txt"), tmp, 3,
                                   "corrupt entries (" + name + ")"));
  auto r = test::run_cli("run -m " + tmp.file("m.mlxpack") + " --prompt-ids 5,6 -n 2 --no-verify", tmp);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(ChatCommand, AnswersEachLineAndKeepsTheCacheBetweenTurns) {
  test::TempDir tmp;
  test::write_tiny_model(tmp.path(), {});
  test::write_file(tmp.file("tokenizer_config.json"),
                   R"({"bos_token": "<s>", "eos_token": "</s>", "chat_template":
                   "{% for m in messages %}<s>{{ m['role'][0] }} {{ m['content'] }}</s>{% endfor %}{% if add_generation_prompt %}<s>a {% endif %}"})");
  test::write_file(tmp.file("in.txt"), "hello there\nhow are you\n");
  auto r = test::run_cli("chat -m " + tmp.path() + " -n 6 --verbose < " + tmp.file("in.txt"), tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Two answers, two statistics lines; the second turn feeds only the new text.
  size_t first = r.err.find("prompt tokens: ");
  ASSERT_NE(first, std::string::npos) << r.err;
  size_t second = r.err.find("prompt tokens: ", first + 1);
  ASSERT_NE(second, std::string::npos) << r.err;
  const int turn1 = std::stoi(r.err.substr(first + 15));
  const int turn2 = std::stoi(r.err.substr(second + 15));
  // Turn 1: "<s>u hello there</s><s>a " = 1 + 2 + 11 + 1 + 1 + 2 tokens.
  EXPECT_EQ(turn1, 18);
  // Turn 2 would be ~40 tokens from scratch; only the new part is fed.
  EXPECT_LT(turn2, 25) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);

  test::TempDir plain;
  test::write_tiny_model(plain.path(), {});
  EXPECT_TRUE(test::cli_fails_with("chat -m " + plain.path() + " < /dev/null", tmp, 3, "no chat template"));
}

// Ctrl-C stops the reply and returns to the prompt; commands are answered,
// an unknown /command is not sent to the model; Ctrl-C at the prompt
// leaves. The model has no EOS and the context evicts, so a reply runs
// until it is interrupted.
TEST(ChatCommand, CtrlCStopsTheReplyAndCommandsAreAnswered) {
  test::TempDir tmp;
  test::write_tiny_model(tmp.path(), {});
  nlohmann::json config = nlohmann::json::parse(test::read_file(tmp.file("config.json")));
  config.erase("eos_token_id");
  test::write_file(tmp.file("config.json"), config.dump());
  std::filesystem::remove(tmp.file("generation_config.json"));
  test::write_file(tmp.file("tokenizer_config.json"),
                   R"({"chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}"})");
  int to_chat[2];
  ASSERT_EQ(::pipe(to_chat), 0);
  const std::string out = tmp.file("chat.out"), err = tmp.file("chat.err");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(to_chat[0], 0);
    ::close(to_chat[1]);
    std::freopen(out.c_str(), "w", stdout);
    std::freopen(err.c_str(), "w", stderr);
    ::execl(MLXPACK_CLI_PATH, MLXPACK_CLI_PATH, "chat", "-m", tmp.path().c_str(), "-n", "100000000",
            "--context-size", "64", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(to_chat[0]);
  const auto send = [&](const std::string& text) { ASSERT_EQ(::write(to_chat[1], text.data(), text.size()), ssize_t(text.size())); };
  const auto wait_for = [&](const std::string& path, const std::string& needle, size_t min_size) {
    for (int i = 0; i < 20000; ++i) {
      const std::string got = test::read_file(path);
      if (got.size() >= min_size && got.find(needle) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  };
  send("hello\n");
  EXPECT_TRUE(wait_for(out, "", 200)) << "the reply did not start";
  ::kill(pid, SIGINT);
  EXPECT_TRUE(wait_for(err, "[reply stopped]", 0)) << test::read_file(err);
  send("/bogus\n/help\n/reset\n");
  EXPECT_TRUE(wait_for(err, "conversation cleared", 0)) << test::read_file(err);
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, WNOHANG), 0) << "chat left after the first Ctrl-C";
  ::kill(pid, SIGINT);
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) << "status " << status;
  ::close(to_chat[1]);
  const std::string e = test::read_file(err);
  EXPECT_NE(e.find("unknown command /bogus; /help lists the commands"), std::string::npos) << e;
  EXPECT_NE(e.find("commands: /help"), std::string::npos) << e;
  EXPECT_EQ(e.find("error"), std::string::npos) << e;
}

// On a terminal chat edits lines and keeps a history (libedit): "/hlp",
// two Left arrows, "e" is "/help"; Up then Enter repeats it; without
// editing the arrows would be characters and "/hlp..." an unknown command.
TEST(ChatCommand, LineEditingAndHistoryOnATerminal) {
#if !defined(MLXPACK_HAVE_LIBEDIT)
  if (std::getenv("CI") != nullptr && std::string(std::getenv("CI")) == "true") {
    FAIL() << "built without libedit under CI=true (scripts/install-deps.sh installs libedit-dev)";
  }
  GTEST_SKIP() << "built without libedit";
#endif
  test::TempDir tmp;
  test::write_tiny_model(tmp.path(), {});
  test::write_file(tmp.file("tokenizer_config.json"), R"({"chat_template": "{{ messages[0]['content'] }}"})");
  int master = -1, slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setsid();
    ::ioctl(slave, TIOCSCTTY, 0);
    for (int fd : {0, 1, 2}) ::dup2(slave, fd);
    ::close(master);
    ::setenv("TERM", "xterm", 1);
    ::execl(MLXPACK_CLI_PATH, MLXPACK_CLI_PATH, "chat", "-m", tmp.path().c_str(), "-n", "2",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(slave);
  std::string seen;
  const auto read_until = [&](const std::string& needle, size_t count) {
    for (int i = 0; i < 2000; ++i) {
      size_t n = 0;
      for (size_t at = seen.find(needle); at != std::string::npos; at = seen.find(needle, at + 1)) ++n;
      if (n >= count) return true;
      pollfd p{master, POLLIN, 0};
      if (::poll(&p, 1, 10) > 0) {
        char buf[4096];
        const ssize_t got = ::read(master, buf, sizeof buf);
        if (got <= 0) return false;
        seen.append(buf, static_cast<size_t>(got));
      }
    }
    return false;
  };
  const auto type = [&](const std::string& keys) { ASSERT_EQ(::write(master, keys.data(), keys.size()), ssize_t(keys.size())); };
  ASSERT_TRUE(read_until("> ", 1)) << seen;
  type("/hlp\x1b[D\x1b[De\r");
  EXPECT_TRUE(read_until("commands: /help", 1)) << seen;
  type("\x1b[A\r");
  EXPECT_TRUE(read_until("commands: /help", 2)) << seen;
  EXPECT_EQ(seen.find("unknown command"), std::string::npos) << seen;
  type("/exit\r");
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "\n" << seen;
  ::close(master);
}

}  // namespace
}  // namespace mlxpack
