// service: systemctl enable + restart of a unit (live), or `systemctl --root=DIR enable`
// (--root). Done when journaled with its digest (which covers its inputs: a changed unit,
// config or certificate restarts it) and, live, active: a unit that died is started again.
// Uninstall stops and disables it and forgets a failed state.
#include "steps/step.hpp"

namespace installer {

namespace bs = bundlespec;

std::vector<Argv> ServiceStep::commands() const {
  Argv restart = {"systemctl", "restart"};
  if (no_block) restart.push_back("--no-block");
  restart.push_back(unit);
  return {{"systemctl", "enable", unit}, restart};
}

void ServiceStep::to_json(bs::Json::Object& o) const {
  o["commands"] = commands_json(commands());
  o["unit"] = unit;
}

Result<bool> ServiceStep::check(const Step& step, StepRun& run) const {
  if (!run.journaled(step)) return false;
  if (!run.live()) return true;
  // Installed and unchanged, but it must also run: a unit that died (or was stopped, or did not
  // come back after a reboot) is started again by this run.
  TRY_ASSIGN(const CommandResult state, run.runner().run({"systemctl", "is-active", "--quiet", unit}));
  if (state.exit_code == 0) return true;
  run.log(unit + " is installed but not active");
  return false;
}

Result<Record> ServiceStep::apply(const Step&, StepRun& run, JournalEntry& entry) const {
  entry.unit = unit;
  // `systemctl enable` may create the wants folders (sockets.target's for docker.socket); they
  // are ours to remove.
  std::vector<std::string> missing;
  for (const char* folder : {"/etc", "/etc/systemd", "/etc/systemd/system", "/etc/systemd/system/multi-user.target.wants",
                             "/etc/systemd/system/sockets.target.wants"}) {
    TRY_ASSIGN(const auto st, run.fs().stat(folder));
    if (!st) missing.push_back(folder);
  }
  if (!run.live()) {
    TRY(run.run_argv({"systemctl", "--root=" + run.root(), "enable", unit}));
  } else {
    for (const auto& argv : commands()) TRY(run.run_argv(argv));
  }
  for (const auto& folder : missing) {
    TRY_ASSIGN(const auto st, run.fs().stat(folder));
    if (st) entry.created.push_back(folder);
  }
  return Record::journal;
}

void ServiceStep::undo(const JournalEntry& e, UndoRun& run) {
  const Argv argv = run.live ? Argv{"systemctl", "disable", "--now", e.unit}
                             : Argv{"systemctl", "--root=" + run.root, "disable", e.unit};
  run.say("stop " + e.unit);
  auto result = run.runner.run(argv);
  if (!result.ok()) {
    run.warnings.push_back(result.error().message());
  } else if (result->exit_code != 0) {
    run.warnings.push_back(join_argv(argv) + " exited with " + std::to_string(result->exit_code));
  } else {
    run.removed.push_back(e.unit);
  }
  // A unit that had failed (or whose stop failed) stays listed as failed even after its file is
  // gone; forget that state while the unit is still loaded, so uninstall leaves systemd clean.
  if (run.live) {
    // It exits 1 when systemd has already unloaded the stopped unit: nothing failed, nothing
    // to clear (seen on every unit of the e2e's uninstall), so only a failure to run it is said.
    auto cleared = run.runner.run({"systemctl", "reset-failed", e.unit});
    if (!cleared.ok()) run.warnings.push_back(cleared.error().message());
  }
  run.remove_created(e.created);
}

}  // namespace installer
