// Interrupted work leaves nothing behind: SIGINT, SIGTERM and SIGHUP during
// pack and convert remove the temporary output; a temporary left by a
// SIGKILLed run is removed by the next run writing the same output, and
// nothing else is.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/test_support.h"

extern char** environ;

namespace mlxpack {
namespace {

namespace fs = std::filesystem;


pid_t spawn_cli(const std::vector<std::string>& args) {
  std::vector<std::string> all = {MLXPACK_CLI_PATH};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

std::vector<std::string> temporaries_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find(".tmp-") != std::string::npos) out.push_back(name);
  }
  return out;
}

// Waits (up to 20 s) until a temporary output appears in `dir`.
bool wait_for_temporary(const std::string& dir, pid_t pid) {
  for (int i = 0; i < 20000; ++i) {
    if (!temporaries_in(dir).empty()) return true;
    if (waitpid(pid, nullptr, WNOHANG) == pid) return false;  // finished first
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TEST(InterruptedWork, SignalsRemoveTheTemporaryOutputOfPackAndConvert) {
  test::TempDir tmp;
  test::write_zero_model(tmp.file("m"), 256);
  fs::create_directories(tmp.file("out"));
  const struct {
    std::vector<std::string> args;
    int sig;
  } cases[] = {
      {{"pack", tmp.file("m"), tmp.file("out/m.mlxpack")}, SIGINT},
      {{"pack", tmp.file("m"), tmp.file("out/m.mlxpack")}, SIGTERM},
      {{"pack", tmp.file("m"), tmp.file("out/m.mlxpack")}, SIGHUP},
      {{"convert", "--dtype", "bf16", tmp.file("m"), tmp.file("out/m.mlxpack")}, SIGINT},
      {{"convert", "--dtype", "bf16", "--output-format", "mlx-dir", tmp.file("m"), tmp.file("out/mlx")}, SIGINT},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args[0] + " " + c.args[c.args.size() - 1] + " signal " + std::to_string(c.sig));
    const pid_t pid = spawn_cli(c.args);
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(wait_for_temporary(tmp.file("out"), pid)) << "no temporary output seen while it ran";
    ASSERT_EQ(kill(pid, c.sig), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == c.sig) << "status " << status;
    EXPECT_EQ(temporaries_in(tmp.file("out")), std::vector<std::string>{});
    EXPECT_FALSE(fs::exists(tmp.file("out/m.mlxpack")));
    EXPECT_FALSE(fs::exists(tmp.file("out/mlx")));
  }
}

TEST(InterruptedWork, AKilledRunsTemporaryIsRemovedByTheNextRunAndNothingElse) {
  test::TempDir tmp;
  test::write_zero_model(tmp.file("m"), 256);
  fs::create_directories(tmp.file("out"));
  const pid_t pid = spawn_cli({"pack", tmp.file("m"), tmp.file("out/m.mlxpack")});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(wait_for_temporary(tmp.file("out"), pid));
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_EQ(waitpid(pid, nullptr, 0), pid);
  ASSERT_EQ(temporaries_in(tmp.file("out")).size(), 1u) << "SIGKILL cannot be caught: the temporary stays";
  // Look-alikes that must stay: a live process's, and names off the pattern.
  const std::string live = ".m.mlxpack.tmp-" + std::to_string(getpid()) + "-0badf00d";
  const std::vector<std::string> keep = {live, ".m.mlxpack.tmp-notapid-0badf00d", ".other.mlxpack.tmp-1-0badf00d",
                                         ".m.mlxpack.tmp-1-0badf00d.bak"};
  for (const std::string& k : keep) test::write_file(tmp.file("out/" + k), "not ours to remove");
  auto r = test::run_cli("pack " + tmp.file("m") + " " + tmp.file("out/m.mlxpack"), tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> left = temporaries_in(tmp.file("out"));
  std::sort(left.begin(), left.end());
  std::vector<std::string> expected = keep;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(left, expected);
}

}  // namespace
}  // namespace mlxpack
