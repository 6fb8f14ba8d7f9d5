// PyTorch checkpoints (format/torch_checkpoint.h, torch_pickle.h,
// zip_archive.h): a state dict written as torch.save lays it out is read
// back in place, in plain and ZIP64 archives; every hostile pickle or
// archive is refused with its own error, and nothing in it runs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "format/file_io.h"
#include "format/torch_checkpoint.h"
#include "format/torch_pickle.h"
#include "tests/support/test_support.h"
#include "tests/support/torch_checkpoint_writer.h"

namespace mlxpack::test {
namespace {

using namespace std::string_literals;

std::vector<PickledTensor> some_tensors() {
  std::vector<PickledTensor> t(3);
  t[0] = {"layers.0.attention.wq.weight", DType::kBF16, {2, 3}, std::string(12, '\0')};
  t[1] = {"norm.weight", DType::kF32, {4}, std::string(16, '\0')};
  t[2] = {"tok_embeddings.weight", DType::kF16, {1, 2, 2}, std::string(8, '\0')};
  for (PickledTensor& x : t) {
    for (size_t i = 0; i < x.bytes.size(); ++i) x.bytes[i] = static_cast<char>(i * 7 + x.name.size());
  }
  return t;
}

Result<std::vector<CheckpointTensor>> read(const TempDir& dir, const std::string& bytes) {
  write_file(dir.file("c.pth"), bytes);
  MLXPACK_ASSIGN_OR_RETURN(InputFile in, InputFile::open(dir.file("c.pth")));
  return read_torch_checkpoint(in);
}

TEST(TorchCheckpoint, ReadsTheStateDictInPlaceFromPlainAndZip64Archives) {
  TempDir dir;
  const std::vector<PickledTensor> tensors = some_tensors();
  for (const bool zip64 : {false, true}) {
    for (const std::string prefix : {"archive", "consolidated.00"}) {
      SCOPED_TRACE(prefix + (zip64 ? ", ZIP64" : ""));
      const std::string file = torch_checkpoint(tensors, prefix, "", zip64);
      auto got = read(dir, file);
      ASSERT_TRUE(got.is_ok()) << got.status().to_string();
      ASSERT_EQ(got->size(), tensors.size());
      for (size_t k = 0; k < tensors.size(); ++k) {
        const CheckpointTensor& c = (*got)[k];
        EXPECT_EQ(c.name, tensors[k].name);
        EXPECT_EQ(c.dtype, tensors[k].dtype);
        EXPECT_EQ(c.shape, tensors[k].shape);
        ASSERT_EQ(c.size_bytes, tensors[k].bytes.size());
        EXPECT_EQ(file.substr(c.offset, c.size_bytes), tensors[k].bytes) << c.name;
      }
    }
  }
}

// A pickle whose top is {"w": <what `value` builds>}.
std::string dict_with(const std::string& value) { return "\x80\x02}(" + pickle_unicode("w") + value + "u."; }

std::string refusal(const std::string& pickle) {
  auto r = parse_torch_pickle(reinterpret_cast<const uint8_t*>(pickle.data()), pickle.size(), "p.pkl");
  return r.is_ok() ? "accepted" : r.status().message();
}

TEST(TorchPickle, HostilePicklesAreRefusedEachWithItsOwnError) {
  const std::string os_system = pickle_global("os", "system");
  const struct {
    const char* what;
    std::string pickle;
    const char* error;
  } cases[] = {
      {"GLOBAL os.system called", dict_with(os_system + "(" + pickle_unicode("rm -rf /") + "tR"),
       "global os.system is not one a state dict uses"},
      {"STACK_GLOBAL builtins.eval", "\x80\x04" + pickle_unicode("builtins") + pickle_unicode("eval") + "\x93.",
       "global builtins.eval is not one"},
      {"REDUCE of a storage type", dict_with(pickle_global("torch", "FloatStorage") + ")R"),
       "REDUCE calls something that is not an allowed function"},
      {"REDUCE of a string", dict_with(pickle_unicode("x") + ")R"),
       "REDUCE calls something that is not an allowed function"},
      {"nesting 40 deep", dict_with(")" + std::string(40, '\x85')), "containers nested 33 deep (limit 32)"},
      {"a list inside itself", "\x80\x02]q\x00h\x00"s "a.", "puts a container inside itself"},
      {"a frozen list changed", "\x80\x02]q\x00\x85h\x00N"s "a.", "changes a container already inside another"},
      {"a huge string", "\x80\x02X\xff\xff\xff\xff" "abc", "the pickle ends inside it"},
      {"a huge memo index", "\x80\x02Nr\xff\xff\xff\xff.", "memo index 4294967295 (limit 1048576)"},
      {"an unknown opcode (INST)", "\x80\x02i" "os\nsystem\n.", "opcode 0x69 is not one a state dict's pickle uses"},
      {"a tensor past its storage",
       dict_with(pickle_global("torch._utils", "_rebuild_tensor_v2") + "((" + pickle_unicode("storage") +
                 pickle_global("torch", "FloatStorage") + pickle_unicode("0") + pickle_unicode("cpu") +
                 "J\x04\x00\x00\x00tQJ\x00\x00\x00\x00(J\x00\x00\x01\x00J\x00\x00\x01\x00t(J\x00\x00\x01\x00J\x01\x00\x00\x00t\x89"s +
                 pickle_global("collections", "OrderedDict") + ")RtR"),
       "reaches past its storage 0 of 4"},
      {"a transposed tensor",
       dict_with(pickle_global("torch._utils", "_rebuild_tensor_v2") + "((" + pickle_unicode("storage") +
                 pickle_global("torch", "FloatStorage") + pickle_unicode("0") + pickle_unicode("cpu") +
                 "J\x06\x00\x00\x00tQJ\x00\x00\x00\x00(J\x02\x00\x00\x00J\x03\x00\x00\x00t(J\x01\x00\x00\x00J\x02\x00\x00\x00t\x89"s +
                 pickle_global("collections", "OrderedDict") + ")RtR"),
       "not contiguous"},
      {"a list at the top", "\x80\x02]." , "no state dict"},
      {"an integer in the dict", dict_with("K\x05"), "entry w is not a tensor"},
      {"no STOP", "\x80\x02}", "the pickle ends inside it"},
      {"protocol 9", "\x80\x09}.", "pickle protocol 9"},
  };
  for (const auto& c : cases) {
    const std::string got = refusal(c.pickle);
    EXPECT_NE(got.find(c.error), std::string::npos) << c.what << ": " << got;
    EXPECT_NE(got.find("p.pkl"), std::string::npos) << c.what << ": " << got;
  }
}

TEST(TorchCheckpoint, HostileArchivesAreRefusedEachWithItsOwnError) {
  TempDir dir;
  const std::vector<PickledTensor> tensors = some_tensors();
  const std::string good = torch_checkpoint(tensors);
  // The CRC of data.pkl, a compressed entry, a cut end record, a storage
  // smaller than its elements, no data.pkl, a big-endian archive.
  std::string bad_crc = good;
  bad_crc[good.find("layers.0")] ^= 1;
  std::string compressed = good;
  const size_t central = compressed.find("PK\x01\x02");
  compressed[central + 10] = 8;  // method: deflate
  std::vector<PickledTensor> short_storage = tensors;
  short_storage[1].bytes.resize(8);
  const struct {
    const char* what;
    std::string file;
    const char* error;
  } cases[] = {
      {"a data.pkl CRC mismatch", bad_crc, "fails its CRC-32"},
      {"a compressed entry", compressed, "is compressed or encrypted (method 8)"},
      {"no end record", good.substr(0, good.size() - 10), "no end of central directory record"},
      {"a short storage", torch_checkpoint(short_storage), "storage 1 of 4 elements is larger than its entry's 8 bytes"},
      {"no data.pkl", zip_archive({{"a/b", "x"}}), "no <name>/data.pkl entry"},
      {"big-endian", zip_archive({{"a/data.pkl", state_dict_pickle({})}, {"a/byteorder", "big"}}),
       "byteorder is 'big'"},
  };
  for (const auto& c : cases) {
    auto r = read(dir, c.file);
    ASSERT_FALSE(r.is_ok()) << c.what;
    EXPECT_NE(r.status().message().find(c.error), std::string::npos) << c.what << ": " << r.status().to_string();
    EXPECT_NE(r.status().message().find("c.pth"), std::string::npos) << c.what << ": " << r.status().to_string();
  }
}

}  // namespace
}  // namespace mlxpack::test
