// The `mlxpack` binary: positional and flag forms, exit codes, messages.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "format/layout.h"
#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

// stdout and stderr together in `out`.
test::CommandResult run(const std::string& args) { return test::run_command(std::string(MLXPACK_CLI_PATH) + " " + args); }

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_model_dir(dir_.file("m"), test::sample_tensors());
    pack_ = dir_.file("m.mlxpack");
  }
  test::TempDir dir_;
  std::string pack_;
};

TEST_F(CliTest, PositionalAndFlagFormsWork) {
  test::CommandResult p = run("pack " + dir_.file("m") + " " + pack_);
  ASSERT_EQ(p.exit_code, 0) << p.out;
  EXPECT_NE(p.out.find("LlamaForCausalLM"), std::string::npos);
  EXPECT_NE(p.out.find("model.safetensors"), std::string::npos);
  EXPECT_EQ(run("info " + pack_).exit_code, 0);
  EXPECT_EQ(run("info --input " + pack_ + " --tensors").exit_code, 0);
  EXPECT_EQ(run("verify " + pack_).exit_code, 0);
  EXPECT_EQ(run("verify --input " + pack_ + " --threads 2").exit_code, 0);
  test::CommandResult e = run("extract --input " + pack_ + " --output " + dir_.file("out"));
  ASSERT_EQ(e.exit_code, 0) << e.out;
  EXPECT_EQ(test::read_file(dir_.file("out/model.safetensors")), test::read_file(dir_.file("m/model.safetensors")));
  EXPECT_EQ(run("extract " + pack_ + " " + dir_.file("one") + " --file config.json").exit_code, 0);
  EXPECT_EQ(test::list_files(dir_.file("one")), std::vector<std::string>{"config.json"});
}

TEST_F(CliTest, InfoJsonIsMachineReadable) {
  ASSERT_EQ(run("pack --input " + dir_.file("m") + " --output " + pack_).exit_code, 0);
  test::CommandResult r = run("info --json " + pack_);
  ASSERT_EQ(r.exit_code, 0);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["model"]["num_key_value_heads"], 1);
  EXPECT_EQ(j["model"]["eos_token_ids"], nlohmann::json::array({2, 3}));
  EXPECT_EQ(j["tensors"]["count"], 4);
}

TEST_F(CliTest, UsageErrorsExitWith2) {
  EXPECT_EQ(run("").exit_code, 2);
  EXPECT_EQ(run("pack").exit_code, 2);
  EXPECT_EQ(run("info --bogus x").exit_code, 2);
  EXPECT_EQ(run("--help").exit_code, 0);
  ASSERT_EQ(run("pack " + dir_.file("m") + " " + pack_).exit_code, 0);
  test::CommandResult again = run("pack " + dir_.file("m") + " " + pack_);
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.out.find("--force"), std::string::npos);
  EXPECT_EQ(run("pack --force " + dir_.file("m") + " " + pack_).exit_code, 0);
  EXPECT_EQ(run("pack --alignment 100 " + dir_.file("m") + " " + dir_.file("x.mlxpack")).exit_code, 2);
}

// A mistyped command names the closest one; --help shows the version.
TEST_F(CliTest, UnknownCommandsNameTheClosestAndHelpShowsTheVersion) {
  const struct {
    std::string word, says;
  } cases[] = {{"inof", "did you mean `info`?"},
               {"conver", "did you mean `convert`?"},
               {"verfy", "did you mean `verify`?"},
               {"xyzzy", "the commands are pack, info, extract, verify, convert, tokenize, template, run, chat"}};
  for (const auto& c : cases) {
    test::CommandResult r = run(c.word + " " + pack_);
    EXPECT_EQ(r.exit_code, 2) << c.word;
    EXPECT_NE(r.out.find("unknown command '" + c.word + "'; " + c.says), std::string::npos) << r.out;
  }
  const test::CommandResult version = run("--version");
  ASSERT_EQ(version.exit_code, 0);
  const std::string v = version.out.substr(0, version.out.find(' ', 8));  // "mlxpack 1.0.0"
  EXPECT_EQ(run("--help").out.rfind(v + ":", 0), 0u) << v;
}

TEST_F(CliTest, InvalidInputExitsWith3AndIOFailureWith4) {
  test::write_file(dir_.file("notapack"), "{\"a\":1}");
  test::CommandResult r = run("info " + dir_.file("notapack"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.out.find("not an mlxpack file"), std::string::npos) << r.out;
  EXPECT_EQ(run("verify " + dir_.file("absent.mlxpack")).exit_code, 4);
  std::filesystem::remove(dir_.file("m/config.json"));
  test::CommandResult p = run("pack " + dir_.file("m") + " " + pack_);
  EXPECT_EQ(p.exit_code, 3);
  EXPECT_NE(p.out.find("no config.json"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(pack_));
}

TEST_F(CliTest, VerifyNamesTheCorruptEntryAndExits3) {
  ASSERT_EQ(run("pack " + dir_.file("m") + " " + pack_).exit_code, 0);
  test::CommandResult info = run("info --json --tensors " + pack_);
  const auto j = nlohmann::json::parse(info.out);
  const auto& first = j["tensors"]["list"][0];
  std::string bytes = test::read_file(pack_);
  bytes[first["offset"].get<uint64_t>() + 1] ^= 0x40;
  test::write_file(pack_, bytes);
  test::CommandResult v = run("verify " + pack_);
  EXPECT_EQ(v.exit_code, 3);
  EXPECT_NE(v.out.find("'" + first["name"].get<std::string>() + "'"), std::string::npos) << v.out;
  test::CommandResult vj = run("verify --json " + pack_);
  EXPECT_EQ(vj.exit_code, 3);
  EXPECT_EQ(nlohmann::json::parse(vj.out)["corrupt"][0]["name"], first["name"]);
}

TEST_F(CliTest, ExtractRefusesATraversingPackAndWritesNothing) {
  ASSERT_EQ(run("pack " + dir_.file("m") + " " + pack_).exit_code, 0);
  test::PackBytes p;
  p.bytes = test::read_file(pack_);
  // Rename bundled file "config.json" to "../fig.json" and reseal the checksums.
  const size_t pos = p.bytes.find("config.json", p.index_offset());
  ASSERT_NE(pos, std::string::npos);
  p.bytes.replace(pos, 11, "../fig.json");
  p.reseal();
  test::write_file(dir_.file("evil.mlxpack"), p.bytes);
  test::CommandResult e = run("extract " + dir_.file("evil.mlxpack") + " " + dir_.file("out/inner"));
  EXPECT_EQ(e.exit_code, 3);
  EXPECT_NE(e.out.find("bad_path"), std::string::npos) << e.out;
  EXPECT_FALSE(std::filesystem::exists(dir_.file("out/fig.json")));
  EXPECT_FALSE(std::filesystem::exists(dir_.file("out/inner")));
}

TEST_F(CliTest, ConvertQuantizesWithMlxFlagsAndReports) {
  test::write_model_dir(dir_.file("m"), {
                                            {"model.embed_tokens.weight", DType::kF32, {16, 64}, test::random_bytes(4096, 1)},
                                            {"model.layers.0.self_attn.q_proj.weight", DType::kF32, {64, 64},
                                             test::random_bytes(16384, 2)},
                                            {"model.norm.weight", DType::kF32, {64}, test::random_bytes(256, 3)},
                                        });
  test::CommandResult c = run("convert " + dir_.file("m") + " " + pack_ + " -q --q-bits 8 --q-group-size 32 --report --threads 2");
  ASSERT_EQ(c.exit_code, 0) << c.out;
  EXPECT_NE(c.out.find("quantization report"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("bpw"), std::string::npos);
  const auto j = nlohmann::json::parse(run("info --json " + pack_).out);
  EXPECT_EQ(j["model"]["quantization"]["bits"], 8);
  EXPECT_EQ(j["model"]["quantization"]["group_size"], 32);

  test::CommandResult d = run("convert --input " + dir_.file("m") + " --output " + dir_.file("mlx") +
                 " --output-format mlx-dir --quantize-linear int4 --embedding-quantize 8,32 --dtype bf16");
  ASSERT_EQ(d.exit_code, 0) << d.out;
  const auto config = nlohmann::json::parse(test::read_file(dir_.file("mlx/config.json")));
  EXPECT_EQ(config["quantization"]["bits"], 4);
  EXPECT_EQ(config["quantization"]["model.embed_tokens"]["bits"], 8);
  EXPECT_EQ(config["torch_dtype"], "bfloat16");
  EXPECT_EQ(run("convert " + dir_.file("m") + " " + dir_.file("mlx") + " --output-format mlx-dir").exit_code, 2);
}

// Which flags quantize embeddings: mlx_lm's -q does (the embedding stored
// as U32 words with scales); --no-quantize-embeddings and ExecuTorch's
// --quantize-linear leave it float; an explicit embedding setting wins.
TEST_F(CliTest, ConvertQuantizesEmbeddingsAsMlxLmDoes) {
  test::write_model_dir(dir_.file("m"), {
                                            {"model.embed_tokens.weight", DType::kF32, {16, 64}, test::random_bytes(4096, 1)},
                                            {"model.layers.0.self_attn.q_proj.weight", DType::kF32, {64, 64},
                                             test::random_bytes(16384, 2)},
                                            {"model.norm.weight", DType::kF32, {64}, test::random_bytes(256, 3)},
                                        });
  const struct {
    std::string flags, embed_dtype;
  } cases[] = {{"-q", "U32"},
               {"-q --no-quantize-embeddings", "F32"},
               {"--quantize-linear int4", "F32"},
               {"--quantize-linear int4 --quantize-embeddings int8", "U32"}};
  for (const auto& c : cases) {
    test::CommandResult r = run("convert --force " + dir_.file("m") + " " + pack_ + " " + c.flags);
    ASSERT_EQ(r.exit_code, 0) << c.flags << ": " << r.out;
    const auto j = nlohmann::json::parse(run("info --json --tensors " + pack_).out);
    std::string dtype;
    for (const auto& t : j["tensors"]["list"]) {
      if (t["name"] == "model.embed_tokens.weight") dtype = t["dtype"];
    }
    EXPECT_EQ(dtype, c.embed_dtype) << c.flags;
  }
  test::CommandResult r = run("convert --force " + dir_.file("m") + " " + pack_ + " -q --no-quantize-embeddings --embedding-quantize 4,64");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("excludes"), std::string::npos) << r.out;
}

TEST_F(CliTest, ConvertRejectsBadSettings) {
  for (const char* flags : {"-q --q-bits 7", "-q --q-group-size 48", "--quantize-linear int3",
                                   "--embedding-quantize 4", "--dtype f8", "--q-recipe mixed_9_9",
                                   "--output-format onnx", "--output-format gguf --gguf-type q2_k"}) {
    test::CommandResult r = run("convert " + dir_.file("m") + " " + pack_ + " " + std::string(flags));
    EXPECT_EQ(r.exit_code, 2) << flags << ": " << r.out;
    EXPECT_NE(r.out.find("error"), std::string::npos) << flags;
    EXPECT_FALSE(std::filesystem::exists(pack_)) << flags;
  }
}


// --force replaces only a regular file: never a FIFO, a device or a directory.
TEST_F(CliTest, ForceReplacesOnlyRegularFiles) {
  ASSERT_EQ(::mkfifo(dir_.file("fifo").c_str(), 0644), 0);
  std::filesystem::create_directory(dir_.file("d"));
  test::write_file(dir_.file("d/keep.txt"), "mine");
  for (const std::string& target : {dir_.file("fifo"), dir_.file("d")}) {
    for (const std::string& command : {"pack " + dir_.file("m") + " " + target + " --force",
                                       "convert " + dir_.file("m") + " " + target + " --force"}) {
      SCOPED_TRACE(command);
      test::CommandResult r = run(command);
      EXPECT_EQ(r.exit_code, 2) << r.out;
      EXPECT_NE(r.out.find("--force replaces only regular files"), std::string::npos) << r.out;
    }
  }
  struct stat st;
  ASSERT_EQ(::lstat(dir_.file("fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(test::read_file(dir_.file("d/keep.txt")), "mine");
  // A regular file is replaced.
  test::write_file(pack_, "old");
  EXPECT_EQ(run("pack " + dir_.file("m") + " " + pack_ + " --force").exit_code, 0);
  EXPECT_EQ(run("verify " + pack_).exit_code, 0);
}

// convert --output-format mlx-dir --force deleted the output directory whole,
// other files included, and could replace the input model itself.
TEST_F(CliTest, MlxDirForceReplacesOnlyAPreviousOutputOfOurs) {
  const std::string m = dir_.file("m");
  const std::string weights = test::read_file(m + "/model.safetensors");
  for (const std::string& out : {m, m + "/sub", std::string(".")}) {
    SCOPED_TRACE(out);
    const std::string cd = out == "." ? "cd " + m + " && " : "";
    const std::string cmd = cd + std::string(MLXPACK_CLI_PATH) + " convert --input " + m + " --output " + out +
                            " --output-format mlx-dir --force 2>&1";
    const int status = std::system(cmd.c_str());
    EXPECT_EQ(WEXITSTATUS(status), 3);
  }
  EXPECT_EQ(test::read_file(m + "/model.safetensors"), weights);
  // A directory with other files is refused even with --force.
  std::filesystem::create_directory(dir_.file("other"));
  test::write_file(dir_.file("other/notes.txt"), "mine");
  test::CommandResult r = run("convert " + m + " " + dir_.file("other") + " --output-format mlx-dir --force");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("was not written by mlxpack convert"), std::string::npos) << r.out;
  EXPECT_EQ(test::read_file(dir_.file("other/notes.txt")), "mine");
  // Our own previous output is replaced, but not once a foreign file is added.
  ASSERT_EQ(run("convert " + m + " " + dir_.file("mlx") + " --output-format mlx-dir").exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(dir_.file("mlx/.mlxpack-convert-output")));
  test::CommandResult again = run("convert " + m + " " + dir_.file("mlx") + " --output-format mlx-dir --force --dtype bf16");
  EXPECT_EQ(again.exit_code, 0) << again.out;
  test::write_file(dir_.file("mlx/notes.txt"), "mine");
  r = run("convert " + m + " " + dir_.file("mlx") + " --output-format mlx-dir --force");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("holds 'notes.txt', which convert did not write"), std::string::npos) << r.out;
  EXPECT_EQ(test::read_file(dir_.file("mlx/notes.txt")), "mine");
}

// --force on a path that is one of the files being read (the input pack,
// a safetensors file of the input directory, also through a hard link)
// would destroy the input: refused, the input unchanged.
TEST_F(CliTest, ForceNeverReplacesTheInput) {
  const std::string m = dir_.file("m");
  const std::string weights = test::read_file(m + "/model.safetensors");
  ASSERT_EQ(run("pack " + m + " " + pack_).exit_code, 0);
  const std::string packed = test::read_file(pack_);
  ASSERT_EQ(::link((m + "/model.safetensors").c_str(), dir_.file("alias.safetensors").c_str()), 0);
  for (const std::string& command :
       {"pack " + m + " " + m + "/model.safetensors --force", "pack " + m + " " + m + "/config.json --force",
        "pack " + m + " " + dir_.file("alias.safetensors") + " --force",
        "convert " + m + " " + m + "/model.safetensors --force", "convert " + pack_ + " " + pack_ + " --force"}) {
    SCOPED_TRACE(command);
    test::CommandResult r = run(command);
    EXPECT_EQ(r.exit_code, 3) << r.out;
    EXPECT_NE(r.out.find("the output is the input"), std::string::npos) << r.out;
  }
  EXPECT_EQ(test::read_file(m + "/model.safetensors"), weights);
  EXPECT_EQ(test::read_file(pack_), packed);
  // A previous pack inside the model directory is not an input: replaced.
  EXPECT_EQ(run("pack " + m + " " + m + "/m.mlxpack").exit_code, 0);
  EXPECT_EQ(run("pack " + m + " " + m + "/m.mlxpack --force").exit_code, 0);
}

}  // namespace
}  // namespace mlxpack
