// Cooperative interruption: SIGINT/SIGTERM/SIGHUP set a flag that long operations poll, so they can
// remove temporaries, keep caches consistent and return ErrorCode::interrupted.
// Thread-safety: the flag is a lock-free atomic, safe from signal handlers and any thread.
#pragma once

#include <atomic>

#include "bundlespec/result.hpp"

namespace bundlespec {

// Installs handlers for SIGINT, SIGTERM and SIGHUP that set the flag (a second signal kills at once).
void install_interrupt_handlers();
bool interrupt_requested();
// The process-wide flag itself, for code that polls an std::atomic<bool> (the downloader).
std::atomic<bool>& interrupt_flag();
// For tests: set or clear the flag by hand.
void set_interrupt_requested(bool value);
// Error(ErrorCode::interrupted, "interrupted").
Error interrupted_error();

}  // namespace bundlespec
