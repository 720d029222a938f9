// check: a program that must exit 0 (etcd health, apiserver ready, add-ons read back, Node
// registered), tried `attempts` times `interval_ms` apart. One that never passes stops the run
// (OnFailure::stop) or warns and is not journaled, so the next run checks again (warn).
#include <algorithm>

#include "bundlespec/interrupt.hpp"
#include "steps/step.hpp"

namespace installer {

namespace bs = bundlespec;

namespace {

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

// One try: ok, or the command line, its exit code and what its output says went wrong (a
// program that cannot start is a failed try too).
Status try_once(const Argv& argv, StepRun& run) {
  TRY_ASSIGN(const auto words, run.expand(argv));
  TRY_ASSIGN(const CommandResult result, run.runner().run(words));
  if (result.exit_code == 0) return bs::ok_status();
  const std::string said = failure_lines(result.output);
  return bs::make_error(join_argv(words) + " exited with " + std::to_string(result.exit_code) +
                        (said.empty() ? "" : ": " + said));
}

}  // namespace

void CheckStep::to_json(bs::Json::Object& o) const {
  o["commands"] = commands_json({argv});
  o["attempts"] = attempts;
  o["interval_ms"] = interval_ms;
  o["on_failure"] = on_failure == OnFailure::stop ? "stop" : "warn";
}

Result<bool> CheckStep::check(const Step& step, StepRun& run) const {
  return run.journaled(step);
}

Result<Record> CheckStep::apply(const Step& step, StepRun& run, JournalEntry&) const {
  const int tries = std::max(1, attempts);
  Status last = bs::ok_status();
  for (int attempt = 1; attempt <= tries; ++attempt) {
    if (attempt > 1 && bs::interrupt_requested()) return bs::interrupted_error();  // up to minutes of tries
    last = try_once(argv, run);
    if (last.ok()) return Record::journal;
    if (attempt == 1 && tries > 1) {
      run.log(step.id + ": not yet (" + last.error().message() + "); " + std::to_string(tries - 1) +
              " more tries, every " + std::to_string(interval_ms) + " ms");
    }
    if (attempt < tries) run.sleep_ms(interval_ms);
  }
  // The check's id is the step's context; the reason says what it wanted and where to look.
  const std::string said = tries == 1 ? std::string("1 try")
                                      : std::to_string(tries) + " tries, " + std::to_string(interval_ms) + " ms apart";
  const std::string why = "gave up after " + said + "; the last: " + last.error().message() + ". Wanted: " + step.reason;
  if (on_failure == OnFailure::stop) return bs::make_error(why);
  // A warning: not journaled, so the next run checks again.
  run.warn(step.id + ": " + why);
  return Record::skip;
}

void CheckStep::undo(const JournalEntry&, UndoRun&) {}

}  // namespace installer
