#include "format/temporary_outputs.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string_view>

#include "format/file_io.h"

namespace mlxpack {

namespace {

// A fixed table, so the signal handler reads plain memory: no allocation,
// no locks. A slot is published (kReady) only after its path is complete.
constexpr int kSlots = 64;
constexpr size_t kMaxPath = 4096;
enum SlotState : int { kFree = 0, kBusy = 1, kReady = 2 };
struct Slot {
  std::atomic<int> state{kFree};
  bool is_directory = false;
  char path[kMaxPath];
};
Slot g_slots[kSlots];

std::string name_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Empties a flat directory with raw system calls (getdents64, unlinkat):
// async-signal-safe, unlike readdir.
void empty_flat_directory(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return;
  alignas(8) char buf[4096];
  for (;;) {
    const long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, name.
      unsigned short reclen;
      std::memcpy(&reclen, buf + off + 16, sizeof reclen);
      const char* name = buf + off + 19;
      const unsigned char type = static_cast<unsigned char>(buf[off + 18]);
      if (type == DT_REG && std::strcmp(name, ".") != 0 && std::strcmp(name, "..") != 0) ::unlinkat(fd, name, 0);
      if (reclen == 0) break;
      off += reclen;
    }
  }
  ::close(fd);
}

// Empties and removes a flat directory. Other threads keep running while a
// signal handler does this and may create a file meanwhile (rmdir then
// fails with ENOTEMPTY), so it tries again; once the directory is gone,
// their creations in it fail.
void remove_flat_directory(const char* path) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    empty_flat_directory(path);
    if (::rmdir(path) == 0 || errno != ENOTEMPTY) return;
  }
}

// ".<base>.tmp-<pid>-<8 hex>" -> pid, or -1 when `name` is not exactly that.
long temporary_pid(std::string_view name, std::string_view base) {
  const std::string_view prefix_dot = ".";
  if (name.size() < 1 + base.size() + 5 || name.substr(0, 1) != prefix_dot || name.substr(1, base.size()) != base) {
    return -1;
  }
  std::string_view rest = name.substr(1 + base.size());
  if (rest.substr(0, 5) != ".tmp-") return -1;
  rest.remove_prefix(5);
  const size_t dash = rest.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash > 9 || rest.size() - dash - 1 != 8) return -1;
  long pid = 0;
  for (char c : rest.substr(0, dash)) {
    if (c < '0' || c > '9') return -1;
    pid = pid * 10 + (c - '0');
  }
  for (char c : rest.substr(dash + 1)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return -1;
  }
  return pid;
}

bool holds_only_regular_files(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return false;
  bool ok = true;
  while (const dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    struct stat st;
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) ok = false;
  }
  ::closedir(d);
  return ok;
}

}  // namespace

std::string temporary_path_for(const std::string& final_path) {
  static thread_local std::mt19937 rng(std::random_device{}());
  char suffix[40];
  std::snprintf(suffix, sizeof suffix, ".tmp-%d-%08x", static_cast<int>(::getpid()), static_cast<unsigned>(rng()));
  return parent_dir(final_path) + "/." + name_of(final_path) + suffix;
}

int register_temporary(const std::string& path, bool is_directory) {
  if (path.size() >= kMaxPath) return -1;
  for (int i = 0; i < kSlots; ++i) {
    int expected = kFree;
    if (!g_slots[i].state.compare_exchange_strong(expected, kBusy)) continue;
    std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
    g_slots[i].is_directory = is_directory;
    g_slots[i].state.store(kReady, std::memory_order_release);
    return i;
  }
  return -1;
}

void unregister_temporary(int slot) {
  if (slot >= 0 && slot < kSlots) g_slots[slot].state.store(kFree, std::memory_order_release);
}

void remove_registered_temporaries() {
  // Files first: a registered directory's files are registered too.
  for (bool directories : {false, true}) {
    for (Slot& s : g_slots) {
      if (s.state.load(std::memory_order_acquire) != kReady || s.is_directory != directories) continue;
      if (directories) {
        remove_flat_directory(s.path);
      } else {
        ::unlink(s.path);
      }
    }
  }
}

void remove_stale_temporaries(const std::string& final_path) {
  const std::string dir = parent_dir(final_path), base = name_of(final_path);
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (const dirent* e = ::readdir(d)) {
    const long pid = temporary_pid(e->d_name, base);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    const std::string path = dir + "/" + e->d_name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (S_ISREG(st.st_mode)) {
      ::unlink(path.c_str());
    } else if (S_ISDIR(st.st_mode) && holds_only_regular_files(path)) {
      remove_flat_directory(path.c_str());
    }
  }
  ::closedir(d);
}

}  // namespace mlxpack
