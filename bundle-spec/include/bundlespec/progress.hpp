// Progress: the interface long-running work (downloads, packing, extraction) reports through,
// and its two implementations: ConsoleProgress for people, RecordingProgress for tests.
//
// The core calls start_item / advance / finish_item per named item (an artifact, an image, a
// bundle entry) and message() for a line of its own. Item names are unique among the items
// that are active at the same time; starting a name again restarts that item (for example a
// download that begins again from byte 0).
//
// Thread-safety: none. One thread calls a Progress object (the download loop is
// single-threaded; its callbacks run inside curl_multi_perform on the calling thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bundlespec {

enum class ItemOutcome { done, cached, failed };

class Progress {
 public:
  virtual ~Progress() = default;
  // Optional: how many items the whole operation has (for "3/7").
  virtual void plan(size_t item_count) { static_cast<void>(item_count); }
  // An item begins (or begins again). total_bytes is nullopt when unknown; done_bytes counts
  // bytes that were already there (a resumed download) and do not add to the rate.
  virtual void start_item(std::string_view name, std::optional<uint64_t> total_bytes, uint64_t done_bytes) = 0;
  // `bytes` more bytes of the item were processed.
  virtual void advance(std::string_view name, uint64_t bytes) = 0;
  // The item ended. An item that was never started may still be finished (e.g. failed before
  // its first byte, or found in a cache).
  virtual void finish_item(std::string_view name, ItemOutcome outcome) = 0;
  // A line of text for the user (a warning, a retry notice). No trailing newline.
  virtual void message(std::string_view text) = 0;
};

// A Progress that reports nothing.
class NullProgress final : public Progress {
 public:
  void start_item(std::string_view, std::optional<uint64_t>, uint64_t) override {}
  void advance(std::string_view, uint64_t) override {}
  void finish_item(std::string_view, ItemOutcome) override {}
  void message(std::string_view) override {}
};

// How a ConsoleProgress writes.
enum class ConsoleMode {
  live,   // one status line rewritten with '\r' (at most ~6 times a second)
  plain,  // a line when an item starts and when it ends
  quiet,  // nothing at all, messages included
};

// live if `fd` is a terminal and TERM is set and not "dumb", else plain.
ConsoleMode detect_console_mode(int fd);

// True when the NO_COLOR environment variable is set to a non-empty value (no-color.org).
bool no_color_requested();

// Human-readable byte count: "512 B", "1.5 KiB", "12.3 MiB", "1.2 GiB".
std::string format_bytes(uint64_t bytes);
// "m:ss" or "h:mm:ss".
std::string format_duration(std::chrono::seconds duration);

// Writes progress to a FILE (normally stderr). In live mode the status line shows the active
// items with their percentages, the total bytes, the rate and the ETA, cut to the terminal
// width; it is cleared before any other line is printed. Colour (only in live mode, only
// without NO_COLOR) marks failures in red. Lines are prefixed with `prefix` ("kubeferry: ").
class ConsoleProgress final : public Progress {
 public:
  using Clock = std::chrono::steady_clock;

  // `clock` may be replaced by tests; `width` 0 means ask the terminal (default 80).
  ConsoleProgress(std::FILE* out, ConsoleMode mode, std::string prefix,
                  std::function<Clock::time_point()> clock = &Clock::now, size_t width = 0);
  ~ConsoleProgress() override;
  ConsoleProgress(const ConsoleProgress&) = delete;
  ConsoleProgress& operator=(const ConsoleProgress&) = delete;

  void plan(size_t item_count) override;
  void start_item(std::string_view name, std::optional<uint64_t> total_bytes, uint64_t done_bytes) override;
  void advance(std::string_view name, uint64_t bytes) override;
  void finish_item(std::string_view name, ItemOutcome outcome) override;
  void message(std::string_view text) override;

 private:
  struct Item {
    std::optional<uint64_t> total;
    uint64_t done = 0;
    uint64_t session_bytes = 0;  // counted by advance(); the rate is based on these
    Clock::time_point started;
  };

  void redraw(bool force);
  void clear_line();
  std::string status_line(Clock::time_point now) const;
  void print_line(const std::string& text);

  std::FILE* m_out;
  ConsoleMode m_mode;
  std::string m_prefix;
  std::function<Clock::time_point()> m_clock;
  size_t m_width;
  bool m_color;
  std::map<std::string, Item, std::less<>> m_active;
  size_t m_planned = 0;
  size_t m_finished = 0;
  uint64_t m_finished_bytes = 0;  // bytes of finished items (for the total)
  uint64_t m_session_bytes = 0;   // all bytes passed to advance() (for the rate)
  Clock::time_point m_begin;
  Clock::time_point m_last_draw{};
  size_t m_drawn_width = 0;  // characters of the status line currently on screen
};

// Records every call as a line of text, for tests:
//   "plan 3", "start NAME TOTAL|? DONE", "advance NAME BYTES", "finish NAME done|cached|failed",
//   "message TEXT". Consecutive advances of the same item are merged into one line.
class RecordingProgress final : public Progress {
 public:
  void plan(size_t item_count) override;
  void start_item(std::string_view name, std::optional<uint64_t> total_bytes, uint64_t done_bytes) override;
  void advance(std::string_view name, uint64_t bytes) override;
  void finish_item(std::string_view name, ItemOutcome outcome) override;
  void message(std::string_view text) override;

  const std::vector<std::string>& events() const { return m_events; }
  // Sum of advance() bytes for one item since its last start.
  uint64_t advanced_bytes(std::string_view name) const;
  // Hook run after each advance() (tests use it to interrupt a download mid-body).
  std::function<void(std::string_view name, uint64_t bytes)> on_advance;

 private:
  std::vector<std::string> m_events;
  std::map<std::string, uint64_t, std::less<>> m_advanced;
  uint64_t m_run_bytes = 0;  // bytes of the advance line at the back of m_events
};

std::string_view outcome_name(ItemOutcome outcome);

}  // namespace bundlespec
