// The retry timing and wording the builder's downloader and the installer's push share.
#include "bundlespec/backoff.hpp"

#include <gtest/gtest.h>

namespace bundlespec {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Backoff, DoublesFromInitialUpToTheCap) {
  const Backoff backoff{milliseconds(500), milliseconds(3000)};
  EXPECT_EQ(backoff_delay(backoff, 1), milliseconds(500));
  EXPECT_EQ(backoff_delay(backoff, 2), milliseconds(1000));
  EXPECT_EQ(backoff_delay(backoff, 3), milliseconds(2000));
  EXPECT_EQ(backoff_delay(backoff, 4), milliseconds(3000));
  EXPECT_EQ(backoff_delay(backoff, 5), milliseconds(3000));
  EXPECT_EQ(backoff_delay(backoff, 1000), milliseconds(3000));  // no overflow on many retries
}

TEST(Backoff, DegenerateInputs) {
  EXPECT_EQ(backoff_delay({milliseconds(500), milliseconds(3000)}, 0), milliseconds(500));
  EXPECT_EQ(backoff_delay({milliseconds(500), milliseconds(3000)}, -3), milliseconds(500));
  EXPECT_EQ(backoff_delay({milliseconds(0), milliseconds(3000)}, 4), milliseconds(0));
  EXPECT_EQ(backoff_delay({milliseconds(-5), milliseconds(3000)}, 2), milliseconds(0));
  EXPECT_EQ(backoff_delay({milliseconds(5000), milliseconds(3000)}, 1), milliseconds(3000));
}

TEST(Backoff, RetryAfterDeltaSeconds) {
  EXPECT_EQ(parse_retry_after("0"), seconds(0));
  EXPECT_EQ(parse_retry_after("120"), seconds(120));
  EXPECT_EQ(parse_retry_after(" 7 "), seconds(7));
  EXPECT_EQ(parse_retry_after("99999999999"), seconds(86400));  // clamped to a day
}

TEST(Backoff, RetryAfterOtherFormsAreIgnored) {
  EXPECT_EQ(parse_retry_after(""), std::nullopt);
  EXPECT_EQ(parse_retry_after("Fri, 27 Nov 2026 20:00:00 GMT"), std::nullopt);  // an HTTP-date
  EXPECT_EQ(parse_retry_after("-1"), std::nullopt);
  EXPECT_EQ(parse_retry_after("1.5"), std::nullopt);
  EXPECT_EQ(parse_retry_after("12abc"), std::nullopt);
  EXPECT_EQ(parse_retry_after("1234567890123456789"), std::nullopt);  // longer than any sane value
}

TEST(Backoff, Messages) {
  EXPECT_EQ(retry_notice("GET http://x/a: HTTP 503 Service Unavailable", milliseconds(500), 2, 5),
            "GET http://x/a: HTTP 503 Service Unavailable; retrying in 500 ms (attempt 2 of 5)");
  EXPECT_EQ(gave_up_suffix(0), "");
  EXPECT_EQ(gave_up_suffix(1), "");
  EXPECT_EQ(gave_up_suffix(5), " (gave up after 5 attempts)");
}

}  // namespace
}  // namespace bundlespec
