#include "loader/src/guarded_read.h"

#include <csetjmp>
#include <csignal>
#include <mutex>

namespace mlxpack {

namespace {

thread_local sigjmp_buf* t_guard = nullptr;
struct sigaction g_previous;

void on_sigbus(int sig, siginfo_t* info, void* context) {
  if (t_guard != nullptr) siglongjmp(*t_guard, 1);
  // Not a guarded read: behave as if we had never installed a handler.
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction != nullptr) return g_previous.sa_sigaction(sig, info, context);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    return g_previous.sa_handler(sig);
  }
  ::sigaction(SIGBUS, &g_previous, nullptr);
  ::raise(SIGBUS);
}

void install_handler() {
  struct sigaction sa = {};
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGBUS, &sa, &g_previous);
}

}  // namespace

bool run_guarded(void (*fn)(void* arg), void* arg) {
  static std::once_flag once;
  std::call_once(once, install_handler);
  sigjmp_buf jump;
  if (sigsetjmp(jump, 1) != 0) {
    t_guard = nullptr;
    return false;
  }
  t_guard = &jump;
  fn(arg);
  t_guard = nullptr;
  return true;
}

}  // namespace mlxpack
