// A small HTTP/1.1 client on sockets and OpenSSL, for talking to a registry from the static
// installer (which never links libcurl).
//
// What it does: http and https (TLS 1.2+, the peer verified against --cacert or the system CA
// bundle, the certificate checked for the host name or IP address), keep-alive (one idle
// connection per server, reused; a reused connection that the server closed is replaced
// once), Content-Length, chunked and read-until-close bodies, request bodies from memory or
// streamed from a file (memory does not grow with the file), connect and read/write timeouts,
// and redirects (301/302/303/307/308 for GET and HEAD, 307/308 for any method; Authorization
// is dropped when a redirect leaves the server). Names resolve without DNS (resolve.hpp).
// The system CA bundle: a static binary cannot use OpenSSL's compiled-in directory (it names
// the build machine's layout), so the first existing file of k_system_ca_files is used.
// Errors name the operation, the server (HOST:PORT) and the library's text, e.g.
//   "cannot connect to 127.0.0.1:5000: Connection refused".
// The client sends each request once (besides the stale kept-alive case above); callers
// decide about retries, asking last_failure_transient() which failures are worth one.
// Thread-safety: an HttpClient is used by one thread at a time. Ignore SIGPIPE before use.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bundlespec/result.hpp"
#include "net/http_message.hpp"
#include "net/url.hpp"

namespace installer {

inline constexpr const char* k_system_ca_files[] = {"/etc/ssl/certs/ca-certificates.crt",
                                                    "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem"};

struct HttpOptions {
  std::string cacert;  // PEM file of trusted CAs; "" = the first of k_system_ca_files that exists
  std::chrono::milliseconds connect_timeout{30000};
  std::chrono::milliseconds io_timeout{120000};  // for each read or write on the socket
  std::string hosts_file = "/etc/hosts";
};

// A request body streamed from a file. When `digest` ("sha256:<hex>") is set the bytes are
// hashed as they go, and the last chunk is sent only when the hash matches: a corrupted file
// never completes a request (the request fails with a verification error naming the file).
struct FileBody {
  std::string path;
  uint64_t size = 0;  // the file must have exactly this size
  std::string digest;
  std::function<void(uint64_t)> on_sent;  // called with each chunk's size (may be empty)
};

struct HttpRequest {
  std::string method = "GET";
  Url url;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Host, Content-Length, Connection
  std::string body;                                          // sent when `file` is null
  const FileBody* file = nullptr;
  size_t max_body = 4 << 20;  // a longer response body fails the request
};

struct HttpResponse {
  ResponseHead head;
  std::string body;
  Url url;  // the URL that answered (after redirects)
  // How many times the request was sent: 1 from HttpClient (which never retries); callers
  // that retry (push.cpp) set it on the answer they give up with.
  int attempts = 1;
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends the request and reads the whole response (following redirects, see above). Any
  // HTTP status is a success here; failures are transport, TLS and protocol errors.
  bundlespec::Result<HttpResponse> send(const HttpRequest& request);

  // After send() failed: true when another try may succeed, because the network broke rather
  // than something being wrong: the connection was refused, reset or closed before a complete
  // answer, or connecting, a read or a write timed out. False for name resolution, TLS
  // (certificates, alerts, a plain-HTTP port), malformed answers, file and verification
  // errors, and interruption. Unspecified after a successful send().
  bool last_failure_transient() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace installer
