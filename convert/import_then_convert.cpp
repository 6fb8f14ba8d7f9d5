#include "convert/import_then_convert.h"

#include <filesystem>

#include "format/temporary_outputs.h"

namespace mlxpack {

Result<ConvertReport> import_then_convert(const ConvertOptions& options,
                                          const std::function<Result<ConvertReport>(const ConvertOptions&)>& import) {
  const std::string tmp = temporary_path_for(options.output);
  const int slot = register_temporary(tmp, true);
  ConvertOptions first = options;
  first.output = tmp;
  first.format = OutputFormat::kMlxDir;
  first.dtype.reset();
  first.quant = QuantOptions();
  first.untie_word_embeddings = false;
  first.on_progress = nullptr;
  Result<ConvertReport> imported = import(first);
  Result<ConvertReport> converted = imported.is_ok() ? convert_model([&] {
    ConvertOptions second = options;
    second.input = tmp;
    return second;
  }()) : imported;
  std::error_code ec;
  std::filesystem::remove_all(tmp, ec);
  if (slot >= 0) unregister_temporary(slot);
  if (!converted.is_ok()) return converted.status();
  converted->bytes_in = imported->bytes_in;
  converted->tensors_in = imported->tensors_in;
  converted->input_was_quantized = imported->input_was_quantized;
  converted->seconds += imported->seconds;
  return converted;
}

}  // namespace mlxpack
