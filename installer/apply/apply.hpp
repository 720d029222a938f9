// The executor: applies a Plan through an Fs and a CommandRunner, and keeps a journal of what
// it installed, so that
//   - a step already done and unchanged is skipped (files: content digest + mode checked on
//     disk; commands, services, images: the journal holds the step's digest);
//   - a second apply on a converged host changes nothing and says so (report.changed() false);
//     its only commands are `systemctl is-active` queries: a service that is installed but not
//     running is started again (live installs);
//   - a run killed or failed at any step finishes on the next run;
//   - uninstall removes exactly what the journal says was installed.
// Journal: <root>/var/lib/kubeferry/journal.json (JSON, written atomically after each step).
// Each step kind's check, apply and undo live in steps/<kind>.cpp; this file visits them.
// Preflight runs first and reports every problem at once before anything is written.
// Thread-safety: none; one executor per host at a time.
#pragma once

#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bundlespec/result.hpp"
#include "system/host.hpp"
#include "plan/plan.hpp"
#include "plan/preflight.hpp"

namespace installer {

inline constexpr const char* k_state_dir = "/var/lib/kubeferry";
inline constexpr const char* k_journal_path = "/var/lib/kubeferry/journal.json";

// The journal: one JournalEntry (steps/step.hpp) per installed step.
struct Journal {
  std::string host;
  std::vector<JournalEntry> entries;       // in the order first applied
  std::vector<std::string> state_created;  // folders made for the journal itself

  const JournalEntry* find(const std::string& id) const;
};

// nullopt when there is no journal. Fails if it exists but cannot be read or parsed, or names a
// kind of step this installer does not know. Entries keep "kind" as its text (to_string(StepKind)).
Result<std::optional<Journal>> load_journal(Fs& fs);
Status save_journal(Fs& fs, const Journal& journal);

struct ApplyOptions {
  // Live: root is "/" and commands act on this machine. Not live (--root DIR): files only;
  // services are enabled with `systemctl --root=DIR enable`, other commands are skipped.
  bool live = true;
  std::string root = "/";
  // Extracts the bundle on first need (a real folder path), so a converged host never pays
  // for extraction; its answer replaces "{bundle}/" in commands. May be empty when no step
  // needs the bundle.
  std::function<Result<std::string>()> bundle_dir;
  bool dry_run = false;  // check every step and report; write and run nothing
  bool fix = false;      // run the safe preflight fixes, then check again
  Fs* system = nullptr;  // live facts for preflight (root "/"); REQUIRED
  std::time_t now = 0;
  std::function<std::time_t()> clock;           // stamps journal entries (applied_at); may be empty
  std::function<void(int)> sleep_ms;            // between check attempts; may be empty
  std::function<void(const std::string&)> log;  // one line per action; may be empty
};

struct ApplyReport {
  std::vector<std::string> applied;    // step ids applied in this run (or, dry run: would apply)
  std::vector<std::string> unchanged;  // already done
  std::vector<std::string> skipped;    // not applicable here (not live)
  std::vector<std::string> warnings;
  bool changed() const { return !applied.empty(); }
};

// Fails with the preflight report (every problem) before writing anything; with the failing
// step's id and the cause otherwise ("step 23 (file /opt/etcd/bin/etcd): ..."). Steps before
// the failure stay journaled. Refuses a plan with unknown file contents (made without a PKI kit
// or bundle). A check is tried `attempts` times, `interval_ms` apart (the first miss is logged);
// one that never passes stops the run (OnFailure::stop) or warns (not journaled) with
// "gave up after N tries, I ms apart; the last: ARGV exited with C: <its error lines>. Wanted:
// <the step's reason>".
Result<ApplyReport> apply_plan(const Plan& plan, Fs& target, CommandRunner& runner, const ApplyOptions& options);

enum class Purge { no, yes };

struct UninstallOptions {
  bool live = true;
  std::string root = "/";
  Purge purge = Purge::no;  // also remove data folders (etcd data, kubelet state, logs)
  std::function<void(const std::string&)> log;
};

struct UninstallReport {
  std::vector<std::string> removed;  // paths and units
  std::vector<std::string> kept;     // "PATH (data; --purge removes it)" / "PATH (not empty)"
  std::vector<std::string> warnings;
  bool had_journal = false;
};

// Stops and disables the journal's services, removes its files, symlinks, /etc/hosts block and
// the folders it created (data folders only with Purge::yes), then the journal. Data folders
// kept by Purge::no stay journaled (the journal then lists only them): a later uninstall with
// Purge::yes removes them, and a reinstall takes them over as its own.
Result<UninstallReport> uninstall(Fs& target, CommandRunner& runner, const UninstallOptions& options);

}  // namespace installer
