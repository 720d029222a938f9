#include "assemble.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "bundlespec/digest.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/interrupt.hpp"
#include "bundlespec/signing.hpp"

namespace builder {

namespace bs = bundlespec;

namespace {

// "./a/b" -> "a/b".
std::string member_name(const char* raw) {
  std::string name = raw ? raw : "";
  while (name.rfind("./", 0) == 0) name.erase(0, 2);
  return name;
}

bs::Status create_parents(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return bs::make_error("create folder for " + path + ": " + ec.message());
  return bs::ok_status();
}

bs::Status copy_member(struct archive* a, const std::string& target, const std::string& what) {
  TRY(create_parents(target));
  bs::Fd fd(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return bs::errno_error("create", target);
  for (;;) {
    if (bs::interrupt_requested()) return bs::interrupted_error();
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    const int rc = archive_read_data_block(a, &block, &size, &offset);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) return bs::make_error(what + ": " + archive_error_string(a));
    TRY(bs::write_all(fd.get(), std::string_view(static_cast<const char*>(block), size), target));
  }
  return fd.close(target);
}

// A placement's file: in the cache for file artifacts, in staging for tarball members.
std::string placement_source(const Artifact& artifact, const Placement& placement, const FetchResult& fetched,
                             const std::string& staging) {
  return artifact.kind == ArtifactKind::file ? fetched.path : staging + "/" + placement.to;
}

}  // namespace

bs::Status unpack_members(const Artifact& artifact, const std::string& tarball, const std::string& staging) {
  std::map<std::string, const Placement*> wanted;
  for (const auto& placement : artifact.placements) wanted[placement.from] = &placement;
  const bs::ArchiveReader a;
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_zstd(a.get());
  archive_read_support_filter_xz(a.get());
  archive_read_support_format_tar(a.get());
  const std::string what = "artifact " + artifact.name + " " + artifact.version;
  if (archive_read_open_filename(a.get(), tarball.c_str(), 1 << 20) != ARCHIVE_OK) {
    return bs::make_error(what + ": cannot read tarball: " + archive_error_string(a.get()));
  }
  std::set<std::string> found;
  struct archive_entry* entry = nullptr;
  for (;;) {
    const int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return bs::make_error(what + ": " + archive_error_string(a.get()));
    const std::string name = member_name(archive_entry_pathname(entry));
    const auto it = wanted.find(name);
    if (it == wanted.end() || found.count(name)) continue;
    if (archive_entry_filetype(entry) != AE_IFREG || archive_entry_hardlink(entry) != nullptr) {
      return bs::make_error(what + ": member " + name + " is not a regular file");
    }
    TRY(copy_member(a.get(), staging + "/" + it->second->to, what + ": member " + name));
    found.insert(name);
  }
  std::string missing;
  for (const auto& [name, placement] : wanted) {
    if (!found.count(name)) missing += (missing.empty() ? "" : ", ") + name;
  }
  if (!missing.empty()) return bs::make_error(what + ": tarball has no member " + missing);
  return bs::ok_status();
}

bs::Result<std::vector<bs::SourceEntry>> bundle_entries(const Manifest& manifest,
                                                        const std::vector<FetchResult>& fetched,
                                                        const std::string& staging,
                                                        const std::vector<std::string>& extra_files) {
  std::map<std::string, bs::SourceEntry> entries;
  const auto add_parents = [&](const std::string& path) {
    for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
      bs::SourceEntry dir;
      dir.entry.path = path.substr(0, slash);
      dir.entry.type = bs::EntryType::directory;
      dir.entry.mode = 0755;
      entries.emplace(dir.entry.path, dir);
    }
  };
  // known_sha256: the digest of a file taken from the verified cache, which the writer then
  // records without hashing the file again (see bs::SourceEntry).
  const auto add_file = [&](const std::string& path, const std::string& source, uint32_t mode,
                            std::optional<bs::Origin> origin, std::string known_sha256) -> bs::Status {
    struct stat st {};
    if (::stat(source.c_str(), &st) != 0) return bs::errno_error("stat", source);
    bs::SourceEntry file;
    file.entry.path = path;
    file.entry.type = bs::EntryType::file;
    file.entry.mode = mode;
    file.entry.size = static_cast<uint64_t>(st.st_size);
    file.entry.origin = std::move(origin);
    file.source_path = source;
    file.known_sha256 = std::move(known_sha256);
    if (!entries.emplace(path, std::move(file)).second) return bs::make_error("two files want bundle path " + path);
    add_parents(path);
    return bs::ok_status();
  };
  for (const auto& artifact : manifest.artifacts) {
    const auto it =
        std::find_if(fetched.begin(), fetched.end(), [&](const FetchResult& r) { return r.name == artifact.name; });
    if (it == fetched.end()) return bs::make_error("artifact " + artifact.name + " was not fetched");
    bs::Origin origin{artifact.name, artifact.version, artifact.url,
                      artifact.checksum ? artifact.checksum->to_string() : ""};
    const bool whole = artifact.kind == ArtifactKind::file;
    for (const auto& placement : artifact.placements) {
      TRY(add_file(placement.to, placement_source(artifact, placement, *it, staging), placement.mode, origin,
                   whole ? it->sha256_hex : ""));
    }
  }
  // Image blobs are hard links to (or copies of) cache files named by their SHA-256.
  const std::string blobs = "images/blobs/sha256/";
  for (const auto& extra : extra_files) {
    const bool blob = extra.compare(0, blobs.size(), blobs) == 0;
    TRY(add_file(extra, staging + "/" + extra, 0644, std::nullopt, blob ? extra.substr(blobs.size()) : ""));
  }
  std::vector<bs::SourceEntry> sorted;
  sorted.reserve(entries.size());
  for (auto& [path, entry] : entries) sorted.push_back(std::move(entry));
  return sorted;
}

namespace {

// A private folder removed with everything in it when the build ends, however it ends.
class StagingDir {
 public:
  static bs::Result<StagingDir> create(const std::string& output) {
    std::string parent = std::filesystem::path(output).parent_path().string();
    if (parent.empty()) parent = ".";
    std::string pattern = parent + "/.kubeferry-build-XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    if (::mkdtemp(name.data()) == nullptr) return bs::errno_error("create staging folder in", parent);
    return StagingDir(name.data());
  }
  StagingDir(StagingDir&& other) noexcept : m_path(std::exchange(other.m_path, {})) {}
  StagingDir(const StagingDir&) = delete;
  ~StagingDir() {
    if (!m_path.empty()) std::ignore = bs::remove_tree(m_path);
  }
  const std::string& path() const { return m_path; }

 private:
  explicit StagingDir(std::string path) : m_path(std::move(path)) {}
  std::string m_path;
};

bs::Result<Manifest> load_pinned_manifest(const BuildOptions& options) {
  TRY_ASSIGN(Manifest manifest, load_manifest(options.manifest_path));
  TRY_ASSIGN(ChecksumOverrides overrides, parse_checksum_overrides(options.checksum_overrides));
  TRY(require_pins(manifest, overrides));
  return apply_checksum_overrides(std::move(manifest), overrides);
}

// Every file under STAGING/images, relative to STAGING, sorted.
bs::Result<std::vector<std::string>> image_files(const std::string& staging) {
  std::vector<std::string> files;
  std::error_code ec;
  const std::filesystem::path root(staging);
  for (auto it = std::filesystem::recursive_directory_iterator(root / "images", ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) files.push_back(std::filesystem::relative(it->path(), root, ec).string());
  }
  if (ec) return bs::make_error("list " + staging + "/images: " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<LockedImage> locked_images(const bs::ImagesIndex& index) {
  std::vector<LockedImage> locked;
  for (const auto& image : index.images) {
    LockedImage entry;
    entry.name = image.name;
    entry.reference = image.reference;
    entry.digest = image.target.digest;
    if (image.platforms.size() == 1 && image.platforms.front().manifest.digest != image.target.digest) {
      entry.platform_digest = image.platforms.front().manifest.digest;
    }
    for (const auto& blob : bs::image_blobs(image)) entry.size += blob.size;
    locked.push_back(std::move(entry));
  }
  return locked;
}

std::vector<FetchRequest> requests_for(const Manifest& manifest) {
  std::vector<FetchRequest> requests;
  for (const auto& artifact : manifest.artifacts) {
    FetchRequest request;
    request.name = artifact.name;
    request.url = artifact.url;
    request.checksum = *artifact.checksum;
    requests.push_back(std::move(request));
  }
  return requests;
}

// bundle.lock, sbom.spdx.json and manifest.yaml, written into staging.
bs::Result<std::vector<std::string>> write_records(const Manifest& manifest, const std::string& manifest_text,
                                                   const std::vector<FetchResult>& fetched,
                                                   const std::vector<LockedImage>& images, const std::string& staging) {
  const std::string lock = bs::to_pretty_json(make_lock(manifest, bs::sha256_hex(manifest_text), fetched, images));
  const std::string sbom = bs::to_pretty_json(make_sbom(manifest, fetched, images, bs::sha256_hex(lock)));
  TRY(bs::write_new_file(staging + "/bundle.lock", lock, 0644));
  TRY(bs::write_new_file(staging + "/sbom.spdx.json", sbom, 0644));
  TRY(bs::write_new_file(staging + "/manifest.yaml", manifest_text, 0644));
  return std::vector<std::string>{"bundle.lock", "manifest.yaml", "sbom.spdx.json"};
}

}  // namespace

bs::Result<BuildSummary> run_build(const BuildOptions& options, bs::Progress& progress) {
  // 1. What to build, every pin present.
  TRY_ASSIGN(Manifest manifest, load_pinned_manifest(options));
  TRY_ASSIGN(bs::Key key, bs::load_private_key(options.key_path));
  TRY_ASSIGN(std::string manifest_text, bs::read_file(options.manifest_path, 16 << 20));

  // 2. Every artifact in the cache, verified.
  TRY_ASSIGN(std::vector<FetchResult> fetched, fetch_all(requests_for(manifest), options.fetch, progress));
  BuildSummary summary;
  for (const auto& result : fetched) (result.from_cache ? summary.from_cache : summary.downloaded)++;

  // 3. Tarball members unpacked beside the output; files come straight from the cache.
  TRY_ASSIGN(StagingDir staging, StagingDir::create(options.output));
  for (size_t i = 0; i < manifest.artifacts.size(); ++i) {
    if (manifest.artifacts[i].kind != ArtifactKind::tarball) continue;
    TRY(unpack_members(manifest.artifacts[i], fetched[i].path, staging.path()));
  }

  // 4. Images by digest, every blob once.
  std::vector<LockedImage> images;
  std::vector<std::string> extra;
  if (!manifest.images.empty()) {
    TRY_ASSIGN(std::vector<ImageRef> refs, image_refs(manifest));
    RegistryOptions registry = options.registry;
    registry.fetch = options.fetch;
    registry.platforms = manifest.platforms;
    TRY_ASSIGN(ImagesSummary fetched_images, fetch_images(refs, registry, staging.path(), progress));
    summary.images = fetched_images.index.images.size();
    summary.image_blobs = fetched_images.blob_count;
    images = locked_images(fetched_images.index);
    TRY_ASSIGN(extra, image_files(staging.path()));
  }

  // 5. The records of what went in.
  TRY_ASSIGN(std::vector<std::string> records, write_records(manifest, manifest_text, fetched, images, staging.path()));
  extra.insert(extra.end(), records.begin(), records.end());
  TRY_ASSIGN(std::vector<bs::SourceEntry> entries, bundle_entries(manifest, fetched, staging.path(), extra));
  std::vector<bs::IndexEntry> plain;
  for (const auto& source : entries) plain.push_back(source.entry);
  TRY(bs::validate_entries(plain));

  // 6. The container and its stock-tool checksum files.
  bs::WriterOptions writer;
  writer.name = manifest.bundle;
  writer.platform = manifest.platforms.front();
  writer.epoch = manifest.epoch;
  writer.compression.level = options.level;
  writer.threads = options.threads;
  writer.installer_path = options.installer_path;
  uint64_t total = 0;
  for (const auto& source : entries) total += source.entry.size;
  const std::string item = "pack " + options.output;
  progress.start_item(item, total, 0);
  uint64_t last = 0;
  writer.on_bytes = [&](uint64_t done) {
    progress.advance(item, done - last);
    last = done;
  };
  auto written = bs::write_bundle(entries, key, writer, options.output);
  progress.finish_item(item, written.ok() ? bs::ItemOutcome::done : bs::ItemOutcome::failed);
  if (!written.ok()) return std::move(written).error();
  TRY(bs::write_checksum_files(options.output, written->file_sha256, key));
  summary.written = std::move(written).value();
  return summary;
}

}  // namespace builder
