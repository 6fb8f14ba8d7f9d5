// The progress line of pack, convert, verify and extract, seen through a
// pseudo-terminal: drawn with bar, rate and ETA, each redraw erasing the
// line, erased at the end so the summary starts clean; nothing with
// --quiet or when stderr is not a terminal.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

namespace fs = std::filesystem;

struct PtyRun {
  int exit_code = -1;
  std::string terminal;  // what the command wrote to stderr, a terminal
};

// Runs the CLI with stderr on a pseudo-terminal and stdout to `out_path`.
PtyRun run_on_pty(const std::vector<std::string>& args, const std::string& out_path) {
  PtyRun r;
  int master = -1, slave = -1;
  if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) return r;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(slave, 2);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::close(master);
    std::vector<std::string> all = {MLXPACK_CLI_PATH};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(slave);
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO once the child's side is closed
    r.terminal.append(buf, static_cast<size_t>(n));
  }
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}


TEST(Progress, DrawnOnATerminalErasedAtTheEndAndQuietOtherwise) {
  test::TempDir tmp;
  test::write_zero_model(tmp.file("m"), 64);
  const std::string erase = "\r\x1b[K";
  const struct {
    std::vector<std::string> args;
    std::string label, summary;
  } cases[] = {
      {{"pack", tmp.file("m"), tmp.file("m.mlxpack")}, "packing [", "packed "},
      {{"verify", tmp.file("m.mlxpack")}, "verifying [", ": OK"},
      {{"extract", tmp.file("m.mlxpack"), tmp.file("x")}, "extracting [", "extracted 2 files"},
      {{"convert", "--dtype", "bf16", tmp.file("m"), tmp.file("c.mlxpack")}, "converting [", "converted "},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args[0]);
    const PtyRun r = run_on_pty(c.args, tmp.file("out.txt"));
    ASSERT_EQ(r.exit_code, 0) << r.terminal;
    const std::string& t = r.terminal;
    EXPECT_EQ(t.rfind(erase + c.label, 0), 0u) << t;  // every draw starts by erasing the line
    EXPECT_NE(t.find("100%"), std::string::npos) << t;
    EXPECT_NE(t.find("/s  ETA "), std::string::npos) << t;
    ASSERT_GE(t.size(), erase.size());
    EXPECT_EQ(t.substr(t.size() - erase.size()), erase) << "the line is erased at the end: " << t;
    // Each draw is erase + label: no draw appends to a previous one.
    size_t draws = 0, labels = 0;
    for (size_t at = t.find(erase + c.label); at != std::string::npos; at = t.find(erase + c.label, at + 1)) ++draws;
    for (size_t at = t.find(c.label); at != std::string::npos; at = t.find(c.label, at + 1)) ++labels;
    EXPECT_EQ(draws, labels);
    EXPECT_NE(test::read_file(tmp.file("out.txt")).find(c.summary), std::string::npos);
    // --quiet: nothing on the terminal.
    std::vector<std::string> quiet = c.args;
    quiet.insert(quiet.begin() + 1, "--quiet");
    quiet.push_back("--force");
    if (c.args[0] == "verify") quiet.pop_back();
    const PtyRun q = run_on_pty(quiet, tmp.file("out.txt"));
    EXPECT_EQ(q.exit_code, 0) << q.terminal;
    EXPECT_EQ(q.terminal, "");
  }
  // stderr not a terminal: no progress.
  auto r = test::run_cli("verify " + tmp.file("m.mlxpack"), tmp);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "");
}

}  // namespace
}  // namespace mlxpack
