// The one progress reporter of pack, convert, verify and extract: a line
// on stderr with a bar, bytes done of the total, the rate and the time
// left, redrawn at most 10 times a second. Drawn only when stderr is a
// terminal and --quiet was not given. Every redraw erases the rest of the
// line (no leftovers of a longer earlier line), and finish() erases the
// line altogether, so the summary that follows starts on a clean line.
#ifndef MLXPACK_CLI_PROGRESS_H_
#define MLXPACK_CLI_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace mlxpack::cli {

class ProgressBar {
 public:
  ProgressBar(std::string label, bool quiet);
  ~ProgressBar();  // finish()
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(uint64_t done, uint64_t total);
  // Erases the line if anything was drawn; later updates draw nothing.
  void finish();

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

// "1:05" (minutes:seconds) or "2:03:04"; "-" when unknown.
std::string eta_text(double seconds);

}  // namespace mlxpack::cli

#endif
