// Hostile conditions around the format core: files changed under a live
// mapping, processes killed mid-write, write limits, concurrent readers,
// and a corruption campaign over every byte of a small pack.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include "format/layout.h"
#include "inspect/extract.h"
#include "mlxpack/loader.h"
#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

namespace fs = std::filesystem;

// The exit code of `cmd`; its stdout and stderr in *out.
int run_shell(const std::string& cmd, std::string* out = nullptr) {
  test::CommandResult r = test::run_command(cmd);
  if (out) *out = std::move(r.out);
  return r.exit_code;
}

const std::string kCli = MLXPACK_CLI_PATH;

// A model whose tensors total `mb` MiB, so writing it takes a while.
void write_big_model(const std::string& dir, int mb) {
  std::vector<SafetensorsWriteTensor> tensors;
  for (int i = 0; i < mb; ++i) {
    tensors.push_back({"model.layers." + std::to_string(i) + ".mlp.up_proj.weight", DType::kF32, {512, 512},
                       test::random_bytes(1u << 20, 100 + i)});
  }
  test::write_model_dir(dir, tensors);
}

std::vector<std::string> temp_leftovers(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& f : test::list_files(dir)) {
    if (f.find(".tmp-") != std::string::npos) out.push_back(f);
  }
  return out;
}

TEST(HardeningTest, PackTruncatedWhileMappedIsReportedNotACrash) {
  test::TempDir dir;
  write_big_model(dir.file("m"), 4);
  test::pack_or_die(dir.file("m"), dir.file("p.mlxpack"));
  auto r = Reader::open(dir.file("p.mlxpack"));
  ASSERT_TRUE(r.is_ok());
  fs::resize_file(dir.file("p.mlxpack"), fs::file_size(dir.file("p.mlxpack")) / 2);
  auto bad = (*r)->verify_all(2);
  ASSERT_TRUE(bad.is_ok());
  ASSERT_FALSE(bad->empty());
  bool changed = false;
  for (const auto& c : *bad) changed |= c.reason.find("file_changed") == 0;
  EXPECT_TRUE(changed) << (*bad)[0].reason;
  ExtractOptions x;
  x.output_dir = dir.file("out");
  EXPECT_FALSE(extract_pack(**r, x).is_ok());
  EXPECT_TRUE(temp_leftovers(dir.path()).empty());
}

TEST(HardeningTest, ReaderKeepsTheOldPackWhenPackForceReplacesIt) {
  test::TempDir dir;
  test::write_model_dir(dir.file("a"), {{"t", DType::kU8, {4}, "aaaa"}});
  test::write_model_dir(dir.file("b"), {{"t", DType::kU8, {4}, "bbbb"}});
  test::pack_or_die(dir.file("a"), dir.file("p.mlxpack"));
  auto old_reader = Reader::open(dir.file("p.mlxpack"));
  ASSERT_TRUE(old_reader.is_ok());
  ASSERT_EQ(run_shell(kCli + " pack --force " + dir.file("b") + " " + dir.file("p.mlxpack")), 0);
  auto t = (*old_reader)->tensor("t");
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(std::string(static_cast<const char*>(t->data), 4), "aaaa");
  EXPECT_TRUE((*old_reader)->verify_all(2)->empty());
  auto new_reader = Reader::open(dir.file("p.mlxpack"));
  EXPECT_EQ(std::string(static_cast<const char*>((*new_reader)->tensor("t")->data), 4), "bbbb");
}

TEST(HardeningTest, ManyProcessesAndThreadsVerifyTheSamePackAtOnce) {
  test::TempDir dir;
  write_big_model(dir.file("m"), 8);
  test::pack_or_die(dir.file("m"), dir.file("p.mlxpack"));
  // Six processes at once; xargs fails if any of them does.
  std::string out;
  EXPECT_EQ(run_shell("seq 6 | xargs -P 6 -I{} " + kCli + " verify -t 2 " + dir.file("p.mlxpack"), &out), 0) << out;
  auto r = Reader::open(dir.file("p.mlxpack"));
  ASSERT_TRUE(r.is_ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&] {
      auto again = Reader::open(dir.file("p.mlxpack"), {VerifyMode::kLazy});
      failures += !again.is_ok() || !(*again)->verify_all(2)->empty() || !(*r)->verify_all(1)->empty();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(HardeningTest, FileSizeLimitGivesAClearErrorAndNoFiles) {
  test::TempDir dir;
  write_big_model(dir.file("m"), 2);
  test::pack_or_die(dir.file("m"), dir.file("ok.mlxpack"));
  const std::string limit = "ulimit -f 512; ";  // 512 KiB
  std::string out;
  EXPECT_EQ(run_shell(limit + kCli + " pack " + dir.file("m") + " " + dir.file("p.mlxpack"), &out), 4) << out;
  EXPECT_NE(out.find("File too large"), std::string::npos) << out;
  EXPECT_EQ(run_shell(limit + kCli + " convert -q " + dir.file("m") + " " + dir.file("q.mlxpack"), &out), 4) << out;
  EXPECT_EQ(run_shell(limit + kCli + " extract " + dir.file("ok.mlxpack") + " " + dir.file("x"), &out), 4) << out;
  EXPECT_FALSE(fs::exists(dir.file("p.mlxpack")));
  EXPECT_FALSE(fs::exists(dir.file("q.mlxpack")));
  EXPECT_FALSE(fs::exists(dir.file("x/model.safetensors")));
  EXPECT_TRUE(temp_leftovers(dir.path()).empty()) << temp_leftovers(dir.path())[0];
}

// Kills the CLI at many points; the output path then holds nothing or a
// complete, sound file, and the input is untouched.
TEST(HardeningTest, KilledAtAnyPointLeavesNoPartialOutputAndTheInputIntact) {
  test::TempDir dir;
  write_big_model(dir.file("m"), 48);
  test::pack_or_die(dir.file("m"), dir.file("src.mlxpack"));
  const std::string input_before = test::read_file(dir.file("m/model.safetensors"));
  const std::string pack_before = test::read_file(dir.file("src.mlxpack"));
  struct Command {
    std::string name;
    std::vector<std::string> args;
    std::string output;
  };
  const std::vector<Command> commands = {
      {"pack", {"pack", dir.file("m"), dir.file("out.mlxpack")}, dir.file("out.mlxpack")},
      {"convert", {"convert", "-q", dir.file("src.mlxpack"), dir.file("q.mlxpack")}, dir.file("q.mlxpack")},
      {"extract", {"extract", dir.file("src.mlxpack"), dir.file("x")}, dir.file("x/model.safetensors")},
  };
  int kills = 0;
  for (const Command& c : commands) {
    for (int delay_ms : {0, 2, 5, 10, 20, 40, 80, 160, 320}) {
      std::error_code ec;
      fs::remove(c.output, ec);
      const pid_t pid = ::fork();
      if (pid == 0) {
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>(kCli.c_str()));
        for (const auto& a : c.args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(const_cast<char*>("--force"));
        argv.push_back(nullptr);
        ::freopen("/dev/null", "w", stdout);
        ::execv(kCli.c_str(), argv.data());
        ::_exit(127);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      ::kill(pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);
      kills += WIFSIGNALED(status);
      if (fs::exists(c.output)) {
        if (c.name == "extract") {
          EXPECT_TRUE(test::read_file(c.output) == input_before) << c.name << " at " << delay_ms << " ms";
        } else {
          auto r = Reader::open(c.output, {VerifyMode::kAtOpen});
          EXPECT_TRUE(r.is_ok()) << c.name << " at " << delay_ms << " ms: " << r.status().to_string();
        }
      }
    }
  }
  EXPECT_GT(kills, 10) << "the commands finished before most kills; the model is too small to test";
  EXPECT_TRUE(test::read_file(dir.file("m/model.safetensors")) == input_before);
  EXPECT_TRUE(test::read_file(dir.file("src.mlxpack")) == pack_before);
  RecordProperty("kills", kills);
}

// Every single-byte change of a small pack is rejected at open or reported
// by verify under the entry that owns the byte; none is accepted silently.
TEST(HardeningTest, EverySingleByteChangeIsCaughtUnderTheRightName) {
  test::TempDir dir;
  test::write_model_dir(dir.file("m"), test::sample_tensors());
  test::write_file(dir.file("m/tokenizer.json"), std::string(700, 'x') + "{}");
  test::pack_or_die(dir.file("m"), dir.file("p.mlxpack"));
  const std::string clean = test::read_file(dir.file("p.mlxpack"));
  // Owner of each byte: an entry's name, the entry a padding run precedes,
  // "(index)" for padding before the index, "" for structure (open must fail).
  std::vector<std::string> owner(clean.size(), "");
  {
    auto r = Reader::open(dir.file("p.mlxpack"));
    ASSERT_TRUE(r.is_ok());
    std::map<uint64_t, std::string> starts;
    for (uint64_t i = 0; i < (*r)->entry_count(); ++i) {
      const EntryInfo e = (*r)->entry(i);
      for (uint64_t b = e.offset; b < e.offset + e.stored_size_bytes; ++b) owner[b] = std::string(e.name);
      if (e.stored_size_bytes > 0) starts[e.offset] = std::string(e.name);
    }
    const uint64_t index_offset = clean.size() - layout::kSuperblockSize - (*r)->info().index_size_bytes;
    for (uint64_t b = layout::kSuperblockSize; b < index_offset; ++b) {
      if (!owner[b].empty()) continue;
      auto next = starts.upper_bound(b);
      owner[b] = next == starts.end() ? "(index)" : next->second;
    }
  }
  const std::string path = dir.file("c.mlxpack");
  int rejected = 0, reported = 0;
  for (size_t pos = 0; pos < clean.size(); ++pos) {
    std::string bytes = clean;
    bytes[pos] = static_cast<char>(bytes[pos] ^ 0x5A);
    test::write_file(path, bytes);
    auto r = Reader::open(path);
    if (!r.is_ok()) {
      ++rejected;
      continue;
    }
    ASSERT_FALSE(owner[pos].empty()) << "byte " << pos << " is structure, yet the file opened";
    auto bad = (*r)->verify_all(1);
    ASSERT_TRUE(bad.is_ok());
    ASSERT_FALSE(bad->empty()) << "byte " << pos << " (" << owner[pos] << ") changed silently";
    bool named = false;
    for (const auto& c : *bad) named |= c.name == owner[pos];
    ASSERT_TRUE(named) << "byte " << pos << ": expected '" << owner[pos] << "', got '" << (*bad)[0].name << "'";
    ++reported;
  }
  RecordProperty("positions", static_cast<int>(clean.size()));
  RecordProperty("rejected_at_open", rejected);
  RecordProperty("reported_by_verify", reported);
  EXPECT_EQ(rejected + reported, static_cast<int>(clean.size()));
  EXPECT_GT(rejected, 0);
  EXPECT_GT(reported, 0);
}

}  // namespace
}  // namespace mlxpack
