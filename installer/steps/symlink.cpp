// symlink: a link to a file of the install (kubectl on the PATH).
#include "steps/step.hpp"

namespace installer {

namespace bs = bundlespec;

void SymlinkStep::to_json(bs::Json::Object& o) const {
  o["path"] = path;
  o["source"] = target;
}

Result<bool> SymlinkStep::check(const Step& step, StepRun& run) const {
  TRY_ASSIGN(const auto st, run.fs().stat(path));
  if (!st || st->type != FileStat::Type::symlink) return false;
  TRY_ASSIGN(const std::string link, run.fs().read_link(path));
  return link == target && run.journaled(step);
}

Result<Record> SymlinkStep::apply(const Step&, StepRun& run, JournalEntry& entry) const {
  entry.path = path;
  TRY_ASSIGN(entry.created, run.fs().make_dirs(parent_of(path), 0755, ExistingMode::keep));
  TRY(run.fs().symlink(target, path));
  return Record::journal;
}

// The same as a file's: the link goes, then the folders made for it.
void SymlinkStep::undo(const JournalEntry& e, UndoRun& run) {
  FileStep::undo(e, run);
}

}  // namespace installer
