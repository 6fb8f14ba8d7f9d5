// The context window's policy (StreamingLLM, see KvCache): when `incoming`
// positions do not fit, the first `sinks` stay and at least
// `eviction_batch_percent` of the others, oldest first, go in one batch.
// Shared by the model a Runtime generates with and the draft model that
// proposes its tokens.
#ifndef MLXPACK_RUNTIME_ENGINE_CONTEXT_WINDOW_H_
#define MLXPACK_RUNTIME_ENGINE_CONTEXT_WINDOW_H_

#include "mlxpack/status.h"
#include "runtime/engine/transformer.h"

namespace mlxpack::engine {

// Makes room for `incoming` more positions in `model`'s cache; returns the
// evictions made (0 or 1). InvalidArgument, naming the sizes, when the
// input cannot fit beside the sink tokens.
Result<int> make_room(Transformer& model, int sinks, int eviction_batch_percent, int incoming);

}  // namespace mlxpack::engine

#endif  // MLXPACK_RUNTIME_ENGINE_CONTEXT_WINDOW_H_
