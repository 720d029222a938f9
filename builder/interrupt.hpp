// The builder's "stop now" flag: set by SIGINT/SIGTERM, polled by long-running loops.
//
// The downloader checks it at least every 100 ms; when set it stops its transfers, keeps the
// partial files (so the next run resumes them) and returns ErrorCode::interrupted.
// Thread-safety: the flag is a lock-free std::atomic<bool>, safe from signal handlers.
#pragma once

#include <atomic>

namespace builder {

// The process-wide flag (false until a signal arrives or a test sets it); the same object as
// bundlespec::interrupt_flag().
std::atomic<bool>& interrupt_flag();

// Installs SIGINT and SIGTERM handlers that set interrupt_flag() (bundlespec/interrupt.hpp):
// a second Ctrl-C kills the process the default way.
void install_interrupt_handlers();

}  // namespace builder
