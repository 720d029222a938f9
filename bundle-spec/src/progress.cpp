#include "bundlespec/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "bundlespec/text.hpp"

namespace bundlespec {

namespace {

// ~6 redraws a second at most (ninja and zstd refresh at a similar rate).
constexpr auto k_redraw_interval = std::chrono::milliseconds(166);
constexpr const char* k_red = "\033[31m";
constexpr const char* k_reset = "\033[0m";

std::string one_decimal(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  return buffer;
}

size_t terminal_width(std::FILE* out) {
  struct winsize ws {};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

double seconds_between(ConsoleProgress::Clock::time_point from, ConsoleProgress::Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// An item name as shown: names carry image names and paths from bundles, so no control
// character of theirs reaches the terminal (the colours are ours, added around them).
std::string shown(std::string_view name) {
  return printable(name, k_printable_path_max);
}

}  // namespace

std::string_view outcome_name(ItemOutcome outcome) {
  switch (outcome) {
    case ItemOutcome::done:
      return "done";
    case ItemOutcome::cached:
      return "cached";
    case ItemOutcome::failed:
      return "failed";
  }
  return "done";
}

ConsoleMode detect_console_mode(int fd) {
  const char* term = std::getenv("TERM");
  if (::isatty(fd) == 1 && term != nullptr && *term != '\0' && std::strcmp(term, "dumb") != 0) {
    return ConsoleMode::live;
  }
  return ConsoleMode::plain;
}

bool no_color_requested() {
  const char* value = std::getenv("NO_COLOR");
  return value != nullptr && *value != '\0';
}

std::string format_bytes(uint64_t bytes) {
  static const char* const k_units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes) / 1024.0;
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(k_units)) {
    value /= 1024.0;
    ++unit;
  }
  return one_decimal(value) + " " + k_units[unit];
}

std::string format_duration(std::chrono::seconds duration) {
  const long long total = duration.count() < 0 ? 0 : duration.count();
  const long long h = total / 3600;
  const long long m = (total / 60) % 60;
  const long long s = total % 60;
  char buffer[48];
  if (h > 0) {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", h, m, s);
  } else {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", m, s);
  }
  return buffer;
}

// ---- ConsoleProgress ------------------------------------------------------------------------

ConsoleProgress::ConsoleProgress(std::FILE* out, ConsoleMode mode, std::string prefix,
                                 std::function<Clock::time_point()> clock, size_t width)
    : m_out(out),
      m_mode(mode),
      m_prefix(std::move(prefix)),
      m_clock(std::move(clock)),
      m_width(width),
      m_color(mode == ConsoleMode::live && !no_color_requested()) {
  if (m_mode == ConsoleMode::live && m_width == 0) m_width = terminal_width(m_out);
  m_begin = m_clock();
}

ConsoleProgress::~ConsoleProgress() {
  clear_line();
}

void ConsoleProgress::plan(size_t item_count) {
  m_planned = item_count;
}

void ConsoleProgress::start_item(std::string_view name, std::optional<uint64_t> total_bytes, uint64_t done_bytes) {
  const Clock::time_point now = m_clock();
  if (m_active.empty() && m_finished == 0) m_begin = now;
  auto [it, inserted] = m_active.try_emplace(std::string(name));
  it->second.total = total_bytes;
  it->second.done = done_bytes;
  it->second.session_bytes = 0;
  if (inserted) it->second.started = now;
  if (m_mode == ConsoleMode::plain && inserted) {
    std::string line = shown(name) + ": started";
    if (total_bytes) line += " (" + format_bytes(*total_bytes) + ")";
    if (done_bytes > 0) line += ", resuming at " + format_bytes(done_bytes);
    print_line(line);
  }
  redraw(true);
}

void ConsoleProgress::advance(std::string_view name, uint64_t bytes) {
  m_session_bytes += bytes;
  auto it = m_active.find(name);
  if (it != m_active.end()) {
    it->second.done += bytes;
    it->second.session_bytes += bytes;
  }
  redraw(false);
}

void ConsoleProgress::finish_item(std::string_view name, ItemOutcome outcome) {
  const Clock::time_point now = m_clock();
  std::string line = shown(name) + ": " + std::string(outcome_name(outcome));
  auto it = m_active.find(name);
  if (it != m_active.end()) {
    if (outcome == ItemOutcome::done) {
      const double secs = seconds_between(it->second.started, now);
      line += ", " + format_bytes(it->second.done) + " in " + one_decimal(secs) + " s";
    }
    m_finished_bytes += it->second.done;
    m_active.erase(it);
  }
  ++m_finished;
  if (outcome == ItemOutcome::failed && m_color) line = k_red + line + k_reset;
  print_line(line);
  redraw(true);
}

void ConsoleProgress::message(std::string_view text) {
  print_line(std::string(text));
}

void ConsoleProgress::print_line(const std::string& text) {
  if (m_mode == ConsoleMode::quiet) return;
  clear_line();
  std::fprintf(m_out, "%s%s\n", m_prefix.c_str(), text.c_str());
  std::fflush(m_out);
}

void ConsoleProgress::clear_line() {
  if (m_mode != ConsoleMode::live || m_drawn_width == 0) return;
  // Spaces instead of an erase escape: works on any terminal that honours '\r'.
  std::fprintf(m_out, "\r%s\r", std::string(m_drawn_width, ' ').c_str());
  std::fflush(m_out);
  m_drawn_width = 0;
}

void ConsoleProgress::redraw(bool force) {
  if (m_mode != ConsoleMode::live) return;
  const Clock::time_point now = m_clock();
  if (!force && now - m_last_draw < k_redraw_interval) return;
  m_last_draw = now;
  if (m_active.empty()) {
    clear_line();
    return;
  }
  std::string line = status_line(now);
  const size_t max = m_width > 1 ? m_width - 1 : 79;
  if (line.size() > max) line.resize(max);
  const size_t previous = m_drawn_width;
  std::string padding(previous > line.size() ? previous - line.size() : 0, ' ');
  std::fprintf(m_out, "\r%s%s", line.c_str(), padding.c_str());
  if (!padding.empty()) std::fprintf(m_out, "\r%s", line.c_str());
  std::fflush(m_out);
  m_drawn_width = line.size();
}

std::string ConsoleProgress::status_line(Clock::time_point now) const {
  std::string line = m_prefix;
  if (m_planned > 0) {
    line += "[" + std::to_string(m_finished) + "/" + std::to_string(m_planned) + "] ";
  }
  uint64_t done = m_finished_bytes;
  uint64_t total = m_finished_bytes;
  bool total_known = true;
  for (const auto& [name, item] : m_active) {
    line += shown(name);
    if (item.total && *item.total > 0) {
      line += " " + std::to_string(item.done * 100 / *item.total) + "%";
    } else {
      line += " " + format_bytes(item.done);
    }
    line += "  ";
    done += item.done;
    if (item.total) {
      total += *item.total;
    } else {
      total_known = false;
    }
  }
  line += "| " + format_bytes(done);
  if (total_known) line += " / " + format_bytes(total);
  const double secs = seconds_between(m_begin, now);
  if (secs > 0.5 && m_session_bytes > 0) {
    const double rate = static_cast<double>(m_session_bytes) / secs;
    line += "  " + format_bytes(static_cast<uint64_t>(rate)) + "/s";
    if (total_known && total > done) {
      const auto eta = std::chrono::seconds(static_cast<long long>((total - done) / rate));
      line += "  ETA " + format_duration(eta);
    }
  }
  return line;
}

// ---- RecordingProgress ----------------------------------------------------------------------

void RecordingProgress::plan(size_t item_count) {
  m_events.push_back("plan " + std::to_string(item_count));
}

void RecordingProgress::start_item(std::string_view name, std::optional<uint64_t> total_bytes, uint64_t done_bytes) {
  m_events.push_back("start " + std::string(name) + " " +
                     (total_bytes ? std::to_string(*total_bytes) : std::string("?")) + " " +
                     std::to_string(done_bytes));
  m_advanced[std::string(name)] = 0;
}

void RecordingProgress::advance(std::string_view name, uint64_t bytes) {
  const std::string head = "advance " + std::string(name) + " ";
  const bool merge = !m_events.empty() && m_events.back().rfind(head, 0) == 0;
  m_run_bytes = merge ? m_run_bytes + bytes : bytes;
  if (merge) {
    m_events.back() = head + std::to_string(m_run_bytes);
  } else {
    m_events.push_back(head + std::to_string(m_run_bytes));
  }
  m_advanced[std::string(name)] += bytes;
  if (on_advance) on_advance(name, bytes);
}

void RecordingProgress::finish_item(std::string_view name, ItemOutcome outcome) {
  m_events.push_back("finish " + std::string(name) + " " + std::string(outcome_name(outcome)));
}

void RecordingProgress::message(std::string_view text) {
  m_events.push_back("message " + std::string(text));
}

uint64_t RecordingProgress::advanced_bytes(std::string_view name) const {
  auto it = m_advanced.find(name);
  return it == m_advanced.end() ? 0 : it->second;
}

}  // namespace bundlespec
