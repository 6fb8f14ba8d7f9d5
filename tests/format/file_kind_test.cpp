// Recognizing the files people mistake for packs, from their first bytes.
#include "format/file_kind.h"

#include <gtest/gtest.h>

#include <string>

namespace mlxpack {
namespace {

ForeignFile kind_of(const std::string& bytes, uint64_t file_size = 0) {
  return identify_foreign_file(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                               file_size ? file_size : bytes.size());
}

std::string zip_with_first_member(const std::string& name) {
  std::string h("PK\x03\x04", 4);
  h += std::string(22, '\0');
  h += static_cast<char>(name.size() & 0xff);
  h += static_cast<char>(name.size() >> 8);
  h += std::string(2, '\0');
  return h + name;
}

TEST(FileKind, RecognizesEachKindAndNothingElse) {
  EXPECT_EQ(kind_of(std::string("GGUF\x03\0\0\0", 8)), ForeignFile::kGguf);
  // safetensors: the header length fits the file and the header opens '{'.
  const std::string st = std::string("\x02\0\0\0\0\0\0\0", 8) + "{}";
  EXPECT_EQ(kind_of(st), ForeignFile::kSafetensors);
  EXPECT_EQ(kind_of(std::string("\xff\xff\0\0\0\0\0\0", 8) + "{}"), ForeignFile::kUnknown);  // longer than the file
  EXPECT_EQ(kind_of(zip_with_first_member("archive/data.pkl")), ForeignFile::kPyTorchZip);
  EXPECT_EQ(kind_of(zip_with_first_member("model/byteorder")), ForeignFile::kPyTorchZip);
  EXPECT_EQ(kind_of(zip_with_first_member("notes.txt")), ForeignFile::kZip);
  // A zip header whose name length runs past the bytes read: still a zip.
  std::string cut = zip_with_first_member("archive/data.pkl");
  EXPECT_EQ(kind_of(cut.substr(0, 35)), ForeignFile::kZip);
  EXPECT_EQ(kind_of(std::string("\x80\x02}q\0", 5)), ForeignFile::kPickle);
  EXPECT_EQ(kind_of(std::string("\x80\x09", 2)), ForeignFile::kUnknown);
  EXPECT_EQ(kind_of("hello world"), ForeignFile::kUnknown);
  EXPECT_EQ(kind_of(""), ForeignFile::kUnknown);
  EXPECT_EQ(foreign_file_hint(ForeignFile::kUnknown), "");
  EXPECT_NE(foreign_file_hint(ForeignFile::kGguf).find("this is a GGUF file"), std::string::npos);
}

}  // namespace
}  // namespace mlxpack
