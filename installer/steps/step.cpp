#include "steps/step.hpp"

#include <array>
#include <cstdio>
#include <utility>

namespace installer {

namespace bs = bundlespec;

namespace {

// StepBody holds the kinds in StepKind order: kind() is the variant's index.
template <size_t... I>
constexpr bool kinds_in_order(std::index_sequence<I...>) {
  return ((static_cast<size_t>(std::variant_alternative_t<I, StepBody>::k_kind) == I) && ...);
}
static_assert(kinds_in_order(std::make_index_sequence<std::variant_size_v<StepBody>>()),
              "StepBody lists the kinds in StepKind order");

template <size_t... I>
constexpr std::array<std::string_view, sizeof...(I)> kind_names(std::index_sequence<I...>) {
  return {std::variant_alternative_t<I, StepBody>::k_name...};
}
constexpr auto k_names = kind_names(std::make_index_sequence<std::variant_size_v<StepBody>>());

// Calls f((const K*)nullptr) for the kind K tagged `kind`.
template <class F, size_t I = 0>
void with_kind(StepKind kind, F&& f) {
  if constexpr (I < std::variant_size_v<StepBody>) {
    using K = std::variant_alternative_t<I, StepBody>;
    if (K::k_kind == kind) return f(static_cast<const K*>(nullptr));
    with_kind<F, I + 1>(kind, std::forward<F>(f));
  }
}

}  // namespace

std::string_view to_string(StepKind kind) {
  const auto i = static_cast<size_t>(kind);
  return i < k_names.size() ? k_names[i] : "?";
}

std::optional<StepKind> parse_step_kind(std::string_view text) {
  for (size_t i = 0; i < std::variant_size_v<StepBody>; ++i) {
    const auto kind = static_cast<StepKind>(i);
    if (to_string(kind) == text) return kind;
  }
  return std::nullopt;
}

const std::string& Step::path() const {
  static const std::string none;
  if (const auto* s = as<DirStep>()) return s->path;
  if (const auto* s = as<FileStep>()) return s->path;
  if (const auto* s = as<HostsBlockStep>()) return s->path;
  if (const auto* s = as<SymlinkStep>()) return s->path;
  return none;
}

bs::Json step_to_json(const Step& step) {
  bs::Json::Object o;
  o["id"] = step.id;
  o["kind"] = std::string(to_string(step.kind()));
  o["reason"] = step.reason;
  std::visit([&](const auto& body) { body.to_json(o); }, step.body);
  if (!step.inputs.empty()) {
    bs::Json::Array inputs;
    for (const auto& input : step.inputs) inputs.emplace_back(input);
    o["inputs"] = std::move(inputs);
  }
  return o;
}

void undo_entry(const JournalEntry& entry, UndoRun& run) {
  with_kind(entry.kind, [&](const auto* kind) { std::decay_t<decltype(*kind)>::undo(entry, run); });
}

// ------------------------------------------------------------------ running programs

namespace {

// The tail of a command's output, for messages.
std::string output_tail(const std::string& output) {
  std::string text = output;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.size() > 400) text = "..." + text.substr(text.size() - 400);
  return text;
}

}  // namespace

Result<Argv> StepRun::expand(const Argv& argv) {
  Argv out = argv;
  for (auto& word : out) {
    if (word != "{bundle}" && word.rfind("{bundle}/", 0) != 0) continue;
    TRY_ASSIGN(const std::string dir, bundle_dir());
    word = dir + word.substr(8);
  }
  return out;
}

Status StepRun::run_argv(const Argv& argv) {
  TRY_ASSIGN(const auto words, expand(argv));
  TRY_ASSIGN(const CommandResult result, runner().run(words));
  if (result.exit_code != 0) {
    return bs::make_error(join_argv(words) + " exited with " + std::to_string(result.exit_code) +
                          (result.output.empty() ? "" : ": " + output_tail(result.output)));
  }
  return bs::ok_status();
}

// ------------------------------------------------------------------ uninstall

bool not_empty(const bs::Error& error) { return error.is(bs::Reason::not_empty); }

void UndoRun::remove_created(const std::vector<std::string>& created) {
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    Status status = fs.remove(*it);
    if (status.ok()) {
      removed.push_back(*it);
    } else if (!not_empty(status.error())) {
      warnings.push_back(status.error().message());
    }
  }
}

std::vector<std::string> UndoRun::output_lines(const Argv& argv) {
  auto result = runner.run(argv);
  if (!result.ok() || result->exit_code != 0) {
    warnings.push_back(join_argv(argv) + (result.ok() ? " exited with " + std::to_string(result->exit_code)
                                                      : ": " + result.error().message()));
    return {};
  }
  std::vector<std::string> lines;
  size_t start = 0;
  const std::string& out = result->output;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    if (end > start) lines.push_back(out.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// ------------------------------------------------------------------ text

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode));
  return text;
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

std::string last_line(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  const size_t newline = trimmed.rfind('\n');
  return newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
}

std::string edit_hosts(const std::string& hosts, const std::string& begin, const std::string& end,
                       const std::string& block) {
  const size_t start = hosts.find(begin + "\n");
  if (start != std::string::npos && (start == 0 || hosts[start - 1] == '\n')) {
    const size_t stop = hosts.find(end + "\n", start);
    if (stop != std::string::npos) {
      return hosts.substr(0, start) + block + hosts.substr(stop + end.size() + 1);
    }
  }
  if (block.empty()) return hosts;
  std::string out = hosts;
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out + block;
}

}  // namespace installer
