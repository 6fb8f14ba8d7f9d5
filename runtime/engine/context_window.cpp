#include "runtime/engine/context_window.h"

#include <algorithm>
#include <string>

namespace mlxpack::engine {

Result<int> make_room(Transformer& model, int sinks, int eviction_batch_percent, int incoming) {
  const KvCache& cache = model.cache();
  const int capacity = cache.capacity();
  if (cache.length() + incoming <= capacity) return 0;
  const int evictable = cache.length() - sinks;
  const int needed = cache.length() + incoming - capacity;
  if (needed > evictable || incoming > capacity - sinks) {
    return Status::invalid_argument("the input is " + std::to_string(incoming) + " tokens but the context holds " +
                                    std::to_string(capacity) + " (RuntimeOptions.context_size) of which " +
                                    std::to_string(sinks) + " are sink tokens" +
                                    (cache.length() > 0 ? " and " + std::to_string(cache.length()) + " are in use" : "") +
                                    ": shorten the prompt or raise --context-size");
  }
  const int batch = std::max(1, (capacity - sinks) * eviction_batch_percent / 100);
  const int count = std::min(evictable, std::max(needed, batch));
  model.evict(sinks, count);
  return 1;
}

}  // namespace mlxpack::engine
