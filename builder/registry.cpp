#include "registry.hpp"

#include <curl/curl.h>

#include <algorithm>

#include "bundlespec/backoff.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/json.hpp"
#include "bundlespec/registry_error.hpp"
#include "bundlespec/registry_protocol.hpp"
#include "bundlespec/text.hpp"
#include "curl_handles.hpp"

namespace builder {

namespace bs = bundlespec;
using bs::Result;
using bs::Status;

namespace {

constexpr size_t k_max_manifest = 4 << 20;
constexpr size_t k_max_token = 1 << 20;
constexpr std::string_view k_accept =
    "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

struct HttpResponse {
  long status = 0;
  std::string status_line;
  std::map<std::string, std::string> headers;  // lower-case names, last value wins
  std::string body;
  bool too_large = false;
  size_t max_body = 0;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto& r = *static_cast<HttpResponse*>(user);
  const std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    r.status_line = std::string(bs::trim_space(line));
    r.headers.clear();
  } else if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    r.headers[bs::ascii_lower(bs::trim_space(line.substr(0, colon)))] =
        std::string(bs::trim_space(line.substr(colon + 1)));
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto& r = *static_cast<HttpResponse*>(user);
  if (r.body.size() + size * count > r.max_body) {
    r.too_large = true;
    return 0;
  }
  r.body.append(data, size * count);
  return size * count;
}

bool retryable(CURLcode code, long status) {
  if (code == CURLE_OK) return bs::retryable_http_status(status);
  return code == CURLE_COULDNT_CONNECT || code == CURLE_OPERATION_TIMEDOUT || code == CURLE_PARTIAL_FILE ||
         code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR || code == CURLE_GOT_NOTHING ||
         code == CURLE_SSL_CONNECT_ERROR;
}

// "HTTP 404 Not Found" from "HTTP/1.1 404 Not Found".
std::string describe_status(const HttpResponse& r) {
  const size_t space = r.status_line.find(' ');
  // The reason phrase is the server's: escaped (it ends with the CR LF of the status line).
  return "HTTP " + (space == std::string::npos ? std::to_string(r.status)
                                               : bs::printable(bs::trim_space(r.status_line.substr(space + 1)), 64));
}

}  // namespace

std::string ImageName::full() const {
  return registry + "/" + repository + ":" + tag;
}

Result<ImageName> parse_image_name(std::string_view reference) {
  const std::string text(reference);
  auto bad = [&](const std::string& why) { return bs::usage_error("image reference '" + text + "': " + why); };
  if (text.empty()) return bad("empty");
  if (text.find_first_of(" \t\r\n@") != std::string::npos) return bad("must be NAME:TAG without spaces or a digest");
  const size_t slash = text.rfind('/');
  const size_t colon = text.find(':', slash == std::string::npos ? 0 : slash + 1);
  if (colon == std::string::npos || colon + 1 == text.size()) return bad("has no tag");
  ImageName name;
  name.tag = text.substr(colon + 1);
  std::string path = text.substr(0, colon);
  const size_t first = path.find('/');
  const std::string head = path.substr(0, first);
  if (first != std::string::npos && (head.find_first_of(".:") != std::string::npos || head == "localhost")) {
    name.registry = head;
    name.repository = path.substr(first + 1);
  } else {
    name.registry = "docker.io";
    name.repository = first == std::string::npos ? "library/" + path : path;
  }
  if (name.repository.empty() || bs::ascii_lower(name.repository) != name.repository) {
    return bad("repository '" + name.repository + "' must be non-empty lower case");
  }
  return name;
}

Result<std::pair<std::string, Credentials>> parse_creds_flag(std::string_view text) {
  const size_t eq = text.find('=');
  const size_t colon = eq == std::string_view::npos ? eq : text.find(':', eq);
  if (eq == 0 || eq == std::string_view::npos || colon == std::string_view::npos || colon == eq + 1) {
    return bs::usage_error("--creds must look like REGISTRY=USER:PASSWORD");
  }
  return std::pair{std::string(text.substr(0, eq)),
                   Credentials{std::string(text.substr(eq + 1, colon - eq - 1)), std::string(text.substr(colon + 1))}};
}

struct RegistryClient::Impl {
  RegistryAuth auth;
  CurlEasy easy{curl_easy_init()};
  char errbuf[CURL_ERROR_SIZE] = {};
  std::map<std::string, std::string> authorization;  // "REGISTRY/REPOSITORY" -> header line
  std::map<std::string, std::string> challenges;     // "REGISTRY/REPOSITORY" -> WWW-Authenticate

  // One GET; transport failures come back as the CURLcode.
  CURLcode get(const std::string& url, const std::vector<std::string>& headers, size_t max_body, HttpResponse& r);
  Result<HttpResponse> get_with_retries(const std::string& url, const std::vector<std::string>& headers,
                                        size_t max_body);
  Status authenticate(const ImageName& name, const std::string& header);
  Result<std::string> fetch_token(const ImageName& name, const AuthChallenge& challenge);
  const Credentials* credentials(const std::string& registry) const {
    const auto it = auth.credentials.find(registry);
    return it == auth.credentials.end() ? nullptr : &it->second;
  }
};

CURLcode RegistryClient::Impl::get(const std::string& url, const std::vector<std::string>& headers, size_t max_body,
                                   HttpResponse& r) {
  r = HttpResponse{};
  r.max_body = max_body;
  CURL* e = easy.get();
  curl_easy_reset(e);
  CurlSlist list;
  for (const std::string& h : headers) {
    if (!append(list, h)) return CURLE_OUT_OF_MEMORY;
  }
  errbuf[0] = '\0';
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_USERAGENT, "kubeferry/" KUBEFERRY_VERSION);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(auth.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
  if (!auth.cacert.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, auth.cacert.c_str());
  if (list) curl_easy_setopt(e, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &r);
  const CURLcode code = curl_easy_perform(e);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.status);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, nullptr);
  return code;
}

Result<HttpResponse> RegistryClient::Impl::get_with_retries(const std::string& url,
                                                            const std::vector<std::string>& headers, size_t max_body) {
  if (!easy) return bs::make_error("curl_easy_init failed");
  const bs::Backoff backoff{auth.initial_backoff, auth.max_backoff};
  for (int attempt = 1;; ++attempt) {
    HttpResponse r;
    const CURLcode code = get(url, headers, max_body, r);
    if (r.too_large)
      return bs::make_error("GET " + bs::printable(url, bs::k_printable_path_max) + ": response larger than " +
                            std::to_string(max_body) + " bytes");
    if (!retryable(code, r.status) || attempt >= auth.max_attempts) {
      if (code == CURLE_OK) return r;
      std::string what = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(code));
      return bs::make_error("GET " + bs::printable(url, bs::k_printable_path_max) + ": " + what +
                            bs::gave_up_suffix(attempt));
    }
    TRY(bs::sleep_unless_interrupted(bs::backoff_delay(backoff, attempt)));
  }
}

Result<std::string> RegistryClient::Impl::fetch_token(const ImageName& name, const AuthChallenge& challenge) {
  const auto realm = challenge.params.find("realm");
  if (realm == challenge.params.end() ||
      (realm->second.rfind("https://", 0) != 0 && realm->second.rfind("http://", 0) != 0)) {
    return bs::make_error("registry " + name.registry + " asks for a bearer token without an http(s) realm");
  }
  std::string url = realm->second + (realm->second.find('?') == std::string::npos ? "?" : "&");
  auto escape = [&](const std::string& text) {
    const CurlString escaped(curl_easy_escape(easy.get(), text.c_str(), static_cast<int>(text.size())));
    return std::string(escaped ? escaped.get() : "");
  };
  const auto service = challenge.params.find("service");
  if (service != challenge.params.end()) url += "service=" + escape(service->second) + "&";
  const auto scope = challenge.params.find("scope");
  url += "scope=" + escape(scope != challenge.params.end() ? scope->second : "repository:" + name.repository + ":pull");
  std::vector<std::string> headers;
  const Credentials* creds = credentials(name.registry);
  if (creds != nullptr)
    headers.push_back("Authorization: " + bs::basic_authorization(creds->username, creds->password));
  TRY_ASSIGN(const HttpResponse r, get_with_retries(url, headers, k_max_token));
  if (r.status != 200) {
    const std::string who = creds ? "as user '" + creds->username + "'" : "anonymously";
    return bs::make_error("token server " + bs::printable(realm->second) + " refused a token for " + name.repository +
                          " " + who + ": " + describe_status(r) + "; pass --creds " + name.registry +
                          "=USER:PASSWORD or add " + name.registry + " to the auths of the docker config.json");
  }
  std::string token = bs::token_from_response(r.body);
  if (token.empty())
    return bs::make_error("token server " + bs::printable(realm->second) + " answered without a token");
  return token;
}

Status RegistryClient::Impl::authenticate(const ImageName& name, const std::string& header) {
  TRY_ASSIGN(const AuthChallenge challenge, parse_auth_challenge(header));
  const std::string key = name.registry + "/" + name.repository;
  challenges[key] = header;
  if (challenge.scheme == "bearer") {
    TRY_ASSIGN(const std::string token, fetch_token(name, challenge));
    authorization[key] = "Authorization: Bearer " + token;
    return bs::ok_status();
  }
  if (challenge.scheme == "basic") {
    const Credentials* creds = credentials(name.registry);
    if (creds == nullptr) {
      return bs::make_error("registry " + name.registry + " wants a user name and password (" + bs::printable(header) +
                            "); pass --creds " + name.registry + "=USER:PASSWORD or add " + name.registry +
                            " to the auths of the docker config.json");
    }
    authorization[key] = "Authorization: " + bs::basic_authorization(creds->username, creds->password);
    return bs::ok_status();
  }
  return bs::make_error("registry " + name.registry + " asks for unsupported authentication: " + bs::printable(header));
}

RegistryClient::RegistryClient(RegistryAuth auth) : m_impl(std::make_unique<Impl>()) {
  m_impl->auth = std::move(auth);
}
RegistryClient::~RegistryClient() = default;

std::string RegistryClient::base_url(const std::string& registry) const {
  const auto& plain = m_impl->auth.plain_http;
  const bool http = std::find(plain.begin(), plain.end(), registry) != plain.end();
  return (http ? "http://" : "https://") + (registry == "docker.io" ? std::string("registry-1.docker.io") : registry);
}

Result<ManifestResponse> RegistryClient::get_manifest(const ImageName& name, const std::string& reference) {
  const std::string url = base_url(name.registry) + "/v2/" + name.repository + "/manifests/" + reference;
  const std::string key = name.registry + "/" + name.repository;
  bool authenticated = false;
  for (;;) {
    std::vector<std::string> headers{std::string(k_accept)};
    if (const auto it = m_impl->authorization.find(key); it != m_impl->authorization.end()) {
      headers.push_back(it->second);
    }
    TRY_ASSIGN(const HttpResponse r, m_impl->get_with_retries(url, headers, k_max_manifest));
    const auto challenge = r.headers.find("www-authenticate");
    if (r.status == 401 && !authenticated && challenge != r.headers.end()) {
      TRY_CTX(m_impl->authenticate(name, challenge->second), "GET " + url);
      authenticated = true;
      continue;
    }
    if (r.status != 200) {
      std::string message = "GET " + bs::printable(url, bs::k_printable_path_max) + ": " + describe_status(r) +
                            bs::registry_error_text(r.body);
      if (r.status == 401 || r.status == 403) {
        const Credentials* creds = m_impl->credentials(name.registry);
        message +=
            creds ? "; the credentials of user '" + creds->username + "' were not accepted"
                  : "; no credentials for " + name.registry + " (pass --creds " + name.registry + "=USER:PASSWORD)";
      }
      return bs::make_error(message).with_http_status(static_cast<int>(r.status));
    }
    ManifestResponse response;
    response.body = r.body;
    const auto type = r.headers.find("content-type");
    if (type != r.headers.end())
      response.content_type = std::string(bs::trim_space(type->second.substr(0, type->second.find(';'))));
    return response;
  }
}

BlobRequest RegistryClient::blob_request(const ImageName& name, const std::string& digest) const {
  BlobRequest request;
  request.url = base_url(name.registry) + "/v2/" + name.repository + "/blobs/" + digest;
  const auto it = m_impl->authorization.find(name.registry + "/" + name.repository);
  if (it != m_impl->authorization.end()) request.headers.push_back(it->second);
  return request;
}

Result<std::vector<std::string>> RegistryClient::refresh_authorization(const ImageName& name) {
  const std::string key = name.registry + "/" + name.repository;
  const auto it = m_impl->challenges.find(key);
  if (it == m_impl->challenges.end()) {
    return bs::make_error("registry " + name.registry + " refused a blob of " + name.repository +
                          " but never asked for authentication");
  }
  const std::string header = it->second;
  TRY(m_impl->authenticate(name, header));
  return std::vector<std::string>{m_impl->authorization.at(key)};
}

}  // namespace builder
