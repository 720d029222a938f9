// hosts_block: kubeferry's block in /etc/hosts, between its BEGIN and END lines; the rest of the
// file stays as it was. Uninstall takes the block out (and the file, if the install made it).
#include <algorithm>

#include "steps/step.hpp"

namespace installer {

namespace bs = bundlespec;

void HostsBlockStep::to_json(bs::Json::Object& o) const {
  o["path"] = path;
  o["sha256"] = sha256.empty() ? bs::Json(nullptr) : bs::Json(sha256);
}

Result<bool> HostsBlockStep::check(const Step& step, StepRun& run) const {
  TRY_ASSIGN(const auto st, run.fs().stat(path));
  if (!st) return false;
  TRY_ASSIGN(const std::string hosts, run.fs().read_file(path));
  return edit_hosts(hosts, first_line(content), last_line(content), content) == hosts && run.journaled(step);
}

Result<Record> HostsBlockStep::apply(const Step&, StepRun& run, JournalEntry& entry) const {
  entry.path = path;
  entry.hosts_begin = first_line(content);
  entry.hosts_end = last_line(content);
  TRY_ASSIGN(const auto st, run.fs().stat(path));
  std::string hosts;
  mode_t file_mode = 0644;
  if (st) {
    TRY_ASSIGN(hosts, run.fs().read_file(path));
    file_mode = st->mode;
  } else {
    TRY_ASSIGN(entry.created, run.fs().make_dirs(parent_of(path), 0755, ExistingMode::keep));
    entry.created.push_back(path);  // the file is ours too: uninstall may remove it
  }
  TRY(run.fs().write_file(path, edit_hosts(hosts, entry.hosts_begin, entry.hosts_end, content), file_mode));
  return Record::journal;
}

void HostsBlockStep::undo(const JournalEntry& e, UndoRun& run) {
  auto hosts = run.fs.read_file(e.path);
  auto st = run.fs.stat(e.path);
  if (hosts.ok() && st.ok() && st->has_value()) {
    const std::string edited = edit_hosts(*hosts, e.hosts_begin, e.hosts_end, "");
    const bool made_by_us = std::find(e.created.begin(), e.created.end(), e.path) != e.created.end();
    Status status =
        edited.empty() && made_by_us ? run.fs.remove(e.path) : run.fs.write_file(e.path, edited, (*st)->mode);
    if (status.ok())
      run.removed.push_back(e.path + " (kubeferry block)");
    else
      run.warnings.push_back(status.error().message());
  }
  std::vector<std::string> parents;
  for (const auto& folder : e.created) {
    if (folder != e.path) parents.push_back(folder);
  }
  run.remove_created(parents);
}

}  // namespace installer
