#include "images.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <set>
#include <tuple>

#include "bundlespec/fs.hpp"
#include "bundlespec/json.hpp"
#include "bundlespec/text.hpp"
#include "cache.hpp"

namespace builder {

namespace bs = bundlespec;
using bs::ImageDescriptor;
using bs::ImagePlatform;
using bs::ImageRecord;
using bs::Json;
using bs::Result;
using bs::Status;

namespace {

constexpr uint64_t k_max_manifest = 4 << 20;

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string to_string() const { return os + "/" + architecture + (variant.empty() ? "" : "/" + variant); }
};

Result<Platform> parse_platform(const std::string& text) {
  Platform p;
  const size_t a = text.find('/');
  const size_t b = a == std::string::npos ? a : text.find('/', a + 1);
  p.os = text.substr(0, a);
  if (a != std::string::npos) p.architecture = text.substr(a + 1, b == std::string::npos ? b : b - a - 1);
  if (b != std::string::npos) p.variant = text.substr(b + 1);
  if (p.os.empty() || p.architecture.empty() || (b != std::string::npos && p.variant.empty()) ||
      p.variant.find('/') != std::string::npos) {
    return bs::usage_error("platform '" + text + "' must look like OS/ARCH or OS/ARCH/VARIANT (e.g. linux/amd64)");
  }
  return p;
}

// "os/arch[/variant]" of an index entry's or a config's platform fields.
Platform platform_of(const Json& json) {
  Platform p;
  if (auto os = bs::get_string(json, "os"); os.ok()) p.os = *os;
  if (auto arch = bs::get_string(json, "architecture"); arch.ok()) p.architecture = *arch;
  if (auto variant = bs::get_string(json, "variant"); variant.ok()) p.variant = *variant;
  return p;
}

bool matches(const Platform& want, const Platform& have) {
  return want.os == have.os && want.architecture == have.architecture &&
         (want.variant.empty() || want.variant == have.variant);
}

Result<ImageDescriptor> parse_descriptor(const Json& json, const std::string& what) {
  ImageDescriptor d;
  auto fields = [&]() -> Status {
    if (!json.is_object()) return bs::verification_error("not an object");
    if (auto type = bs::get_string(json, "mediaType"); type.ok()) d.media_type = *type;
    TRY_ASSIGN(d.digest, bs::get_string(json, "digest"));
    TRY_ASSIGN(const int64_t size, bs::get_integer(json, "size"));
    if (size < 0) return bs::verification_error("negative size");
    d.size = static_cast<uint64_t>(size);
    TRY_ASSIGN(const bs::Checksum checksum, bs::parse_checksum(d.digest));
    if (checksum.algorithm != bs::DigestAlgorithm::sha256) return bs::verification_error("digest is not sha256");
    return bs::ok_status();
  }();
  if (!fields.ok()) return std::move(fields).error().context(what);
  return d;
}

// The media type of a manifest document: its own mediaType field, else the response's
// Content-Type, else its shape (OCI allows the field to be absent).
std::string media_type_of(const Json& json, const std::string& content_type) {
  if (auto type = bs::get_string(json, "mediaType"); type.ok()) return *type;
  if (content_type == bs::k_media_oci_index || content_type == bs::k_media_oci_manifest ||
      content_type == bs::k_media_docker_list || content_type == bs::k_media_docker_manifest) {
    return content_type;
  }
  if (json.find("manifests") != nullptr) return std::string(bs::k_media_oci_index);
  if (json.find("layers") != nullptr) return std::string(bs::k_media_oci_manifest);
  return content_type;
}

bool is_manifest_media_type(std::string_view type) {
  return type == bs::k_media_oci_manifest || type == bs::k_media_docker_manifest;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// A manifest or index document as fetched.
struct Document {
  std::string body;
  Json json;
  std::string media_type;
};

class ImageFetcher {
 public:
  ImageFetcher(const RegistryOptions& options, Cache cache, RegistryAuth auth, bs::Progress& progress)
      : m_options(options), m_cache(std::move(cache)), m_client(std::move(auth)), m_progress(progress) {}

  // Steps 1-2 of the file comment for one image: its record without blobs fetched.
  Result<ImageRecord> resolve(const ImageRef& ref, const ImageName& name, const std::vector<Platform>& platforms);
  Cache& cache() { return m_cache; }
  RegistryClient& client() { return m_client; }
  size_t downloaded() const { return m_downloaded; }

 private:
  Result<Document> load(const ImageName& name, const std::string& digest, std::optional<uint64_t> size,
                        const std::string& tag);
  Result<std::string> fetch_body(const ImageName& name, const std::string& digest, const std::string& tag,
                                 std::string& content_type);
  Result<ImagePlatform> resolve_manifest(const ImageName& name, const ImageDescriptor& manifest,
                                         const std::string& platform, const std::string& tag);
  Status store(const bs::Checksum& checksum, const std::string& body);

  const RegistryOptions& m_options;
  Cache m_cache;
  RegistryClient m_client;
  bs::Progress& m_progress;
  size_t m_downloaded = 0;
};

Status ImageFetcher::store(const bs::Checksum& checksum, const std::string& body) {
  const std::string temp = m_cache.partial_dir() + "/manifest-" + checksum.hex;
  TRY(bs::write_file_atomic(temp, body, 0644, bs::Overwrite::yes));
  CacheEntry entry;
  entry.size = body.size();
  entry.sha256_hex = checksum.hex;
  auto inserted = m_cache.insert(temp, checksum, std::move(entry));
  if (!inserted.ok()) {
    std::ignore = ::unlink(temp.c_str());
    return std::move(inserted).error();
  }
  return bs::ok_status();
}

Result<std::string> ImageFetcher::fetch_body(const ImageName& name, const std::string& digest, const std::string& tag,
                                             std::string& content_type) {
  auto response = m_client.get_manifest(name, digest);
  if (!response.ok()) {
    const bs::Error& error = response.error();
    if (!error.is(bs::Reason::http_status) || error.http_status() != 404) return std::move(response).error();
    // Say what the tag points to now: the usual cause is a wrong or outdated pin.
    auto by_tag = m_client.get_manifest(name, tag);
    if (!by_tag.ok()) return std::move(response).error();
    return bs::verification_error("the registry has no manifest " + digest + " (HTTP 404); the tag " + tag +
                                  " points to sha256:" + bs::sha256_hex(by_tag->body) +
                                  " now: check the pinned digest");
  }
  ++m_downloaded;
  content_type = response->content_type;
  return std::move(response->body);
}

Result<Document> ImageFetcher::load(const ImageName& name, const std::string& digest, std::optional<uint64_t> size,
                                    const std::string& tag) {
  TRY_ASSIGN(const bs::Checksum checksum, bs::parse_checksum(digest));
  Document doc;
  std::string content_type;
  TRY_ASSIGN(const auto hit, m_cache.lookup(checksum, m_options.fetch.cache_check));
  if (hit) {
    TRY_ASSIGN(doc.body, bs::read_file(hit->path, k_max_manifest));
  } else {
    TRY_ASSIGN(doc.body, fetch_body(name, digest, tag, content_type));
    const std::string actual = bs::sha256_hex(doc.body);
    if (actual != checksum.hex) {
      return bs::verification_error("manifest digest mismatch: expected " + digest + ", the registry sent sha256:" +
                                    actual + " (" + std::to_string(doc.body.size()) + " bytes)");
    }
    TRY(store(checksum, doc.body));
  }
  if (size && *size != doc.body.size()) {
    return bs::verification_error("manifest " + digest + " has " + std::to_string(doc.body.size()) +
                                  " bytes, its descriptor says " + std::to_string(*size));
  }
  TRY_ASSIGN_CTX(auto json, bs::parse_json(doc.body), "manifest " + digest);
  doc.json = std::move(json);
  doc.media_type = media_type_of(doc.json, content_type);
  if (auto version = bs::get_integer(doc.json, "schemaVersion"); version.ok() && *version == 1) {
    return bs::verification_error("manifest " + digest + " is a Docker schema 1 manifest, which is not supported");
  }
  return doc;
}

Result<ImagePlatform> ImageFetcher::resolve_manifest(const ImageName& name, const ImageDescriptor& manifest,
                                                     const std::string& platform, const std::string& tag) {
  TRY_ASSIGN(const Document doc, load(name, manifest.digest, manifest.size, tag));
  if (!is_manifest_media_type(doc.media_type)) {
    return bs::verification_error("manifest " + manifest.digest + " has unsupported media type '" +
                                  bs::printable(doc.media_type) + "'");
  }
  ImagePlatform p;
  p.platform = platform;
  p.manifest = manifest;
  p.manifest.media_type = doc.media_type;
  p.manifest.size = doc.body.size();
  TRY_ASSIGN(const Json* config, bs::get_member(doc.json, "config", Json::Type::object));
  TRY_ASSIGN(p.config, parse_descriptor(*config, "manifest " + manifest.digest + ": config"));
  TRY_ASSIGN(const Json* layers, bs::get_member(doc.json, "layers", Json::Type::array));
  for (size_t i = 0; i < layers->as_array().size(); ++i) {
    TRY_ASSIGN(auto layer, parse_descriptor(layers->as_array()[i],
                                            "manifest " + manifest.digest + ": layer #" + std::to_string(i + 1)));
    p.layers.push_back(std::move(layer));
  }
  return p;
}

Result<ImageRecord> ImageFetcher::resolve(const ImageRef& ref, const ImageName& name,
                                          const std::vector<Platform>& platforms) {
  ImageRecord record;
  record.name = ref.name;
  record.reference = ref.reference;
  record.full_name = name.full();
  const std::string pinned = ref.digest.to_string();
  TRY_ASSIGN(const Document top, load(name, pinned, std::nullopt, name.tag));
  record.target = ImageDescriptor{top.media_type, pinned, top.body.size()};
  if (is_manifest_media_type(top.media_type)) {
    // One platform; the config (fetched later) must say which.
    TRY_ASSIGN(auto p, resolve_manifest(name, record.target, "", name.tag));
    record.platforms.push_back(std::move(p));
    return record;
  }
  if (!bs::is_index_media_type(top.media_type)) {
    return bs::verification_error("manifest " + pinned + " has unsupported media type '" +
                                  bs::printable(top.media_type) + "'");
  }
  TRY_ASSIGN(const Json* entries, bs::get_member(top.json, "manifests", Json::Type::array));
  std::vector<std::pair<Platform, ImageDescriptor>> available;
  std::vector<std::string> names;
  for (size_t i = 0; i < entries->as_array().size(); ++i) {
    const Json& entry = entries->as_array()[i];
    TRY_ASSIGN(auto d, parse_descriptor(entry, "index " + pinned + ": manifest #" + std::to_string(i + 1)));
    const Json* platform = entry.find("platform");
    if (platform == nullptr || !platform->is_object()) continue;  // e.g. attestation entries
    available.emplace_back(platform_of(*platform), std::move(d));
    names.push_back(available.back().first.to_string());
  }
  for (const Platform& want : platforms) {
    const auto it =
        std::find_if(available.begin(), available.end(), [&](const auto& entry) { return matches(want, entry.first); });
    if (it == available.end()) {
      return bs::usage_error("no manifest for " + want.to_string() + " in index " + pinned + " (it has " +
                             (names.empty() ? std::string("no platforms") : join(names)) + ")");
    }
    TRY_ASSIGN(auto p, resolve_manifest(name, it->second, it->first.to_string(), name.tag));
    record.platforms.push_back(std::move(p));
  }
  return record;
}

// A single-manifest image: its config must be for every requested platform.
Status check_config_platform(ImageRecord& record, const Cache& cache, const std::vector<Platform>& platforms) {
  if (bs::is_index_media_type(record.target.media_type)) return bs::ok_status();
  ImagePlatform& only = record.platforms.front();
  TRY_ASSIGN(const bs::Checksum checksum, bs::parse_checksum(only.config.digest));
  TRY_ASSIGN(const std::string text, bs::read_file(cache.entry_path(checksum), k_max_manifest));
  TRY_ASSIGN_CTX(auto json, bs::parse_json(text), "config " + only.config.digest);
  const Platform have = platform_of(json);
  only.platform = have.to_string();
  for (const Platform& want : platforms) {
    if (!matches(want, have)) {
      return bs::usage_error("the image is " + have.to_string() + " only (manifest " + record.target.digest +
                             "), not " + want.to_string());
    }
  }
  return bs::ok_status();
}

// Hard link (same file system) or copy of a verified cache file.
Status place_blob(const std::string& from, const std::string& to) {
  if (::link(from.c_str(), to.c_str()) == 0) return bs::ok_status();
  if (errno != EXDEV && errno != EPERM && errno != EMLINK) return bs::errno_error("link " + from + " to", to);
  TRY_ASSIGN(bs::AtomicFile out, bs::AtomicFile::create(to, 0644, bs::Overwrite::no));
  bs::Fd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return bs::errno_error("open", from);
  std::vector<char> buffer(1 << 20);
  for (;;) {
    const ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return bs::errno_error("read", from);
    if (n == 0) break;
    TRY(out.write(std::string_view(buffer.data(), static_cast<size_t>(n))));
  }
  return out.commit();
}

Status make_dirs(const std::string& root, const std::vector<std::string>& subdirs) {
  for (const auto& sub : subdirs) {
    const std::string path = root + "/" + sub;
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return bs::errno_error("create folder", path);
  }
  return bs::ok_status();
}

// Writes the layout into a temporary folder beside STAGING/images and renames it into place.
Status write_layout(const bs::ImagesIndex& index, const Cache& cache, const std::string& staging,
                    ImagesSummary& summary) {
  std::string temp = staging + "/images.tmp-XXXXXX";
  if (::mkdtemp(temp.data()) == nullptr) return bs::errno_error("create folder", temp);
  auto written = [&]() -> Status {
    if (::chmod(temp.c_str(), 0755) != 0) return bs::errno_error("chmod", temp);
    TRY(make_dirs(temp, {"blobs", "blobs/sha256"}));
    std::set<std::string> placed;
    for (const ImageRecord& image : index.images) {
      for (const ImageDescriptor& blob : bs::image_blobs(image)) {
        if (!placed.insert(blob.digest).second) continue;
        TRY_ASSIGN(const bs::Checksum checksum, bs::parse_checksum(blob.digest));
        TRY(place_blob(cache.entry_path(checksum), temp + "/blobs/sha256/" + checksum.hex));
        ++summary.blob_count;
        summary.blob_bytes += blob.size;
      }
    }
    TRY(bs::write_file_atomic(temp + "/images.json", bs::encode_images_index(index), 0644, bs::Overwrite::no));
    const std::string final_dir = staging + "/images";
    if (::rename(temp.c_str(), final_dir.c_str()) != 0) return bs::errno_error("rename " + temp + " to", final_dir);
    return bs::sync_parent_dir(final_dir);
  }();
  if (!written.ok()) std::ignore = bs::remove_tree(temp);
  return written;
}

std::string blob_label(const ImageRef& ref, const ImageDescriptor& blob) {
  return "image " + ref.name + " blob " + blob.digest.substr(0, 19);
}

}  // namespace

Result<std::vector<ImageRef>> image_refs(const Manifest& manifest) {
  std::vector<ImageRef> refs;
  std::string missing;
  for (const Image& image : manifest.images) {
    if (!image.digest) {
      missing += (missing.empty() ? "" : ", ") + image.name;
      continue;
    }
    refs.push_back(ImageRef{image.name, image.reference, *image.digest});
  }
  if (!missing.empty()) {
    return bs::usage_error("images without a pinned digest: " + missing + " (pin NAME:TAG@sha256:<hex> in " +
                           manifest.file + " or pass --checksum NAME=sha256:<hex>)");
  }
  return refs;
}

Result<ImagesSummary> fetch_images(const std::vector<ImageRef>& images, const RegistryOptions& options,
                                   const std::string& staging_dir, bs::Progress& progress) {
  if (images.empty()) return bs::usage_error("no images to fetch");
  struct stat st {};
  const std::string final_dir = staging_dir + "/images";
  if (::lstat(final_dir.c_str(), &st) == 0) {
    return bs::usage_error(final_dir + " already exists; remove it or choose another output folder");
  }
  if (::stat(staging_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return bs::usage_error("output folder " + staging_dir + " does not exist");
  }
  std::vector<Platform> platforms;
  for (const std::string& text : options.platforms) {
    TRY_ASSIGN(auto p, parse_platform(text));
    platforms.push_back(std::move(p));
  }
  if (platforms.empty()) return bs::usage_error("no platform asked for");

  // Registry client settings: credentials from the docker config, then --creds on top.
  RegistryAuth auth;
  TRY_ASSIGN(auth.credentials,
             load_docker_auths(options.auth_file.empty() ? default_docker_config() : options.auth_file));
  for (const auto& [host, creds] : options.credentials) auth.credentials[host] = creds;
  auth.plain_http = options.plain_http;
  auth.cacert = options.fetch.cacert;
  auth.max_attempts = options.fetch.max_attempts;
  auth.initial_backoff = options.fetch.initial_backoff;
  auth.max_backoff = options.fetch.max_backoff;
  auth.connect_timeout = options.fetch.connect_timeout;
  std::string root = options.fetch.cache_dir;
  if (root.empty()) {
    TRY_ASSIGN(root, default_cache_dir());
  }
  TRY_ASSIGN(Cache cache, Cache::open(root));
  ImageFetcher fetcher(options, std::move(cache), std::move(auth), progress);

  // 1-2. Manifests of every image; 3. one download request per blob not yet requested.
  ImagesSummary summary;
  std::vector<FetchRequest> requests;
  std::vector<std::pair<size_t, ImageDescriptor>> requested;  // image index, descriptor
  std::set<std::string> seen;
  for (size_t i = 0; i < images.size(); ++i) {
    const ImageRef& ref = images[i];
    const std::string context = "image '" + ref.name + "' (" + ref.reference + ")";
    TRY_ASSIGN_CTX(auto name, parse_image_name(ref.reference), context);
    TRY_ASSIGN_CTX(auto record, fetcher.resolve(ref, name, platforms), context);
    bool warmed_up = false;
    for (const ImagePlatform& p : record.platforms) {
      std::vector<ImageDescriptor> blobs{p.config};
      blobs.insert(blobs.end(), p.layers.begin(), p.layers.end());
      for (const ImageDescriptor& blob : blobs) {
        if (!seen.insert(blob.digest).second) continue;
        TRY_ASSIGN(const bs::Checksum checksum, bs::parse_checksum(blob.digest));
        if (!warmed_up) {
          // A cached manifest earned no token yet: ask once so blob requests carry one.
          TRY_ASSIGN(const auto hit, fetcher.cache().lookup(checksum, options.fetch.cache_check));
          if (!hit) {
            TRY_CTX(fetcher.client().get_manifest(name, ref.digest.to_string()), context);
            warmed_up = true;
          }
        }
        const BlobRequest request = fetcher.client().blob_request(name, blob.digest);
        FetchRequest fetch{blob_label(ref, blob), request.url, checksum, request.headers, {}};
        if (!request.headers.empty()) {
          // Tokens expire (often after 5 minutes) while other blobs download: earn a new one.
          fetch.refresh_headers = [&client = fetcher.client(), repository = name] {
            return client.refresh_authorization(repository);
          };
        }
        requests.push_back(std::move(fetch));
        requested.emplace_back(i, blob);
      }
    }
    summary.index.images.push_back(std::move(record));
  }
  TRY_ASSIGN(const std::vector<FetchResult> results, fetch_all(requests, options.fetch, progress));
  for (size_t r = 0; r < results.size(); ++r) {
    const auto& [image, blob] = requested[r];
    if (!results[r].from_cache) ++summary.downloaded;
    if (results[r].size != blob.size) {
      return bs::verification_error("image '" + images[image].name + "' (" + images[image].reference + "): blob " +
                                    blob.digest + " has " + std::to_string(results[r].size) +
                                    " bytes, its descriptor says " + std::to_string(blob.size));
    }
  }
  for (size_t i = 0; i < images.size(); ++i) {
    Status checked = check_config_platform(summary.index.images[i], fetcher.cache(), platforms);
    if (!checked.ok()) {
      return std::move(checked).error().context("image '" + images[i].name + "' (" + images[i].reference + ")");
    }
  }
  summary.downloaded += fetcher.downloaded();
  TRY(write_layout(summary.index, fetcher.cache(), staging_dir, summary));
  return summary;
}

}  // namespace builder
