// file: content from the renderers or the PKI kit (written), or a bundle file (copied from the
// extracted bundle); done when mode and content digest match and the journal has it.
#include "steps/step.hpp"

namespace installer {

namespace bs = bundlespec;

void FileStep::to_json(bs::Json::Object& o) const {
  o["path"] = path;
  o["mode"] = octal_mode(mode);
  o["source"] = source;
  o["sha256"] = sha256.empty() ? bs::Json(nullptr) : bs::Json(sha256);
  if (secret) o["secret"] = true;
}

Result<bool> FileStep::check(const Step& step, StepRun& run) const {
  TRY_ASSIGN(const auto st, run.fs().stat(path));
  if (!st || st->type != FileStat::Type::file || st->mode != mode) return false;
  // On disk but not journaled: it still needs a journal entry (so uninstall knows it), which
  // apply gives it.
  TRY_ASSIGN(const std::string digest, run.fs().sha256(path));
  return digest == sha256 && run.journaled(step);
}

Result<Record> FileStep::apply(const Step&, StepRun& run, JournalEntry& entry) const {
  entry.path = path;
  TRY_ASSIGN(entry.created, run.fs().make_dirs(parent_of(path), 0755, ExistingMode::keep));
  if (source.rfind("bundle:", 0) == 0) {
    TRY_ASSIGN(const std::string dir, run.bundle_dir());
    TRY(run.fs().copy_file(dir + "/" + source.substr(7), path, mode));
    return Record::journal;
  }
  TRY(run.fs().write_file(path, content, mode));
  return Record::journal;
}

void FileStep::undo(const JournalEntry& e, UndoRun& run) {
  run.say("remove " + e.path);
  Status status = run.fs.remove(e.path);
  if (status.ok())
    run.removed.push_back(e.path);
  else
    run.warnings.push_back(status.error().message());
  run.remove_created(e.created);
}

}  // namespace installer
