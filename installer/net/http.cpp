#include "net/http.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "bundlespec/digest.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/handles.hpp"
#include "bundlespec/interrupt.hpp"
#include "bundlespec/openssl_error.hpp"
#include "net/resolve.hpp"

namespace installer {

namespace bs = bundlespec;
using bs::Result;
using bs::Status;

namespace {

constexpr size_t k_max_head = 64 << 10;
constexpr size_t k_chunk = 256 << 10;
constexpr int k_max_redirects = 5;

std::string seconds(std::chrono::milliseconds ms) {
  return std::to_string(ms.count() / 1000) +
         (ms.count() % 1000 == 0 ? "" : "." + std::to_string(ms.count() % 1000 / 100)) + " s";
}

// An errno value from connect/send/recv that another try on a new connection may cure.
bool transient_errno(int error) {
  return error == ECONNREFUSED || error == ECONNRESET || error == ECONNABORTED || error == EPIPE || error == ETIMEDOUT;
}

// One TCP connection (with TLS for https) to one server.
struct Connection {
  std::string key;     // scheme://authority
  std::string server;  // HOST:PORT for messages
  bs::Fd fd;
  bs::Handle<SSL> ssl;
  std::string buffered;  // bytes read beyond what was consumed
  std::chrono::milliseconds io_timeout{0};
  // The last failure on this connection is worth another try (see HttpClient::last_failure_transient).
  bool transient = false;

  Status write_all(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = 0;
      if (ssl) {
        ERR_clear_error();
        const int w = SSL_write(ssl.get(), data.data(), static_cast<int>(std::min<size_t>(data.size(), 1 << 30)));
        if (w <= 0) return io_error("send to", SSL_get_error(ssl.get(), w));
        n = w;
      } else {
        n = ::send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR && bs::interrupt_requested()) return bs::interrupted_error();
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return io_error("send to", 0);
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return bs::ok_status();
  }

  // Reads at least one byte into `buffered`; 0 at the end of the stream.
  Result<size_t> fill() {
    char chunk[65536];
    for (;;) {
      if (ssl) {
        ERR_clear_error();
        const int r = SSL_read(ssl.get(), chunk, sizeof chunk);
        if (r > 0) {
          buffered.append(chunk, static_cast<size_t>(r));
          return static_cast<size_t>(r);
        }
        const int error = SSL_get_error(ssl.get(), r);
        if (error == SSL_ERROR_ZERO_RETURN) return size_t{0};
        // A server closing without close_notify: treat as the end of the stream.
        if (error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0) return size_t{0};
        if (error == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
          ERR_clear_error();
          return size_t{0};
        }
        return io_error("receive from", error);
      }
      const ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR && bs::interrupt_requested()) return bs::interrupted_error();
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return io_error("receive from", 0);
      buffered.append(chunk, static_cast<size_t>(n));
      return static_cast<size_t>(n);
    }
  }

  bs::Error io_error(const std::string& what, int ssl_error) {
    const int saved = errno;
    if (bs::interrupt_requested()) return bs::interrupted_error();
    if (ssl && ssl_error == SSL_ERROR_SSL) return bs::make_error(what + " " + server + ": " + bs::openssl_error_text());
    // Timeouts, resets and closes are the network's; other errno values are not retried.
    transient = saved == 0 || saved == EAGAIN || saved == EWOULDBLOCK || transient_errno(saved);
    if (saved == EAGAIN || saved == EWOULDBLOCK) {
      return bs::make_error(what + " " + server + ": timed out after " + seconds(io_timeout));
    }
    if (saved == 0) return bs::make_error(what + " " + server + ": connection closed");
    return bs::make_error(what + " " + server + ": " + std::strerror(saved));
  }

  // A response cut short: the server or something between closed the connection.
  bs::Error closed(const std::string& where) {
    transient = true;
    return bs::make_error("receive from " + server + ": connection closed " + where);
  }
};

bool parse_address(const std::string& text, uint16_t port, sockaddr_storage& out, socklen_t& length) {
  std::memset(&out, 0, sizeof out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (::inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (::inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

// Connects to one address within `timeout`; 0 or an errno value.
int connect_address(const sockaddr_storage& address, socklen_t length, std::chrono::milliseconds timeout, bs::Fd& fd) {
  fd = bs::Fd(::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return errno;
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    if (errno != EINPROGRESS) return errno;
    pollfd p{fd.get(), POLLOUT, 0};
    int ready = 0;
    while ((ready = ::poll(&p, 1, static_cast<int>(timeout.count()))) < 0 && errno == EINTR) {
      if (bs::interrupt_requested()) return EINTR;
    }
    if (ready == 0) return ETIMEDOUT;
    int error = 0;
    socklen_t size = sizeof error;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &size) != 0) return errno;
    if (error != 0) return error;
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  return 0;
}

}  // namespace

struct HttpClient::Impl {
  HttpOptions options;
  bs::Handle<SSL_CTX> ctx;
  std::string ca_file;
  std::unique_ptr<Connection> idle;  // the last connection, kept alive for the next request
  bool last_transient = false;       // see HttpClient::last_failure_transient

  Result<SSL_CTX*> tls_context();
  Result<std::unique_ptr<Connection>> connect(const Url& url);
  Status handshake(Connection& c, const Url& url);
  Result<std::unique_ptr<Connection>> take_connection(const Url& url, bool& reused);
  Status send_body(Connection& c, const HttpRequest& request);
  Result<HttpResponse> read_response(Connection& c, const HttpRequest& request, bool& keep_alive, bool& got_bytes);
  Result<HttpResponse> send_once(const HttpRequest& request);
};

Result<SSL_CTX*> HttpClient::Impl::tls_context() {
  if (ctx) return ctx.get();
  bs::Handle<SSL_CTX> made(SSL_CTX_new(TLS_client_method()));
  if (!made) return bs::make_error("SSL_CTX_new: " + bs::openssl_error_text());
  SSL_CTX_set_min_proto_version(made.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(made.get(), SSL_VERIFY_PEER, nullptr);
  if (!options.cacert.empty()) {
    ca_file = options.cacert;
    if (SSL_CTX_load_verify_locations(made.get(), ca_file.c_str(), nullptr) != 1) {
      return bs::usage_error("cannot read CA certificates from --cacert " + ca_file + ": " + bs::openssl_error_text());
    }
  } else {
    std::string tried;
    for (const char* file : k_system_ca_files) {
      tried += (tried.empty() ? "" : ", ") + std::string(file);
      if (::access(file, R_OK) == 0) {
        ca_file = file;
        break;
      }
    }
    if (ca_file.empty()) {
      return bs::usage_error("no system CA bundle found (tried " + tried + "); pass --cacert FILE");
    }
    if (SSL_CTX_load_verify_locations(made.get(), ca_file.c_str(), nullptr) != 1) {
      return bs::make_error("cannot read the system CA bundle " + ca_file + ": " + bs::openssl_error_text());
    }
  }
  ctx = std::move(made);
  return ctx.get();
}

Status HttpClient::Impl::handshake(Connection& c, const Url& url) {
  TRY_ASSIGN(SSL_CTX * context, tls_context());
  c.ssl.reset(SSL_new(context));
  if (!c.ssl) return bs::make_error("SSL_new: " + bs::openssl_error_text());
  X509_VERIFY_PARAM* param = SSL_get0_param(c.ssl.get());
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const bool ip = is_ip_address(url.host);
  const int set = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str())
                     : X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), 0);
  if (set != 1)
    return bs::make_error("cannot check the certificate for '" + url.host + "': " + bs::openssl_error_text());
  if (!ip) SSL_set_tlsext_host_name(c.ssl.get(), url.host.c_str());
  SSL_set_fd(c.ssl.get(), c.fd.get());
  ERR_clear_error();
  if (SSL_connect(c.ssl.get()) == 1) return bs::ok_status();
  const long verify = SSL_get_verify_result(c.ssl.get());
  if (verify != X509_V_OK) {
    ERR_clear_error();
    const std::string why = X509_verify_cert_error_string(verify);
    if (!options.cacert.empty()) {
      return bs::make_error("TLS certificate of " + c.server + " is not trusted by --cacert " + options.cacert + ": " +
                            why);
    }
    return bs::make_error("TLS certificate of " + c.server + " is not trusted (" + why + ", checked against " +
                          ca_file + "); pass --cacert FILE with the CA that signed the registry's certificate");
  }
  const int saved = errno;
  // A load balancer dropping the connection mid-handshake is worth another try; a TLS alert
  // or a plain-HTTP port ("wrong version number") is not.
  last_transient = ERR_peek_last_error() == 0 && (saved == 0 || transient_errno(saved));
  const std::string reason =
      ERR_peek_last_error() != 0 ? bs::openssl_error_text() : (saved != 0 ? std::strerror(saved) : "connection closed");
  return bs::make_error("TLS handshake with " + c.server + " failed: " + reason +
                        " (if the registry speaks plain HTTP, pass --plain-http)");
}

Result<std::unique_ptr<Connection>> HttpClient::Impl::connect(const Url& url) {
  auto c = std::make_unique<Connection>();
  c->key = url.scheme + "://" + url.authority();
  c->server = url.authority();
  c->io_timeout = options.io_timeout;
  TRY_ASSIGN(const std::vector<std::string> addresses, resolve_host(url.host, options.hosts_file));
  int error = 0;
  for (const std::string& address : addresses) {
    sockaddr_storage storage{};
    socklen_t length = 0;
    if (!parse_address(address, url.port, storage, length)) continue;
    error = connect_address(storage, length, options.connect_timeout, c->fd);
    if (error == 0) break;
  }
  if (error != 0 || !c->fd.valid()) {
    if (bs::interrupt_requested()) return bs::interrupted_error();
    last_transient = transient_errno(error);
    const std::string why =
        error == ETIMEDOUT ? "timed out after " + seconds(options.connect_timeout) : std::string(std::strerror(error));
    return bs::make_error("cannot connect to " + c->server + ": " + why);
  }
  const timeval tv{static_cast<time_t>(options.io_timeout.count() / 1000),
                   static_cast<suseconds_t>(options.io_timeout.count() % 1000 * 1000)};
  ::setsockopt(c->fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(c->fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const int one = 1;
  ::setsockopt(c->fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (url.scheme == "https") TRY(handshake(*c, url));
  return c;
}

Result<std::unique_ptr<Connection>> HttpClient::Impl::take_connection(const Url& url, bool& reused) {
  reused = idle && idle->key == url.scheme + "://" + url.authority();
  if (reused) return std::move(idle);
  idle.reset();
  return connect(url);
}

Status HttpClient::Impl::send_body(Connection& c, const HttpRequest& request) {
  if (request.file == nullptr) return c.write_all(request.body);
  const FileBody& body = *request.file;
  bs::Fd fd(::open(body.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return bs::errno_error("open", body.path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return bs::errno_error("stat", body.path);
  const auto corrupted = [&](const std::string& what) {
    return bs::verification_error(body.path + " is corrupted: " + what + "; extract the bundle again");
  };
  if (static_cast<uint64_t>(st.st_size) != body.size) {
    return corrupted(std::to_string(st.st_size) + " bytes, expected " + std::to_string(body.size));
  }
  bs::Hasher hasher(bs::DigestAlgorithm::sha256);
  std::vector<char> buffer(k_chunk);
  uint64_t done = 0;
  while (done < body.size) {
    if (bs::interrupt_requested()) return bs::interrupted_error();
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return bs::errno_error("read", body.path);
    if (n == 0) return corrupted("it ended after " + std::to_string(done) + " bytes");
    done += static_cast<uint64_t>(n);
    if (!body.digest.empty()) {
      hasher.update(buffer.data(), static_cast<size_t>(n));
      // The last chunk goes out only when the digest matches: a bad file never completes.
      if (done >= body.size) {
        const std::string actual = "sha256:" + hasher.finish_hex();
        if (actual != body.digest) return corrupted("its SHA-256 is " + actual + ", expected " + body.digest);
      }
    }
    TRY(c.write_all(std::string_view(buffer.data(), static_cast<size_t>(n))));
    if (body.on_sent) body.on_sent(static_cast<uint64_t>(n));
  }
  return bs::ok_status();
}

Result<HttpResponse> HttpClient::Impl::read_response(Connection& c, const HttpRequest& request, bool& keep_alive,
                                                     bool& got_bytes) {
  HttpResponse response;
  response.url = request.url;
  // The head, skipping interim 1xx responses.
  for (;;) {
    size_t end = std::string::npos;
    while ((end = c.buffered.find("\r\n\r\n")) == std::string::npos) {
      if (c.buffered.size() > k_max_head) return bs::make_error("response head from " + c.server + " is too long");
      TRY_ASSIGN(const size_t n, c.fill());
      if (n == 0) return c.closed("before a response");
      got_bytes = true;
    }
    TRY_ASSIGN(response.head, parse_response_head(std::string_view(c.buffered).substr(0, end + 4)));
    c.buffered.erase(0, end + 4);
    if (response.head.status >= 200 || response.head.status == 101) break;
  }
  TRY_ASSIGN(const Framing framing, body_framing(request.method, response.head));
  const auto too_long = [&] {
    return bs::make_error(request.method + " " + request.url.str() + ": response body longer than " +
                          std::to_string(request.max_body) + " bytes");
  };
  keep_alive = framing.kind != BodyFraming::until_close && response.head.header("connection") != "close";
  if (framing.kind == BodyFraming::length) {
    if (framing.length > request.max_body) return too_long();
    while (c.buffered.size() < framing.length) {
      TRY_ASSIGN(const size_t n, c.fill());
      if (n == 0) return c.closed("inside the response body");
    }
    response.body = c.buffered.substr(0, framing.length);
    c.buffered.erase(0, framing.length);
  } else if (framing.kind == BodyFraming::chunked) {
    ChunkedDecoder decoder;
    for (;;) {
      TRY_ASSIGN(const size_t used, decoder.feed(c.buffered, response.body));
      c.buffered.erase(0, used);
      if (response.body.size() > request.max_body) return too_long();
      if (decoder.done()) break;
      TRY_ASSIGN(const size_t n, c.fill());
      if (n == 0) return c.closed("inside a chunked body");
    }
  } else if (framing.kind == BodyFraming::until_close) {
    for (;;) {
      if (c.buffered.size() > request.max_body) return too_long();
      TRY_ASSIGN(const size_t n, c.fill());
      if (n == 0) break;
    }
    response.body = std::move(c.buffered);
    c.buffered.clear();
  }
  return response;
}

Result<HttpResponse> HttpClient::Impl::send_once(const HttpRequest& request) {
  std::string head = request.method + " " + request.url.target + " HTTP/1.1\r\nHost: " + request.url.authority() +
                     "\r\nUser-Agent: kubeferry-install/" KUBEFERRY_VERSION "\r\n";
  for (const auto& [name, value] : request.headers) head += name + ": " + value + "\r\n";
  const uint64_t length = request.file != nullptr ? request.file->size : request.body.size();
  if (length > 0 || request.method == "PUT" || request.method == "POST" || request.method == "PATCH") {
    head += "Content-Length: " + std::to_string(length) + "\r\n";
  }
  head += "\r\n";
  // A kept-alive connection may have been closed by the server meanwhile: if nothing at all
  // came back on it, the request is sent once more on a new connection.
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    TRY_ASSIGN(std::unique_ptr<Connection> c, take_connection(request.url, reused));
    bool keep_alive = false;
    bool got_bytes = false;
    Status sent = c->write_all(head);
    if (sent.ok()) sent = send_body(*c, request);
    if (!sent.ok()) {
      if (sent.error().code() != bs::ErrorCode::failure) return std::move(sent).error();
      // The server may have answered before reading the whole body (a 401 for an expired
      // token, a 413) and closed the connection: that answer is the one to act on.
      const bool send_transient = c->transient;
      auto early = read_response(*c, request, keep_alive, got_bytes);
      if (early.ok()) return early;
      if (reused && attempt == 0 && !got_bytes) continue;
      last_transient = send_transient;
      return std::move(sent).error();
    }
    auto response = read_response(*c, request, keep_alive, got_bytes);
    if (!response.ok() && reused && attempt == 0 && !got_bytes) continue;
    if (!response.ok()) last_transient = c->transient;
    if (response.ok() && keep_alive) idle = std::move(c);
    return response;
  }
}

HttpClient::HttpClient(HttpOptions options) : m_impl(std::make_unique<Impl>()) {
  m_impl->options = std::move(options);
}
HttpClient::~HttpClient() = default;

bool HttpClient::last_failure_transient() const {
  return m_impl->last_transient;
}

Result<HttpResponse> HttpClient::send(const HttpRequest& request) {
  m_impl->last_transient = false;
  HttpRequest current = request;
  for (int redirects = 0;; ++redirects) {
    TRY_ASSIGN(HttpResponse response, m_impl->send_once(current));
    const int status = response.head.status;
    const bool safe = current.method == "GET" || current.method == "HEAD";
    const bool redirect = status == 307 || status == 308 || (safe && (status == 301 || status == 302 || status == 303));
    const std::string location = response.head.header("location");
    if (!redirect || location.empty()) return response;
    if (redirects >= k_max_redirects) {
      return bs::make_error(current.method + " " + request.url.str() + ": more than " +
                            std::to_string(k_max_redirects) + " redirects");
    }
    TRY_ASSIGN(const Url next, resolve_location(current.url, location));
    if (next.scheme + "://" + next.authority() != current.url.scheme + "://" + current.url.authority()) {
      std::erase_if(current.headers, [](const auto& h) { return strcasecmp(h.first.c_str(), "authorization") == 0; });
    }
    current.url = next;
  }
}

}  // namespace installer
