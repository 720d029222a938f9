// The pure half of the installer's HTTP client: response heads, body framing, chunked bodies
// (fed in every possible split, as they arrive from a socket).
#include "net/http_message.hpp"

#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace {

using installer::BodyFraming;
using installer::body_framing;
using installer::ChunkedDecoder;
using installer::parse_response_head;

TEST(ResponseHead, StatusAndHeaders) {
  auto head = parse_response_head(
      "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nWWW-Authenticate: Basic realm=\"r\"\r\n"
      "Www-Authenticate: Bearer realm=\"second\"\r\nDocker-Content-Digest:  sha256:ab \r\n\r\n");
  ASSERT_OK(head);
  EXPECT_EQ(head->status, 401);
  EXPECT_EQ(head->reason, "Unauthorized");
  EXPECT_EQ(head->header("www-authenticate"), "Basic realm=\"r\"");  // the first of repeated headers
  EXPECT_EQ(head->header("docker-content-digest"), "sha256:ab");
  EXPECT_EQ(head->header("location"), "");
  auto bare = parse_response_head("HTTP/1.0 204\nX: y\n\n");
  ASSERT_OK(bare);
  EXPECT_EQ(bare->status, 204);
  EXPECT_EQ(bare->reason, "");
  EXPECT_EQ(bare->header("x"), "y");
}

TEST(ResponseHead, Refusals) {
  EXPECT_EQ(parse_response_head("SSH-2.0-OpenSSH\r\n\r\n").error().message(), "bad HTTP status line 'SSH-2.0-OpenSSH'");
  EXPECT_EQ(parse_response_head("HTTP/1.1 2000 OK\r\n\r\n").error().message(),
            "bad HTTP status line 'HTTP/1.1 2000 OK'");
  EXPECT_EQ(parse_response_head("HTTP/2 200 OK\r\n\r\n").error().message(), "bad HTTP status line 'HTTP/2 200 OK'");
  EXPECT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nno colon\r\n\r\n").error().message(),
            "bad HTTP header line 'no colon'");
}

installer::ResponseHead head_of(const std::string& text) {
  auto head = parse_response_head(text);
  EXPECT_OK(head);
  return head.ok() ? *head : installer::ResponseHead{};
}

TEST(BodyFraming, Rules) {
  const auto framing = [](std::string_view method, const std::string& text) {
    auto f = body_framing(method, head_of(text));
    EXPECT_OK(f);
    return f.ok() ? f->kind : BodyFraming::none;
  };
  EXPECT_EQ(framing("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"), BodyFraming::none);
  EXPECT_EQ(framing("GET", "HTTP/1.1 204 No Content\r\n\r\n"), BodyFraming::none);
  EXPECT_EQ(framing("GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"), BodyFraming::none);
  EXPECT_EQ(framing("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nContent-Length: 3\r\n\r\n"),
            BodyFraming::chunked);
  EXPECT_EQ(framing("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), BodyFraming::until_close);
  EXPECT_EQ(framing("GET", "HTTP/1.1 200 OK\r\n\r\n"), BodyFraming::until_close);
  auto length = body_framing("PUT", head_of("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"));
  ASSERT_OK(length);
  EXPECT_EQ(length->kind, BodyFraming::length);
  EXPECT_EQ(length->length, 0u);
  EXPECT_EQ(body_framing("GET", head_of("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n")).error().message(),
            "bad Content-Length '-1'");
}

constexpr std::string_view k_chunked =
    "5;ext=1\r\nhello\r\n1A\r\n, this is a chunked body!!\r\n0\r\nTrailer: x\r\n\r\nHTTP/1.1 next";

TEST(Chunked, WholeInput) {
  ChunkedDecoder decoder;
  std::string out;
  auto used = decoder.feed(k_chunked, out);
  ASSERT_OK(used);
  EXPECT_TRUE(decoder.done());
  EXPECT_EQ(out, "hello, this is a chunked body!!");
  // The bytes after the body belong to the next response.
  EXPECT_EQ(k_chunked.substr(*used), "HTTP/1.1 next");
}

TEST(Chunked, EverySplitAndByteByByte) {
  for (size_t split = 0; split <= k_chunked.size(); ++split) {
    ChunkedDecoder decoder;
    std::string out;
    auto first = decoder.feed(k_chunked.substr(0, split), out);
    ASSERT_OK(first);
    size_t used = *first;
    if (!decoder.done()) {
      ASSERT_EQ(used, split);
      auto second = decoder.feed(k_chunked.substr(split), out);
      ASSERT_OK(second);
      used += *second;
    }
    EXPECT_TRUE(decoder.done()) << split;
    EXPECT_EQ(out, "hello, this is a chunked body!!") << split;
    EXPECT_EQ(used, k_chunked.size() - std::string_view("HTTP/1.1 next").size()) << split;
  }
  ChunkedDecoder decoder;
  std::string out;
  for (const char c : k_chunked.substr(0, k_chunked.find("HTTP"))) {
    ASSERT_FALSE(decoder.done());
    ASSERT_OK(decoder.feed(std::string_view(&c, 1), out));
  }
  EXPECT_TRUE(decoder.done());
  EXPECT_EQ(out, "hello, this is a chunked body!!");
}

TEST(Chunked, Malformed) {
  ChunkedDecoder bad_size;
  std::string out;
  EXPECT_EQ(bad_size.feed("zz\r\n", out).error().message(), "chunked body: bad chunk size line 'zz'");
  ChunkedDecoder no_crlf;
  EXPECT_EQ(no_crlf.feed("3\r\nabcX\r\n", out).error().message(), "chunked body: no CRLF after a chunk's data");
  ChunkedDecoder huge;
  EXPECT_EQ(huge.feed("ffffffffffffffffff\r\n", out).error().message(),
            "chunked body: bad chunk size line 'ffffffffffffffffff'");
  ChunkedDecoder unfinished;
  std::string partial;
  ASSERT_OK(unfinished.feed("4\r\nab", partial));
  EXPECT_FALSE(unfinished.done());
  EXPECT_EQ(partial, "ab");
}

}  // namespace
