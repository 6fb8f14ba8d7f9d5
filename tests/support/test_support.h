// Helpers shared by the tests: temporary directories, the shared test data
// (MLXPACK_TEST_DATA), small fixture model directories, and raw access to a
// pack's bytes for handcrafting files that break one rule of the spec.
#ifndef MLXPACK_TESTS_SUPPORT_TEST_SUPPORT_H_
#define MLXPACK_TESTS_SUPPORT_TEST_SUPPORT_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "format/safetensors.h"
#include "tests/support/test_files.h"

namespace mlxpack::test {



// Runs a shell command line (the one runner every test uses); stdout is
// captured, stderr goes to `stderr_path` and is read back into `err`, or
// with no path joins stdout in `out`.
struct CommandResult {
  int exit_code = -1;  // -1 if it did not exit normally
  std::string out;
  std::string err;
};
CommandResult run_command(const std::string& command_line, const std::string& stderr_path = "");

#ifdef MLXPACK_CLI_PATH
// The mlxpack CLI built beside the tests (MLXPACK_CLI_PATH is set for the
// targets that run it) with `args`; stderr read back through `tmp`.
inline CommandResult run_cli(const std::string& args, const TempDir& tmp) {
  return run_command(std::string(MLXPACK_CLI_PATH) + " " + args, tmp.file("stderr.txt"));
}

// Success when the CLI run with `args` exits with `exit_code` and its
// stderr contains `message`; the failure shows the command, the code and
// stderr. Use: EXPECT_TRUE(test::cli_fails_with("run -m x", tmp, 4, "x")).
inline ::testing::AssertionResult cli_fails_with(const std::string& args, const TempDir& tmp, int exit_code,
                                                 const std::string& message) {
  const CommandResult r = run_cli(args, tmp);
  if (r.exit_code == exit_code && r.err.find(message) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "mlxpack " << args << ": exit " << r.exit_code << " (want " << exit_code
                                       << "), stderr without '" << message << "':\n" << r.err;
}
#endif

// Deterministic pseudo-random bytes.
std::string random_bytes(size_t n, uint64_t seed);

// Writes `dir/config.json` (a small Llama config) and `dir/model.safetensors`.
void write_model_dir(const std::string& dir, const std::vector<SafetensorsWriteTensor>& tensors);
// A model directory (config.json, model.safetensors) whose one F32 tensor
// "w" is `mib` MiB of zeros held as a sparse file: large to write, cheap to
// make.
void write_zero_model(const std::string& dir, uint64_t mib);

// A few tensors of several dtypes and shapes.
std::vector<SafetensorsWriteTensor> sample_tensors();

// Packs `dir` into `out` with the library (alignment as given); asserts success.
void pack_or_die(const std::string& dir, const std::string& out, uint32_t alignment = 64);

// Raw view of a pack for handcrafting bad files.
struct PackBytes {
  std::string bytes;
  uint64_t index_offset() const;
  uint64_t index_size() const;
  uint64_t entry_count() const;
  // Offset of entry i's first byte in `bytes`.
  size_t entry_at(uint64_t i) const;
  void put_u8(size_t at, uint8_t v) { bytes[at] = static_cast<char>(v); }
  void put_u32(size_t at, uint32_t v);
  void put_u64(size_t at, uint64_t v);
  uint64_t get_u64(size_t at) const;
  uint32_t get_u32(size_t at) const;
  // Recomputes entry i's checksum from its stored bytes (after editing them).
  void rehash_entry(uint64_t i);
  // Recomputes index_checksum (if the index lies in the file), the
  // superblock checksum and the trailer, so that only the intended rule is broken.
  void reseal();
};

}  // namespace mlxpack::test

#endif
