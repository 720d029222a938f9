// Preflight: everything that would make the install fail half-way, checked before anything is
// written and reported in ONE report, not one problem per run. Reads the live system through an Fs
// rooted at "/" (/proc/swaps, /proc/sys, /sys/module and modules.builtin, /proc/net/tcp*, runtime
// sockets and binaries) and the target through the target Fs (free space). `--fix` runs the safe fixes
// (swapoff -a, modprobe, sysctl -w) and checks again.
// Thread-safety: none needed.
#pragma once

#include <ctime>
#include <set>
#include <string>
#include <vector>

#include "system/host.hpp"
#include "plan/plan.hpp"

namespace installer {

struct PreflightProblem {
  std::string check;             // "swap", "sysctl", "module", "port", "disk", "clock", "runtime", "tool"
  std::string message;           // what is wrong and what to do
  std::vector<std::string> fix;  // a safe command that fixes it, or empty
};

struct PreflightContext {
  Fs* system = nullptr;  // the live machine, root "/"
  Fs* target = nullptr;  // where the install writes (--root)
  std::time_t now = 0;
  // Host checks (swap, sysctls, modules, ports, runtime) only make sense for the live host;
  // false when installing below another --root (disk and clock are still checked).
  bool live = true;
  // Ports our own services already hold on a converged host (journal says installed).
  std::set<int> own_ports;
  // Units the journal lists as installed services ("containerd.service"): the runtime running
  // there is ours, not a foreign one.
  std::set<std::string> own_units;
};

// Every problem, in check order: swap, sysctls, modules, ports, disk, clock, runtime, tools.
std::vector<PreflightProblem> run_preflight(const PreflightSpec& spec, const PreflightContext& context);

// "preflight found N problem(s) on HOST:\n  - check: message\n ..." plus a last line naming
// --fix when some problems have safe fixes.
std::string format_preflight(const std::string& host, const std::vector<PreflightProblem>& problems);

}  // namespace installer
