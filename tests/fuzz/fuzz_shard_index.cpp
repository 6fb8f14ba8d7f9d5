// libFuzzer target: arbitrary bytes as model.safetensors.index.json beside
// two real shards, through pack's directory planner (which validates the
// index against the shards).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "format/safetensors.h"
#include "format/model_dir.h"

namespace {

void write(const std::string& path, const std::string& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return;
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

std::string dir_path() {
  const char* tmp = std::getenv("TMPDIR");
  return std::string(tmp != nullptr ? tmp : "/tmp") + "/mlxpack-fuzz-shards-" + std::to_string(::getpid());
}

// The directory is ours; libFuzzer ends a timed run with exit(), so an atexit
// hook removes it (run_fuzzers.sh also points TMPDIR at a directory it deletes).
void remove_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_path(), ignored);
}

std::string make_dir() {
  const std::string dir = dir_path();
  std::filesystem::create_directories(dir);
  std::atexit(remove_dir);
  write(dir + "/config.json", "{\"model_type\":\"llama\"}");
  using mlxpack::DType;
  write(dir + "/model-00001-of-00002.safetensors",
        mlxpack::encode_safetensors({{"a.weight", DType::kF32, {2, 2}, std::string(16, '\1')},
                                     {"b.weight", DType::kU8, {3}, "xyz"}},
                                    {}));
  write(dir + "/model-00002-of-00002.safetensors",
        mlxpack::encode_safetensors({{"c.weight", DType::kBF16, {4}, std::string(8, '\2')}}, {{"format", "pt"}}));
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = make_dir();
  write(dir + "/model.safetensors.index.json", std::string(reinterpret_cast<const char*>(data), size));
  auto plan = mlxpack::plan_model_dir(dir);
  if (!plan.is_ok()) return 0;
  // A valid index names one or both shards (a shard it does not name is
  // skipped, as transformers does) and maps every tensor of the shards it names.
  uint64_t expected = 0;
  for (const auto& source : plan->sources) {
    if (source.name == "model-00001-of-00002.safetensors") {
      expected += 2;
    } else if (source.name == "model-00002-of-00002.safetensors") {
      expected += 1;
    } else {
      __builtin_trap();
    }
  }
  if (expected == 0 || plan->tensor_count != expected) __builtin_trap();
  return 0;
}
