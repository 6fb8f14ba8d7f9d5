// Reading a model's text-side files (tokenizer.json, tokenizer_config.json,
// tokenizer.model, chat_template.jinja) from wherever the model lives: the
// files bundled in a .mlxpack, a model directory, or a tokenizer-only
// directory. The runtime reads packs only through the loader's public API.
#ifndef MLXPACK_RUNTIME_TOKENIZER_MODEL_FILES_H_
#define MLXPACK_RUNTIME_TOKENIZER_MODEL_FILES_H_

#include <memory>
#include <optional>
#include <string>

#include "mlxpack/status.h"

namespace mlxpack {
class Reader;
}

namespace mlxpack::tokenizer {

class ModelFiles {
 public:
  // `root` is a .mlxpack file or a directory. NotFound if it is neither.
  static Result<ModelFiles> open(const std::string& root);

  // The file's bytes; nullopt if absent. IOError/Corruption if it is there
  // but cannot be read.
  Result<std::optional<std::string>> read(const std::string& name) const;

  // "<root>/<name>" for a directory, "<root>:<name>" for a pack: for messages.
  std::string describe(const std::string& name) const;

 private:
  std::string root_;
  std::shared_ptr<Reader> pack_;
};

}  // namespace mlxpack::tokenizer

#endif  // MLXPACK_RUNTIME_TOKENIZER_MODEL_FILES_H_
