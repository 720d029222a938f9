// kubeferry pin: resolve NOT-FOUND values, check them against what upstream publishes, write
// them back marked as the user's (pin.hpp).
#include "pin.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <ctime>
#include <memory>
#include <mutex>

#include "bundlespec/fs.hpp"
#include "bundlespec/text.hpp"

namespace builder {

namespace bs = bundlespec;
using bs::Checksum;
using bs::DigestAlgorithm;
using bs::Result;
using bs::Status;

namespace {

constexpr size_t k_max_checksum_file = 1 << 20;

struct CurlEasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

// What one GET brought: the status, and either the body (small files) or its hashes.
struct Got {
  long status = 0;
  std::string body;
  size_t max_body = 0;  // 0: hash only, keep nothing
  bs::Hasher sha256{DigestAlgorithm::sha256};
  bs::Hasher sha512{DigestAlgorithm::sha512};
  uint64_t size = 0;
  bool too_big = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  Got& got = *static_cast<Got*>(user);
  const size_t n = size * count;
  got.size += n;
  if (got.max_body == 0) {
    got.sha256.update(data, n);
    got.sha512.update(data, n);
    return n;
  }
  if (got.body.size() + n > got.max_body) {
    got.too_big = true;
    return 0;
  }
  got.body.append(data, n);
  return n;
}

// GETs `url` (redirects followed, http/https only). Fails for a transport error; any HTTP
// status is returned to the caller.
Status http_get(const std::string& url, const std::string& cacert, Got& got) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CurlEasy easy{curl_easy_init()};
  if (!easy) return bs::make_error("curl_easy_init failed");
  CURL* e = easy.get();
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_USERAGENT, "kubeferry/" KUBEFERRY_VERSION);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
  if (!cacert.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, cacert.c_str());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &got);
  const CURLcode code = curl_easy_perform(e);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &got.status);
  if (got.too_big) return bs::make_error("GET " + url + ": more than " + std::to_string(got.max_body) + " bytes");
  if (code != CURLE_OK) {
    return bs::make_error("GET " + url + ": " + (errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(code)));
  }
  return bs::ok_status();
}

std::string today_utc() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[16];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d", &tm);
  return buffer;
}

std::string file_name_of(const std::string& url) {
  const size_t query = url.find_first_of("?#");
  const std::string path = url.substr(0, query);
  return path.substr(path.rfind('/') + 1);
}

// The checksum files upstream may publish beside `url`, with the algorithm of each.
std::vector<std::pair<std::string, DigestAlgorithm>> checksum_urls(const std::string& url) {
  const std::string folder = url.substr(0, url.rfind('/') + 1);
  return {{url + ".sha256", DigestAlgorithm::sha256},
          {url + ".sha512", DigestAlgorithm::sha512},
          {url + ".sha256sum", DigestAlgorithm::sha256},
          {folder + "SHA256SUMS", DigestAlgorithm::sha256}};
}

struct Download {
  std::string sha256;
  std::string sha512;
  uint64_t size = 0;
};

Result<Download> download(const Artifact& artifact, const PinManifestOptions& options) {
  const std::string url = apply_mirrors(artifact.url, options.mirrors);
  Got got;
  TRY(http_get(url, options.cacert, got));
  if (got.status != 200) {
    return bs::make_error("artifact " + artifact.name + ": GET " + url + ": HTTP " + std::to_string(got.status));
  }
  return Download{got.sha256.finish_hex(), got.sha512.finish_hex(), got.size};
}

// Checks the download against every checksum file found beside it. Returns how it was
// checked ("" when no file was found); fails (verification) on the first disagreement.
Result<std::string> verify_download(const Artifact& artifact, const Download& got, const PinManifestOptions& options) {
  std::string how;
  for (const auto& [upstream_url, algorithm] : checksum_urls(artifact.url)) {
    const std::string url = apply_mirrors(upstream_url, options.mirrors);
    Got file;
    file.max_body = k_max_checksum_file;
    TRY(http_get(url, options.cacert, file));
    if (file.status == 404 || file.status == 403 || file.status == 410) continue;
    if (file.status != 200) {
      return bs::make_error("artifact " + artifact.name + ": GET " + url + ": HTTP " + std::to_string(file.status));
    }
    TRY_ASSIGN(const std::string want, checksum_for(file.body, file_name_of(artifact.url), algorithm, url));
    const std::string& have = algorithm == DigestAlgorithm::sha256 ? got.sha256 : got.sha512;
    if (want != have) {
      return bs::Error(bs::ErrorCode::verification,
                       "artifact " + artifact.name + ": " + url + " says " + std::string(algorithm_name(algorithm)) +
                           ":" + want + ", but the download of " + apply_mirrors(artifact.url, options.mirrors) +
                           " has " + std::string(algorithm_name(algorithm)) + ":" + have +
                           "; nothing was pinned and the manifest is unchanged");
    }
    how += (how.empty() ? "" : ", ") + file_name_of(upstream_url);
  }
  return how;
}

Result<Resolved> resolve_artifact(const Artifact& artifact, const PinManifestOptions& options, bs::Progress& progress) {
  progress.start_item(artifact.name, std::nullopt, 0);
  Result<Download> got = download(artifact, options);
  if (!got.ok()) {
    progress.finish_item(artifact.name, bs::ItemOutcome::failed);
    return std::move(got).error();
  }
  Result<std::string> how = verify_download(artifact, *got, options);
  progress.finish_item(artifact.name, how.ok() ? bs::ItemOutcome::done : bs::ItemOutcome::failed);
  if (!how.ok()) return std::move(how).error();
  Resolved resolved{artifact.name, false, Checksum{DigestAlgorithm::sha256, got->sha256}, {}};
  if (!how->empty()) {
    resolved.how = "downloaded " + artifact.url + ", matches " + *how + " published beside it";
  } else if (options.allow_unverified) {
    resolved.how = "downloaded " + artifact.url + ", NOT verified: upstream publishes no checksum file beside it";
  } else {
    return bs::make_error("artifact " + artifact.name +
                          ": no checksum file (.sha256, .sha512, .sha256sum, SHA256SUMS) " + "is published beside " +
                          artifact.url +
                          ", so the download cannot be verified; read the checksum from upstream's release page " +
                          "and pass it with --checksum, or pin the unverified download with --allow-unverified");
  }
  return resolved;
}

Result<Resolved> resolve_image(const Image& image, RegistryClient& client, bs::Progress& progress) {
  progress.start_item(image.name, std::nullopt, 0);
  auto fail = [&](bs::Error error) -> Result<Resolved> {
    progress.finish_item(image.name, bs::ItemOutcome::failed);
    return std::move(error).context("image " + image.name);
  };
  Result<ImageName> name = parse_image_name(image.reference);
  if (!name.ok()) return fail(std::move(name).error());
  Result<ManifestResponse> by_tag = client.get_manifest(*name, name->tag);
  if (!by_tag.ok()) return fail(std::move(by_tag).error());
  const std::string digest = "sha256:" + bs::sha256_hex(by_tag->body);
  // The registry must serve the same bytes under the digest: content addressing checked by it.
  Result<ManifestResponse> by_digest = client.get_manifest(*name, digest);
  if (!by_digest.ok()) return fail(std::move(by_digest).error());
  if (by_digest->body != by_tag->body) {
    return fail(bs::Error(bs::ErrorCode::verification, "the registry serves other bytes for " + digest + " than for " +
                                                           image.reference + "; nothing was pinned"));
  }
  progress.finish_item(image.name, bs::ItemOutcome::done);
  return Resolved{image.name, true, Checksum{DigestAlgorithm::sha256, digest.substr(7)},
                  "digest of the " + by_tag->content_type + " the registry serves for " + image.reference +
                      ", served again by digest"};
}

// --- editing the text ---

struct Edit {
  size_t offset = 0;
  size_t length = 0;
  std::string text;
};

// Byte offset of a 1-based LINE:COL in `text` (columns count bytes); npos if outside.
size_t offset_of(std::string_view text, Location at) {
  size_t offset = 0;
  for (int line = 1; line < at.line; ++line) {
    offset = text.find('\n', offset);
    if (offset == std::string_view::npos) return offset;
    ++offset;
  }
  const size_t end = std::min(text.find('\n', offset), text.size());
  if (at.column < 1 || offset + static_cast<size_t>(at.column - 1) > end) return std::string_view::npos;
  return offset + static_cast<size_t>(at.column - 1);
}

// Length of the scalar that starts at `offset`: a quoted one through its closing quote, a plain
// one up to a ',', '}', " #" or the end of the line (trailing blanks excluded).
size_t scalar_length(std::string_view text, size_t offset) {
  const char quote = text[offset];
  if (quote == '\'' || quote == '"') {
    size_t end = offset + 1;
    while (end < text.size() && text[end] != quote && text[end] != '\n')
      end += text[end] == '\\' && quote == '"' ? 2 : 1;
    return end < text.size() && text[end] == quote ? end + 1 - offset : 0;
  }
  size_t end = offset;
  while (end < text.size() && text[end] != '\n' && text[end] != ',' && text[end] != '}' &&
         !(text[end] == '#' && end > offset && text[end - 1] == ' ')) {
    ++end;
  }
  while (end > offset && (text[end - 1] == ' ' || text[end - 1] == '\t')) --end;
  return end - offset;
}

std::string unquote(std::string_view scalar) {
  if (scalar.size() >= 2 && (scalar.front() == '\'' || scalar.front() == '"')) {
    return std::string(scalar.substr(1, scalar.size() - 2));
  }
  return std::string(scalar);
}

// A YAML double-quoted scalar of plain text (the mark: a date, URLs, words).
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// True when `offset` lies inside a flow mapping or sequence ({...} or [...]): brackets outside
// quotes and comments, counted from the start of the text.
bool in_flow(std::string_view text, size_t offset) {
  int depth = 0;
  char quote = 0;
  bool comment = false;
  for (size_t i = 0; i < offset; ++i) {
    const char c = text[i];
    if (comment) {
      comment = c != '\n';
    } else if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '#' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\n')) {
      comment = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return depth > 0;
}

// The indentation of the line holding `offset` (its leading blanks and "- "), and whether the
// value at `offset` is a block-style `key: value` (else it sits in a flow mapping).
std::pair<std::string, bool> line_shape(std::string_view text, size_t offset) {
  const size_t start = offset == 0 ? std::string_view::npos : text.rfind('\n', offset - 1);
  const size_t line = start == std::string_view::npos ? 0 : start + 1;
  size_t indent = line;
  while (indent < text.size() && (text[indent] == ' ' || text[indent] == '-')) ++indent;
  return {std::string(indent - line, ' '), !in_flow(text, offset)};
}

// The edits for one NOT-FOUND value (`at`: where its NOT-FOUND is, `key` its key) replaced by
// `value` (empty: remove `key: NOT-FOUND` altogether) and the mark added beside it.
Result<std::vector<Edit>> value_edits(std::string_view text, Location at, std::string_view key,
                                      const std::string& value, const std::string& mark, const std::string& what) {
  const size_t offset = offset_of(text, at);
  const size_t length = offset == std::string_view::npos ? 0 : scalar_length(text, offset);
  if (length == 0 || unquote(text.substr(offset, length)) != k_not_found) {
    return bs::make_error(what + ": NOT-FOUND is no longer at line " + std::to_string(at.line) +
                          " (the manifest changed while pin ran); run pin again");
  }
  const std::string mark_entry = std::string(k_pinned_by_user_key) + ": " + quoted(mark);
  const auto [indent, block] = line_shape(text, offset);
  if (!value.empty() && !block) return std::vector<Edit>{{offset, length, value + ", " + mark_entry}};
  if (!value.empty()) {
    // Block style: the mark on a line of its own after the value's (whose comment stays).
    const size_t end_of_line = std::min(text.find('\n', offset), text.size());
    return std::vector<Edit>{{offset, length, value}, {end_of_line, 0, "\n" + indent + mark_entry}};
  }
  // Images: `digest: NOT-FOUND` becomes the mark (the digest moves into ref).
  const size_t key_at = text.rfind(key, offset);
  if (key_at == std::string_view::npos)
    return bs::make_error(what + ": no '" + std::string(key) + ":' before NOT-FOUND");
  return std::vector<Edit>{{key_at, offset + length - key_at, mark_entry}};
}

Result<std::vector<Edit>> image_edits(std::string_view text, const Image& image, const Resolved& resolved,
                                      const std::string& mark) {
  const std::string what = "image " + image.name;
  TRY_ASSIGN(std::vector<Edit> edits, value_edits(text, image.digest_at, "digest", "", mark, what));
  const size_t offset = offset_of(text, image.ref_at);
  const size_t length = offset == std::string_view::npos ? 0 : scalar_length(text, offset);
  if (length == 0 || unquote(text.substr(offset, length)) != image.reference) {
    return bs::make_error(what + ": ref " + image.reference + " is no longer at line " +
                          std::to_string(image.ref_at.line) + "; run pin again");
  }
  edits.push_back({offset, length, quoted(image.reference + "@" + resolved.value.to_string())});
  return edits;
}

}  // namespace

Result<std::string> checksum_for(std::string_view body, std::string_view file_name, DigestAlgorithm algorithm,
                                 const std::string& url) {
  const size_t want = bs::hex_length(algorithm);
  std::vector<std::pair<std::string, std::string>> entries;  // hash, name ("" when none)
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view line = body.substr(start, end - start);
    start = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty()) continue;
    const size_t blank = line.find_first_of(" \t");
    std::string hash = bs::ascii_lower(line.substr(0, blank));
    std::string_view name = blank == std::string_view::npos ? std::string_view() : line.substr(blank);
    while (!name.empty() && (name.front() == ' ' || name.front() == '\t' || name.front() == '*')) name.remove_prefix(1);
    if (const size_t slash = name.rfind('/'); slash != std::string_view::npos) name.remove_prefix(slash + 1);
    entries.emplace_back(std::move(hash), std::string(name));
  }
  for (const auto& [hash, name] : entries) {
    const bool named = name == file_name || (name.empty() && entries.size() == 1);
    if (!named) continue;
    if (!bs::is_lower_hex(hash, want)) {
      return bs::make_error(url + ": '" + bs::printable(hash) + "' is not a " + std::string(algorithm_name(algorithm)) +
                            " hash");
    }
    return hash;
  }
  return bs::make_error(url + ": no " + std::string(algorithm_name(algorithm)) + " for " + std::string(file_name) +
                        " in it");
}

Result<std::string> pin_text(std::string_view text, const Manifest& manifest, const std::vector<Resolved>& resolved,
                             const std::string& date) {
  std::vector<Edit> edits;
  for (const Resolved& r : resolved) {
    const std::string mark = date + " " + r.how;
    if (r.image) {
      const auto image = std::find_if(manifest.images.begin(), manifest.images.end(),
                                      [&](const Image& i) { return i.name == r.name; });
      if (image == manifest.images.end() || image->digest)
        return bs::make_error("image " + r.name + " is not NOT-FOUND");
      TRY_ASSIGN(std::vector<Edit> more, image_edits(text, *image, r, mark));
      edits.insert(edits.end(), more.begin(), more.end());
    } else {
      const auto artifact = std::find_if(manifest.artifacts.begin(), manifest.artifacts.end(),
                                         [&](const Artifact& a) { return a.name == r.name; });
      if (artifact == manifest.artifacts.end() || artifact->checksum) {
        return bs::make_error("artifact " + r.name + " is not NOT-FOUND");
      }
      TRY_ASSIGN(std::vector<Edit> more,
                 value_edits(text, artifact->checksum_at, "checksum", r.value.to_string(), mark, "artifact " + r.name));
      edits.insert(edits.end(), more.begin(), more.end());
    }
  }
  // From the end backwards, so that earlier offsets stay valid.
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.offset > b.offset; });
  std::string out(text);
  for (const Edit& edit : edits) out.replace(edit.offset, edit.length, edit.text);
  return out;
}

Result<PinReport> run_pin(const PinManifestOptions& options, bs::Progress& progress) {
  TRY_ASSIGN(const std::string text, bs::read_file(options.manifest_path, 16 << 20));
  TRY_ASSIGN(const Manifest manifest, parse_manifest(text, options.manifest_path));
  PinReport report;
  size_t wanted = 0;
  for (const Artifact& artifact : manifest.artifacts) wanted += artifact.checksum ? 0 : 1;
  for (const Image& image : manifest.images) wanted += image.digest ? 0 : 1;
  progress.plan(wanted);
  // 1. Resolve every NOT-FOUND value; the first that cannot be resolved stops the run.
  for (const Artifact& artifact : manifest.artifacts) {
    if (artifact.checksum) continue;
    TRY_ASSIGN(Resolved resolved, resolve_artifact(artifact, options, progress));
    report.resolved.push_back(std::move(resolved));
  }
  RegistryClient client(options.registry);
  for (const Image& image : manifest.images) {
    if (image.digest) continue;
    TRY_ASSIGN(Resolved resolved, resolve_image(image, client, progress));
    report.resolved.push_back(std::move(resolved));
  }
  if (report.resolved.empty() || options.dry_run) return report;
  // 2. Write them in, check the result is a manifest with no NOT-FOUND left, then replace the file.
  const std::string date = options.date.empty() ? today_utc() : options.date;
  TRY_ASSIGN(const std::string pinned, pin_text(text, manifest, report.resolved, date));
  TRY_ASSIGN_CTX(const Manifest check, parse_manifest(pinned, options.manifest_path),
                 "the pinned manifest would be invalid; nothing was written");
  TRY(require_pins(check, {}));
  TRY(bs::write_file_atomic(options.manifest_path, pinned, 0644, bs::Overwrite::yes));
  report.written = true;
  return report;
}

}  // namespace builder
