// Casting or quantizing a model that `convert` imports from another layout
// (a GGUF, a Meta checkpoint): the import writes it as it is into a
// temporary MLX directory beside the output (registered, so an interrupted
// run leaves nothing), which is then converted as any model is.
#ifndef MLXPACK_CONVERT_IMPORT_THEN_CONVERT_H_
#define MLXPACK_CONVERT_IMPORT_THEN_CONVERT_H_

#include <functional>

#include "convert/converter.h"

namespace mlxpack {

// `import` gets `options` with the temporary directory as its MLX-directory
// output and no cast, quantization or untying; the report adds the two
// steps' times and keeps the import's input figures.
Result<ConvertReport> import_then_convert(const ConvertOptions& options,
                                          const std::function<Result<ConvertReport>(const ConvertOptions&)>& import);

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_IMPORT_THEN_CONVERT_H_
