#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

#include "inspect/human_size.h"

namespace mlxpack::cli {

ProgressBar::ProgressBar(std::string label) : label_(std::move(label)), enabled_(::isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() {
  if (drawn_) std::fputc('\n', stderr);
}

void ProgressBar::update(uint64_t done, uint64_t total) {
  if (!enabled_ || total == 0) return;
  const auto now = std::chrono::steady_clock::now();
  // Redraw at most 10 times a second, and always at the end.
  if (drawn_ && done < total && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  drawn_ = true;
  constexpr int kWidth = 30;
  const double frac = static_cast<double>(done) / static_cast<double>(total);
  const int filled = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, ' ');
  std::fprintf(stderr, "\r%s [%s] %3d%%  %s / %s", label_.c_str(), bar.c_str(), static_cast<int>(frac * 100),
               human_size(done).c_str(), human_size(total).c_str());
  std::fflush(stderr);
}

}  // namespace mlxpack::cli
