#include "cli/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "inspect/human_size.h"

namespace mlxpack::cli {

namespace {
constexpr const char* kEraseLine = "\r\x1b[K";  // to column 0, then clear to the end
}  // namespace

std::string eta_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 360000) return "-";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

ProgressBar::ProgressBar(std::string label, bool quiet)
    : label_(std::move(label)),
      enabled_(!quiet && ::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::finish() {
  if (drawn_) {
    std::fputs(kEraseLine, stderr);
    std::fflush(stderr);
  }
  drawn_ = false;
  enabled_ = false;
}

void ProgressBar::update(uint64_t done, uint64_t total) {
  if (!enabled_ || total == 0) return;
  const auto now = std::chrono::steady_clock::now();
  // Redraw at most 10 times a second, and always at the end.
  if (drawn_ && done < total && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  drawn_ = true;
  constexpr int kWidth = 24;
  const double frac = done >= total ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  std::string bar(static_cast<size_t>(frac * kWidth), '#');
  bar.resize(kWidth, ' ');
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  const double left = rate > 0 ? static_cast<double>(total - std::min(done, total)) / rate : -1;
  std::fprintf(stderr, "%s%s [%s] %3d%%  %s / %s  %s/s  ETA %s", kEraseLine, label_.c_str(), bar.c_str(),
               static_cast<int>(frac * 100), human_size(done).c_str(), human_size(total).c_str(),
               human_size(static_cast<uint64_t>(rate)).c_str(), eta_text(left).c_str());
  std::fflush(stderr);
}

}  // namespace mlxpack::cli
