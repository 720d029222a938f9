// The downloader: fetches pinned artifacts into the content-addressed Cache (cache.hpp) with
// libcurl's multi interface.
//
// For every request, in order:
//   1. the URL is rewritten by the --mirror rules (longest matching FROM prefix wins, once);
//   2. a cache hit (see cache.hpp) downloads nothing;
//   3. otherwise up to `jobs` transfers run at once. A transfer follows redirects (at most 10,
//      http/https only) and records the final URL. Bytes are appended to
//      <cache>/partial/<algo>-<hex> and hashed as they arrive (pinned algorithm, plus SHA-256
//      when sha512 is pinned). An existing partial file is hashed first and resumed with
//      "Range: bytes=N-"; a server that answers 200 instead of 206 restarts the file from byte
//      0, a 416 discards the partial file and starts over once.
//   4. 408, 429, 500, 502-504 (bundlespec/registry_protocol.hpp), connection failures/resets,
//      cut bodies and timeouts (connect and low speed) are retried with exponential backoff (initial_backoff, doubling,
//      capped at max_backoff) up to max_attempts in all; a retry resumes from the bytes already written. Other 4xx, TLS
//      and protocol errors fail at once.
//   5. at the end the digest is compared with the pin: a match moves the file into the cache
//      (rename), a mismatch deletes it and fails (ErrorCode::verification) naming artifact,
//      URL, expected and actual checksum.
// A failure of one artifact does not stop the others (their bytes still reach the cache); all
// failures are reported at the end. interrupt.hpp's flag (or options.interrupted) stops every
// transfer within ~100 ms, keeps partial files for the next run and fails with
// ErrorCode::interrupted.
//
// Proxies: libcurl's defaults apply, i.e. the environment variables http_proxy (lower case
// only), HTTPS_PROXY/https_proxy, ALL_PROXY/all_proxy and NO_PROXY/no_proxy.
// TLS: the system CA store unless `cacert` names a PEM bundle (CURLOPT_CAINFO).
//
// Thread-safety: fetch_all() may be called from one thread at a time per Progress; it calls
// curl_global_init once (thread-safe through std::call_once).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bundlespec/digest.hpp"
#include "bundlespec/progress.hpp"
#include "bundlespec/result.hpp"
#include "cache.hpp"

namespace builder {

// --mirror FROM=TO: URLs starting with FROM start with TO instead.
struct MirrorRule {
  std::string from;
  std::string to;
};

// Parses "FROM=TO" (split at the first '='); both sides must be non-empty. Usage error otherwise.
bundlespec::Result<MirrorRule> parse_mirror_rule(std::string_view text);

// Applies the rule with the longest matching `from` (the first of equals); unchanged if none.
std::string apply_mirrors(const std::string& url, const std::vector<MirrorRule>& rules);

struct FetchRequest {
  std::string name;               // artifact name: unique among the requests, used in messages
  std::string url;                // upstream URL as pinned (mirror rules are applied here)
  bundlespec::Checksum checksum;  // the pin
  // Extra request headers ("Name: value"), e.g. a registry's Authorization. libcurl does not
  // send them to another host after a redirect.
  std::vector<std::string> headers;
  // When the server answers 401 (a registry token expired while earlier downloads ran): new
  // headers for another try, at most twice per artifact. Called on the downloading thread.
  // Empty: a 401 fails the artifact.
  std::function<bundlespec::Result<std::vector<std::string>>()> refresh_headers;
};

struct FetchResult {
  std::string name;
  std::string path;       // the verified file in the cache (do not modify it)
  std::string url;        // the URL asked for, after mirror rules
  std::string final_url;  // after redirects (from the cache's sidecar on a hit; "" if unknown)
  uint64_t size = 0;
  std::string sha256_hex;  // always
  std::string sha512_hex;  // when the pin is sha512 (may also be set on a re-hashed hit)
  bool from_cache = false;
};

struct FetchOptions {
  std::string cache_dir;  // "" means default_cache_dir()
  size_t jobs = 4;        // transfers at once (>= 1)
  int max_attempts = 4;   // per artifact, first try included (>= 1)
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{30000};
  std::chrono::milliseconds connect_timeout{30000};
  // A transfer slower than low_speed_limit bytes/s for low_speed_time is aborted (and retried).
  long low_speed_limit = 1024;
  std::chrono::seconds low_speed_time{60};
  std::string cacert;  // PEM CA bundle; "" means the system's
  std::vector<MirrorRule> mirrors;
  CacheCheck cache_check = CacheCheck::size;
  // The stop flag; nullptr means interrupt_flag() (interrupt.hpp).
  const std::atomic<bool>* interrupted = nullptr;
};

// Fetches every request (see the file comment). On success the results are in request order.
// Requests with equal checksums are downloaded once. Fails with:
//   usage         duplicate names, an empty URL, jobs or max_attempts < 1, no cache folder;
//   verification  every failed artifact had a checksum mismatch;
//   interrupted   the stop flag was set;
//   failure       anything else (HTTP errors, network errors after retries, disk errors).
// The message of a single failure is that artifact's message; several are listed one per line
// after "N of M downloads failed:". Progress sees finish_item(failed) for each failed artifact
// (the text is in the returned Error only, so it is printed once) and a message per retry.
bundlespec::Result<std::vector<FetchResult>> fetch_all(const std::vector<FetchRequest>& requests,
                                                       const FetchOptions& options, bundlespec::Progress& progress);

}  // namespace builder
