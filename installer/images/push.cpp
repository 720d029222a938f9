#include "images/push.hpp"

#include <signal.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "bundlespec/auth_challenge.hpp"
#include "bundlespec/digest.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/interrupt.hpp"
#include "bundlespec/json.hpp"
#include "bundlespec/registry_error.hpp"
#include "bundlespec/text.hpp"
#include "images/images.hpp"
#include "images/push_retry.hpp"

namespace installer {

namespace bs = bundlespec;
using bs::ImageDescriptor;
using bs::ImagePlatform;
using bs::ImageRecord;
using bs::Result;
using bs::Status;

namespace {

constexpr size_t k_max_manifest = 4 << 20;
constexpr std::string_view k_accept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

// "HTTP 404 Not Found" plus the registry's own error, when the body is
// {"errors":[{"code":..,"message":..}]}: " (MANIFEST_BLOB_UNKNOWN: blob unknown to registry)".
std::string describe(const HttpResponse& r) {
  return "HTTP " + std::to_string(r.head.status) +
         (r.head.reason.empty() ? "" : " " + bs::printable(r.head.reason, 64)) + bs::registry_error_text(r.body);
}

// Whether RegistrySession::send retries the request by itself (push_retry.hpp); a step made of
// several requests (a blob upload) is retried as a whole instead.
enum class Retry { yes, no };

bool registry_error_is(const HttpResponse& r, std::string_view code) {
  return r.body.find("\"" + std::string(code) + "\"") != std::string::npos;
}

// The registry, its credentials and the Authorization each repository has earned.
class RegistrySession {
 public:
  // `base`: the registry's scheme and address; `host`: HOST[:PORT] as --registry gave it.
  RegistrySession(const PushOptions& options, Url base, std::string host, bs::Progress& progress)
      : m_options(options),
        m_http(options.http),
        m_base(std::move(base)),
        m_host(std::move(host)),
        m_progress(progress) {}

  const std::string& host() const { return m_host; }

  // GET /v2/: the registry answers the API (200, or 401 with a challenge). A Basic challenge
  // is answered here, so missing or refused credentials show before any image.
  Status ping();

  // Sends `request` for REPOSITORY with its Authorization; a 401 with a challenge is answered
  // (once) and the request sent again. With Retry::yes, failures worth it are retried.
  Result<HttpResponse> send(const std::string& repository, HttpRequest request, Retry retry = Retry::yes);

  // Runs `attempt` (which sets its argument to the request_label of what it sends last) until
  // it succeeds, fails for good, or --retries are used up (push_retry.hpp), printing a
  // progress line per retry and sleeping between tries (Ctrl-C ends the sleep:
  // ErrorCode::interrupted). Giving up, an error gets gave_up_suffix() and an answer its
  // `attempts`.
  Result<HttpResponse> retrying(const std::function<Result<HttpResponse>(std::string&)>& attempt);

  // Where a blob is known to be in this registry (after a HEAD or an upload), for mounting it
  // into another repository instead of uploading it again. Not with bearer tokens: a token is
  // scoped to one repository, and mounting needs pull rights on the other.
  void remember_blob(const std::string& digest, const std::string& repository) {
    m_blob_home.emplace(digest, repository);
  }
  std::string blob_home(const std::string& digest) const {
    const auto it = m_blob_home.find(digest);
    return it == m_blob_home.end() || m_tokens ? "" : it->second;
  }

  Url url(const std::string& target) const {
    Url u = m_base;
    u.target = target;
    return u;
  }

 private:
  Status authenticate(const std::string& repository, const std::string& header);
  Result<std::string> fetch_token(const std::string& repository, const bs::AuthChallenge& challenge);
  std::string who() const {
    return m_options.username.empty() ? "anonymously" : "as user '" + m_options.username + "'";
  }
  Status refused(const std::string& repository, const HttpResponse& r) const;
  // What to check when the credentials are refused: their source (PushOptions::credentials_from).
  std::string credentials_hint() const;
  // One request, no retries; records whether a failure was transient.
  Result<HttpResponse> http_send(const HttpRequest& request) {
    auto r = m_http.send(request);
    m_transient = !r.ok() && m_http.last_failure_transient();
    return r;
  }
  Result<HttpResponse> http_send_retrying(const HttpRequest& request) {
    return retrying([&](std::string& what) {
      what = request_label(request);
      return http_send(request);
    });
  }

  const PushOptions& m_options;
  HttpClient m_http;
  Url m_base;
  std::string m_host;
  bs::Progress& m_progress;
  bool m_transient = false;                        // the last http_send failed in a way worth retrying
  std::string m_basic;                             // "Basic ..." once the registry asked for it
  std::map<std::string, std::string> m_bearer;     // repository -> "Bearer ..."
  std::map<std::string, std::string> m_blob_home;  // blob digest -> a repository holding it
  bool m_tokens = false;                           // the registry asked for bearer tokens
};

std::string RegistrySession::credentials_hint() const {
  return m_options.credentials_from.empty() ? "--username and the password" : m_options.credentials_from;
}

Status RegistrySession::refused(const std::string& repository, const HttpResponse& r) const {
  const std::string where = "registry " + m_host + (repository.empty() ? "" : ", repository " + repository);
  if (r.head.status == 401 && !m_basic.empty()) {
    return bs::make_error(where + ": the credentials of user '" + m_options.username + "' were refused (" +
                          describe(r) + "); check " + credentials_hint());
  }
  if (r.head.status == 401 && m_bearer.count(repository) != 0) {
    return bs::make_error(where + ": the token earned " + who() + " was refused (" + describe(r) +
                          "); the user needs pull and push rights on " + repository);
  }
  if (r.head.status == 401) {
    return bs::make_error(where + ": authentication required (" + describe(r) +
                          "); pass --username USER and --password-file FILE");
  }
  return bs::make_error(where + ": push refused " + who() + " (" + describe(r) + "); the user needs push rights on " +
                        (repository.empty() ? "it" : repository));
}

Status RegistrySession::ping() {
  HttpRequest request;
  request.url = url("/v2/");
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!m_basic.empty()) request.headers = {{"Authorization", m_basic}};
    TRY_ASSIGN(const HttpResponse r, http_send_retrying(request));
    if (r.head.status == 200) return bs::ok_status();
    const std::string header = r.head.header("www-authenticate");
    if (r.head.status == 401 && !header.empty() && m_basic.empty()) {
      TRY_ASSIGN(const bs::AuthChallenge challenge, bs::parse_auth_challenge(header));
      if (challenge.scheme == "bearer") {  // tokens are asked per repository
        m_tokens = true;
        return bs::ok_status();
      }
      TRY(authenticate("", header));
      continue;
    }
    if (r.head.status == 401 || r.head.status == 403) return refused("", r);
    return bs::make_error("registry " + m_host + " does not answer the registry API at " + request.url.str() + " (" +
                          describe(r) + "); check --registry" + bs::gave_up_suffix(r.attempts));
  }
  return bs::make_error("registry " + m_host + ": /v2/ keeps asking for authentication");
}

Result<std::string> RegistrySession::fetch_token(const std::string& repository, const bs::AuthChallenge& challenge) {
  const auto realm = challenge.params.find("realm");
  if (realm == challenge.params.end()) {
    return bs::make_error("registry " + m_host + " asks for a bearer token without a realm");
  }
  TRY_ASSIGN(Url token_url, parse_url(realm->second));
  const auto service = challenge.params.find("service");
  if (service != challenge.params.end()) token_url.target = add_query(token_url.target, "service", service->second);
  const std::string scope = "repository:" + repository + ":pull,push";
  token_url.target = add_query(token_url.target, "scope", scope);
  HttpRequest request;
  request.url = token_url;
  if (!m_options.username.empty()) {
    request.headers.emplace_back("Authorization", bs::basic_authorization(m_options.username, m_options.password));
  }
  TRY_ASSIGN_CTX(const HttpResponse sent, http_send_retrying(request), "token server " + bs::printable(realm->second));
  if (sent.head.status != 200) {
    const std::string hint = m_options.username.empty() ? "; pass --username USER and --password-file FILE"
                                                        : "; check " + credentials_hint();
    return bs::make_error("token server " + bs::printable(realm->second) + " refused a token for " + scope + " " +
                          who() + " (" + describe(sent) + ")" + hint + bs::gave_up_suffix(sent.attempts));
  }
  std::string token = token_from_response(sent.body);
  if (token.empty())
    return bs::make_error("token server " + bs::printable(realm->second) + " answered without a token");
  return token;
}

Status RegistrySession::authenticate(const std::string& repository, const std::string& header) {
  TRY_ASSIGN(const bs::AuthChallenge challenge, bs::parse_auth_challenge(header));
  if (challenge.scheme == "basic") {
    if (m_options.username.empty()) {
      return bs::make_error("registry " + m_host + " wants a user name and password (" + bs::printable(header) +
                            "); pass --username USER and --password-file FILE (or set KUBEFERRY_REGISTRY_PASSWORD)");
    }
    m_basic = bs::basic_authorization(m_options.username, m_options.password);
    return bs::ok_status();
  }
  if (challenge.scheme == "bearer") {
    m_tokens = true;
    TRY_ASSIGN(const std::string token, fetch_token(repository, challenge));
    m_bearer[repository] = "Bearer " + token;
    return bs::ok_status();
  }
  return bs::make_error("registry " + m_host + " asks for unsupported authentication: " + bs::printable(header));
}

Result<HttpResponse> RegistrySession::retrying(const std::function<Result<HttpResponse>(std::string&)>& attempt) {
  const RetryPolicy& policy = m_options.retry;
  for (int tries = 1;; ++tries) {
    std::string what;
    m_transient = false;
    auto result = attempt(what);
    if (!worth_retrying(result, m_transient)) return result;
    if (tries > policy.retries) {
      m_transient = false;  // an enclosing step does not start this over again
      if (result.ok()) {
        result->attempts = tries;
        return result;
      }
      const bs::Error& error = result.error();
      return bs::Error(error.code(), error.message() + bs::gave_up_suffix(tries));
    }
    const auto delay = retry_delay(policy, tries, result.ok() ? result->head.header("retry-after") : "");
    m_progress.message(bs::retry_notice(describe_attempt(what, result), delay, tries + 1, policy.retries + 1));
    TRY(bs::sleep_unless_interrupted(delay));
  }
}

Result<HttpResponse> RegistrySession::send(const std::string& repository, HttpRequest request, Retry retry) {
  const auto base_headers = request.headers;
  // One challenge per request is answered: a token that expired during a long push is renewed,
  // and credentials refused twice in a row are an error.
  bool answered = false;
  for (;;) {
    request.headers = base_headers;
    if (const auto it = m_bearer.find(repository); it != m_bearer.end()) {
      request.headers.emplace_back("Authorization", it->second);
    } else if (!m_basic.empty()) {
      request.headers.emplace_back("Authorization", m_basic);
    }
    TRY_ASSIGN(HttpResponse r, retry == Retry::yes ? http_send_retrying(request) : http_send(request));
    const std::string header = r.head.header("www-authenticate");
    if (r.head.status == 401 && !header.empty() && !answered) {
      answered = true;
      TRY(authenticate(repository, header));
      continue;
    }
    if (r.head.status == 401 || r.head.status == 403) return refused(repository, r).error();
    return r;
  }
}

// One image's push: its target, blobs and manifests.
class ImagePush {
 public:
  ImagePush(RegistrySession& session, const std::string& root, const ImageRecord& image, TargetReference target,
            bs::Progress& progress)
      : m_session(session), m_root(root), m_image(image), m_target(std::move(target)), m_progress(progress) {}

  Result<PushReport> run();

 private:
  std::string item() const { return "push " + m_image.name; }
  std::string manifests_url(const std::string& reference) const {
    return "/v2/" + m_target.repository + "/manifests/" + reference;
  }
  Result<std::string> tag_digest();
  Status push_blob(const ImageDescriptor& blob);
  Result<std::string> read_manifest(const ImageDescriptor& manifest);
  Result<HttpResponse> put_manifest(const std::string& reference, const ImageDescriptor& d, const std::string& bytes);
  Status expect_created(const HttpResponse& r, const std::string& what, const std::string& digest);
  Result<bool> index_complete(const std::string& bytes);
  std::string fallback_warning() const {
    return "image '" + bs::printable(m_image.name) + "': registry " + m_session.host() + " refused index " +
           m_image.target.digest + " because the bundle lacks some of its platforms; " + m_target.str() +
           " names the " + m_image.platforms.front().platform + " manifest " +
           m_image.platforms.front().manifest.digest +
           " instead (references by the index digest will not resolve there)";
  }
  bs::Error failed(const std::string& what, const HttpResponse& r) const {
    return bs::make_error(what + ": registry " + m_session.host() + ", repository " + m_target.repository +
                          " answered " + describe(r) + bs::gave_up_suffix(r.attempts));
  }
  void advance(uint64_t bytes) {
    m_sent += bytes;
    m_progress.advance(item(), bytes);
  }

  RegistrySession& m_session;
  const std::string& m_root;
  const ImageRecord& m_image;
  TargetReference m_target;
  bs::Progress& m_progress;
  uint64_t m_total = 0;  // bytes of the image's blobs
  uint64_t m_sent = 0;   // of which reported to m_progress
};

// The digest the tag names now ("" when the registry has no such tag).
Result<std::string> ImagePush::tag_digest() {
  HttpRequest request;
  request.method = "HEAD";
  request.url = m_session.url(manifests_url(m_target.tag));
  request.headers = {{"Accept", std::string(k_accept)}};
  TRY_ASSIGN(const HttpResponse r, m_session.send(m_target.repository, request));
  if (r.head.status == 404) return std::string();
  if (r.head.status != 200) return failed("HEAD " + request.url.str(), r);
  return r.head.header("docker-content-digest");
}

Status ImagePush::push_blob(const ImageDescriptor& blob) {
  const std::string repo = m_target.repository;
  HttpRequest head;
  head.method = "HEAD";
  head.url = m_session.url("/v2/" + repo + "/blobs/" + blob.digest);
  TRY_ASSIGN(const HttpResponse have, m_session.send(repo, head));
  if (have.head.status == 200) {
    m_session.remember_blob(blob.digest, repo);
    advance(blob.size);
    return bs::ok_status();
  }
  if (have.head.status != 404) return failed("HEAD " + head.url.str(), have);

  // A blob another repository of this push holds is mounted (201); a registry that does not
  // mount answers 202 with an upload session, as without ?mount.
  HttpRequest start;
  start.method = "POST";
  start.url = m_session.url("/v2/" + repo + "/blobs/uploads/");
  const std::string home = m_session.blob_home(blob.digest);
  if (!home.empty()) {
    start.url.target = add_query(add_query(start.url.target, "mount", blob.digest), "from", home);
  }
  FileBody body;
  body.path = m_root + "/" + bs::image_blob_path(blob.digest);
  body.size = blob.size;
  body.digest = blob.digest;
  body.on_sent = [&](uint64_t n) { advance(n); };
  HttpRequest put;
  put.method = "PUT";
  put.headers = {{"Content-Type", "application/octet-stream"}};
  put.file = &body;

  // POST and PUT are one step for retries: after a failed PUT the upload session is of no
  // use, so another try starts a new one and sends the file again from its first byte.
  const uint64_t sent_before = m_sent;
  bool put_sent = false;
  auto answer = m_session.retrying([&](std::string& what) -> Result<HttpResponse> {
    if (m_sent != sent_before) {  // the progress of a cut upload starts over
      m_sent = sent_before;
      m_progress.start_item(item(), m_total, sent_before);
    }
    put_sent = false;
    what = request_label(start);
    TRY_ASSIGN(const HttpResponse session, m_session.send(repo, start, Retry::no));
    const std::string location = session.head.header("location");
    if (session.head.status != 202 || location.empty()) return session;  // mounted, or failed
    TRY_ASSIGN(put.url, resolve_location(session.url, location));
    put.url.target = add_query(put.url.target, "digest", blob.digest);
    put_sent = true;
    what = request_label(put);
    return m_session.send(repo, put, Retry::no);
  });
  if (!answer.ok() && put_sent) return std::move(answer).error().context("blob " + blob.digest);
  TRY_ASSIGN(const HttpResponse r, std::move(answer));
  if (!put_sent && !home.empty() && r.head.status == 201) {
    TRY(expect_created(r, "mount blob " + blob.digest + " from " + home, blob.digest));
    m_session.remember_blob(blob.digest, repo);
    advance(blob.size);
    return bs::ok_status();
  }
  if (!put_sent) return failed("start upload of blob " + blob.digest + " (POST " + start.url.str() + ")", r);
  TRY(expect_created(r, "upload blob " + blob.digest + " (PUT " + put.url.str() + ")", blob.digest));
  m_session.remember_blob(blob.digest, repo);
  return bs::ok_status();
}

Status ImagePush::expect_created(const HttpResponse& r, const std::string& what, const std::string& digest) {
  if (r.head.status != 201) return failed(what, r);
  const std::string answered = r.head.header("docker-content-digest");
  if (!answered.empty() && answered != digest) {
    return bs::verification_error(what + ": registry " + m_session.host() + " stored it as " + bs::printable(answered) +
                                  ", expected " + digest);
  }
  return bs::ok_status();
}

Result<std::string> ImagePush::read_manifest(const ImageDescriptor& manifest) {
  const std::string path = m_root + "/" + bs::image_blob_path(manifest.digest);
  TRY_ASSIGN(std::string bytes, bs::read_file(path, k_max_manifest));
  const std::string actual = "sha256:" + bs::sha256_hex(bytes);
  if (bytes.size() != manifest.size || actual != manifest.digest) {
    return bs::verification_error("image '" + bs::printable(m_image.name) + "' (" + bs::printable(m_image.reference) +
                                  "): blob " + manifest.digest + " is corrupted: its SHA-256 is " + actual + " (" +
                                  path + "); extract the bundle again");
  }
  return bytes;
}

Result<HttpResponse> ImagePush::put_manifest(const std::string& reference, const ImageDescriptor& d,
                                             const std::string& bytes) {
  HttpRequest put;
  put.method = "PUT";
  put.url = m_session.url(manifests_url(reference));
  put.headers = {{"Content-Type", d.media_type}};
  put.body = bytes;
  return m_session.send(m_target.repository, put);
}

// True when every manifest the index names is in the bundle.
Result<bool> ImagePush::index_complete(const std::string& bytes) {
  TRY_ASSIGN(const bs::Json index, bs::parse_json(bytes));
  const bs::Json* manifests = index.find("manifests");
  if (manifests == nullptr || !manifests->is_array()) return false;
  std::set<std::string> have;
  for (const ImagePlatform& p : m_image.platforms) have.insert(p.manifest.digest);
  for (const bs::Json& entry : manifests->as_array()) {
    auto digest = bs::get_string(entry, "digest");
    if (!digest.ok() || have.count(*digest) == 0) return false;
  }
  return true;
}

Result<PushReport> ImagePush::run() {
  PushReport report;
  report.name = m_image.name;
  report.target = m_target.str();
  report.digest = m_image.target.digest;
  const bool is_index = bs::is_index_media_type(m_image.target.media_type);
  TRY_ASSIGN(const std::string target_bytes, read_manifest(m_image.target));
  bool complete = true;
  if (is_index) {
    TRY_ASSIGN(complete, index_complete(target_bytes));
  }
  const ImageDescriptor& fallback = m_image.platforms.front().manifest;

  // 1. Already there: the tag names the pinned digest (or, for an index the registry refused,
  //    the manifest a previous run tagged instead).
  TRY_ASSIGN(const std::string current, tag_digest());
  if (current == m_image.target.digest || (!complete && current == fallback.digest)) {
    report.digest = current;
    if (current != m_image.target.digest) report.warning = fallback_warning();
    report.outcome = PushOutcome::present;  // stdout and the summary say so; no progress item
    return report;
  }

  // 2. Blobs of every platform, each once.
  //    (image_blobs without the manifests, which go up as manifests in step 3).
  std::set<std::string> manifests{m_image.target.digest};
  for (const ImagePlatform& p : m_image.platforms) manifests.insert(p.manifest.digest);
  std::vector<ImageDescriptor> blobs;
  for (const ImageDescriptor& b : bs::image_blobs(m_image)) {
    if (manifests.count(b.digest) != 0) continue;
    blobs.push_back(b);
    m_total += b.size;
  }
  m_progress.start_item(item(), m_total, 0);
  for (const ImageDescriptor& b : blobs) {
    if (bs::interrupt_requested()) return bs::interrupted_error();
    TRY(push_blob(b));
  }

  // 3. Platform manifests, then the index, by digest.
  for (const ImagePlatform& p : m_image.platforms) {
    if (p.manifest.digest == m_image.target.digest) continue;
    TRY_ASSIGN(const std::string bytes, read_manifest(p.manifest));
    TRY_ASSIGN(const HttpResponse r, put_manifest(p.manifest.digest, p.manifest, bytes));
    TRY(expect_created(r, "PUT manifest " + p.manifest.digest + " (" + p.platform + ")", p.manifest.digest));
  }
  const ImageDescriptor* tagged = &m_image.target;
  const std::string* tagged_bytes = &target_bytes;
  std::string fallback_bytes;
  TRY_ASSIGN(const HttpResponse pinned, put_manifest(m_image.target.digest, m_image.target, target_bytes));
  if (is_index && !complete && pinned.head.status == 400 && registry_error_is(pinned, "MANIFEST_BLOB_UNKNOWN")) {
    TRY_ASSIGN(fallback_bytes, read_manifest(fallback));
    tagged = &fallback;
    tagged_bytes = &fallback_bytes;
    report.warning = fallback_warning();
  } else {
    TRY(expect_created(pinned, "PUT manifest " + m_image.target.digest, m_image.target.digest));
  }

  // 4. The tag.
  TRY_ASSIGN(const HttpResponse tag, put_manifest(m_target.tag, *tagged, *tagged_bytes));
  TRY(expect_created(tag, "PUT tag " + m_target.str(), tagged->digest));
  report.digest = tagged->digest;
  m_progress.finish_item(item(), bs::ItemOutcome::done);
  return report;
}

}  // namespace

Result<std::vector<PushReport>> push_images(const std::string& root, const PushOptions& options, bs::Progress& progress,
                                            const std::function<void(const PushReport&)>& on_report) {
  TRY_ASSIGN(const RegistryTarget target, parse_registry_target(options.registry));
  TRY_ASSIGN(const bs::ImagesIndex index, read_images_index(root));
  std::vector<TargetReference> targets;
  for (const ImageRecord& image : index.images) {
    TRY_ASSIGN(TargetReference ref, target_reference(image, target));
    targets.push_back(std::move(ref));
  }
  // A registry that closes the connection mid-upload must not kill us with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  const std::string scheme = options.transport == Transport::plain_http ? "http" : "https";
  TRY_ASSIGN(const Url base, parse_url(scheme + "://" + target.host + "/v2/"));
  RegistrySession session(options, base, target.host, progress);
  TRY(session.ping());

  progress.plan(index.images.size());
  std::vector<PushReport> reports;
  for (size_t i = 0; i < index.images.size(); ++i) {
    if (bs::interrupt_requested()) return bs::interrupted_error();
    ImagePush push(session, root, index.images[i], targets[i], progress);
    auto report = push.run();
    if (!report.ok()) {
      progress.finish_item("push " + index.images[i].name, bs::ItemOutcome::failed);
      return std::move(report).error().context("push image '" + bs::printable(index.images[i].name) + "' to " +
                                               bs::printable(targets[i].str()));
    }
    if (on_report) on_report(*report);
    reports.push_back(std::move(*report));
  }
  return reports;
}

}  // namespace installer
