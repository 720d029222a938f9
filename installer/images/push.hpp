// Pushing a bundle's container images into a private registry, offline (`images push`).
//
// Naming: an image keeps its repository path and tag, on the registry given:
//   registry.k8s.io/coredns/coredns:1.8.0  --registry reg:5000          -> reg:5000/coredns/coredns:1.8.0
//   docker.io/library/busybox:1.0          --registry reg:5000/mirror   -> reg:5000/mirror/library/busybox:1.0
// so containerd's and docker's mirror settings (registry.k8s.io -> reg:5000) find them.
//
// Protocol (OCI distribution spec, push by digest, then tag), per image:
//   1. HEAD /v2/REPO/manifests/TAG: when it answers the pinned digest the image is "present"
//      and nothing more is sent (a re-run uploads nothing);
//   2. every blob (configs and layers of each platform the bundle holds): HEAD
//      /v2/REPO/blobs/DIGEST; when absent POST /v2/REPO/blobs/uploads/ and PUT the Location
//      (relative or absolute) with ?digest=DIGEST and the file as the body, streamed, its
//      SHA-256 checked on the way (a corrupted file never completes an upload); a blob that
//      another repository of the same push holds is mounted instead (POST ?mount=&from=,
//      not with bearer tokens, which are scoped to one repository);
//   3. PUT /v2/REPO/manifests/DIGEST of each platform manifest, then of the pinned index (or
//      manifest list) when there is one, with the stored bytes and media type: the digests in
//      the registry are the bundle's, never re-serialised;
//   4. PUT /v2/REPO/manifests/TAG with the pinned bytes.
// An index whose other platforms the bundle lacks (built with fewer --platform) is refused by
// registries that check an index's manifests (distribution: MANIFEST_BLOB_UNKNOWN). Then the
// tag names the bundle's first platform manifest instead, and the report's warning says so:
// the pinned index digest does not resolve in that registry.
// Authentication answers the registry's 401 challenge: Basic with --username and the
// password; Bearer by asking the challenge's realm for a token with scope
// repository:REPO:pull,push (with the same credentials when given).
// Transient faults (429, 500, 502, 503, 504, refused or reset connections, answers cut short,
// timeouts) are retried step by step with exponential backoff (push_retry.hpp): each HEAD,
// manifest and tag PUT and token request alone, a blob upload as a whole (a new POST, then the
// file again from its first byte). Each retry is a progress message, e.g.
//   "PUT http://reg:5000/v2/x/manifests/sha256:...: HTTP 503 Service Unavailable; retrying in
//    500 ms (attempt 2 of 5)"
// and the error after the last try ends in " (gave up after 5 attempts)".
// Ctrl-C stops between blobs, inside blocking socket calls and during a retry's wait
// (ErrorCode::interrupted).
// Thread-safety: one call at a time.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bundlespec/images_index.hpp"
#include "bundlespec/progress.hpp"
#include "bundlespec/result.hpp"
#include "net/http.hpp"
#include "images/push_protocol.hpp"
#include "images/push_retry.hpp"

namespace installer {

enum class Transport { https, plain_http };

struct PushOptions {
  std::string registry;  // HOST[:PORT][/PREFIX]
  Transport transport = Transport::https;
  std::string username;  // "" = no credentials
  std::string password;
  // Where username and password came from, for the hint when they are refused: "" = the
  // command line (--username, --password-file or $KUBEFERRY_REGISTRY_PASSWORD), else e.g.
  // "the auths entry for HOST in FILE" (a docker config.json).
  std::string credentials_from;
  HttpOptions http;   // --cacert and timeouts
  RetryPolicy retry;  // --retries and --retry-delay
};

enum class PushOutcome { pushed, present };

struct PushReport {
  std::string name;    // the image's name in the bundle
  std::string target;  // HOST/REPOSITORY:TAG
  std::string digest;  // the digest the tag names in the registry now
  PushOutcome outcome = PushOutcome::pushed;
  std::string warning;  // "" or what the user must know (an index the registry refused)
};

// Pushes every image of the extracted bundle ROOT (see the file comment), in index order,
// calling `on_report` (may be empty) as each image is complete; a failure stops at that image
// (the images reported before it are complete in the registry). Errors name the registry, the
// repository and the HTTP status, and what to do.
bundlespec::Result<std::vector<PushReport>> push_images(const std::string& root, const PushOptions& options,
                                                        bundlespec::Progress& progress,
                                                        const std::function<void(const PushReport&)>& on_report = {});

}  // namespace installer
