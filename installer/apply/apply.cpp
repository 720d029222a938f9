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
      const std::string kind = member(e, "kind");
      const auto parsed_kind = parse_step_kind(kind);
      if (!parsed_kind) {
        return bs::make_error(std::string("journal ") + k_journal_path + ": entry \"" + bs::printable(entry.id) +
                              "\" has an unknown kind \"" + bs::printable(kind) + "\"");
      }
      entry.kind = *parsed_kind;
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
    o["kind"] = std::string(to_string(e.kind));
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

// ------------------------------------------------------------------ executor

namespace {

class Executor final : public StepRun {
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
      Status status = std::visit([&](const auto& body) { return run_step(step, body); }, step.body);
      if (!status.ok()) {
        return std::move(status).error().context("step " + std::to_string(i + 1) + " (" + step.id + ")");
      }
    }
    return std::move(m_report);
  }

  // StepRun
  Fs& fs() override { return m_fs; }
  CommandRunner& runner() override { return m_runner; }
  bool live() const override { return m_options.live; }
  const std::string& root() const override { return m_options.root; }
  // Files already on disk but not journaled still need a journal entry (so uninstall knows
  // them), but no rewrite: digest equality is enough for files.
  bool journaled(const Step& step) const override {
    const JournalEntry* entry = m_journal.find(step.id);
    return entry != nullptr && entry->digest == step.digest;
  }
  Result<std::string> bundle_dir() override {
    if (m_bundle_dir) return *m_bundle_dir;
    if (!m_options.bundle_dir) return bs::usage_error("no bundle to take files from");
    TRY_ASSIGN(std::string dir, m_options.bundle_dir());
    m_bundle_dir = dir;
    return dir;
  }
  void log(const std::string& line) override {
    if (m_options.log) m_options.log(line);
  }
  void warn(std::string warning) override { m_report.warnings.push_back(std::move(warning)); }
  void sleep_ms(int ms) override {
    if (m_options.sleep_ms) m_options.sleep_ms(ms);
  }

 private:
  Status refuse_unknown_content() const {
    for (const Step& s : m_plan.steps) {
      const auto* file = s.as<FileStep>();
      const auto* hosts = s.as<HostsBlockStep>();
      if ((file != nullptr && file->sha256.empty()) || (hosts != nullptr && hosts->sha256.empty())) {
        return bs::usage_error("the plan does not know the content of " + s.path() +
                               " (it was made without the PKI kit or the bundle)");
      }
    }
    return bs::ok_status();
  }

  Status run_step(const Step&, const PreflightStep& body) { return body.run(*this); }

  // The same for every other kind: skipped, unchanged, would apply (dry run) or applied and journaled.
  template <class K>
  Status run_step(const Step& step, const K& body) {
    if (K::k_live_only && !m_options.live) {
      m_report.skipped.push_back(step.id);
      return bs::ok_status();
    }
    TRY_ASSIGN(const bool done, body.check(step, *this));
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
    entry.kind = K::k_kind;
    entry.digest = step.digest;
    TRY_ASSIGN(const Record record_it, body.apply(step, *this, entry));
    m_report.applied.push_back(step.id);
    if (record_it == Record::skip) return bs::ok_status();
    return record(std::move(entry));
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

  // PreflightStep: every problem at once (--fix: the safe fixes first); a dry run only warns.
  Status preflight() override {
    PreflightContext context;
    context.system = m_options.system;
    context.target = &m_fs;
    context.now = m_options.now;
    context.live = m_options.live;
    for (const Step& s : m_plan.steps) {
      // Installed by us before, changed or not (new certificates change a service's digest).
      if (s.kind() == StepKind::service && m_journal.find(s.id) != nullptr) context.own_ports = own_ports();
    }
    for (const JournalEntry& e : m_journal.entries) {
      if (e.kind == StepKind::service) context.own_units.insert(e.unit);
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

// The containers the kubelet made for its pods go with the node (images stay in the store):
// containerd's CRI keeps them in the k8s.io namespace, dockershim names them k8s_*.
void remove_pod_containers(const Journal& journal, UndoRun& run) {
  CommandRunner& runner = run.runner;
  const bool containerd = journal.find(std::string(k_restart_containerd_step)) != nullptr ||
                          journal.find("service containerd.service") != nullptr;
  if (containerd) {
    for (const std::string& id : run.output_lines({"ctr", "-n", "k8s.io", "containers", "ls", "-q"})) {
      auto killed = runner.run({"ctr", "-n", "k8s.io", "tasks", "rm", "-f", id});  // none when it never started
      (void)killed;
      auto removed = runner.run({"ctr", "-n", "k8s.io", "containers", "rm", id});
      if (removed.ok() && removed->exit_code == 0)
        run.removed.push_back("container " + id);
      else
        run.warnings.push_back("ctr -n k8s.io containers rm " + id + " failed");
    }
    return;
  }
  const std::vector<std::string> ids = run.output_lines({"docker", "ps", "-aq", "--filter", "name=^k8s_"});
  if (ids.empty()) return;
  std::vector<std::string> rm{"docker", "rm", "-f"};
  rm.insert(rm.end(), ids.begin(), ids.end());
  auto removed = runner.run(rm);
  if (removed.ok() && removed->exit_code == 0)
    run.removed.push_back(std::to_string(ids.size()) + " pod containers (docker)");
  else
    run.warnings.push_back("docker rm -f of " + std::to_string(ids.size()) + " pod containers failed");
}

// A node leaves the cluster with its install: the kubelet stops first (a running kubelet would
// register the Node again), then the Node object is deleted with the kubelet's own credentials
// (the Node authorizer lets a node delete its own object). A kubelet that never bootstrapped
// left no Node and no kubeconfig; a failure (the API server may be gone) is a warning that says
// what to run instead. The kubeconfig the kubelet wrote goes too (also without a live host).
void deregister_node(const Journal& journal, UndoRun& run) {
  Fs& fs = run.fs;
  CommandRunner& runner = run.runner;
  if (journal.host.empty() || journal.find("service kubelet.service") == nullptr) return;
  constexpr std::string_view k_suffix = "/bin/kubectl";
  const JournalEntry* kubectl = nullptr;
  for (const JournalEntry& e : journal.entries) {
    if (e.kind == StepKind::file && e.path.size() > k_suffix.size() && std::string_view(e.path).ends_with(k_suffix))
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
      run.removed.push_back(kubeconfig);
    else
      run.warnings.push_back(removed.error().message());
  };
  if (!run.live) return forget_kubeconfig();
  run.say("remove node " + journal.host + " from the cluster");
  auto stopped = runner.run({"systemctl", "stop", "kubelet.service"});
  if (!stopped.ok()) run.warnings.push_back(stopped.error().message());
  remove_pod_containers(journal, run);
  const std::vector<std::string> argv{
      kubectl->path, "--kubeconfig=" + kubeconfig, "--request-timeout=20s", "delete", "node",
      journal.host,  "--ignore-not-found",         "--wait=false"};
  auto deleted = runner.run(argv);
  forget_kubeconfig();
  if (deleted.ok() && deleted->exit_code == 0) {
    run.removed.push_back("node " + journal.host + " (its Node object in the cluster)");
    return;
  }
  std::string why =
      deleted.ok() ? "kubectl delete node exited " + std::to_string(deleted->exit_code) : deleted.error().message();
  if (deleted.ok()) {  // kubectl's own last line says why (forbidden, unreachable, ...)
    const std::string last = last_line(deleted->output);
    if (!last.empty()) why += ": " + bs::printable(last);
  }
  run.warnings.push_back("the Node object " + journal.host + " stays in the cluster (" + why +
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
    if (e.kind != StepKind::dir || !ours) continue;
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
      dir.kind = StepKind::dir;
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
  UndoRun run{target,          runner,         options.live,    options.root,   options.purge == Purge::yes,
              options.log,     report.removed, report.kept, report.warnings};
  deregister_node(*journal, run);
  for (auto it = journal->entries.rbegin(); it != journal->entries.rend(); ++it) undo_entry(*it, run);
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
  run.remove_created(journal->state_created);
  return report;
}

}  // namespace installer
