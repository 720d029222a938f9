#include "images/push_retry.hpp"

#include <algorithm>

#include "bundlespec/registry_protocol.hpp"

namespace installer {

namespace bs = bundlespec;

bool retryable_status(int status) {
  return bs::retryable_http_status(status);
}

bool worth_retrying(const bs::Result<HttpResponse>& attempt, bool transient) {
  if (attempt.ok()) return retryable_status(attempt->head.status);
  return transient && attempt.error().code() == bs::ErrorCode::failure;
}

std::chrono::milliseconds retry_delay(const RetryPolicy& policy, int retry, std::string_view retry_after) {
  const auto backoff = bs::backoff_delay(policy.backoff, retry);
  const auto asked = bs::parse_retry_after(retry_after);
  if (!asked) return backoff;
  const std::chrono::milliseconds wanted = std::min(*asked, policy.max_retry_after);
  return std::max(backoff, wanted);
}

std::string request_label(const HttpRequest& request) {
  Url shown = request.url;
  shown.target = shown.target.substr(0, shown.target.find('?'));
  return request.method + " " + shown.str();
}

std::string describe_attempt(std::string_view label, const bs::Result<HttpResponse>& attempt) {
  std::string text = std::string(label) + ": ";
  if (!attempt.ok()) return text + attempt.error().message();
  const ResponseHead& head = attempt->head;
  return text + "HTTP " + std::to_string(head.status) + (head.reason.empty() ? "" : " " + head.reason);
}

}  // namespace installer
