#include "bundlespec/interrupt.hpp"

#include <atomic>
#include <csignal>

namespace bundlespec {

namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_signal(int signal_number) {
  if (g_interrupted.exchange(true)) {
    // Second signal: the user insists. Default action ends the process now.
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
  }
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGHUP, &action, nullptr);  // the terminal or ssh session went away: clean up too
}

std::atomic<bool>& interrupt_flag() {
  return g_interrupted;
}
bool interrupt_requested() {
  return g_interrupted.load(std::memory_order_relaxed);
}
void set_interrupt_requested(bool value) {
  g_interrupted.store(value);
}
Error interrupted_error() {
  return Error(ErrorCode::interrupted, "interrupted");
}

}  // namespace bundlespec
