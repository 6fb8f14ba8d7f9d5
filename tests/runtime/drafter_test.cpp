// The drafters of speculative decoding on their own: prompt lookup's
// choice of n-gram and occurrence, and a draft model's cache following a
// context through partial acceptances as a fresh drafter would.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "mlxpack/model_source.h"
#include "runtime/engine/drafter.h"
#include "runtime/engine/model_config.h"
#include "runtime/engine/model_weights.h"
#include "runtime/engine/thread_pool.h"
#include "runtime/engine/transformer.h"
#include "tests/runtime/tiny_model.h"
#include "tests/support/test_support.h"

namespace mlxpack::test {
namespace {

using engine::ModelDrafter;
using engine::PromptLookupDrafter;

std::vector<int32_t> lookup(const std::vector<int32_t>& context, int n, int max_ngram) {
  PromptLookupDrafter d(max_ngram);
  std::vector<int32_t> out = {99};  // replaced, not appended to
  d.draft(context, n, &out);
  return out;
}

TEST(PromptLookupDrafter, ProposesWhatFollowedTheLatestLongestEarlierNgram) {
  // [2 3 4] recurs at 1 and 6; the latest wins.
  EXPECT_EQ(lookup({1, 2, 3, 4, 9, 9, 2, 3, 4, 7, 8, 5, 2, 3, 4}, 4, 3), (std::vector<int32_t>{7, 8, 5, 2}));
  // The 2-gram [4 2] (at 0) before the 1-gram [2] (latest at 4).
  EXPECT_EQ(lookup({4, 2, 8, 7, 2, 9, 4, 2}, 2, 2), (std::vector<int32_t>{8, 7}));
  EXPECT_EQ(lookup({4, 2, 8, 7, 2, 9, 4, 2}, 2, 1), (std::vector<int32_t>{9, 4}));
  // What follows stops at the context's end.
  EXPECT_EQ(lookup({5, 6, 5}, 10, 3), (std::vector<int32_t>{6, 5}));
  // Nothing recurs; a one-token context has no earlier occurrence.
  EXPECT_TRUE(lookup({1, 2, 3, 4}, 4, 3).empty());
  EXPECT_TRUE(lookup({7}, 4, 3).empty());
  // Occurrences older than the window are not searched.
  std::vector<int32_t> long_context(PromptLookupDrafter::kWindow + 10, 0);
  for (size_t i = 0; i < long_context.size(); ++i) long_context[i] = int32_t(1000 + i);
  long_context[0] = 7;
  long_context[1] = 8;
  long_context.push_back(7);
  EXPECT_TRUE(lookup(long_context, 3, 1).empty());
  long_context[long_context.size() - 100] = 7;
  EXPECT_EQ(lookup(long_context, 1, 1), (std::vector<int32_t>{long_context[long_context.size() - 99]}));
}

class ModelDrafterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spec.vocab = 64;
    write_tiny_model(dir.path(), spec);
    auto src = ModelSource::open(dir.path());
    ASSERT_TRUE(src.is_ok()) << src.status().to_string();
    source = std::move(src).value();
    pool = std::make_unique<engine::ThreadPool>(1);
  }
  // A drafter with a fresh cache of `capacity` positions.
  std::unique_ptr<ModelDrafter> make(int capacity) {
    auto config = engine::parse_model_config(*source->file("config.json"), "config.json");
    auto weights = engine::bind_weights(*source, *config);
    auto model = std::make_unique<engine::Transformer>(*config, std::move(weights).value(), pool.get(), capacity, 16);
    return std::make_unique<ModelDrafter>(std::move(model), 4, 10, spec.vocab);
  }
  std::vector<int32_t> fresh(const std::vector<int32_t>& context, int n) {
    std::vector<int32_t> out;
    make(256)->draft(context, n, &out);
    return out;
  }
  TinySpec spec;
  TempDir dir;
  std::unique_ptr<ModelSource> source;
  std::unique_ptr<engine::ThreadPool> pool;
};

TEST_F(ModelDrafterTest, FollowsTheContextThroughAcceptancesAsAFreshDrafterWould) {
  std::mt19937 rng(3);
  std::vector<int32_t> context;
  for (int i = 0; i < 20; ++i) context.push_back(int32_t(rng() % spec.vocab));
  auto drafter = make(256);
  std::vector<int32_t> proposal;
  // Rounds keeping 0, 2, all 4 and 1 of the proposal, each followed by a
  // token of the model's own (a correction, or the bonus after all 4).
  for (const int kept : {0, 2, 4, 1, 3}) {
    drafter->draft(context, 4, &proposal);
    ASSERT_EQ(proposal, fresh(context, 4)) << "after keeping " << kept;
    ASSERT_EQ(proposal.size(), 4u);
    context.insert(context.end(), proposal.begin(), proposal.begin() + kept);
    context.push_back(int32_t((proposal[std::min(kept, 3)] + 1) % spec.vocab));
  }
  // Tokens fed without drafting (a chat turn's end) are caught up on.
  context.insert(context.end(), {5, 6, 7});
  drafter->draft(context, 3, &proposal);
  EXPECT_EQ(proposal, fresh(context, 3));
  // A context whose front was trimmed starts over.
  const std::vector<int32_t> trimmed(context.begin() + 30, context.end());
  drafter->draft(trimmed, 3, &proposal);
  EXPECT_EQ(proposal, fresh(trimmed, 3));
  drafter->reset();
  drafter->draft(context, 2, &proposal);
  EXPECT_EQ(proposal, fresh(context, 2));
}

// Ids past the draft's vocabulary (the model's padding rows, when its
// embedding is wider than the draft's) are never run by the draft: no
// proposal while they are in the context it would run, proposals again
// once they are out of it.
TEST_F(ModelDrafterTest, IdsPastItsVocabularyStopProposalsInsteadOfBeingRun) {
  auto drafter = make(32);
  std::vector<int32_t> context = {1, 2, 3, 4, 5};
  std::vector<int32_t> proposal;
  drafter->draft(context, 3, &proposal);
  EXPECT_EQ(proposal.size(), 3u);
  context.push_back(spec.vocab);  // one past the last row
  drafter->draft(context, 3, &proposal);
  EXPECT_TRUE(proposal.empty());
  EXPECT_EQ(drafter->model().cache().length(), 0);
  // A small cache runs only the context's recent (32 - 4) / 2 = 14 tokens.
  for (int i = 0; i < 20; ++i) context.push_back(7);
  drafter->draft(context, 3, &proposal);
  EXPECT_EQ(proposal.size(), 3u);
}

TEST_F(ModelDrafterTest, ALongContextGoesThroughASmallCache) {
  // 300 tokens through 32 positions: only the recent part is run, in
  // chunks the window takes, and proposals keep coming.
  std::vector<int32_t> context;
  for (int i = 0; i < 300; ++i) context.push_back(int32_t(i * 7 % spec.vocab));
  auto drafter = make(32);
  std::vector<int32_t> proposal;
  for (int round = 0; round < 20; ++round) {
    drafter->draft(context, 4, &proposal);
    ASSERT_EQ(proposal.size(), 4u);
    context.insert(context.end(), proposal.begin(), proposal.begin() + 2);
    context.push_back(int32_t(round));
    EXPECT_LE(drafter->model().cache().length(), 32);
  }
}

}  // namespace
}  // namespace mlxpack::test
