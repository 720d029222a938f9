// image: this very installer loads every image of the extracted bundle into the runtime
// (images/images.hpp skips the ones already there with the pinned digest). Skipped under
// --root; images stay in the runtime's store after uninstall.
#include "steps/step.hpp"

namespace installer {

namespace bs = bundlespec;

void ImageStep::to_json(bs::Json::Object& o) const {
  if (!commands.empty()) o["commands"] = commands_json(commands);
  if (!source.empty()) o["source"] = source;
}

Result<bool> ImageStep::check(const Step& step, StepRun& run) const {
  return run.journaled(step);
}

Result<Record> ImageStep::apply(const Step&, StepRun& run, JournalEntry&) const {
  for (const auto& argv : commands) TRY(run.run_argv(argv));
  return Record::journal;
}

void ImageStep::undo(const JournalEntry&, UndoRun&) {}

}  // namespace installer
