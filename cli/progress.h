// A one-line progress bar on stderr, drawn only when stderr is a terminal.
#ifndef MLXPACK_CLI_PROGRESS_H_
#define MLXPACK_CLI_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace mlxpack::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();  // finishes the line if anything was drawn
  void update(uint64_t done, uint64_t total);

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace mlxpack::cli

#endif
