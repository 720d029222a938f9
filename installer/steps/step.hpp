// The plan's steps: a closed set of kinds, each a struct with its own fields and its own
// to_json / check / apply / undo in installer/steps/<kind>.cpp. The planner (plan/plan.cpp)
// makes them; the executor (apply/apply.cpp) visits them through a StepRun, and uninstall undoes
// their journal entries through an UndoRun.
//
// Every kind K has:
//   static constexpr StepKind k_kind;     its tag, also its place in StepBody
//   static constexpr string_view k_name;  its name in plan --json and the journal
//   static constexpr bool k_live_only;    runs programs on the live host: skipped under --root
//   void to_json(Json::Object&) const;    its own members of the step's JSON (plan --json, digest)
//   Result<bool> check(const Step&, StepRun&) const;   read-only: done and unchanged?
//   Result<Record> apply(const Step&, StepRun&, JournalEntry&) const;  do it; fill the entry
//   static void undo(const JournalEntry&, UndoRun&);   uninstall's part for its journal entry
// Preflight is the exception "as always": not journaled, it runs on every apply (PreflightStep).
//
// Adding a kind: its struct below, its StepKind value and its StepBody alternative (same place
// in both, checked at compile time), and installer/steps/<kind>.cpp in installer/CMakeLists.txt.
// Thread-safety: value types; StepRun and UndoRun are one run's state.
#pragma once

#include <ctime>

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "bundlespec/json.hpp"
#include "bundlespec/result.hpp"
#include "system/host.hpp"

namespace installer {

using bundlespec::Result;
using bundlespec::Status;
using Argv = std::vector<std::string>;

// The journal's and plan --json's "kind" text is to_string(kind) (K::k_name): "dir", "hosts_block", ...
enum class StepKind { preflight, dir, file, hosts_block, symlink, command, image, service, check };
std::string_view to_string(StepKind kind);
// The kind named `text`; nullopt for any other text.
std::optional<StepKind> parse_step_kind(std::string_view text);

// What a failed check does to the run.
enum class OnFailure { stop, warn };

// Whether an applied step goes into the journal (a check that only warned does not: the next
// run checks again).
enum class Record { journal, skip };

struct Step;
class StepRun;
struct UndoRun;

// One installed step, as the journal keeps it.
struct JournalEntry {
  std::string id;
  StepKind kind = StepKind::file;
  std::string digest;                  // the step digest it was applied with
  std::string path;                    // dir / file / symlink / hosts_block
  std::string unit;                    // service
  std::string hosts_begin, hosts_end;  // hosts_block markers
  bool data = false;                   // dir kept unless --purge
  std::vector<std::string> created;    // folders this step created, outermost first
  std::time_t applied_at = 0;          // when it was last applied (ApplyOptions::clock); 0 = unknown
};

// --- the kinds (installer/steps/<kind>.cpp) ---

// Swap, sysctls, modules, ports, space, clock and runtime, all reported at once (plan/preflight.hpp).
struct PreflightStep {
  static constexpr StepKind k_kind = StepKind::preflight;
  static constexpr std::string_view k_name = "preflight";  // in the JSON and the journal
  static constexpr bool k_live_only = false;
  void to_json(bundlespec::Json::Object& o) const;
  Status run(StepRun& run) const;  // every apply, never journaled
  static void undo(const JournalEntry& entry, UndoRun& run);
};

struct DirStep {
  static constexpr StepKind k_kind = StepKind::dir;
  static constexpr std::string_view k_name = "dir";  // in the JSON and the journal
  static constexpr bool k_live_only = false;
  std::string path;
  mode_t mode = 0;
  bool data = false;  // holds data kept by `uninstall` unless --purge
  void to_json(bundlespec::Json::Object& o) const;
  Result<bool> check(const Step& step, StepRun& run) const;
  Result<Record> apply(const Step& step, StepRun& run, JournalEntry& entry) const;
  static void undo(const JournalEntry& entry, UndoRun& run);
};

struct FileStep {
  static constexpr StepKind k_kind = StepKind::file;
  static constexpr std::string_view k_name = "file";  // in the JSON and the journal
  static constexpr bool k_live_only = false;
  std::string path;
  mode_t mode = 0;
  std::string source;   // "render", "pki:<kit path>", "bundle:<bundle path>"
  std::string sha256;   // content digest; "" = unknown at plan time
  std::string content;  // render and pki; never printed
  bool secret = false;  // a key or token
  void to_json(bundlespec::Json::Object& o) const;
  Result<bool> check(const Step& step, StepRun& run) const;
  Result<Record> apply(const Step& step, StepRun& run, JournalEntry& entry) const;
  static void undo(const JournalEntry& entry, UndoRun& run);
};

// The managed block of a hosts file, between the block's first and last lines.
struct HostsBlockStep {
  static constexpr StepKind k_kind = StepKind::hosts_block;
  static constexpr std::string_view k_name = "hosts_block";  // in the JSON and the journal
  static constexpr bool k_live_only = false;
  std::string path;
  std::string content;
  std::string sha256;
  void to_json(bundlespec::Json::Object& o) const;
  Result<bool> check(const Step& step, StepRun& run) const;
  Result<Record> apply(const Step& step, StepRun& run, JournalEntry& entry) const;
  static void undo(const JournalEntry& entry, UndoRun& run);
};

struct SymlinkStep {
  static constexpr StepKind k_kind = StepKind::symlink;
  static constexpr std::string_view k_name = "symlink";  // in the JSON and the journal
  static constexpr bool k_live_only = false;
  std::string path;
  std::string target;  // JSON "source"
  void to_json(bundlespec::Json::Object& o) const;
  Result<bool> check(const Step& step, StepRun& run) const;
  Result<Record> apply(const Step& step, StepRun& run, JournalEntry& entry) const;
  static void undo(const JournalEntry& entry, UndoRun& run);
};

// Programs run in order on a live host ("{bundle}/" at the start of a word: the extracted bundle).
struct CommandStep {
  static constexpr StepKind k_kind = StepKind::command;
  static constexpr std::string_view k_name = "command";  // in the JSON and the journal
  static constexpr bool k_live_only = true;
  std::vector<Argv> commands;
  void to_json(bundlespec::Json::Object& o) const;
  Result<bool> check(const Step& step, StepRun& run) const;
  Result<Record> apply(const Step& step, StepRun& run, JournalEntry& entry) const;
  static void undo(const JournalEntry& entry, UndoRun& run);
};

// Loads the bundle's images into the runtime (this very installer's `images load`).
struct ImageStep {
  static constexpr StepKind k_kind = StepKind::image;
  static constexpr std::string_view k_name = "image";  // in the JSON and the journal
  static constexpr bool k_live_only = true;
  std::vector<Argv> commands;
  std::string source;  // "bundle:images/images.json"
  std::string sha256;  // over the pinned references; not part of the JSON (nor of the digest)
  void to_json(bundlespec::Json::Object& o) const;
  Result<bool> check(const Step& step, StepRun& run) const;
  Result<Record> apply(const Step& step, StepRun& run, JournalEntry& entry) const;
  static void undo(const JournalEntry& entry, UndoRun& run);
};

// Enables and (re)starts a unit; a journaled one that is not active starts again.
struct ServiceStep {
  static constexpr StepKind k_kind = StepKind::service;
  static constexpr std::string_view k_name = "service";  // in the JSON and the journal
  static constexpr bool k_live_only = false;
  std::string unit;
  bool no_block = false;  // systemctl restart --no-block
  // systemctl enable UNIT; systemctl restart [--no-block] UNIT.
  std::vector<Argv> commands() const;
  void to_json(bundlespec::Json::Object& o) const;
  Result<bool> check(const Step& step, StepRun& run) const;
  Result<Record> apply(const Step& step, StepRun& run, JournalEntry& entry) const;
  static void undo(const JournalEntry& entry, UndoRun& run);
};

// A program that must exit 0, tried `attempts` times `interval_ms` apart.
struct CheckStep {
  static constexpr StepKind k_kind = StepKind::check;
  static constexpr std::string_view k_name = "check";  // in the JSON and the journal
  static constexpr bool k_live_only = true;
  Argv argv;
  int attempts = 1;
  int interval_ms = 0;
  OnFailure on_failure = OnFailure::stop;
  void to_json(bundlespec::Json::Object& o) const;
  Result<bool> check(const Step& step, StepRun& run) const;
  Result<Record> apply(const Step& step, StepRun& run, JournalEntry& entry) const;
  static void undo(const JournalEntry& entry, UndoRun& run);
};

// --- the list: StepKind order ---
using StepBody = std::variant<PreflightStep, DirStep, FileStep, HostsBlockStep, SymlinkStep, CommandStep, ImageStep,
                              ServiceStep, CheckStep>;

struct Step {
  std::string id;      // unique within the plan: "file /opt/etcd/cfg/etcd.conf", "service etcd.service"
  std::string reason;  // why the host needs it, for people
  StepBody body;
  // Other steps' paths whose content this step depends on (a service restarts when its unit or
  // config changes): their digests are part of this step's digest.
  std::vector<std::string> inputs;
  std::string digest;  // sha256 over the step and its inputs: what the journal compares

  StepKind kind() const { return static_cast<StepKind>(body.index()); }
  template <class K>
  const K* as() const {
    return std::get_if<K>(&body);
  }
  template <class K>
  K* as() {
    return std::get_if<K>(&body);
  }
  // The target path of a dir, file, hosts_block or symlink step; "" for the others.
  const std::string& path() const;
};

// The step as printed by `plan --json` (without "n" and "digest"), and hashed into its digest.
bundlespec::Json step_to_json(const Step& step);

// What a step's check and apply use: the executor's state (apply/apply.cpp implements it).
class StepRun {
 public:
  virtual ~StepRun() = default;
  virtual Fs& fs() = 0;
  virtual CommandRunner& runner() = 0;
  // Live host (root "/"), or files only below root().
  virtual bool live() const = 0;
  virtual const std::string& root() const = 0;
  // The journal holds this step with its current digest.
  virtual bool journaled(const Step& step) const = 0;
  // The extracted bundle folder (extracted on first need).
  virtual Result<std::string> bundle_dir() = 0;
  virtual void log(const std::string& line) = 0;
  virtual void warn(std::string warning) = 0;
  virtual void sleep_ms(int ms) = 0;
  virtual Status preflight() = 0;

  // argv with "{bundle}" and "{bundle}/..." words replaced by the bundle folder.
  Result<Argv> expand(const Argv& argv);
  // Runs the expanded argv; a non-zero exit fails with "ARGV exited with C: <output tail>".
  Status run_argv(const Argv& argv);
};

// What undoing a journal entry uses: uninstall's options and report.
struct UndoRun {
  Fs& fs;
  CommandRunner& runner;
  bool live = true;
  std::string root = "/";
  bool purge = false;
  std::function<void(const std::string&)> log;
  std::vector<std::string>& removed;  // paths and units
  std::vector<std::string>& kept;
  std::vector<std::string>& warnings;

  void say(const std::string& line) const {
    if (log) log(line);
  }
  // Removes the folders in `created`, innermost first; one still holding files stays silently.
  void remove_created(const std::vector<std::string>& created);
  // The non-empty output lines of a command that succeeded; none when it failed (a warning says so).
  std::vector<std::string> output_lines(const Argv& argv);
};

// --- dispatch over the list ---

// Runs K::undo for the entry's kind.
void undo_entry(const JournalEntry& entry, UndoRun& run);
// True if a failure of Fs::remove says the folder is not empty.
bool not_empty(const bundlespec::Error& error);

// --- text helpers shared by the kinds ---
// "0644".
std::string octal_mode(mode_t mode);
// [[argv...], ...] as plan --json prints commands.
bundlespec::Json commands_json(const std::vector<Argv>& commands);
std::string first_line(const std::string& text);
std::string last_line(const std::string& text);
// Replaces (or appends) the block between the markers in `hosts`; with an empty `block`
// removes it. Pure; exposed for tests.
std::string edit_hosts(const std::string& hosts, const std::string& begin, const std::string& end,
                       const std::string& block);

}  // namespace installer
