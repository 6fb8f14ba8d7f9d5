#include "runtime/engine/drafter.h"

#include <algorithm>

#include "runtime/engine/context_window.h"
#include "runtime/kernels/kernel_table.h"

namespace mlxpack::engine {

void PromptLookupDrafter::draft(const std::vector<int32_t>& context, int n, std::vector<int32_t>* out) {
  out->clear();
  const size_t size = context.size();
  const size_t lo = size > kWindow ? size - kWindow : 0;
  for (size_t g = std::min<size_t>(max_ngram_, size > 0 ? size - 1 : 0); g >= 1; --g) {
    const int32_t* pattern = context.data() + size - g;
    // Latest first: an occurrence ending before the context's last token.
    for (size_t i = size - g; i-- > lo;) {
      if (!std::equal(pattern, pattern + g, context.data() + i)) continue;
      const size_t from = i + g, to = std::min(size, from + static_cast<size_t>(n));
      out->assign(context.begin() + from, context.begin() + to);
      return;
    }
  }
}

ModelDrafter::ModelDrafter(std::unique_ptr<Transformer> model, int sinks, int eviction_batch_percent, int vocab)
    : model_(std::move(model)),
      sinks_(sinks),
      eviction_batch_percent_(eviction_batch_percent),
      vocab_(vocab),
      logits_(static_cast<size_t>(model_->config().vocab_size)) {}

void ModelDrafter::reset() {
  model_->cache().set_length(0);
  synced_ = 0;
  pending_.clear();
}

void ModelDrafter::feed(const int32_t* tokens, size_t n) {
  const KvCache& cache = model_->cache();
  // Half the non-sink positions at most, so make_room always succeeds.
  const size_t chunk = static_cast<size_t>(
      std::max(1, std::min(model_->max_batch(), (cache.capacity() - sinks_) / 2)));
  for (size_t i = 0; i < n; i += chunk) {
    const int m = static_cast<int>(std::min(chunk, n - i));
    (void)make_room(*model_, sinks_, eviction_batch_percent_, m);
    model_->forward(tokens + i, m, logits_.data());
  }
}

void ModelDrafter::draft(const std::vector<int32_t>& context, int n, std::vector<int32_t>* out) {
  out->clear();
  KvCache& cache = model_->cache();
  if (context.size() < synced_) reset();  // the front was trimmed: start over
  // The proposals the context kept are synced; the others leave the cache
  // (they are its latest positions, which eviction never takes).
  size_t kept = 0;
  while (kept < pending_.size() && synced_ + kept < context.size() && pending_[kept] == context[synced_ + kept]) ++kept;
  cache.set_length(cache.length() - static_cast<int>(pending_.size() - kept));
  synced_ += kept;
  pending_.clear();
  if (cache.length() == 0) {
    // From scratch, only the context's recent part: what fits beside the
    // sinks' room, as the model's own cache holds at most that much.
    const size_t room = static_cast<size_t>(cache.capacity() - sinks_) / 2;
    if (context.size() - synced_ > room) synced_ = context.size() - room;
  }
  if (synced_ == context.size()) {
    // Nothing new to run (the last token was a kept proposal): run it again
    // for its logits.
    cache.set_length(cache.length() - 1);
    --synced_;
  }
  // The model may emit ids past the draft's vocabulary (rows of its own
  // padding): the draft cannot run those, so it proposes nothing until they
  // leave the context it runs.
  const int vocab = model_->config().vocab_size;
  if (std::any_of(context.begin() + synced_, context.end(), [&](int32_t id) { return id < 0 || id >= vocab; })) {
    reset();
    return;
  }
  feed(context.data() + synced_, context.size() - synced_);
  synced_ = context.size();
  const kernels::KernelTable* k = kernels::active_table();
  for (int i = 0; i < n; ++i) {
    const int32_t id = k->argmax_f32(logits_.data(), vocab);
    if (id >= vocab_) break;
    out->push_back(id);
    if (i + 1 == n) break;
    feed(&id, 1);
    pending_.push_back(id);
  }
}

}  // namespace mlxpack::engine
