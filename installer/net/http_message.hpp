// The pure half of the installer's HTTP/1.1 client (http.hpp): reading a response's status
// line and headers, deciding how its body is framed, and decoding a chunked body. No I/O
// here, so tests feed it bytes split anywhere.
// Thread-safety: pure functions; a ChunkedDecoder belongs to one response.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "bundlespec/result.hpp"

namespace installer {

struct ResponseHead {
  int status = 0;
  std::string reason;                          // "Not Found" (may be empty)
  std::map<std::string, std::string> headers;  // lower-case names; the first of repeated headers

  // The header's value, or "" when absent. `name` in lower case.
  std::string header(std::string_view name) const;
};

// Parses "HTTP/1.x CODE REASON\r\n" and header lines up to the blank line. `head` holds the
// bytes up to and including "\r\n\r\n" (bare "\n" line ends are accepted). Fails on a status
// line that is not HTTP/1.x with a 3-digit code, or a header line without ':'.
bundlespec::Result<ResponseHead> parse_response_head(std::string_view head);

// How the body of a response is delimited (RFC 9112 section 6.3).
enum class BodyFraming { none, length, chunked, until_close };
struct Framing {
  BodyFraming kind = BodyFraming::none;
  uint64_t length = 0;  // for BodyFraming::length
};
// none for HEAD requests and 1xx/204/304; chunked for Transfer-Encoding ending in chunked;
// else Content-Length; else until the server closes. Fails on a bad Content-Length.
bundlespec::Result<Framing> body_framing(std::string_view method, const ResponseHead& head);

// Decodes Transfer-Encoding: chunked incrementally: "SIZE[;ext]\r\nDATA\r\n ... 0\r\n[trailers]\r\n".
class ChunkedDecoder {
 public:
  // Consumes bytes of `input`, appending the payload to `out`. Returns how many bytes it
  // consumed: all of them, unless the body ended inside `input` (then the rest is not part of
  // this response). Fails on a malformed size line or a missing CRLF after a chunk.
  bundlespec::Result<size_t> feed(std::string_view input, std::string& out);
  // True once the last chunk and the trailer's blank line have been read.
  bool done() const { return m_state == State::done; }

 private:
  enum class State { size_line, data, data_end, trailer, done };
  State m_state = State::size_line;
  std::string m_line;       // the line being collected (size line, data CRLF or trailer line)
  uint64_t m_remaining = 0;  // bytes left in the current chunk
};

}  // namespace installer
