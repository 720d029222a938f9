#include "bundlespec/progress.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "bundlespec/handles.hpp"

namespace {

using bundlespec::ConsoleMode;
using bundlespec::ConsoleProgress;
using bundlespec::ItemOutcome;
using namespace std::chrono_literals;

// Captures what a ConsoleProgress writes, with a clock the test moves by hand.
class Capture {
 public:
  Capture() : m_file(::open_memstream(&m_buffer, &m_size)) {}
  ~Capture() {
    if (m_file) std::fclose(m_file);
    std::free(m_buffer);
  }
  std::FILE* file() { return m_file; }
  std::string text() {
    std::fflush(m_file);
    return std::string(m_buffer, m_size);
  }
  std::function<ConsoleProgress::Clock::time_point()> clock() {
    return [this] { return m_now; };
  }
  void tick(std::chrono::milliseconds step) { m_now += step; }

 private:
  char* m_buffer = nullptr;
  size_t m_size = 0;
  std::FILE* m_file;
  ConsoleProgress::Clock::time_point m_now{};
};

// Sets an environment variable for the scope of one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : m_name(name) {
    const char* old = std::getenv(name);
    if (old) m_old = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (m_old) {
      ::setenv(m_name, m_old->c_str(), 1);
    } else {
      ::unsetenv(m_name);
    }
  }

 private:
  const char* m_name;
  std::optional<std::string> m_old;
};

TEST(Progress, FormatsBytesAndDurations) {
  EXPECT_EQ(bundlespec::format_bytes(0), "0 B");
  EXPECT_EQ(bundlespec::format_bytes(1023), "1023 B");
  EXPECT_EQ(bundlespec::format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(bundlespec::format_bytes(14142839), "13.5 MiB");
  EXPECT_EQ(bundlespec::format_bytes(3ull << 30), "3.0 GiB");
  EXPECT_EQ(bundlespec::format_duration(7s), "0:07");
  EXPECT_EQ(bundlespec::format_duration(754s), "12:34");
  EXPECT_EQ(bundlespec::format_duration(3723s), "1:02:03");
}

TEST(Progress, PlainModePrintsStartAndFinishLines) {
  Capture out;
  {
    ConsoleProgress progress(out.file(), ConsoleMode::plain, "kubeferry: ", out.clock());
    progress.plan(3);
    progress.start_item("etcd", 2048, 0);
    progress.advance("etcd", 1024);
    progress.start_item("etcd", 2048, 1024);  // a restart prints nothing new
    out.tick(1500ms);
    progress.advance("etcd", 1024);
    progress.finish_item("etcd", ItemOutcome::done);
    progress.start_item("blob", std::nullopt, 100);
    progress.finish_item("blob", ItemOutcome::failed);
    progress.finish_item("cni", ItemOutcome::cached);
    progress.message("warning: something");
  }
  EXPECT_EQ(out.text(),
            "kubeferry: etcd: started (2.0 KiB)\n"
            "kubeferry: etcd: done, 2.0 KiB in 1.5 s\n"
            "kubeferry: blob: started, resuming at 100 B\n"
            "kubeferry: blob: failed\n"
            "kubeferry: cni: cached\n"
            "kubeferry: warning: something\n");
}

// Item names carry image names and paths from bundles: shown escaped.
TEST(Progress, ItemNamesAreEscaped) {
  Capture out;
  {
    ConsoleProgress progress(out.file(), ConsoleMode::plain, "kubeferry: ", out.clock());
    progress.start_item("push \x1b]0;owned\x07x", std::nullopt, 0);
    progress.finish_item("push \x1b]0;owned\x07x", ItemOutcome::failed);
  }
  EXPECT_EQ(out.text(),
            "kubeferry: push \\x1b]0;owned\\x07x: started\n"
            "kubeferry: push \\x1b]0;owned\\x07x: failed\n");
}

TEST(Progress, QuietModePrintsNothing) {
  Capture out;
  {
    ConsoleProgress progress(out.file(), ConsoleMode::quiet, "kubeferry: ", out.clock());
    progress.start_item("etcd", 10, 0);
    progress.advance("etcd", 10);
    progress.finish_item("etcd", ItemOutcome::failed);
    progress.message("hello");
  }
  EXPECT_EQ(out.text(), "");
}

TEST(Progress, LiveModeRewritesOneLineAtMostSixTimesASecond) {
  ScopedEnv no_color("NO_COLOR", nullptr);
  Capture out;
  {
    ConsoleProgress progress(out.file(), ConsoleMode::live, "", out.clock(), 200);
    progress.plan(2);
    progress.start_item("etcd", 4 << 20, 0);
    const std::string first = "\r[0/2] etcd 0%  | 0 B / 4.0 MiB";
    EXPECT_EQ(out.text(), first);
    out.tick(100ms);
    progress.advance("etcd", 1 << 20);  // too soon after the last draw: nothing
    EXPECT_EQ(out.text(), first);
    out.tick(900ms);
    progress.advance("etcd", 1 << 20);  // 2 MiB in 1 s: 2 MiB/s, 2 MiB left -> ETA 0:01
    EXPECT_EQ(out.text(), first + "\r[0/2] etcd 50%  | 2.0 MiB / 4.0 MiB  2.0 MiB/s  ETA 0:01");
    progress.finish_item("etcd", ItemOutcome::failed);
  }
  const std::string text = out.text();
  // The status line is blanked before the finish line, and the finish line is red.
  const std::string status = "\r[0/2] etcd 50%  | 2.0 MiB / 4.0 MiB  2.0 MiB/s  ETA 0:01";
  const std::string blank = "\r" + std::string(status.size() - 1, ' ') + "\r";
  EXPECT_NE(text.find(status + blank + "\033[31metcd: failed\033[0m\n"), std::string::npos) << text;
}

TEST(Progress, LiveModeHonoursNoColorAndTerminalWidth) {
  ScopedEnv no_color("NO_COLOR", "1");
  Capture out;
  {
    ConsoleProgress progress(out.file(), ConsoleMode::live, "", out.clock(), 12);
    progress.start_item("kubernetes-server", 100, 0);
    EXPECT_EQ(out.text(), "\rkubernetes-");  // cut to width - 1
    progress.finish_item("kubernetes-server", ItemOutcome::failed);
  }
  EXPECT_EQ(out.text().find('\033'), std::string::npos);
  EXPECT_NE(out.text().find("kubernetes-server: failed\n"), std::string::npos);
}

TEST(Progress, DetectsLiveModeOnlyOnAnUsefulTerminal) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  bundlespec::Fd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  {
    ScopedEnv term("TERM", "xterm");
    EXPECT_EQ(bundlespec::detect_console_mode(write_end.get()), ConsoleMode::plain);
  }
  bundlespec::Fd master(::posix_openpt(O_RDWR | O_NOCTTY));
  ASSERT_TRUE(master.valid());
  ASSERT_EQ(::grantpt(master.get()), 0);
  ASSERT_EQ(::unlockpt(master.get()), 0);
  bundlespec::Fd tty(::open(::ptsname(master.get()), O_RDWR | O_NOCTTY));
  ASSERT_TRUE(tty.valid());
  {
    ScopedEnv term("TERM", "xterm");
    EXPECT_EQ(bundlespec::detect_console_mode(tty.get()), ConsoleMode::live);
  }
  {
    ScopedEnv term("TERM", "dumb");
    EXPECT_EQ(bundlespec::detect_console_mode(tty.get()), ConsoleMode::plain);
  }
  {
    ScopedEnv term("TERM", nullptr);
    EXPECT_EQ(bundlespec::detect_console_mode(tty.get()), ConsoleMode::plain);
  }
}

TEST(Progress, RecordingMergesAdvancesOfOneItem) {
  bundlespec::RecordingProgress progress;
  uint64_t hooked = 0;
  progress.on_advance = [&](std::string_view, uint64_t bytes) { hooked += bytes; };
  progress.plan(2);
  progress.start_item("a", 30, 0);
  progress.advance("a", 10);
  progress.advance("a", 20);
  progress.start_item("b", std::nullopt, 5);
  progress.advance("b", 1);
  progress.advance("a", 1);
  progress.finish_item("a", ItemOutcome::done);
  progress.message("note");
  EXPECT_EQ(progress.events(),
            (std::vector<std::string>{"plan 2", "start a 30 0", "advance a 30", "start b ? 5", "advance b 1",
                                      "advance a 1", "finish a done", "message note"}));
  EXPECT_EQ(progress.advanced_bytes("a"), 31u);
  EXPECT_EQ(progress.advanced_bytes("b"), 1u);
  EXPECT_EQ(hooked, 32u);
}

}  // namespace
