// Pre-tokenizers one by one, against the splits the Hugging Face reference
// documents for them, and on pieces long enough that their matches arrive
// in many batches (the streaming path an encode of a long text takes).
#include "runtime/tokenizer/pre_tokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mlxpack::tokenizer {
namespace {

std::vector<std::string> split(const Json& spec, const std::string& text) {
  auto pre = make_pre_tokenizer(spec, "test");
  EXPECT_TRUE(pre.is_ok()) << pre.status().to_string();
  std::vector<std::string> pieces;
  if (!pre.is_ok()) return pieces;
  auto collect = make_sink([&](Piece p) {
    pieces.push_back(std::move(p.text));
    return Status::ok();
  });
  const Status s = (*pre)->split(Piece{text, true}, collect);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  return pieces;
}

Json split_spec(const Json& pattern, const char* behavior, bool invert = false) {
  return Json{{"type", "Split"}, {"pattern", pattern}, {"behavior", behavior}, {"invert", invert}};
}

using Pieces = std::vector<std::string>;

TEST(PreTokenizer, SplitBehaviorsGiveTheReferenceTable) {
  // The table of tokenizers' SplitDelimiterBehavior documentation: "-" in
  // "the-final--countdown". Both pattern kinds take the same path.
  for (const Json& pattern : {Json{{"String", "-"}}, Json{{"Regex", "-"}}}) {
    const std::string text = "the-final--countdown";
    EXPECT_EQ(split(split_spec(pattern, "Removed"), text), (Pieces{"the", "final", "countdown"}));
    EXPECT_EQ(split(split_spec(pattern, "Isolated"), text), (Pieces{"the", "-", "final", "-", "-", "countdown"}));
    EXPECT_EQ(split(split_spec(pattern, "MergedWithPrevious"), text), (Pieces{"the-", "final-", "-", "countdown"}));
    EXPECT_EQ(split(split_spec(pattern, "MergedWithNext"), text), (Pieces{"the", "-final", "-", "-countdown"}));
    EXPECT_EQ(split(split_spec(pattern, "Contiguous"), text), (Pieces{"the", "-", "final", "--", "countdown"}));
    // Delimiters at both ends.
    EXPECT_EQ(split(split_spec(pattern, "MergedWithPrevious"), "--the-final--countdown--"),
              (Pieces{"-", "-", "the-", "final-", "-", "countdown-", "-"}));
    EXPECT_EQ(split(split_spec(pattern, "MergedWithNext"), "--the-final--countdown-"),
              (Pieces{"-", "-the", "-final", "-", "-countdown", "-"}));
    // invert: the text between delimiters is what the behavior acts on.
    EXPECT_EQ(split(split_spec(pattern, "Removed", true), "a-b--c"), (Pieces{"-", "-", "-"}));
  }
}

TEST(PreTokenizer, EachTypeSplitsAsTheReferenceDocumentsIt) {
  const std::string hey = "Hey friend!     How are you?!?";
  EXPECT_EQ(split(Json{{"type", "Whitespace"}}, hey), (Pieces{"Hey", "friend", "!", "How", "are", "you", "?!?"}));
  EXPECT_EQ(split(Json{{"type", "WhitespaceSplit"}}, hey), (Pieces{"Hey", "friend!", "How", "are", "you?!?"}));
  EXPECT_EQ(split(Json{{"type", "Punctuation"}}, hey),
            (Pieces{"Hey friend", "!", "     How are you", "?", "!", "?"}));
  EXPECT_EQ(split(Json{{"type", "BertPreTokenizer"}}, hey),
            (Pieces{"Hey", "friend", "!", "How", "are", "you", "?", "!", "?"}));
  EXPECT_EQ(split(Json{{"type", "Digits"}, {"individual_digits", false}}, "Hey 123 friend!"),
            (Pieces{"Hey ", "123", " friend!"}));
  EXPECT_EQ(split(Json{{"type", "Digits"}, {"individual_digits", true}}, "Hey 123 friend!"),
            (Pieces{"Hey ", "1", "2", "3", " friend!"}));
  const Json metaspace{{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "always"}};
  EXPECT_EQ(split(metaspace, "Hey   friend"),
            (Pieces{"\xE2\x96\x81Hey", "\xE2\x96\x81", "\xE2\x96\x81", "\xE2\x96\x81"
                                                                       "friend"}));
  EXPECT_EQ(split(Json{{"type", "ByteLevel"}, {"add_prefix_space", false}},
                  "Hello my friend, how is your day going?"),
            (Pieces{"Hello", "\xC4\xA0my", "\xC4\xA0"
                                           "friend",
                    ",", "\xC4\xA0how", "\xC4\xA0is", "\xC4\xA0your", "\xC4\xA0"
                                                                      "day",
                    "\xC4\xA0going", "?"}));
  // A Sequence applies its steps in order to every piece.
  const Json sequence{{"type", "Sequence"},
                      {"pretokenizers", {Json{{"type", "WhitespaceSplit"}}, metaspace}}};
  EXPECT_EQ(split(sequence, "Hey friend"), (Pieces{"\xE2\x96\x81Hey", "\xE2\x96\x81"
                                                                       "friend"}));
}

// "x---" repeated: three matches per unit, so the 1,024-match batches end
// at every phase of a unit and inside runs that the behaviors merge.
TEST(PreTokenizer, MatchesInManyBatchesSplitAsInOne) {
  constexpr int kUnits = 2000;  // 6,000 matches
  std::string text;
  for (int i = 0; i < kUnits; ++i) text += "x---";
  struct Case {
    const char* behavior;
    bool invert;
    Pieces expected;
  };
  std::vector<Case> cases(6);
  cases[0] = {"Removed", false, {}};
  cases[1] = {"Isolated", false, {}};
  cases[2] = {"MergedWithPrevious", false, {}};
  cases[3] = {"MergedWithNext", false, {"x"}};
  cases[4] = {"Contiguous", false, {}};
  cases[5] = {"Removed", true, {}};
  for (int i = 0; i < kUnits; ++i) {
    cases[0].expected.push_back("x");
    for (const char* p : {"x", "-", "-", "-"}) cases[1].expected.push_back(p);
    for (const char* p : {"x-", "-", "-"}) cases[2].expected.push_back(p);
    for (const char* p : {"-", "-"}) cases[3].expected.push_back(p);
    cases[3].expected.push_back(i + 1 < kUnits ? "-x" : "-");
    for (const char* p : {"x", "---"}) cases[4].expected.push_back(p);
    for (const char* p : {"-", "-", "-"}) cases[5].expected.push_back(p);
  }
  for (const Case& c : cases) {
    for (const Json& pattern : {Json{{"String", "-"}}, Json{{"Regex", "-"}}}) {
      EXPECT_EQ(split(split_spec(pattern, c.behavior, c.invert), text), c.expected)
          << c.behavior << " invert=" << c.invert << " " << pattern.dump();
    }
    if (!c.invert) {  // Punctuation matches by code point, in batches too
      EXPECT_EQ(split(Json{{"type", "Punctuation"}, {"behavior", c.behavior}}, text), c.expected) << c.behavior;
    }
  }
}

TEST(PreTokenizer, ASinkErrorStopsTheSplit) {
  auto pre = make_pre_tokenizer(Json{{"type", "Sequence"},
                                     {"pretokenizers", {Json{{"type", "WhitespaceSplit"}}, Json{{"type", "Digits"}}}}},
                                "test");
  ASSERT_TRUE(pre.is_ok());
  int taken = 0;
  auto failing = make_sink([&](Piece) {
    return ++taken == 3 ? Status::invalid_argument("stop here") : Status::ok();
  });
  const Status s = (*pre)->split(Piece{"a b c d e f", true}, failing);
  EXPECT_EQ(s.message(), "stop here");
  EXPECT_EQ(taken, 3);
}

}  // namespace
}  // namespace mlxpack::tokenizer
