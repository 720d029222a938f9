// A client for OCI distribution registries (the /v2/ API), for pulling pinned images.
//
// What it does:
//   - image references: "registry.k8s.io/pause:3.2", "127.0.0.1:5000/test/busybox:1.0",
//     "busybox:1.0" (= docker.io/library/busybox:1.0, served by registry-1.docker.io);
//   - authentication, per repository, answering the registry's 401 challenge:
//     anonymous; "Bearer realm=..,service=..,scope=.." (a token from the realm, asked with the
//     registry's credentials when we have any; the token flow of Docker Hub, quay.io, ghcr.io,
//     registry.k8s.io and distribution's `auth: token`); "Basic" with credentials;
//   - credentials: RegistryAuth.credentials (the --creds flag) first, else the `auths` of a
//     docker config.json (--auth-file, else $DOCKER_CONFIG/config.json, else
//     ~/.docker/config.json; "auth" = base64 "user:password", or "username"/"password");
//   - transport: https (system CAs or --cacert PEM); plain http only for the registries named
//     in RegistryAuth.plain_http (HOST:PORT, e.g. a 127.0.0.1 test registry);
//   - manifests: GET by digest with an Accept header listing OCI index, OCI manifest, docker
//     manifest list and docker v2 manifest (registry 2.8 answers 404 or a schema1 manifest
//     otherwise), retried like downloads and the installer's push (408, 429, 500, 502-504:
//     bundlespec/registry_protocol.hpp; connection errors), with backoff that Ctrl-C ends.
// Blobs are not fetched here: blob_request() gives the URL and headers for the downloader
// (fetch.hpp), which verifies digests while streaming and caches by digest.
// Thread-safety: a RegistryClient is used by one thread at a time.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bundlespec/auth_challenge.hpp"
#include "bundlespec/docker_auth.hpp"
#include "bundlespec/result.hpp"

namespace builder {

// A parsed image reference NAME:TAG.
struct ImageName {
  std::string registry;    // "registry.k8s.io", "127.0.0.1:5000", "docker.io"
  std::string repository;  // "pause", "test/busybox", "library/busybox"
  std::string tag;

  // "REGISTRY/REPOSITORY:TAG", the name containerd keeps (docker.io/library/... included).
  std::string full() const;
};

// Splits NAME:TAG (no digest) the way docker does: the first component is a registry if it
// holds a '.' or ':' or is "localhost"; else the registry is docker.io and a one-component
// name gets "library/". Fails (usage) on an empty name, a missing tag, spaces or upper case
// in the repository.
bundlespec::Result<ImageName> parse_image_name(std::string_view reference);

// WWW-Authenticate parsing lives in bundle-spec (the installer's push client shares it).
using bundlespec::AuthChallenge;
using bundlespec::parse_auth_challenge;

// Credentials and the docker config.json live in bundle-spec (the installer's push reads them too).
using bundlespec::Credentials;
using bundlespec::default_docker_config;
using bundlespec::load_docker_auths;

// Parses HOST=USER:PASSWORD (the --creds flag). Usage error otherwise.
bundlespec::Result<std::pair<std::string, Credentials>> parse_creds_flag(std::string_view text);

struct RegistryAuth {
  std::map<std::string, Credentials> credentials;  // by registry host (as in ImageName)
  std::vector<std::string> plain_http;             // registries spoken to over http://
  std::string cacert;                              // PEM CA bundle; "" = system CAs
  int max_attempts = 4;
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{30000};
  std::chrono::milliseconds connect_timeout{30000};
};

// A manifest (or index) as the registry sent it.
struct ManifestResponse {
  std::string body;          // the exact bytes (their SHA-256 is the manifest digest)
  std::string content_type;  // the response's media type, parameters removed
};

// The URL and headers to GET a blob with.
struct BlobRequest {
  std::string url;
  std::vector<std::string> headers;
};

class RegistryClient {
 public:
  explicit RegistryClient(RegistryAuth auth);
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // GETs /v2/REPOSITORY/manifests/REFERENCE (a digest or a tag), authenticating as needed.
  // At most 4 MiB. An answer other than 200 fails with Reason::http_status and its status, with
  // "GET URL: HTTP 404 Not Found" style messages; a 401/403 after authenticating says which
  // credentials were used and how to pass others.
  bundlespec::Result<ManifestResponse> get_manifest(const ImageName& name, const std::string& reference);

  // The request for blob DIGEST of the repository, with the Authorization header that the
  // last get_manifest() of the same repository earned (none when anonymous).
  BlobRequest blob_request(const ImageName& name, const std::string& digest) const;

  // The repository's Authorization header earned again with the challenge its last
  // authentication answered: a fresh bearer token when one expired during long downloads.
  // Fails when the repository never asked for authentication.
  bundlespec::Result<std::vector<std::string>> refresh_authorization(const ImageName& name);

  // "https://HOST" or "http://HOST" (docker.io -> registry-1.docker.io).
  std::string base_url(const std::string& registry) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace builder
