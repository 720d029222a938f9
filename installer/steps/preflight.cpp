// preflight: every problem of the host reported at once, before anything is written. Runs on
// every apply (also when nothing else changes) and is never journaled.
#include "steps/step.hpp"

namespace installer {

void PreflightStep::to_json(bundlespec::Json::Object&) const {}

Status PreflightStep::run(StepRun& run) const {
  return run.preflight();
}

void PreflightStep::undo(const JournalEntry&, UndoRun&) {}

}  // namespace installer
