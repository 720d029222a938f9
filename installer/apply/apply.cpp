#include "apply/apply.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "bundlespec/interrupt.hpp"
#include "bundlespec/json.hpp"
#include "bundlespec/text.hpp"

namespace installer {

namespace bs = bundlespec;

// ------------------------------------------------------------------ journal

const JournalEntry* Journal::find(const std::string& id) const {
  for (const auto& e : entries) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

namespace {

bs::Json strings_json(const std::vector<std::string>& items) {
  bs::Json::Array out;
  for (const auto& item : items) out.emplace_back(item);
  return out;
}

std::vector<std::string> json_strings(const bs::Json* value) {
  std::vector<std::string> out;
  if (value == nullptr || !value->is_array()) return out;
  for (const auto& item : value->as_array()) {
    if (item.is_string()) out.push_back(item.as_string());
  }
  return out;
}

std::string member(const bs::Json& object, const char* key) {
  const bs::Json* value = object.find(key);
  return value != nullptr && value->is_string() ? value->as_string() : std::string();
}

}  // namespace

Result<std::optional<Journal>> load_journal(Fs& fs) {
  TRY_ASSIGN(const auto st, fs.stat(k_journal_path));
  if (!st) return std::optional<Journal>();
  TRY_ASSIGN(const std::string text, fs.read_file(k_journal_path));
  auto parsed = bs::parse_json(text);
  if (!parsed.ok() || !parsed->is_object()) {
    return bs::make_error(std::string("journal ") + k_journal_path + ": not a kubeferry journal" +
                          (parsed.ok() ? std::string() : " (" + parsed.error().message() + ")"));
  }
  Journal journal;
  journal.host = member(*parsed, "host");
  journal.state_created = json_strings(parsed->find("state_created"));
  if (const bs::Json* entries = parsed->find("entries"); entries != nullptr && entries->is_array()) {
    for (const auto& e : entries->as_array()) {
      JournalEntry entry;
      entry.id = member(e, "id");
      entry.kind = member(e, "kind");
      entry.digest = member(e, "digest");
      entry.path = member(e, "path");
      entry.unit = member(e, "unit");
      entry.hosts_begin = member(e, "hosts_begin");
      entry.hosts_end = member(e, "hosts_end");
      const bs::Json* data = e.find("data");
      entry.data = data != nullptr && data->is_bool() && data->as_bool();
      entry.created = json_strings(e.find("created"));
      if (const bs::Json* at = e.find("applied_at"); at != nullptr && at->is_integer()) {
        entry.applied_at = static_cast<std::time_t>(at->as_integer());
      }
      journal.entries.push_back(std::move(entry));
    }
  }
  return std::optional<Journal>(std::move(journal));
}

Status save_journal(Fs& fs, const Journal& journal) {
  bs::Json::Object root;
  root["format"] = 1;
  root["host"] = journal.host;
  root["state_created"] = strings_json(journal.state_created);
  bs::Json::Array entries;
  for (const auto& e : journal.entries) {
    bs::Json::Object o;
    o["id"] = e.id;
    o["kind"] = e.kind;
    o["digest"] = e.digest;
    if (!e.path.empty()) o["path"] = e.path;
    if (!e.unit.empty()) o["unit"] = e.unit;
    if (!e.hosts_begin.empty()) o["hosts_begin"] = e.hosts_begin;
    if (!e.hosts_end.empty()) o["hosts_end"] = e.hosts_end;
    if (e.data) o["data"] = true;
    if (!e.created.empty()) o["created"] = strings_json(e.created);
    if (e.applied_at != 0) o["applied_at"] = static_cast<int64_t>(e.applied_at);
    entries.emplace_back(std::move(o));
  }
  root["entries"] = std::move(entries);
  return fs.write_file(k_journal_path, bs::to_pretty_json(root), 0600);
}

std::string edit_hosts(const std::string& hosts, const std::string& begin, const std::string& end,
                       const std::string& block) {
  const size_t start = hosts.find(begin + "\n");
  if (start != std::string::npos && (start == 0 || hosts[start - 1] == '\n')) {
    const size_t stop = hosts.find(end + "\n", start);
    if (stop != std::string::npos) {
      return hosts.substr(0, start) + block + hosts.substr(stop + end.size() + 1);
    }
  }
  if (block.empty()) return hosts;
  std::string out = hosts;
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out + block;
}

// ------------------------------------------------------------------ executor

namespace {

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}
std::string last_line(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  const size_t newline = trimmed.rfind('\n');
  return newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
}

// The tail of a command's output, for messages.
std::string output_tail(const std::string& output) {
  std::string text = output;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.size() > 400) text = "..." + text.substr(text.size() - 400);
  return text;
}

// What a failed check said, on one line: its error lines ("Error from server (NotFound): ...",
// "error: ...") and failed health items ("[-]etcd failed"), else its last line. kubectl quotes a
// server's multi-line answer (readyz) with "\n" escapes on one line: those break lines too.
std::string failure_lines(const std::string& raw) {
  std::string output;
  for (size_t i = 0; i < raw.size(); ++i) {
    const bool escaped_newline = raw[i] == '\\' && i + 1 < raw.size() && raw[i + 1] == 'n';
    output += escaped_newline ? '\n' : raw[i];
    if (escaped_newline) ++i;
  }
  std::string picked;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    std::string line = output.substr(start, end - start);
    start = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    const bool error = line.rfind("Error", 0) == 0 || line.rfind("error", 0) == 0 || line.rfind("[-]", 0) == 0;
    if (error) picked += (picked.empty() ? "" : " | ") + line;
  }
  if (picked.empty()) picked = last_line(output);
  if (picked.size() > 600) picked = picked.substr(0, 600) + "...";
  return picked;
}

class Executor {
 public:
  Executor(const Plan& plan, Fs& fs, CommandRunner& runner, const ApplyOptions& options)
      : m_plan(plan), m_fs(fs), m_runner(runner), m_options(options) {}

  Result<ApplyReport> run() {
    TRY(refuse_unknown_content());
    TRY_ASSIGN(auto loaded, load_journal(m_fs));
    if (loaded) m_journal = std::move(*loaded);
    m_journal.host = m_plan.host;
    for (size_t i = 0; i < m_plan.steps.size(); ++i) {
      const Step& step = m_plan.steps[i];
      // Ctrl-C stops between steps: every finished step is journaled, the next run resumes.
      if (bs::interrupt_requested()) {
        return bs::interrupted_error().context("step " + std::to_string(i + 1) + " (" + step.id + ")");
      }
      Status status = run_step(step);
      if (!status.ok()) {
        return std::move(status).error().context("step " + std::to_string(i + 1) + " (" + step.id + ")");
      }
    }
    return std::move(m_report);
  }

 private:
  void log(const std::string& line) const {
    if (m_options.log) m_options.log(line);
  }

  Status refuse_unknown_content() const {
    for (const Step& s : m_plan.steps) {
      if ((s.kind == StepKind::file || s.kind == StepKind::hosts_block) && s.sha256.empty()) {
        return bs::usage_error("the plan does not know the content of " + s.path +
                               " (it was made without the PKI kit or the bundle)");
      }
    }
    return bs::ok_status();
  }

  static bool is_command_kind(StepKind kind) {
    return kind == StepKind::command || kind == StepKind::image || kind == StepKind::check;
  }

  Status run_step(const Step& step) {
    if (step.kind == StepKind::preflight) return preflight();
    if (is_command_kind(step.kind) && !m_options.live) {
      m_report.skipped.push_back(step.id);
      return bs::ok_status();
    }
    TRY_ASSIGN(const bool done, check(step));
    if (done) {
      m_report.unchanged.push_back(step.id);
      return bs::ok_status();
    }
    if (m_options.dry_run) {
      log("would apply " + step.id);
      m_report.applied.push_back(step.id);
      return bs::ok_status();
    }
    log("apply " + step.id);
    JournalEntry entry;
    entry.id = step.id;
    entry.kind = std::string(to_string(step.kind));
    entry.digest = step.digest;
    entry.path = step.path;
    entry.unit = step.unit;
    entry.data = step.data;
    bool journal_it = true;
    TRY(apply(step, entry, journal_it));
    m_report.applied.push_back(step.id);
    if (!journal_it) return bs::ok_status();
    return record(std::move(entry));
  }

  // Read-only: is the step already done, unchanged?
  Result<bool> check(const Step& step) {
    switch (step.kind) {
      case StepKind::dir: {
        TRY_ASSIGN(const auto st, m_fs.stat(step.path));
        return st && st->type == FileStat::Type::directory && st->mode == step.mode && journaled(step);
      }
      case StepKind::file: {
        TRY_ASSIGN(const auto st, m_fs.stat(step.path));
        if (!st || st->type != FileStat::Type::file || st->mode != step.mode) return false;
        TRY_ASSIGN(const std::string digest, m_fs.sha256(step.path));
        return digest == step.sha256 && journaled(step);
      }
      case StepKind::symlink: {
        TRY_ASSIGN(const auto st, m_fs.stat(step.path));
        if (!st || st->type != FileStat::Type::symlink) return false;
        TRY_ASSIGN(const std::string target, m_fs.read_link(step.path));
        return target == step.source && journaled(step);
      }
      case StepKind::hosts_block: {
        TRY_ASSIGN(const auto st, m_fs.stat(step.path));
        if (!st) return false;
        TRY_ASSIGN(const std::string hosts, m_fs.read_file(step.path));
        return edit_hosts(hosts, first_line(step.content), last_line(step.content), step.content) == hosts &&
               journaled(step);
      }
      case StepKind::service: {
        if (!journaled(step)) return false;
        if (!m_options.live) return true;
        // Installed and unchanged, but it must also run: a unit that died (or was stopped, or
        // did not come back after a reboot) is started again by this run.
        TRY_ASSIGN(const CommandResult state, m_runner.run({"systemctl", "is-active", "--quiet", step.unit}));
        if (state.exit_code == 0) return true;
        log(step.unit + " is installed but not active");
        return false;
      }
      default:
        return journaled(step);
    }
  }

  // Files already on disk but not journaled still need a journal entry (so uninstall knows
  // them), but no rewrite: digest equality is enough for files.
  bool journaled(const Step& step) const {
    const JournalEntry* entry = m_journal.find(step.id);
    return entry != nullptr && entry->digest == step.digest;
  }

  Status apply(const Step& step, JournalEntry& entry, bool& journal_it) {
    switch (step.kind) {
      case StepKind::dir: {
        TRY_ASSIGN(entry.created, m_fs.make_dirs(step.path, step.mode, ExistingMode::apply));
        return bs::ok_status();
      }
      case StepKind::file: {
        TRY_ASSIGN(entry.created, m_fs.make_dirs(parent_of(step.path), 0755, ExistingMode::keep));
        if (step.source.rfind("bundle:", 0) == 0) {
          TRY_ASSIGN(const std::string dir, bundle_dir());
          return m_fs.copy_file(dir + "/" + step.source.substr(7), step.path, step.mode);
        }
        return m_fs.write_file(step.path, step.content, step.mode);
      }
      case StepKind::symlink: {
        TRY_ASSIGN(entry.created, m_fs.make_dirs(parent_of(step.path), 0755, ExistingMode::keep));
        return m_fs.symlink(step.source, step.path);
      }
      case StepKind::hosts_block: {
        entry.hosts_begin = first_line(step.content);
        entry.hosts_end = last_line(step.content);
        TRY_ASSIGN(const auto st, m_fs.stat(step.path));
        std::string hosts;
        mode_t mode = 0644;
        if (st) {
          TRY_ASSIGN(hosts, m_fs.read_file(step.path));
          mode = st->mode;
        } else {
          TRY_ASSIGN(entry.created, m_fs.make_dirs(parent_of(step.path), 0755, ExistingMode::keep));
          entry.created.push_back(step.path);  // the file is ours too: uninstall may remove it
        }
        return m_fs.write_file(step.path, edit_hosts(hosts, entry.hosts_begin, entry.hosts_end, step.content), mode);
      }
      case StepKind::service: {
        // `systemctl enable` may create the wants folders; they are ours to remove.
        std::vector<std::string> missing;
        for (const char* folder :
             {"/etc", "/etc/systemd", "/etc/systemd/system", "/etc/systemd/system/multi-user.target.wants"}) {
          TRY_ASSIGN(const auto st, m_fs.stat(folder));
          if (!st) missing.push_back(folder);
        }
        if (!m_options.live) {
          TRY(run_argv({"systemctl", "--root=" + m_options.root, "enable", step.unit}));
        } else {
          for (const auto& argv : step.commands) TRY(run_argv(argv));
        }
        for (const auto& folder : missing) {
          TRY_ASSIGN(const auto st, m_fs.stat(folder));
          if (st) entry.created.push_back(folder);
        }
        return bs::ok_status();
      }
      case StepKind::check:
        return run_check(step, journal_it);
      default:
        for (const auto& argv : step.commands) TRY(run_argv(argv));
        return bs::ok_status();
    }
  }

  Result<std::string> bundle_dir() {
    if (m_bundle_dir) return *m_bundle_dir;
    if (!m_options.bundle_dir) return bs::usage_error("no bundle to take files from");
    TRY_ASSIGN(std::string dir, m_options.bundle_dir());
    m_bundle_dir = dir;
    return dir;
  }

  Result<std::vector<std::string>> expand(const std::vector<std::string>& argv) {
    std::vector<std::string> out = argv;
    for (auto& word : out) {
      if (word != "{bundle}" && word.rfind("{bundle}/", 0) != 0) continue;
      TRY_ASSIGN(const std::string dir, bundle_dir());
      word = dir + word.substr(8);
    }
    return out;
  }

  Status run_argv(const std::vector<std::string>& argv) {
    TRY_ASSIGN(const auto words, expand(argv));
    TRY_ASSIGN(const CommandResult result, m_runner.run(words));
    if (result.exit_code != 0) {
      return bs::make_error(join_argv(words) + " exited with " + std::to_string(result.exit_code) +
                            (result.output.empty() ? "" : ": " + output_tail(result.output)));
    }
    return bs::ok_status();
  }

  // One try of a check: ok, or the command line, its exit code and what its output says went
  // wrong (a program that cannot start is a failed try too).
  Status try_check(const Step& step) {
    TRY_ASSIGN(const auto words, expand(step.commands.front()));
    TRY_ASSIGN(const CommandResult result, m_runner.run(words));
    if (result.exit_code == 0) return bs::ok_status();
    const std::string said = failure_lines(result.output);
    return bs::make_error(join_argv(words) + " exited with " + std::to_string(result.exit_code) +
                          (said.empty() ? "" : ": " + said));
  }

  Status run_check(const Step& step, bool& journal_it) {
    const int attempts = std::max(1, step.attempts);
    Status last = bs::ok_status();
    for (int attempt = 1; attempt <= attempts; ++attempt) {
      if (attempt > 1 && bs::interrupt_requested()) return bs::interrupted_error();  // up to minutes of tries
      last = try_check(step);
      if (last.ok()) return last;
      if (attempt == 1 && attempts > 1) {
        log(step.id + ": not yet (" + last.error().message() + "); " + std::to_string(attempts - 1) +
            " more tries, every " + std::to_string(step.interval_ms) + " ms");
      }
      if (attempt < attempts && m_options.sleep_ms) m_options.sleep_ms(step.interval_ms);
    }
    // The check's id is the step's context; the reason says what it wanted and where to look.
    const std::string tries =
        attempts == 1 ? std::string("1 try")
                      : std::to_string(attempts) + " tries, " + std::to_string(step.interval_ms) + " ms apart";
    const std::string why =
        "gave up after " + tries + "; the last: " + last.error().message() + ". Wanted: " + step.reason;
    if (step.on_failure == OnFailure::stop) return bs::make_error(why);
    // A warning: not journaled, so the next run checks again.
    m_report.warnings.push_back(step.id + ": " + why);
    journal_it = false;
    return bs::ok_status();
  }

  Status record(JournalEntry entry) {
    if (m_options.clock) entry.applied_at = m_options.clock();
    auto it = std::find_if(m_journal.entries.begin(), m_journal.entries.end(),
                           [&](const JournalEntry& e) { return e.id == entry.id; });
    if (it != m_journal.entries.end()) {
      // Re-applied: keep the folders the first application created.
      std::vector<std::string> created = it->created;
      for (auto& folder : entry.created) {
        if (std::find(created.begin(), created.end(), folder) == created.end()) created.push_back(folder);
      }
      entry.created = std::move(created);
      *it = std::move(entry);
    } else {
      m_journal.entries.push_back(std::move(entry));
    }
    if (m_journal.state_created.empty()) {
      TRY_ASSIGN(auto created, m_fs.make_dirs(k_state_dir, 0700, ExistingMode::keep));
      if (!created.empty()) m_journal.state_created = std::move(created);
    }
    return save_journal(m_fs, m_journal);
  }

  Status preflight() {
    PreflightContext context;
    context.system = m_options.system;
    context.target = &m_fs;
    context.now = m_options.now;
    context.live = m_options.live;
    for (const Step& s : m_plan.steps) {
      // Installed by us before, changed or not (new certificates change a service's digest).
      if (s.kind == StepKind::service && m_journal.find(s.id) != nullptr) context.own_ports = own_ports();
    }
    auto problems = run_preflight(m_plan.preflight, context);
    if (!problems.empty() && m_options.fix && !m_options.dry_run) {
      for (const auto& p : problems) {
        if (p.fix.empty()) continue;
        log("fix " + p.check + ": " + join_argv(p.fix));
        TRY_ASSIGN(const CommandResult r, m_runner.run(p.fix));
        if (r.exit_code != 0)
          m_report.warnings.push_back("fix " + join_argv(p.fix) + " exited with " + std::to_string(r.exit_code));
      }
      problems = run_preflight(m_plan.preflight, context);
    }
    if (problems.empty()) return bs::ok_status();
    if (m_options.dry_run) {
      m_report.warnings.push_back(format_preflight(m_plan.host, problems));
      return bs::ok_status();
    }
    return bs::make_error(format_preflight(m_plan.host, problems));
  }

  // The services of an earlier install hold the plan's ports: they are ours, not a conflict.
  std::set<int> own_ports() const {
    return std::set<int>(m_plan.preflight.ports.begin(), m_plan.preflight.ports.end());
  }

  const Plan& m_plan;
  Fs& m_fs;
  CommandRunner& m_runner;
  const ApplyOptions& m_options;
  Journal m_journal;
  ApplyReport m_report;
  std::optional<std::string> m_bundle_dir;
};

}  // namespace

Result<ApplyReport> apply_plan(const Plan& plan, Fs& target, CommandRunner& runner, const ApplyOptions& options) {
  Executor executor(plan, target, runner, options);
  return executor.run();
}

// ------------------------------------------------------------------ uninstall

namespace {

bool not_empty(const bs::Error& error) {
  const std::string& m = error.message();
  return m.size() >= 19 && m.compare(m.size() - 19, 19, "Directory not empty") == 0;
}

void remove_created(Fs& fs, const std::vector<std::string>& created, UninstallReport& report) {
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    Status status = fs.remove(*it);
    if (status.ok()) {
      report.removed.push_back(*it);
    } else if (!not_empty(status.error())) {
      report.warnings.push_back(status.error().message());
    }
  }
}

// Output lines of a command that succeeded; empty when it failed (a warning says so).
std::vector<std::string> output_lines(CommandRunner& runner, const std::vector<std::string>& argv,
                                      UninstallReport& report) {
  auto result = runner.run(argv);
  if (!result.ok() || result->exit_code != 0) {
    report.warnings.push_back(join_argv(argv) + (result.ok() ? " exited with " + std::to_string(result->exit_code)
                                                             : ": " + result.error().message()));
    return {};
  }
  std::vector<std::string> lines;
  size_t start = 0;
  const std::string& out = result->output;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    if (end > start) lines.push_back(out.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// The containers the kubelet made for its pods go with the node (images stay in the store):
// containerd's CRI keeps them in the k8s.io namespace, dockershim names them k8s_*.
void remove_pod_containers(const Journal& journal, CommandRunner& runner, UninstallReport& report) {
  const bool containerd = journal.find(std::string(k_restart_containerd_step)) != nullptr;
  if (containerd) {
    for (const std::string& id : output_lines(runner, {"ctr", "-n", "k8s.io", "containers", "ls", "-q"}, report)) {
      auto killed = runner.run({"ctr", "-n", "k8s.io", "tasks", "rm", "-f", id});  // none when it never started
      (void)killed;
      auto removed = runner.run({"ctr", "-n", "k8s.io", "containers", "rm", id});
      if (removed.ok() && removed->exit_code == 0)
        report.removed.push_back("container " + id);
      else
        report.warnings.push_back("ctr -n k8s.io containers rm " + id + " failed");
    }
    return;
  }
  const std::vector<std::string> ids = output_lines(runner, {"docker", "ps", "-aq", "--filter", "name=^k8s_"}, report);
  if (ids.empty()) return;
  std::vector<std::string> rm{"docker", "rm", "-f"};
  rm.insert(rm.end(), ids.begin(), ids.end());
  auto removed = runner.run(rm);
  if (removed.ok() && removed->exit_code == 0)
    report.removed.push_back(std::to_string(ids.size()) + " pod containers (docker)");
  else
    report.warnings.push_back("docker rm -f of " + std::to_string(ids.size()) + " pod containers failed");
}

// Mount points below PATH (the kubelet's secret and token volumes below /var/lib/kubelet),
// deepest first, so that a purge can remove the folder.
void unmount_below(const std::string& path, CommandRunner& runner, UninstallReport& report) {
  std::vector<std::string> below;
  for (const std::string& target : output_lines(runner, {"findmnt", "-rn", "-o", "TARGET"}, report)) {
    if (target.size() > path.size() && target.compare(0, path.size(), path) == 0 && target[path.size()] == '/')
      below.push_back(target);
  }
  std::sort(below.begin(), below.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& target : below) {
    auto result = runner.run({"umount", "-l", target});
    if (!result.ok() || result->exit_code != 0)
      report.warnings.push_back("umount -l " + bs::printable(target) + " failed");
  }
}

void undo(const JournalEntry& e, Fs& fs, CommandRunner& runner, const UninstallOptions& options,
          UninstallReport& report) {
  auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  if (e.kind == "service") {
    const std::vector<std::string> argv =
        options.live ? std::vector<std::string>{"systemctl", "disable", "--now", e.unit}
                     : std::vector<std::string>{"systemctl", "--root=" + options.root, "disable", e.unit};
    log("stop " + e.unit);
    auto result = runner.run(argv);
    if (!result.ok()) {
      report.warnings.push_back(result.error().message());
    } else if (result->exit_code != 0) {
      report.warnings.push_back(join_argv(argv) + " exited with " + std::to_string(result->exit_code));
    } else {
      report.removed.push_back(e.unit);
    }
    // A unit that had failed (or whose stop failed) stays listed as failed even after its file is
    // gone; forget that state while the unit is still loaded, so uninstall leaves systemd clean.
    if (options.live) {
      const std::vector<std::string> reset{"systemctl", "reset-failed", e.unit};
      // It exits 1 when systemd has already unloaded the stopped unit: nothing failed, nothing
      // to clear (seen on every unit of the e2e's uninstall), so only a failure to run it is said.
      auto cleared = runner.run(reset);
      if (!cleared.ok()) report.warnings.push_back(cleared.error().message());
    }
    remove_created(fs, e.created, report);
    return;
  }
  if (e.kind == "file" || e.kind == "symlink") {
    log("remove " + e.path);
    Status status = fs.remove(e.path);
    if (status.ok())
      report.removed.push_back(e.path);
    else
      report.warnings.push_back(status.error().message());
    remove_created(fs, e.created, report);
    return;
  }
  if (e.kind == "hosts_block") {
    auto hosts = fs.read_file(e.path);
    auto st = fs.stat(e.path);
    if (hosts.ok() && st.ok() && st->has_value()) {
      const std::string edited = edit_hosts(*hosts, e.hosts_begin, e.hosts_end, "");
      const bool made_by_us = std::find(e.created.begin(), e.created.end(), e.path) != e.created.end();
      Status status = edited.empty() && made_by_us ? fs.remove(e.path) : fs.write_file(e.path, edited, (*st)->mode);
      if (status.ok())
        report.removed.push_back(e.path + " (kubeferry block)");
      else
        report.warnings.push_back(status.error().message());
    }
    std::vector<std::string> parents;
    for (const auto& folder : e.created) {
      if (folder != e.path) parents.push_back(folder);
    }
    remove_created(fs, parents, report);
    return;
  }
  if (e.kind == "dir") {
    const bool ours = !e.created.empty() && e.created.back() == e.path;
    if (!ours) {
      report.kept.push_back(e.path + " (existed before the install)");
      return;
    }
    if (e.data && options.purge == Purge::no) {
      report.kept.push_back(e.path + " (data; --purge removes it)");
      return;
    }
    if (e.data) {
      log("purge " + e.path);
      if (options.live) unmount_below(e.path, runner, report);
      Status status = fs.remove_tree(e.path);
      if (status.ok())
        report.removed.push_back(e.path);
      else
        report.warnings.push_back(status.error().message());
    }
    Status status = fs.remove(e.path);
    if (!status.ok() && not_empty(status.error())) {
      report.kept.push_back(e.path + " (not empty: holds files kubeferry did not install)");
      return;
    }
    if (!status.ok())
      report.warnings.push_back(status.error().message());
    else if (!e.data)
      report.removed.push_back(e.path);
    std::vector<std::string> parents(e.created.begin(), e.created.end());
    if (!parents.empty() && parents.back() == e.path) parents.pop_back();
    remove_created(fs, parents, report);
  }
  // command / image / check: nothing to undo (images stay in the runtime's store).
}

// A node leaves the cluster with its install: the kubelet stops first (a running kubelet would
// register the Node again), then the Node object is deleted with the kubelet's own credentials
// (the Node authorizer lets a node delete its own object). A kubelet that never bootstrapped
// left no Node and no kubeconfig; a failure (the API server may be gone) is a warning that says
// what to run instead. The kubeconfig the kubelet wrote goes too (also without a live host).
void deregister_node(const Journal& journal, Fs& fs, CommandRunner& runner, const UninstallOptions& options,
                     UninstallReport& report) {
  if (journal.host.empty() || journal.find("service kubelet.service") == nullptr) return;
  constexpr std::string_view k_suffix = "/bin/kubectl";
  const JournalEntry* kubectl = nullptr;
  for (const JournalEntry& e : journal.entries) {
    if (e.kind == "file" && e.path.size() > k_suffix.size() && std::string_view(e.path).ends_with(k_suffix))
      kubectl = &e;
  }
  if (kubectl == nullptr) return;
  const std::string k8s_dir = kubectl->path.substr(0, kubectl->path.size() - k_suffix.size());
  const std::string kubeconfig = k8s_dir + "/cfg/kubelet.kubeconfig";
  auto st = fs.stat(kubeconfig);
  if (!st.ok() || !st->has_value()) return;
  // The kubelet wrote its kubeconfig where the install told it to: it goes with the install.
  const auto forget_kubeconfig = [&] {
    Status removed = fs.remove(kubeconfig);
    if (removed.ok())
      report.removed.push_back(kubeconfig);
    else
      report.warnings.push_back(removed.error().message());
  };
  if (!options.live) return forget_kubeconfig();
  if (options.log) options.log("remove node " + journal.host + " from the cluster");
  auto stopped = runner.run({"systemctl", "stop", "kubelet.service"});
  if (!stopped.ok()) report.warnings.push_back(stopped.error().message());
  remove_pod_containers(journal, runner, report);
  const std::vector<std::string> argv{
      kubectl->path, "--kubeconfig=" + kubeconfig, "--request-timeout=20s", "delete", "node",
      journal.host,  "--ignore-not-found",         "--wait=false"};
  auto deleted = runner.run(argv);
  forget_kubeconfig();
  if (deleted.ok() && deleted->exit_code == 0) {
    report.removed.push_back("node " + journal.host + " (its Node object in the cluster)");
    return;
  }
  std::string why =
      deleted.ok() ? "kubectl delete node exited " + std::to_string(deleted->exit_code) : deleted.error().message();
  if (deleted.ok()) {  // kubectl's own last line says why (forbidden, unreachable, ...)
    const std::string last = last_line(deleted->output);
    if (!last.empty()) why += ": " + bs::printable(last);
  }
  report.warnings.push_back("the Node object " + journal.host + " stays in the cluster (" + why +
                            "): on a master, run kubectl delete node " + journal.host);
}

// The journal's folders that still exist after an uninstall, parents first: each kept "dir"
// entry as it was (its data flag and digest matter to a reinstall), and every other folder a
// step created as a plain "dir" entry of its own.
Result<std::vector<JournalEntry>> surviving_folders(Fs& fs, const std::vector<JournalEntry>& entries) {
  std::vector<JournalEntry> kept;
  std::set<std::string> covered;
  for (const JournalEntry& e : entries) {
    const bool ours = !e.created.empty() && e.created.back() == e.path;
    if (e.kind != "dir" || !ours) continue;
    TRY_ASSIGN(const auto st, fs.stat(e.path));
    if (!st) continue;
    kept.push_back(e);
    covered.insert(e.created.begin(), e.created.end());
  }
  for (const JournalEntry& e : entries) {
    for (const std::string& folder : e.created) {
      if (covered.count(folder) != 0) continue;
      TRY_ASSIGN(const auto st, fs.stat(folder));
      if (!st || st->type != FileStat::Type::directory) continue;
      covered.insert(folder);
      JournalEntry dir;
      dir.id = "dir " + folder;
      dir.kind = "dir";
      dir.path = folder;
      dir.created = {folder};
      kept.push_back(std::move(dir));
    }
  }
  // Uninstall undoes entries last first: children before the folders holding them.
  std::stable_sort(kept.begin(), kept.end(), [](const JournalEntry& a, const JournalEntry& b) {
    return std::count(a.path.begin(), a.path.end(), '/') < std::count(b.path.begin(), b.path.end(), '/');
  });
  return kept;
}

}  // namespace

Result<UninstallReport> uninstall(Fs& target, CommandRunner& runner, const UninstallOptions& options) {
  UninstallReport report;
  TRY_ASSIGN(auto journal, load_journal(target));
  if (!journal) return report;
  report.had_journal = true;
  // Folders of ours still there afterwards (data kept without --purge, and the folders holding
  // them) stay in the journal, so that a later `uninstall --purge` can still remove them and a
  // reinstall knows they are ours, not something it found.
  deregister_node(*journal, target, runner, options, report);
  for (auto it = journal->entries.rbegin(); it != journal->entries.rend(); ++it) {
    undo(*it, target, runner, options, report);
  }
  TRY_ASSIGN(std::vector<JournalEntry> kept, surviving_folders(target, journal->entries));
  if (options.live) {
    auto reload = runner.run({"systemctl", "daemon-reload"});
    if (!reload.ok()) report.warnings.push_back(reload.error().message());
    // containerd ran with kubeferry's settings, now removed: back to the distribution's.
    if (journal->find(std::string(k_restart_containerd_step)) != nullptr) {
      auto restart = runner.run({"systemctl", "restart", "containerd.service"});
      if (!restart.ok())
        report.warnings.push_back(restart.error().message());
      else if (restart->exit_code != 0)
        report.warnings.push_back("systemctl restart containerd.service exited with " +
                                  std::to_string(restart->exit_code));
    }
  }
  if (!kept.empty()) {
    journal->entries = std::move(kept);
    TRY(save_journal(target, *journal));
    return report;
  }
  TRY(target.remove(k_journal_path));
  remove_created(target, journal->state_created, report);
  return report;
}

}  // namespace installer
