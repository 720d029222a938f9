// The registry rules both programs share (bundlespec/registry_protocol.hpp, backoff.hpp): the
// token answer, which statuses are retried, and the wait that Ctrl-C ends.
#include "bundlespec/registry_protocol.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "bundlespec/backoff.hpp"
#include "bundlespec/interrupt.hpp"

namespace bundlespec {
namespace {

TEST(TokenResponse, TokenOrAccessToken) {
  EXPECT_EQ(token_from_response(R"({"token": "abc.def", "expires_in": 300.5})"), "abc.def");
  EXPECT_EQ(token_from_response(R"({"access_token":"xyz","issued_at":"2020"})"), "xyz");
  EXPECT_EQ(token_from_response(R"({"token":"","access_token":"second"})"), "second");
  EXPECT_EQ(token_from_response(R"({"error":"denied"})"), "");
  // A key that is not followed by ':' and a string is no token (the builder's old reader took
  // the next quoted text it found).
  EXPECT_EQ(token_from_response(R"({"details":"token", "x":"y"})"), "");
  EXPECT_EQ(token_from_response(R"({"token": 5, "access_token" : "z"})"), "z");
}

TEST(RetryableHttpStatus, SameRuleForPullsAndPush) {
  for (long status : {408, 429, 500, 502, 503, 504}) EXPECT_TRUE(retryable_http_status(status)) << status;
  for (long status : {0, 200, 201, 307, 400, 401, 403, 404, 413, 416, 501, 505, 507, 599}) {
    EXPECT_FALSE(retryable_http_status(status)) << status;
  }
}

TEST(SleepUnlessInterrupted, CtrlCEndsTheWait) {
  EXPECT_TRUE(sleep_unless_interrupted(std::chrono::milliseconds(0)).ok());
  set_interrupt_requested(true);
  // An hour, ended at once: a broken check would hang here until CTest's timeout.
  const Status slept = sleep_unless_interrupted(std::chrono::hours(1));
  set_interrupt_requested(false);
  ASSERT_FALSE(slept.ok());
  EXPECT_EQ(slept.error().code(), ErrorCode::interrupted);
}

}  // namespace
}  // namespace bundlespec
