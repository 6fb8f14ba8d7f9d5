// Every "§N" or "§N.M" that the code of format/, loader/ and pack/ cites
// must name a heading of spec/FORMAT.md, so comments cannot drift from the
// spec they point to.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "7", "4.1", ... for every "## 7. Title" / "### 4.1 Title" heading.
std::set<std::string> spec_sections(const std::string& spec) {
  std::set<std::string> out;
  const std::regex heading(R"(^#{2,4} ([0-9]+(?:\.[0-9]+)*)\.? )");
  std::istringstream lines(spec);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, heading)) out.insert(m[1].str());
  }
  return out;
}

TEST(SpecReferences, EverySectionTheCodeCitesIsAHeadingOfTheSpec) {
  const fs::path root(MLXPACK_SOURCE_DIR);
  const std::set<std::string> sections = spec_sections(read_text(root / "spec" / "FORMAT.md"));
  ASSERT_TRUE(sections.count("4.1")) << "the heading parser found none of the spec's sections";
  const std::regex cite("\xC2\xA7([0-9]+(?:\\.[0-9]+)*)");
  size_t cites = 0;
  for (const char* dir : {"format", "loader", "pack"}) {
    for (const auto& e : fs::recursive_directory_iterator(root / dir)) {
      const std::string ext = e.path().extension().string();
      if (!e.is_regular_file() || (ext != ".h" && ext != ".cpp" && ext != ".c" && ext != ".inc")) continue;
      const std::string text = read_text(e.path());
      for (std::sregex_iterator it(text.begin(), text.end(), cite), end; it != end; ++it) {
        ++cites;
        const size_t line = 1 + std::count(text.begin(), text.begin() + it->position(), '\n');
        EXPECT_TRUE(sections.count((*it)[1].str()))
            << fs::relative(e.path(), root).string() << ":" << line << " cites " << it->str()
            << ", which is not a heading of spec/FORMAT.md";
      }
    }
  }
  EXPECT_GT(cites, 5u) << "the code cites the spec; finding almost no citation means the scan is broken";
}

}  // namespace
