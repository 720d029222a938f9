// Retry timing and wording shared by the builder's downloader (builder/fetch.hpp) and the
// installer's registry push (installer/images/push.hpp): exponential backoff, the Retry-After header,
// and the two messages a user sees, so both programs retry alike and say so alike:
//   progress  "WHAT; retrying in 500 ms (attempt 2 of 5)"
//   error     "WHAT (gave up after 5 attempts)"
// Which HTTP statuses are worth retrying: bundlespec/registry_protocol.hpp; which transport
// failures is each caller's own decision (libcurl codes there, our HTTP client's failures here).
// Thread-safety: pure functions, and a sleep.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "bundlespec/result.hpp"

namespace bundlespec {

struct Backoff {
  std::chrono::milliseconds initial{1000};  // before the first retry
  std::chrono::milliseconds max{30000};     // no delay is longer
};

// The delay before retry number `retry` (1 = the first retry): initial, doubled for each
// retry after the first, capped at max. A retry < 1 counts as 1; a negative initial as 0.
std::chrono::milliseconds backoff_delay(const Backoff& backoff, int retry);

// An HTTP Retry-After value in delta-seconds ("120", RFC 9110 10.2.3). nullopt for an
// HTTP-date, an empty or malformed value; values past a day are clamped to a day.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

// "WHAT; retrying in N ms (attempt NEXT of MAX)".
std::string retry_notice(std::string_view what, std::chrono::milliseconds delay, int next_attempt, int max_attempts);

// " (gave up after N attempts)" when attempts > 1, else "" (nothing was retried).
std::string gave_up_suffix(int attempts);

// Sleeps `delay`, waking every 20 ms to see whether Ctrl-C arrived (bundlespec/interrupt.hpp):
// then it returns interrupted_error() at once. The wait between two tries of either program.
Status sleep_unless_interrupted(std::chrono::milliseconds delay);

}  // namespace bundlespec
