#include "runtime/engine/sampler.h"

#include <algorithm>
#include <cmath>

#include "runtime/kernels/kernel_table.h"
#include "runtime/kernels/linear.h"

namespace mlxpack::engine {

Sampler::Sampler(const SamplerOptions& options) : options_(options), state_(options.seed) {}

double Sampler::uniform() {
  // SplitMix64 (Steele, Lea, Flood 2014); top 53 bits as a double.
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
}

int Sampler::sample(const float* logits, int vocab) {
  if (options_.temperature <= 0.0f) return kernels::active_table()->argmax_f32(logits, vocab);
  candidates_.resize(vocab);
  for (int i = 0; i < vocab; ++i) candidates_[i] = {logits[i] / options_.temperature, i};
  auto better = [](const std::pair<float, int>& a, const std::pair<float, int>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  size_t keep = candidates_.size();
  if (options_.top_k > 0 && static_cast<size_t>(options_.top_k) < keep) {
    keep = options_.top_k;
    std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(), better);
  } else if (options_.top_p < 1.0f) {
    std::sort(candidates_.begin(), candidates_.end(), better);
  }  // else: the draw needs no order (ids ascending), and a full sort per token would cost milliseconds
  float max_logit = candidates_[0].first;
  for (size_t i = 1; i < keep; ++i) max_logit = std::max(max_logit, candidates_[i].first);
  double total = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    candidates_[i].first = std::exp(candidates_[i].first - max_logit);
    total += candidates_[i].first;
  }
  if (options_.top_p < 1.0f) {
    double cumulative = 0.0;
    size_t cut = keep;
    for (size_t i = 0; i < keep; ++i) {
      cumulative += candidates_[i].first / total;
      if (cumulative >= options_.top_p) {
        cut = i + 1;
        break;
      }
    }
    keep = cut;
    total = 0.0;
    for (size_t i = 0; i < keep; ++i) total += candidates_[i].first;
  }
  if (options_.min_p > 0.0f) {
    // The best candidate's weight is exp(0) = 1, so the bound is min_p itself.
    size_t kept = 0;
    total = 0.0;
    for (size_t i = 0; i < keep; ++i) {
      if (candidates_[i].first < options_.min_p) continue;
      candidates_[kept++] = candidates_[i];
      total += candidates_[i].first;
    }
    keep = kept;  // >= 1: the best has weight 1 >= min_p
  }
  const double r = uniform() * total;
  double acc = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    acc += candidates_[i].first;
    if (r < acc) return candidates_[i].second;
  }
  return candidates_[keep - 1].second;
}

void apply_repetition_penalty(float* logits, int vocab, const int32_t* recent, size_t count, float penalty) {
  if (penalty == 1.0f) return;
  std::vector<bool> seen(static_cast<size_t>(vocab), false);
  for (size_t i = 0; i < count; ++i) {
    const int32_t id = recent[i];
    if (id < 0 || id >= vocab || seen[id]) continue;
    seen[id] = true;
    logits[id] = logits[id] > 0.0f ? logits[id] / penalty : logits[id] * penalty;
  }
}

LogSoftmax::LogSoftmax(const float* logits, int vocab, Sum sum, std::vector<float>* scratch)
    : logits_(logits), vocab_(vocab) {
  const kernels::KernelTable* t = kernels::active_table();
  const float max_logit = logits[t->argmax_f32(logits, vocab)];
  double total = 0.0;
  if (sum == Sum::kFast) {
    scratch->resize(static_cast<size_t>(vocab));
    total = t->exp_sum(logits, max_logit, scratch->data(), vocab);
  } else {
    for (int i = 0; i < vocab; ++i) total += std::exp(static_cast<double>(logits[i]) - max_logit);
  }
  log_total_ = static_cast<double>(max_logit) + std::log(total);
}

std::vector<std::pair<int, float>> LogSoftmax::top(int n) const {
  std::vector<std::pair<int, float>> all(vocab_);
  for (int i = 0; i < vocab_; ++i) all[i] = {i, (*this)(i)};
  n = std::min(n, vocab_);
  std::partial_sort(all.begin(), all.begin() + n, all.end(), [](const auto& a, const auto& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
  });
  all.resize(n);
  return all;
}

}  // namespace mlxpack::engine
