// dir: a layout folder with its mode. Uninstall removes it only if this install created it, a
// data folder only with --purge, and never one that holds files kubeferry did not install.
#include <algorithm>

#include "bundlespec/text.hpp"
#include "steps/step.hpp"

namespace installer {

namespace bs = bundlespec;

namespace {

// Mount points below PATH (the kubelet's secret and token volumes below /var/lib/kubelet),
// deepest first, so that a purge can remove the folder.
void unmount_below(const std::string& path, UndoRun& run) {
  std::vector<std::string> below;
  for (const std::string& target : run.output_lines({"findmnt", "-rn", "-o", "TARGET"})) {
    if (target.size() > path.size() && target.compare(0, path.size(), path) == 0 && target[path.size()] == '/')
      below.push_back(target);
  }
  std::sort(below.begin(), below.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& target : below) {
    auto result = run.runner.run({"umount", "-l", target});
    if (!result.ok() || result->exit_code != 0) run.warnings.push_back("umount -l " + bs::printable(target) + " failed");
  }
}

}  // namespace

void DirStep::to_json(bs::Json::Object& o) const {
  o["path"] = path;
  o["mode"] = octal_mode(mode);
  if (data) o["data"] = true;
}

Result<bool> DirStep::check(const Step& step, StepRun& run) const {
  TRY_ASSIGN(const auto st, run.fs().stat(path));
  return st && st->type == FileStat::Type::directory && st->mode == mode && run.journaled(step);
}

Result<Record> DirStep::apply(const Step&, StepRun& run, JournalEntry& entry) const {
  entry.path = path;
  entry.data = data;
  TRY_ASSIGN(entry.created, run.fs().make_dirs(path, mode, ExistingMode::apply));
  return Record::journal;
}

void DirStep::undo(const JournalEntry& e, UndoRun& run) {
  const bool ours = !e.created.empty() && e.created.back() == e.path;
  if (!ours) {
    run.kept.push_back(e.path + " (existed before the install)");
    return;
  }
  if (e.data && !run.purge) {
    run.kept.push_back(e.path + " (data; --purge removes it)");
    return;
  }
  if (e.data) {
    run.say("purge " + e.path);
    if (run.live) unmount_below(e.path, run);
    Status status = run.fs.remove_tree(e.path);
    if (status.ok())
      run.removed.push_back(e.path);
    else
      run.warnings.push_back(status.error().message());
  }
  Status status = run.fs.remove(e.path);
  if (!status.ok() && not_empty(status.error())) {
    run.kept.push_back(e.path + " (not empty: holds files kubeferry did not install)");
    return;
  }
  if (!status.ok())
    run.warnings.push_back(status.error().message());
  else if (!e.data)
    run.removed.push_back(e.path);
  std::vector<std::string> parents(e.created.begin(), e.created.end());
  if (!parents.empty() && parents.back() == e.path) parents.pop_back();
  run.remove_created(parents);
}

}  // namespace installer
