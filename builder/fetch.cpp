#include "fetch.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>

#include "bundlespec/backoff.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/registry_protocol.hpp"
#include "bundlespec/text.hpp"
#include "curl_handles.hpp"
#include "interrupt.hpp"

namespace builder {

using bundlespec::Checksum;
using bundlespec::DigestAlgorithm;
using bundlespec::Error;
using bundlespec::ErrorCode;
using bundlespec::Hasher;
using bundlespec::ItemOutcome;
using bundlespec::Progress;
using bundlespec::Result;
using bundlespec::Status;

namespace {

using Clock = std::chrono::steady_clock;

// The download loop wakes at least this often to notice the stop flag and due retries.
constexpr auto k_poll_interval = std::chrono::milliseconds(100);
constexpr long k_max_redirects = 10;
constexpr int k_max_header_refreshes = 2;  // per artifact: new tokens after a 401

Status init_curl_once() {
  static std::once_flag once;
  static CURLcode code = CURLE_OK;
  std::call_once(once, [] { code = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (code != CURLE_OK) {
    return bundlespec::make_error(std::string("initialise libcurl: ") + curl_easy_strerror(code));
  }
  return bundlespec::ok_status();
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    const char a = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
    if (a != prefix[i]) return false;
  }
  return true;
}

std::optional<uint64_t> parse_u64(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

std::string plural(uint64_t count, std::string_view word) {
  return std::to_string(count) + " " + std::string(word) + (count == 1 ? "" : "s");
}

// One artifact being downloaded, across all its attempts.
struct Transfer {
  enum class State { queued, active, finished };

  size_t index = 0;  // into the requests
  const FetchRequest* request = nullptr;
  std::string url;      // after mirror rules
  std::string partial;  // <cache>/partial/<algo>-<hex>
  bundlespec::Fd fd;
  uint64_t written = 0;  // bytes in the partial file, all of them hashed
  Hasher pinned{DigestAlgorithm::sha256};
  std::optional<Hasher> sha256;  // when the pin is sha512
  State state = State::queued;
  int attempts = 0;
  int header_refreshes = 0;  // 401s answered with request->refresh_headers
  bool reset_after_416 = false;
  Clock::time_point not_before{};
  CurlEasy easy;
  CurlSlist headers;  // request.headers for CURLOPT_HTTPHEADER
  char errbuf[CURL_ERROR_SIZE] = {};

  // Per attempt, filled by the header callback.
  uint64_t attempt_offset = 0;
  std::string status_line;
  std::optional<uint64_t> content_length;
  std::optional<uint64_t> range_start;
  std::optional<Error> callback_error;  // set by a callback that aborted the transfer
  bool discard_partial = false;         // the next attempt starts from byte 0

  Progress* progress = nullptr;
  const std::atomic<bool>* interrupted = nullptr;
};

// The extra request headers of every following attempt.
Status set_headers(Transfer& t, const std::vector<std::string>& headers) {
  CurlSlist list;
  for (const std::string& header : headers) {
    if (!append(list, header)) return bundlespec::make_error("curl_slist_append failed");
  }
  curl_easy_setopt(t.easy.get(), CURLOPT_HTTPHEADER, list.get());
  t.headers = std::move(list);
  return bundlespec::ok_status();
}

// Truncates the partial file and resets the digests: the next bytes are byte 0.
Status restart_file(Transfer& t) {
  if (::ftruncate(t.fd.get(), 0) != 0) return bundlespec::errno_error("truncate", t.partial);
  if (::lseek(t.fd.get(), 0, SEEK_SET) != 0) return bundlespec::errno_error("seek", t.partial);
  t.written = 0;
  t.pinned.reset();
  if (t.sha256) t.sha256->reset();
  return bundlespec::ok_status();
}

// The final response's headers are complete: decide whether its body continues our partial
// file (206 at the right offset), replaces it (200), or is unusable.
bool begin_body(Transfer& t, long status) {
  if (t.attempt_offset > 0 && status == 206) {
    if (t.range_start != t.attempt_offset) {
      t.callback_error =
          bundlespec::make_error("server answered a request for bytes " + std::to_string(t.attempt_offset) +
                                 "- with a body starting at byte " +
                                 (t.range_start ? std::to_string(*t.range_start) : std::string("(no Content-Range)")));
      t.discard_partial = true;
      return false;
    }
  } else if (t.attempt_offset > 0) {
    // The server ignored Range and sends the whole file: start over cleanly.
    t.progress->message(t.request->name + ": server ignored the range request (HTTP " + std::to_string(status) +
                        "); downloading from the start");
    Status status_of_restart = restart_file(t);
    if (!status_of_restart.ok()) {
      t.callback_error = std::move(status_of_restart).error();
      return false;
    }
    t.attempt_offset = 0;
  } else if (status == 206) {
    t.callback_error = bundlespec::make_error(
        "server sent a partial response (206) to a request "
        "for the whole file");
    return false;
  }
  std::optional<uint64_t> total;
  if (t.content_length) total = t.attempt_offset + *t.content_length;
  t.progress->start_item(t.request->name, total, t.written);
  return true;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  const std::string_view line(data, bytes);
  if (starts_with_ci(line, "http/")) {  // a new response (after a redirect, or 100 Continue)
    t.status_line = std::string(bundlespec::trim_space(line));
    t.content_length.reset();
    t.range_start.reset();
  } else if (starts_with_ci(line, "content-length:")) {
    t.content_length = parse_u64(bundlespec::trim_space(line.substr(15)));
  } else if (starts_with_ci(line, "content-range:")) {
    // "bytes START-END/TOTAL"
    std::string_view value = bundlespec::trim_space(line.substr(14));
    if (starts_with_ci(value, "bytes ")) value.remove_prefix(6);
    t.range_start = parse_u64(value.substr(0, value.find('-')));
  } else if (bundlespec::trim_space(line).empty()) {
    long status = 0;
    curl_easy_getinfo(t.easy.get(), CURLINFO_RESPONSE_CODE, &status);
    // Redirects, informational and error responses carry no body we keep.
    if (status >= 200 && status < 300 && !begin_body(t, status)) return 0;
  }
  return bytes;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  if (t.interrupted->load()) return 0;  // the loop reports the interruption
  Status written = bundlespec::write_all(t.fd.get(), std::string_view(data, bytes), t.partial);
  if (!written.ok()) {
    t.callback_error = std::move(written).error();
    return 0;
  }
  t.pinned.update(data, bytes);
  if (t.sha256) t.sha256->update(data, bytes);
  t.written += bytes;
  t.progress->advance(t.request->name, bytes);
  return bytes;
}

// Opens (or creates) the partial file, locks it against a second kubeferry, and hashes the
// bytes already there so the download can resume after them.
Status open_partial(Transfer& t) {
  t.fd = bundlespec::Fd(::open(t.partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!t.fd.valid()) return bundlespec::errno_error("open", t.partial);
  if (::flock(t.fd.get(), LOCK_EX | LOCK_NB) != 0) {
    return bundlespec::make_error("another process is downloading into " + t.partial);
  }
  std::vector<char> buffer(1 << 20);
  for (;;) {
    const ssize_t n = ::read(t.fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return bundlespec::errno_error("read", t.partial);
    if (n == 0) break;
    t.pinned.update(buffer.data(), static_cast<size_t>(n));
    if (t.sha256) t.sha256->update(buffer.data(), static_cast<size_t>(n));
    t.written += static_cast<uint64_t>(n);
  }
  return bundlespec::ok_status();  // the offset is now at the end: appends go there
}

bool is_retryable(CURLcode code, long http_status) {
  switch (code) {
    case CURLE_HTTP_RETURNED_ERROR:
      return bundlespec::retryable_http_status(http_status);
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

class Downloader {
 public:
  Downloader(const FetchOptions& options, const Cache& cache, Progress& progress)
      : m_options(options),
        m_cache(cache),
        m_progress(progress),
        m_interrupted(options.interrupted ? options.interrupted : &interrupt_flag()) {}

  // Adds one artifact to download; its result goes to results[index].
  void add(size_t index, const FetchRequest& request, std::string url);
  // Runs every transfer to its end. Results and errors are collected in the members.
  Status run();

  std::map<size_t, FetchResult>& results() { return m_results; }
  // Failed artifacts: (request index, error), in the order they failed.
  std::vector<std::pair<size_t, Error>>& errors() { return m_errors; }

 private:
  Status start_attempt(Transfer& t);
  void on_done(Transfer& t, CURLcode code);
  void finish_ok(Transfer& t);
  void fail(Transfer& t, Error error);
  void retry_or_fail(Transfer& t, CURLcode code, long http_status);
  std::string describe(const Transfer& t, CURLcode code, long http_status) const;
  Status stop_all();
  void launch_ready(Clock::time_point now);
  size_t active_count() const;
  bool all_finished() const;
  Clock::time_point next_due() const;

  const FetchOptions& m_options;
  const Cache& m_cache;
  Progress& m_progress;
  const std::atomic<bool>* m_interrupted;
  CurlMulti m_multi{curl_multi_init()};
  std::vector<std::unique_ptr<Transfer>> m_transfers;
  std::map<size_t, FetchResult> m_results;
  std::vector<std::pair<size_t, Error>> m_errors;
};

void Downloader::add(size_t index, const FetchRequest& request, std::string url) {
  auto t = std::make_unique<Transfer>();
  t->index = index;
  t->request = &request;
  t->url = std::move(url);
  t->partial = m_cache.partial_path(request.checksum);
  t->pinned = Hasher(request.checksum.algorithm);
  if (request.checksum.algorithm != DigestAlgorithm::sha256) t->sha256.emplace(DigestAlgorithm::sha256);
  t->progress = &m_progress;
  t->interrupted = m_interrupted;
  m_transfers.push_back(std::move(t));
}

Status Downloader::start_attempt(Transfer& t) {
  if (!t.easy) {
    TRY_CTX(open_partial(t), "artifact '" + t.request->name + "'");
    t.easy.reset(curl_easy_init());
    if (!t.easy) return bundlespec::make_error("curl_easy_init failed");
    CURL* e = t.easy.get();
    curl_easy_setopt(e, CURLOPT_URL, t.url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, k_max_redirects);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "kubeferry/" KUBEFERRY_VERSION);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(m_options.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, m_options.low_speed_limit);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(m_options.low_speed_time.count()));
    if (!m_options.cacert.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, m_options.cacert.c_str());
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    TRY(set_headers(t, t.request->headers));
  }
  if (t.discard_partial) {
    TRY_CTX(restart_file(t), "artifact '" + t.request->name + "'");
    t.discard_partial = false;
  }
  t.attempt_offset = t.written;
  t.status_line.clear();
  t.content_length.reset();
  t.range_start.reset();
  t.callback_error.reset();
  t.errbuf[0] = '\0';
  const std::string range = std::to_string(t.written) + "-";
  curl_easy_setopt(t.easy.get(), CURLOPT_RANGE, t.written > 0 ? range.c_str() : nullptr);
  const CURLMcode added = curl_multi_add_handle(m_multi.get(), t.easy.get());
  if (added != CURLM_OK) {
    return bundlespec::make_error(std::string("curl_multi_add_handle: ") + curl_multi_strerror(added));
  }
  t.state = Transfer::State::active;
  return bundlespec::ok_status();
}

std::string Downloader::describe(const Transfer& t, CURLcode code, long http_status) const {
  if (code == CURLE_HTTP_RETURNED_ERROR && !t.status_line.empty()) {
    // "HTTP/1.1 404 Not Found" -> "HTTP 404 Not Found"
    const size_t space = t.status_line.find(' ');
    return "HTTP " + (space == std::string::npos ? std::to_string(http_status) : t.status_line.substr(space + 1));
  }
  if (code == CURLE_HTTP_RETURNED_ERROR) return "HTTP " + std::to_string(http_status);
  return t.errbuf[0] != '\0' ? std::string(t.errbuf) : std::string(curl_easy_strerror(code));
}

void Downloader::on_done(Transfer& t, CURLcode code) {
  std::ignore = curl_multi_remove_handle(m_multi.get(), t.easy.get());
  t.state = Transfer::State::queued;
  ++t.attempts;
  long http_status = 0;
  curl_easy_getinfo(t.easy.get(), CURLINFO_RESPONSE_CODE, &http_status);
  if (m_interrupted->load()) return;  // run() stops everything and reports it
  if (t.callback_error) {
    // A wrong Content-Range is worth another try from byte 0; a disk error is not.
    if (t.discard_partial && t.attempts < m_options.max_attempts) {
      retry_or_fail(t, CURLE_PARTIAL_FILE, http_status);
      return;
    }
    fail(t, Error(*t.callback_error).context("artifact '" + t.request->name + "': GET " + t.url));
    return;
  }
  if (code == CURLE_OK) {
    finish_ok(t);
    return;
  }
  if (code == CURLE_HTTP_RETURNED_ERROR && http_status == 401 && t.request->refresh_headers &&
      t.header_refreshes < k_max_header_refreshes) {
    // An expired registry token, typically: ask for new headers and go again at once.
    ++t.header_refreshes;
    --t.attempts;
    auto headers = t.request->refresh_headers();
    Status set = headers.ok() ? set_headers(t, *headers) : Status(std::move(headers).error());
    if (!set.ok()) {
      fail(t, std::move(set).error().context("artifact '" + t.request->name + "': GET " + t.url + ": HTTP 401"));
      return;
    }
    m_progress.message(t.request->name + ": HTTP 401; trying again with new credentials");
    t.not_before = Clock::now();
    return;
  }
  if (code == CURLE_HTTP_RETURNED_ERROR && http_status == 416 && t.written > 0 && !t.reset_after_416) {
    // Our partial file is longer than the file on the server: it cannot be a prefix of it.
    t.reset_after_416 = true;
    t.discard_partial = true;
    --t.attempts;
    t.not_before = Clock::now();
    return;
  }
  retry_or_fail(t, code, http_status);
}

void Downloader::retry_or_fail(Transfer& t, CURLcode code, long http_status) {
  const std::string what = describe(t, code, http_status);
  if (!is_retryable(code, http_status) || t.attempts >= m_options.max_attempts) {
    std::string message = "artifact '" + t.request->name + "': GET " + t.url + ": " + what;
    fail(t, bundlespec::make_error(message + bundlespec::gave_up_suffix(t.attempts)));
    return;
  }
  const auto delay = bundlespec::backoff_delay({m_options.initial_backoff, m_options.max_backoff}, t.attempts);
  t.not_before = Clock::now() + delay;
  m_progress.message(
      bundlespec::retry_notice(t.request->name + ": " + what, delay, t.attempts + 1, m_options.max_attempts));
}

void Downloader::fail(Transfer& t, Error error) {
  t.state = Transfer::State::finished;
  t.easy.reset();
  if (t.written == 0) std::ignore = ::unlink(t.partial.c_str());  // nothing worth resuming
  t.fd.reset();
  m_progress.finish_item(t.request->name, ItemOutcome::failed);
  m_errors.emplace_back(t.index, std::move(error));
}

void Downloader::finish_ok(Transfer& t) {
  const FetchRequest& request = *t.request;
  char* effective = nullptr;
  curl_easy_getinfo(t.easy.get(), CURLINFO_EFFECTIVE_URL, &effective);
  CacheEntry entry;
  entry.final_url = effective != nullptr ? effective : t.url;
  entry.size = t.written;
  const std::string actual = t.pinned.finish_hex();
  entry.sha256_hex = t.sha256 ? t.sha256->finish_hex() : actual;
  if (request.checksum.algorithm == DigestAlgorithm::sha512) entry.sha512_hex = actual;
  t.easy.reset();
  if (actual != request.checksum.hex) {
    // The bad bytes never enter the cache, and a later run must not resume from them.
    std::ignore = ::unlink(t.partial.c_str());
    t.written = 0;
    fail(t, bundlespec::verification_error("artifact '" + request.name + "': checksum mismatch for " + t.url +
                                           ": expected " + request.checksum.to_string() + ", got " +
                                           std::string(bundlespec::algorithm_name(request.checksum.algorithm)) + ":" +
                                           actual + "; the downloaded bytes were deleted"));
    return;
  }
  if (::fsync(t.fd.get()) != 0) {
    fail(t, bundlespec::errno_error("fsync", t.partial).context("artifact '" + request.name + "'"));
    return;
  }
  auto inserted = m_cache.insert(t.partial, request.checksum, std::move(entry));
  // Closed after the rename: the lock covers the file until it is in the cache.
  Status closed = t.fd.close(t.partial);
  if (inserted.ok() && !closed.ok()) inserted = std::move(closed).error();
  if (!inserted.ok()) {
    fail(t, std::move(inserted).error().context("artifact '" + request.name + "'"));
    return;
  }
  t.state = Transfer::State::finished;
  const CacheEntry& stored = *inserted;
  m_results[t.index] = FetchResult{request.name,        stored.path,       t.url, stored.final_url, stored.size,
                                   stored.sha256_hex,   stored.sha512_hex,
                                   /*from_cache=*/false};
  m_progress.finish_item(request.name, ItemOutcome::done);
}

Status Downloader::stop_all() {
  size_t stopped = 0;
  for (auto& t : m_transfers) {
    if (t->state == Transfer::State::finished) continue;
    if (t->state == Transfer::State::active) {
      std::ignore = curl_multi_remove_handle(m_multi.get(), t->easy.get());
    }
    t->easy.reset();
    if (t->fd.valid() && t->written == 0) std::ignore = ::unlink(t->partial.c_str());
    t->fd.reset();  // partial bytes stay for the next run
    t->state = Transfer::State::finished;
    m_progress.finish_item(t->request->name, ItemOutcome::failed);
    ++stopped;
  }
  return Error(ErrorCode::interrupted, "interrupted: stopped " + plural(stopped, "download") +
                                           "; partial files are kept in " + m_cache.partial_dir() +
                                           " and the next run resumes them");
}

size_t Downloader::active_count() const {
  return static_cast<size_t>(std::count_if(m_transfers.begin(), m_transfers.end(),
                                           [](const auto& t) { return t->state == Transfer::State::active; }));
}

bool Downloader::all_finished() const {
  return std::all_of(m_transfers.begin(), m_transfers.end(),
                     [](const auto& t) { return t->state == Transfer::State::finished; });
}

Clock::time_point Downloader::next_due() const {
  Clock::time_point due = Clock::time_point::max();
  for (const auto& t : m_transfers) {
    if (t->state == Transfer::State::queued) due = std::min(due, t->not_before);
  }
  return due;
}

void Downloader::launch_ready(Clock::time_point now) {
  size_t active = active_count();
  for (auto& t : m_transfers) {
    if (active >= m_options.jobs) return;
    if (t->state != Transfer::State::queued || t->not_before > now) continue;
    Status started = start_attempt(*t);
    if (!started.ok()) {
      fail(*t, std::move(started).error());
      continue;
    }
    ++active;
  }
}

Status Downloader::run() {
  if (!m_multi) return bundlespec::make_error("curl_multi_init failed");
  while (!all_finished()) {
    if (m_interrupted->load()) return stop_all();
    launch_ready(Clock::now());
    int running = 0;
    const CURLMcode performed = curl_multi_perform(m_multi.get(), &running);
    if (performed != CURLM_OK) {
      return bundlespec::make_error(std::string("curl_multi_perform: ") + curl_multi_strerror(performed));
    }
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(m_multi.get(), &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      const CURLcode code = msg->data.result;
      on_done(*t, code);
    }
    if (m_interrupted->load()) return stop_all();
    if (all_finished()) break;
    // Sleep until a socket is ready, a retry is due, or the next look at the stop flag.
    auto wait = k_poll_interval;
    const auto due = next_due();
    if (active_count() == 0 && due != Clock::time_point::max()) {
      wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now()),
                        std::chrono::milliseconds(0), k_poll_interval);
    }
    std::ignore = curl_multi_poll(m_multi.get(), nullptr, 0, static_cast<int>(wait.count()), nullptr);
  }
  return bundlespec::ok_status();
}

Status validate(const std::vector<FetchRequest>& requests, const FetchOptions& options) {
  if (options.jobs < 1) return bundlespec::usage_error("--jobs must be at least 1");
  if (options.max_attempts < 1) return bundlespec::usage_error("--retries must allow 1 attempt");
  std::map<std::string_view, int> names;
  for (const FetchRequest& r : requests) {
    if (++names[r.name] == 2) {
      return bundlespec::usage_error("artifact name '" + r.name + "' is used twice");
    }
    if (r.url.empty()) return bundlespec::usage_error("artifact '" + r.name + "' has no URL");
    if (!bundlespec::is_lower_hex(r.checksum.hex, bundlespec::hex_length(r.checksum.algorithm))) {
      return bundlespec::usage_error("artifact '" + r.name + "' has no valid checksum");
    }
  }
  return bundlespec::ok_status();
}

// One error for all failed artifacts, listed in request order (not completion order, so the
// message does not depend on timing).
Error combine_errors(std::vector<std::pair<size_t, Error>>& errors, size_t total) {
  std::sort(errors.begin(), errors.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  if (errors.size() == 1) return std::move(errors.front().second);
  const bool all_verification = std::all_of(errors.begin(), errors.end(),
                                            [](const auto& e) { return e.second.code() == ErrorCode::verification; });
  std::string message = std::to_string(errors.size()) + " of " + plural(total, "download") + " failed:";
  for (const auto& e : errors) message += "\n  " + e.second.message();
  return Error(all_verification ? ErrorCode::verification : ErrorCode::failure, message);
}

FetchResult from_entry(const FetchRequest& request, std::string url, const CacheEntry& entry) {
  return FetchResult{request.name, entry.path,       std::move(url),   entry.final_url,
                     entry.size,   entry.sha256_hex, entry.sha512_hex, /*from_cache=*/true};
}

}  // namespace

Result<MirrorRule> parse_mirror_rule(std::string_view text) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == text.size()) {
    return bundlespec::usage_error("--mirror '" + std::string(text) + "' must look like FROM=TO (URL prefixes)");
  }
  return MirrorRule{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

std::string apply_mirrors(const std::string& url, const std::vector<MirrorRule>& rules) {
  const MirrorRule* best = nullptr;
  for (const MirrorRule& rule : rules) {
    if (url.compare(0, rule.from.size(), rule.from) == 0 && (best == nullptr || rule.from.size() > best->from.size())) {
      best = &rule;
    }
  }
  return best == nullptr ? url : best->to + url.substr(best->from.size());
}

Result<std::vector<FetchResult>> fetch_all(const std::vector<FetchRequest>& requests, const FetchOptions& options,
                                           Progress& progress) {
  TRY(validate(requests, options));
  TRY(init_curl_once());
  std::string root = options.cache_dir;
  if (root.empty()) {
    TRY_ASSIGN(root, default_cache_dir());
  }
  TRY_ASSIGN(const Cache cache, Cache::open(root));
  progress.plan(requests.size());

  // 1. Cache hits; 2. one transfer per distinct checksum; 3. copy results to duplicates.
  std::vector<std::optional<FetchResult>> results(requests.size());
  std::map<std::string, size_t> first_with_checksum;
  std::vector<size_t> duplicates;
  Downloader downloader(options, cache, progress);
  for (size_t i = 0; i < requests.size(); ++i) {
    const FetchRequest& request = requests[i];
    std::string url = apply_mirrors(request.url, options.mirrors);
    if (!first_with_checksum.emplace(request.checksum.to_string(), i).second) {
      duplicates.push_back(i);
      continue;
    }
    TRY_ASSIGN(const auto hit, cache.lookup(request.checksum, options.cache_check));
    if (hit) {
      results[i] = from_entry(request, std::move(url), *hit);
      progress.finish_item(request.name, ItemOutcome::cached);
      continue;
    }
    downloader.add(i, request, std::move(url));
  }
  const Status ran = downloader.run();
  if (!ran.ok()) return ran.error();
  if (!downloader.errors().empty()) return combine_errors(downloader.errors(), requests.size());
  for (auto& [index, result] : downloader.results()) results[index] = std::move(result);
  for (size_t i : duplicates) {
    const FetchRequest& request = requests[i];
    FetchResult copy = *results[first_with_checksum.at(request.checksum.to_string())];
    copy.name = request.name;
    copy.url = apply_mirrors(request.url, options.mirrors);
    progress.finish_item(request.name, copy.from_cache ? ItemOutcome::cached : ItemOutcome::done);
    results[i] = std::move(copy);
  }
  std::vector<FetchResult> out;
  out.reserve(results.size());
  for (auto& result : results) out.push_back(std::move(*result));
  return out;
}

}  // namespace builder
