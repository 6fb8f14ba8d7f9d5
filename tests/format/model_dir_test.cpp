#include "format/model_dir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "format/byte_order.h"
#include "pack/packer.h"
#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

class ModelDirTest : public ::testing::Test {
 protected:
  std::string model() const { return dir_.file("model"); }

  void expect_pack_fails(const std::string& fragment, StatusCode code = StatusCode::kInvalidArgument) {
    PackOptions o;
    o.input_dir = model();
    o.output_path = dir_.file("out.mlxpack");
    auto r = pack_model_dir(o);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), code) << r.status().to_string();
    EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
    EXPECT_FALSE(std::filesystem::exists(o.output_path));
    for (const auto& f : test::list_files(dir_.path())) {
      EXPECT_EQ(f.find(".tmp-"), std::string::npos) << "temporary file left: " << f;
    }
  }

  void write_safetensors(const std::string& name, const std::string& header, const std::string& data) {
    std::string file(8, '\0');
    store_le64(reinterpret_cast<uint8_t*>(file.data()), header.size());
    test::write_file(model() + "/" + name, file + header + data);
  }

  test::TempDir dir_;
};

TEST_F(ModelDirTest, PlansFilesSourcesAndSkips) {
  test::write_model_dir(model(), test::sample_tensors());
  test::write_file(model() + "/tokenizer.json", "{}");
  test::write_file(model() + "/README.md", "# hi");
  test::write_file(model() + "/notes.txt", "x");
  test::write_file(model() + "/pytorch_model.bin", "pickle");
  std::filesystem::create_directories(model() + "/original");
  auto plan = plan_model_dir(model());
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  EXPECT_EQ(plan->architecture, "LlamaForCausalLM");
  std::vector<std::string> files;
  for (const auto& f : plan->files) files.push_back(f.name);
  EXPECT_EQ(files, (std::vector<std::string>{"README.md", "config.json", "tokenizer.json"}));
  ASSERT_EQ(plan->sources.size(), 1u);
  EXPECT_EQ(plan->tensor_count, 4u);
  EXPECT_EQ(plan->skipped.size(), 3u);
}

TEST_F(ModelDirTest, MissingDirectoryIsRejected) { expect_pack_fails("not a directory"); }

TEST_F(ModelDirTest, EmptyDirectoryIsRejected) {
  std::filesystem::create_directories(model());
  expect_pack_fails("empty");
}

TEST_F(ModelDirTest, MissingConfigIsRejected) {
  test::write_model_dir(model(), test::sample_tensors());
  std::filesystem::remove(model() + "/config.json");
  expect_pack_fails("no config.json");
}

TEST_F(ModelDirTest, MalformedConfigIsRejected) {
  test::write_model_dir(model(), test::sample_tensors());
  test::write_file(model() + "/config.json", "{not json");
  expect_pack_fails("config.json: not valid JSON");
}

TEST_F(ModelDirTest, PickleWeightsAloneAreRejectedWithAdvice) {
  test::write_file(model() + "/config.json", "{}");
  test::write_file(model() + "/pytorch_model.bin", "pickle");
  expect_pack_fails("convert them to safetensors first");
}

TEST_F(ModelDirTest, NoWeightsIsRejected) {
  test::write_file(model() + "/config.json", "{}");
  expect_pack_fails("no .safetensors");
}

// The user chose the directory: a link to a regular file is read wherever
// it points (the Hugging Face hub cache links snapshots into ../../blobs).
TEST_F(ModelDirTest, SymlinkToAFileOutsideTheDirectoryIsFollowed) {
  test::write_model_dir(model(), test::sample_tensors());
  test::write_file(dir_.file("elsewhere.json"), "{}");
  ASSERT_EQ(::symlink(dir_.file("elsewhere.json").c_str(), (model() + "/tokenizer.json").c_str()), 0);
  auto plan = plan_model_dir(model());
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  const auto& files = plan->files;
  EXPECT_TRUE(std::any_of(files.begin(), files.end(), [](const auto& f) { return f.name == "tokenizer.json"; }));
}

// Links that are not to regular files: each refused with its own message,
// or skipped when the file is optional.
TEST_F(ModelDirTest, HostileSymlinksAreRefused) {
  test::write_model_dir(model(), test::sample_tensors());
  const std::string link = model() + "/tokenizer.json";
  ASSERT_EQ(::symlink("tokenizer.json", link.c_str()), 0);  // a loop of one
  expect_pack_fails("symlink loop");
  std::filesystem::remove(link);
  ASSERT_EQ(::symlink("missing", link.c_str()), 0);
  expect_pack_fails("broken symlink");
  std::filesystem::remove(link);
  std::filesystem::create_directories(dir_.file("outside"));
  ASSERT_EQ(::symlink(dir_.file("outside").c_str(), (model() + "/sub").c_str()), 0);
  expect_pack_fails("symlinked directory leads out of");
  std::filesystem::remove(model() + "/sub");
  ASSERT_EQ(::symlink("/dev/null", link.c_str()), 0);  // a device: skipped, not read
  auto plan = plan_model_dir(model());
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  EXPECT_NE(std::find(plan->skipped.begin(), plan->skipped.end(), "tokenizer.json: not a regular file"),
            plan->skipped.end());
  ASSERT_EQ(::mkfifo(dir_.file("fifo").c_str(), 0600), 0);
  std::filesystem::remove(model() + "/config.json");
  ASSERT_EQ(::symlink(dir_.file("fifo").c_str(), (model() + "/config.json").c_str()), 0);
  expect_pack_fails("config.json: not a regular file");
}

TEST_F(ModelDirTest, SymlinkInsideTheDirectoryIsFollowed) {
  test::write_model_dir(model(), test::sample_tensors());
  test::write_file(model() + "/blobs/abc", "{\"x\":1}");
  ASSERT_EQ(::symlink("blobs/abc", (model() + "/tokenizer.json").c_str()), 0);
  auto plan = plan_model_dir(model());
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
}

TEST_F(ModelDirTest, MalformedSafetensorsAreRejected) {
  test::write_file(model() + "/config.json", "{}");
  const std::string ok_tensor = R"("a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]})";
  struct Case {
    std::string header, data, fragment;
  };
  const Case cases[] = {
      {"{" + ok_tensor + "}", "abc", "trailing bytes"},                                       // hole at end
      {R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", "ab", "past the"},         // out of range
      {R"({"a":{"dtype":"U8","shape":[3],"data_offsets":[0,2]}})", "ab", "give 3 bytes"},     // size mismatch
      {R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})",
       "abc", "overlap"},
      {"{oops", "", "not valid JSON"},
  };
  for (const Case& c : cases) {
    write_safetensors("model.safetensors", c.header, c.data);
    expect_pack_fails(c.fragment, StatusCode::kCorruption);
  }
  // Header length beyond the file.
  test::write_file(model() + "/model.safetensors", std::string("\xff\x00\x00\x00\x00\x00\x00\x00{}", 10));
  expect_pack_fails("bytes follow the size field", StatusCode::kCorruption);
}

TEST_F(ModelDirTest, ShardIndexIsValidated) {
  const auto tensors = test::sample_tensors();
  test::write_model_dir(model(), {tensors[0], tensors[1]});
  std::filesystem::rename(model() + "/model.safetensors", model() + "/model-00001-of-00002.safetensors");
  test::write_file(model() + "/model-00002-of-00002.safetensors", encode_safetensors({tensors[2], tensors[3]}, {}));
  const auto index = [&](const std::string& map) {
    test::write_file(model() + "/model.safetensors.index.json", R"({"metadata":{},"weight_map":{)" + map + "}}");
  };
  const std::string s1 = "model-00001-of-00002.safetensors", s2 = "model-00002-of-00002.safetensors";
  const std::string good = "\"" + tensors[0].name + "\":\"" + s1 + "\",\"" + tensors[1].name + "\":\"" + s1 +
                           "\",\"" + tensors[2].name + "\":\"" + s2 + "\",\"" + tensors[3].name + "\":\"" + s2 + "\"";
  index(good);
  ASSERT_TRUE(plan_model_dir(model()).is_ok()) << plan_model_dir(model()).status().to_string();

  index(good + ",\"ghost\":\"" + s1 + "\"");
  expect_pack_fails("'ghost' is mapped to " + s1 + " but is not in that shard");
  index("\"" + tensors[0].name + "\":\"" + s1 + "\"");
  expect_pack_fails("missing from weight_map");
  index("\"" + tensors[0].name + "\":\"../model-00001-of-00002.safetensors\"");
  expect_pack_fails("'..'");
  index("\"" + tensors[0].name + "\":\"model-00009-of-00009.safetensors\"");
  expect_pack_fails("not a safetensors file");
  // An empty map would skip both shards and plan a pack without weights.
  index("");
  expect_pack_fails("'weight_map' is empty");
}

TEST_F(ModelDirTest, SameTensorInTwoFilesIsRejected) {
  const auto tensors = test::sample_tensors();
  test::write_model_dir(model(), {tensors[0]});
  test::write_file(model() + "/extra.safetensors", encode_safetensors({tensors[0]}, {}));
  expect_pack_fails("is in both");
}

}  // namespace
}  // namespace mlxpack
