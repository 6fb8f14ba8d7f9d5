#include "pack/packer.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "format/file_io.h"
#include "format/layout.h"
#include "format/lora_adapter.h"
#include "pack/pack_builder.h"

namespace mlxpack {

namespace {

// Adds an adapter's two files under adapter/ (§6.6), once they parse as
// the runtime will read them.
Status plan_adapter(const std::string& dir, ModelDirPlan* plan) {
  for (const BundledFilePlan& f : plan->files) {
    if (f.name.rfind("adapter/", 0) == 0) {
      return Status::invalid_argument(f.path + ": the model directory already has an adapter/ folder");
    }
  }
  MLXPACK_RETURN_IF_ERROR(read_lora_adapter(dir).status());
  for (const auto& [bundled, file] : {std::pair{kBundledAdapterConfig, kAdapterConfigFile},
                                      std::pair{kBundledAdapterWeights, kAdapterWeightsFile}}) {
    const std::string path = dir + "/" + file;
    MLXPACK_ASSIGN_OR_RETURN(InputFile in, InputFile::open(path));
    plan->files.push_back({bundled, path, in.size_bytes()});
  }
  std::sort(plan->files.begin(), plan->files.end(),
            [](const BundledFilePlan& a, const BundledFilePlan& b) { return a.name < b.name; });
  return Status::ok();
}

}  // namespace

Result<PackReport> pack_model_dir(const PackOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  PackReport report;
  MLXPACK_ASSIGN_OR_RETURN(report.plan, plan_model_dir(options.input_dir));
  if (!options.adapter_path.empty()) MLXPACK_RETURN_IF_ERROR(plan_adapter(options.adapter_path, &report.plan));
  const ModelDirPlan& plan = report.plan;

  PackBuilderOptions builder_options;
  builder_options.alignment = options.alignment;
  builder_options.overwrite = options.overwrite;
  uint64_t total = plan.tensor_bytes;
  for (const auto& f : plan.files) total += f.size_bytes;
  for (const auto& s : plan.sources) total += s.header_region.size();
  if (options.on_progress) {
    builder_options.on_progress = [&](uint64_t done) { options.on_progress(done, total); };
  }
  // --force must not replace a file this pack is made from.
  std::vector<std::string> read_paths;
  for (const auto& f : plan.files) read_paths.push_back(f.path);
  for (const auto& s : plan.sources) read_paths.push_back(s.path);
  MLXPACK_RETURN_IF_ERROR(check_output_is_not_input(options.output_path, read_paths));
  MLXPACK_ASSIGN_OR_RETURN(PackBuilder builder, PackBuilder::create(options.output_path, builder_options));

  for (const BundledFilePlan& f : plan.files) {
    MLXPACK_ASSIGN_OR_RETURN(std::string bytes, read_file_to_string(f.path, layout::kMaxBundledFileSize));
    MLXPACK_RETURN_IF_ERROR(builder.add_file(f.name, bytes));
  }
  for (const SourcePlan& s : plan.sources) {
    MLXPACK_ASSIGN_OR_RETURN(InputFile in, InputFile::open(s.path));
    if (in.size_bytes() != s.size_bytes) {
      return Status::io_error(s.path + ": changed size while being packed (" + std::to_string(s.size_bytes) +
                              " -> " + std::to_string(in.size_bytes()) + " bytes)");
    }
    in.advise_sequential();
    MLXPACK_ASSIGN_OR_RETURN(uint32_t source, builder.add_source(s.name, s.header_region, s.size_bytes));
    for (const SafetensorsTensor& t : s.header.tensors) {
      MLXPACK_RETURN_IF_ERROR(builder.add_tensor_from_file(t.name, t.dtype, t.shape, in,
                                                           s.header.data_offset() + t.data_begin, t.size_bytes(),
                                                           source));
    }
  }
  MLXPACK_ASSIGN_OR_RETURN(report.output_size_bytes, builder.finish());
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace mlxpack
