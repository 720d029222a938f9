// The retry policy of `images push` (push.hpp), pure so unit tests cover it without a registry.
//
// A step that is safe to repeat (HEAD of a blob or manifest, starting an upload, a whole blob
// upload, a manifest or tag PUT, a token request) is sent again, after a delay, when it
// ended in
//   - an answer 408, 429, 500, 502, 503 or 504 (bundlespec::retryable_http_status, the
//     builder's rule too; any other status is the step's own business: a 401 is answered once
//     per request by the authentication code, other 4xx fail at once);
//   - a transport failure the HTTP client marks transient (HttpClient::last_failure_transient:
//     refused, reset, closed before a complete answer, timed out).
// Never retried: usage, verification (a corrupted file of ours) and interrupted errors, name
// resolution and TLS failures, malformed answers.
// Delays (bundlespec/backoff.hpp): --retry-delay, doubled per retry, capped at 30 s; an answer
// with Retry-After (delta-seconds) waits at least that long, capped at 60 s; Ctrl-C ends a
// wait (bundlespec::sleep_unless_interrupted).
// Messages: the builder's wording (bundlespec/backoff.hpp).
// Thread-safety: pure functions and value types.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "bundlespec/backoff.hpp"
#include "bundlespec/result.hpp"
#include "net/http.hpp"

namespace installer {

struct RetryPolicy {
  int retries = 4;  // tries after the first (--retries); 0 = no retries
  bundlespec::Backoff backoff{std::chrono::milliseconds(500), std::chrono::milliseconds(30000)};
  std::chrono::seconds max_retry_after{60};  // a longer Retry-After is cut to this
};

// bundlespec::retryable_http_status: 408, 429, 500, 502, 503, 504.
bool retryable_status(int status);

// Whether an attempt that ended in `attempt` is worth another try: an answer with a retryable
// status, or an ErrorCode::failure that the HTTP client marked `transient`.
bool worth_retrying(const bundlespec::Result<HttpResponse>& attempt, bool transient);

// The delay before retry `retry` (1 = the first): the backoff, or the answer's Retry-After
// header value (`retry_after`, "" when none) when that asks for longer (at most
// max_retry_after).
std::chrono::milliseconds retry_delay(const RetryPolicy& policy, int retry, std::string_view retry_after);

// "METHOD URL" without the URL's query, for progress lines (upload URLs carry long opaque
// state in their query).
std::string request_label(const HttpRequest& request);

// What a failed attempt was, for the progress line: "LABEL: HTTP 503 Service Unavailable" or
// "LABEL: <the error's message>".
std::string describe_attempt(std::string_view label, const bundlespec::Result<HttpResponse>& attempt);

}  // namespace installer
