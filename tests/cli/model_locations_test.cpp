// Models where users keep them: a Hugging Face hub cache snapshot (files
// that are symlinks into ../../blobs), `info DIR`, and files that are not
// packs (GGUF, safetensors, PyTorch) named for what they are.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/runtime/tiny_model.h"
#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

namespace fs = std::filesystem;

// Moves every file of `model` into a hub cache under `hub`, as
// huggingface_hub lays it out: models--org--name/blobs/<hash> holds the
// bytes, snapshots/<revision>/<file> links to ../../blobs/<hash>, and
// refs/main names the revision. Returns the snapshot directory.
std::string make_hub_cache(const std::string& model, const std::string& hub) {
  const std::string revision = "0123456789abcdef0123456789abcdef01234567";
  const fs::path repo = fs::path(hub) / "models--org--tiny";
  const fs::path snapshot = repo / "snapshots" / revision;
  fs::create_directories(repo / "blobs");
  fs::create_directories(snapshot);
  test::write_file((repo / "refs" / "main").string(), revision);
  int n = 0;
  for (const auto& e : fs::directory_iterator(model)) {
    char hash[65];
    std::snprintf(hash, sizeof hash, "%064x", 0x5eed0000 + n++);
    fs::rename(e.path(), repo / "blobs" / hash);
    fs::create_symlink(fs::path("../../blobs") / hash, snapshot / e.path().filename());
  }
  return snapshot.string();
}

TEST(HubCache, PackRunConvertAndInfoReadASnapshotOfSymlinks) {
  test::TempDir tmp;
  test::write_tiny_model(tmp.file("plain"), {});
  test::write_tiny_model(tmp.file("model"), {});
  const std::string snapshot = make_hub_cache(tmp.file("model"), tmp.file("hub"));
  ASSERT_TRUE(fs::is_symlink(snapshot + "/config.json"));
  ASSERT_TRUE(fs::is_symlink(snapshot + "/model.safetensors"));

  const std::string run_args = " --prompt-ids 5,6,7 -n 4 --output-ids";
  auto expected = test::run_cli("run -m " + tmp.file("plain") + run_args, tmp);
  ASSERT_EQ(expected.exit_code, 0) << expected.err;
  auto r = test::run_cli("run -m " + snapshot + run_args, tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected.out);

  r = test::run_cli("pack " + snapshot + " " + tmp.file("p.mlxpack"), tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run_cli("run -m " + tmp.file("p.mlxpack") + run_args, tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected.out);

  r = test::run_cli("convert -q " + snapshot + " " + tmp.file("q.mlxpack"), tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = test::run_cli("info --json " + snapshot, tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["model"]["model_type"], "llama");
  EXPECT_EQ(j["safetensors_files"].size(), 1u);
}

// `info DIR` gives the pack's fields, read from the directory's files.
TEST(InfoCommand, ModelDirectoryGivesThePacksFields) {
  test::TempDir tmp;
  test::write_tiny_model(tmp.file("m"), {});
  ASSERT_EQ(test::run_cli("pack " + tmp.file("m") + " " + tmp.file("m.mlxpack"), tmp).exit_code, 0);
  auto dir = test::run_cli("info --json --tensors " + tmp.file("m"), tmp);
  ASSERT_EQ(dir.exit_code, 0) << dir.err;
  auto pack = test::run_cli("info --json --tensors " + tmp.file("m.mlxpack"), tmp);
  ASSERT_EQ(pack.exit_code, 0) << pack.err;
  auto d = nlohmann::json::parse(dir.out);
  auto p = nlohmann::json::parse(pack.out);
  EXPECT_EQ(d["model"], p["model"]);
  EXPECT_EQ(d["tensors"]["count"], p["tensors"]["count"]);
  EXPECT_EQ(d["tensors"]["bytes"], p["tensors"]["bytes"]);
  EXPECT_EQ(d["safetensors_files"], p["safetensors_files"]);
  auto text = test::run_cli("info " + tmp.file("m"), tmp);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("model directory"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("bits per weight  32.00"), std::string::npos) << text.out;
}

// GGUF, safetensors and PyTorch files given as a pack: `info` and `run`
// say what the file is and what to do (exit 3, invalid input); `info`
// describes a GGUF instead, `run` says to import it.
TEST(ForeignFiles, InfoAndRunSayWhatTheFileIs) {
  test::TempDir tmp;
  test::write_tiny_model(tmp.file("m"), {});
  std::string zip("PK\x03\x04", 4);
  zip += std::string(22, '\0') + std::string("\x10\0\0\0", 4) + "archive/data.pkl" + std::string(64, '\0');
  test::write_file(tmp.file("model.pt"), zip);
  test::write_file(tmp.file("pytorch_model.bin"), std::string("\x80\x02}q\0.", 6));
  test::write_file(tmp.file("model.gguf"), std::string("GGUF\x03\0\0\0", 8) + std::string(64, '\0'));
  const struct {
    std::string file, says;
  } cases[] = {{tmp.file("model.gguf"), "this is a GGUF file"},
               {tmp.file("m/model.safetensors"), "this is a safetensors file"},
               {tmp.file("model.pt"), "this is a PyTorch checkpoint"},
               {tmp.file("pytorch_model.bin"), "this is a PyTorch checkpoint"}};
  for (const auto& c : cases) {
    if (c.file != tmp.file("model.gguf")) {
      EXPECT_TRUE(test::cli_fails_with("info " + c.file, tmp, 3, c.says));
    }
    EXPECT_TRUE(test::cli_fails_with("run -m " + c.file + " -p hi", tmp, 3, c.says));
  }
  EXPECT_TRUE(test::cli_fails_with("run -m " + tmp.file("model.gguf") + " -p hi", tmp, 3,
                                   "import it first (`mlxpack convert FILE.gguf OUT.mlxpack`)"));
  auto info = test::run_cli("info " + tmp.file("model.gguf"), tmp);
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("GGUF file (llama.cpp's format), version 3"), std::string::npos) << info.out;
}

TEST(ForeignFiles, TheRealStoriesGgufIsNamed) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K-gguf", dir);
  test::TempDir tmp;
  EXPECT_TRUE(test::cli_fails_with("run -m " + dir + "/stories260K.gguf -p hi", tmp, 3, "this is a GGUF file"));
}

}  // namespace
}  // namespace mlxpack
