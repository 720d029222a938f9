#include "bundlespec/backoff.hpp"

#include <algorithm>
#include <thread>

#include "bundlespec/interrupt.hpp"
#include "bundlespec/text.hpp"

namespace bundlespec {

std::chrono::milliseconds backoff_delay(const Backoff& backoff, int retry) {
  auto delay = std::max(backoff.initial, std::chrono::milliseconds(0));
  for (int i = 1; i < retry && delay < backoff.max; ++i) delay *= 2;
  return std::min(delay, backoff.max);
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
  constexpr long long k_day = 24 * 60 * 60;
  value = trim_space(value);
  if (value.empty() || value.size() > 18) return std::nullopt;
  long long seconds = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    seconds = std::min(seconds * 10 + (c - '0'), k_day);
  }
  return std::chrono::seconds(seconds);
}

std::string retry_notice(std::string_view what, std::chrono::milliseconds delay, int next_attempt, int max_attempts) {
  return std::string(what) + "; retrying in " + std::to_string(delay.count()) + " ms (attempt " +
         std::to_string(next_attempt) + " of " + std::to_string(max_attempts) + ")";
}

std::string gave_up_suffix(int attempts) {
  if (attempts <= 1) return "";
  return " (gave up after " + std::to_string(attempts) + " attempts)";
}

Status sleep_unless_interrupted(std::chrono::milliseconds delay) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point end = Clock::now() + delay;
  for (;;) {
    if (interrupt_requested()) return interrupted_error();
    const auto left = end - Clock::now();
    if (left <= Clock::duration::zero()) return ok_status();
    std::this_thread::sleep_for(std::min<Clock::duration>(left, std::chrono::milliseconds(20)));
  }
}

}  // namespace bundlespec
