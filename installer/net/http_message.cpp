#include "net/http_message.hpp"

#include <cctype>

#include "bundlespec/text.hpp"

namespace installer {

namespace bs = bundlespec;

namespace {

constexpr size_t k_max_line = 8192;

// Parses a decimal number that must fill `text`.
std::optional<uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (const char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

std::optional<uint64_t> parse_hex(std::string_view text) {
  if (text.empty() || text.size() > 15) return std::nullopt;
  uint64_t value = 0;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isxdigit(u)) return std::nullopt;
    value = value * 16 + static_cast<uint64_t>(std::isdigit(u) ? c - '0' : std::tolower(u) - 'a' + 10);
  }
  return value;
}

}  // namespace

std::string ResponseHead::header(std::string_view name) const {
  const auto it = headers.find(std::string(name));
  return it == headers.end() ? "" : it->second;
}

bs::Result<ResponseHead> parse_response_head(std::string_view head) {
  ResponseHead result;
  size_t line_end = head.find('\n');
  std::string_view status_line = bs::trim_space(head.substr(0, line_end));
  const auto bad_status = [&] { return bs::make_error("bad HTTP status line '" + std::string(status_line) + "'"); };
  if (status_line.substr(0, 7) != "HTTP/1." || status_line.size() < 12 || status_line[8] != ' ') return bad_status();
  const std::string_view code = status_line.substr(9, 3);
  const auto value = parse_decimal(code);
  if (!value || *value < 100 || *value > 999 || (status_line.size() > 12 && status_line[12] != ' ')) {
    return bad_status();
  }
  result.status = static_cast<int>(*value);
  result.reason = status_line.size() > 13 ? std::string(bs::trim_space(status_line.substr(13))) : "";
  while (line_end != std::string_view::npos) {
    const size_t start = line_end + 1;
    line_end = head.find('\n', start);
    const std::string_view line =
        bs::trim_space(head.substr(start, line_end == std::string_view::npos ? head.npos : line_end - start));
    if (line.empty()) break;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return bs::make_error("bad HTTP header line '" + std::string(line) + "'");
    }
    result.headers.emplace(bs::ascii_lower(bs::trim_space(line.substr(0, colon))),
                           std::string(bs::trim_space(line.substr(colon + 1))));
  }
  return result;
}

bs::Result<Framing> body_framing(std::string_view method, const ResponseHead& head) {
  if (method == "HEAD" || head.status < 200 || head.status == 204 || head.status == 304) return Framing{};
  const std::string encoding = bs::ascii_lower(bs::trim_space(head.header("transfer-encoding")));
  if (!encoding.empty()) {
    if (encoding.size() >= 7 && encoding.substr(encoding.size() - 7) == "chunked") {
      return Framing{BodyFraming::chunked, 0};
    }
    return Framing{BodyFraming::until_close, 0};
  }
  if (head.headers.count("content-length") != 0) {
    const auto length = parse_decimal(bs::trim_space(head.header("content-length")));
    if (!length) return bs::make_error("bad Content-Length '" + head.header("content-length") + "'");
    return Framing{BodyFraming::length, *length};
  }
  return Framing{BodyFraming::until_close, 0};
}

bs::Result<size_t> ChunkedDecoder::feed(std::string_view input, std::string& out) {
  size_t used = 0;
  while (used < input.size() && m_state != State::done) {
    if (m_state == State::data) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(m_remaining, input.size() - used));
      out.append(input.substr(used, n));
      used += n;
      m_remaining -= n;
      if (m_remaining == 0) m_state = State::data_end;
      continue;
    }
    // The other states read one line.
    const char c = input[used++];
    if (c != '\n') {
      if (m_line.size() >= k_max_line) return bs::make_error("chunked body: line longer than 8192 bytes");
      m_line += c;
      continue;
    }
    std::string_view line = m_line;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (m_state == State::size_line) {
      const auto size = parse_hex(bs::trim_space(line.substr(0, line.find(';'))));
      if (!size) return bs::make_error("chunked body: bad chunk size line '" + std::string(line) + "'");
      m_remaining = *size;
      m_state = *size == 0 ? State::trailer : State::data;
    } else if (m_state == State::data_end) {
      if (!line.empty()) return bs::make_error("chunked body: no CRLF after a chunk's data");
      m_state = State::size_line;
    } else if (line.empty()) {  // trailer: a blank line ends the body
      m_state = State::done;
    }
    m_line.clear();
  }
  return used;
}

}  // namespace installer
