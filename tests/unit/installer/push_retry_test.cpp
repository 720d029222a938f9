// images push, the retry policy: which outcomes are retried, the delays, the progress text.
#include "images/push_retry.hpp"

#include <gtest/gtest.h>

#include "bundlespec/interrupt.hpp"

namespace installer {
namespace {

namespace bs = bundlespec;
using std::chrono::milliseconds;
using std::chrono::seconds;

bs::Result<HttpResponse> answer(int status, std::string reason = "") {
  HttpResponse r;
  r.head.status = status;
  r.head.reason = std::move(reason);
  return r;
}

TEST(PushRetry, RetryableStatuses) {
  for (int status : {408, 429, 500, 502, 503, 504}) EXPECT_TRUE(retryable_status(status)) << status;
  for (int status : {200, 201, 202, 307, 400, 401, 403, 404, 413, 416, 501, 505, 599}) {
    EXPECT_FALSE(retryable_status(status)) << status;
  }
}

TEST(PushRetry, AnswersAreRetriedByStatusOnly) {
  EXPECT_TRUE(worth_retrying(answer(503), false));
  EXPECT_TRUE(worth_retrying(answer(429), false));
  EXPECT_FALSE(worth_retrying(answer(201), true));  // `transient` is about failures only
  EXPECT_FALSE(worth_retrying(answer(404), false));
  EXPECT_FALSE(worth_retrying(answer(401), false));  // the authentication code answers a 401
}

TEST(PushRetry, FailuresAreRetriedWhenTransient) {
  const bs::Result<HttpResponse> reset = bs::make_error("send to 127.0.0.1:5000: Connection reset by peer");
  EXPECT_TRUE(worth_retrying(reset, true));
  EXPECT_FALSE(worth_retrying(reset, false));  // TLS, name resolution, malformed answers
}

TEST(PushRetry, OtherErrorCodesAreNeverRetried) {
  // Even if the transport flag were stale: a corrupted file of ours, a usage error, Ctrl-C.
  EXPECT_FALSE(worth_retrying(bs::Result<HttpResponse>(bs::verification_error("x is corrupted")), true));
  EXPECT_FALSE(worth_retrying(bs::Result<HttpResponse>(bs::usage_error("bad")), true));
  EXPECT_FALSE(worth_retrying(bs::Result<HttpResponse>(bs::interrupted_error()), true));
}

TEST(PushRetry, DefaultDelaysDoubleFromHalfASecond) {
  const RetryPolicy policy;
  EXPECT_EQ(policy.retries, 4);
  EXPECT_EQ(retry_delay(policy, 1, ""), milliseconds(500));
  EXPECT_EQ(retry_delay(policy, 2, ""), milliseconds(1000));
  EXPECT_EQ(retry_delay(policy, 3, ""), milliseconds(2000));
  EXPECT_EQ(retry_delay(policy, 4, ""), milliseconds(4000));
  EXPECT_EQ(retry_delay(policy, 7, ""), milliseconds(30000));  // capped
  EXPECT_EQ(retry_delay(policy, 8, ""), milliseconds(30000));
}

TEST(PushRetry, RetryAfterWaitsAtLeastThatLongCapped) {
  RetryPolicy policy;
  policy.backoff.initial = milliseconds(50);
  EXPECT_EQ(retry_delay(policy, 1, "2"), milliseconds(2000));
  EXPECT_EQ(retry_delay(policy, 1, "0"), milliseconds(50));  // the backoff when it is longer
  EXPECT_EQ(retry_delay(policy, 1, "3600"), milliseconds(60000));
  EXPECT_EQ(retry_delay(policy, 2, "Fri, 27 Nov 2026 20:00:00 GMT"), milliseconds(100));  // dates ignored
  policy.max_retry_after = seconds(5);
  EXPECT_EQ(retry_delay(policy, 1, "120"), milliseconds(5000));
}

TEST(PushRetry, ProgressTextLeavesOutTheQuery) {
  HttpRequest put;
  put.method = "PUT";
  put.url.scheme = "http";
  put.url.host = "127.0.0.1";
  put.url.port = 5000;
  put.url.target = "/v2/x/blobs/uploads/abc?_state=LONG&digest=sha256%3A00";
  EXPECT_EQ(request_label(put), "PUT http://127.0.0.1:5000/v2/x/blobs/uploads/abc");
  EXPECT_EQ(describe_attempt(request_label(put), answer(503, "Service Unavailable")),
            "PUT http://127.0.0.1:5000/v2/x/blobs/uploads/abc: HTTP 503 Service Unavailable");
  EXPECT_EQ(describe_attempt("HEAD http://r/v2/x", answer(502)), "HEAD http://r/v2/x: HTTP 502");
  EXPECT_EQ(describe_attempt("HEAD http://r/v2/x",
                             bs::Result<HttpResponse>(bs::make_error("cannot connect to r:80: Connection refused"))),
            "HEAD http://r/v2/x: cannot connect to r:80: Connection refused");
}

}  // namespace
}  // namespace installer
