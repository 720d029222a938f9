// command: programs run in order on the live host (modprobe, sysctl --system, daemon-reload,
// kubectl apply); done when the journal has the step with its digest (its inputs changed: run
// again). Skipped under --root; nothing to undo.
#include "steps/step.hpp"

namespace installer {

namespace bs = bundlespec;

bs::Json commands_json(const std::vector<Argv>& commands) {
  bs::Json::Array out;
  for (const auto& argv : commands) {
    bs::Json::Array words;
    for (const auto& word : argv) words.emplace_back(word);
    out.emplace_back(std::move(words));
  }
  return out;
}

void CommandStep::to_json(bs::Json::Object& o) const {
  if (!commands.empty()) o["commands"] = commands_json(commands);
}

Result<bool> CommandStep::check(const Step& step, StepRun& run) const {
  return run.journaled(step);
}

Result<Record> CommandStep::apply(const Step&, StepRun& run, JournalEntry&) const {
  for (const auto& argv : commands) TRY(run.run_argv(argv));
  return Record::journal;
}

void CommandStep::undo(const JournalEntry&, UndoRun&) {}

}  // namespace installer
