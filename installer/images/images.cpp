#include "images/images.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <tuple>

#include "bundlespec/digest.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/json.hpp"
#include "bundlespec/text.hpp"
#include "system/process.hpp"

namespace installer {

namespace bs = bundlespec;
using bs::ImageDescriptor;
using bs::ImagePlatform;
using bs::ImageRecord;
using bs::Json;
using bs::Result;
using bs::Status;

namespace {

constexpr size_t k_max_command_output = 1 << 20;

// A tar writer on a file descriptor. finish() writes the end-of-archive blocks; without it the
// stream is abandoned (bundlespec::ArchiveWriter), left cut short on purpose.
class TarStream {
 public:
  explicit TarStream(int fd) : m_fd(fd) {}

  Status open() {
    if (m_writer.get() == nullptr) return bs::make_error("archive_write_new failed");
    if (archive_write_set_format_ustar(m_archive) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(m_archive, 1) != ARCHIVE_OK ||
        archive_write_open_fd(m_archive, m_fd) != ARCHIVE_OK) {
      return error("open tar stream");
    }
    return bs::ok_status();
  }
  Status header(const std::string& path, uint64_t size) {
    const bs::Handle<archive_entry> entry(archive_entry_new());
    archive_entry_set_pathname(entry.get(), path.c_str());
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
    archive_entry_set_mtime(entry.get(), 0, 0);
    if (archive_write_header(m_archive, entry.get()) != ARCHIVE_OK) return error("write tar header " + path);
    return bs::ok_status();
  }
  Status data(const char* bytes, size_t size) {
    if (archive_write_data(m_archive, bytes, size) != static_cast<la_ssize_t>(size)) return error("write tar data");
    return bs::ok_status();
  }
  Status file(const std::string& path, std::string_view content) {
    TRY(header(path, content.size()));
    return data(content.data(), content.size());
  }
  Status finish() { return m_writer.finish("finish tar stream"); }

 private:
  Status error(const std::string& what) const {
    const char* text = archive_error_string(m_archive);
    return bs::make_error(what + ": " + (text != nullptr ? text : "unknown libarchive error"));
  }
  bs::ArchiveWriter m_writer;
  struct archive* m_archive = m_writer.get();
  int m_fd;
};

// Streams one blob file into the tar, checking its size before and its SHA-256 after.
Status stream_blob(TarStream& tar, const std::string& root, const ImageRecord& image, const ImageDescriptor& blob) {
  const std::string path = root + "/" + bs::image_blob_path(blob.digest);
  const auto corrupted = [&](const std::string& what) {
    return bs::verification_error("image '" + bs::printable(image.name) + "' (" + bs::printable(image.reference) +
                                  "): blob " + blob.digest + " is corrupted: " + what + " (" + path +
                                  "); extract the bundle again");
  };
  bs::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return bs::errno_error("open", path).context("image '" + bs::printable(image.name) + "'");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return bs::errno_error("stat", path);
  if (static_cast<uint64_t>(st.st_size) != blob.size) {
    return corrupted(std::to_string(st.st_size) + " bytes, expected " + std::to_string(blob.size));
  }
  TRY(tar.header("blobs/sha256/" + blob.digest.substr(7), blob.size));
  bs::Hasher hasher(bs::DigestAlgorithm::sha256);
  std::vector<char> buffer(1 << 20);
  uint64_t done = 0;
  size_t held = 0;  // bytes of the last chunk, written only once the digest matches
  while (done < blob.size) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return bs::errno_error("read", path);
    if (n == 0) return corrupted("it ended after " + std::to_string(done) + " bytes");
    hasher.update(buffer.data(), static_cast<size_t>(n));
    done += static_cast<uint64_t>(n);
    // The last chunk is held back until the digest is known: a bad blob never completes.
    if (done >= blob.size) {
      held = static_cast<size_t>(n);
      break;
    }
    TRY(tar.data(buffer.data(), static_cast<size_t>(n)));
  }
  const std::string actual = "sha256:" + hasher.finish_hex();
  if (actual != blob.digest) return corrupted("its SHA-256 is " + actual);
  return held == 0 ? bs::ok_status() : tar.data(buffer.data(), held);
}

Json descriptor_json(const ImageDescriptor& d) {
  Json::Object object;
  object["mediaType"] = d.media_type;
  object["digest"] = d.digest;
  object["size"] = d.size;
  return object;
}

// The names an image must carry in the runtime. containerd: the full (tag) name and the
// digest name, which CRI looks up for a pinned REPO:TAG@DIGEST reference; docker: the reference.
std::vector<std::string> runtime_names(RuntimeKind kind, const ImageRecord& image) {
  if (kind == RuntimeKind::containerd) return {image.full_name, bs::digest_name(image)};
  return {image.reference};
}

// index.json of the OCI layout: each pinned blob once under each of its image's names (ctr
// import creates one image per descriptor). Two images of one repository pinned to the same
// digest share a digest name, which is listed once.
std::string oci_index(const std::vector<ImageToLoad>& images) {
  Json::Array manifests;
  std::set<std::string> named;
  for (const ImageToLoad& item : images) {
    for (const std::string& name : runtime_names(RuntimeKind::containerd, *item.image)) {
      if (!named.insert(name).second) continue;
      Json descriptor = descriptor_json(item.image->target);
      Json::Object annotations;
      annotations["io.containerd.image.name"] = name;
      annotations["org.opencontainers.image.ref.name"] = name;
      descriptor["annotations"] = std::move(annotations);
      manifests.push_back(std::move(descriptor));
    }
  }
  Json::Object index;
  index["schemaVersion"] = 2;
  index["mediaType"] = std::string(bs::k_media_oci_index);
  index["manifests"] = std::move(manifests);
  return bs::to_canonical_json(index);
}

// manifest.json of a docker-archive: one entry per image.
std::string docker_manifest(const std::vector<ImageToLoad>& images) {
  Json::Array entries;
  for (const ImageToLoad& item : images) {
    Json::Object entry;
    entry["Config"] = "blobs/sha256/" + item.platform->config.digest.substr(7);
    Json::Array tags;
    tags.push_back(item.image->reference);
    entry["RepoTags"] = std::move(tags);
    Json::Array layers;
    for (const auto& layer : item.platform->layers) layers.push_back("blobs/sha256/" + layer.digest.substr(7));
    entry["Layers"] = std::move(layers);
    entries.push_back(std::move(entry));
  }
  return bs::to_canonical_json(entries);
}

// The runtime's client with stdout+stderr captured (at most 1 MiB kept, trailing blank space
// removed); `feed` (may be empty) writes its stdin.
Result<CommandResult> run_command(const std::vector<std::string>& argv, const ProcessFeed& feed) {
  TRY_ASSIGN(CommandResult result, run_process(argv, feed, k_max_command_output));
  result.output = std::string(bs::trim_end(result.output));
  return result;
}

std::vector<std::string> base_command(const Runtime& runtime) {
  if (runtime.kind == RuntimeKind::containerd) {
    return {runtime.program, "-a", runtime.address, "-n", runtime.namespace_name};
  }
  return {runtime.program, "-H", "unix://" + runtime.address};
}

std::string command_failed(const std::vector<std::string>& argv, const CommandResult& result) {
  return bs::join_argv(argv) + " failed (exit " + std::to_string(result.exit_code) + "): " + result.output;
}

// Image names a runtime holds, each with its digest (containerd: the target; docker: the ID).
using NameDigests = std::map<std::string, std::string>;

// containerd's images in the namespace (name -> target digest).
Result<NameDigests> containerd_images(const Runtime& runtime) {
  std::vector<std::string> argv = base_command(runtime);
  for (const char* arg : {"images", "ls"}) argv.emplace_back(arg);
  TRY_ASSIGN(const CommandResult result, run_command(argv, {}));
  if (result.exit_code != 0) return bs::make_error(command_failed(argv, result));
  // REF TYPE DIGEST SIZE PLATFORMS LABELS, after a header line.
  NameDigests images;
  std::istringstream lines(result.output);
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string ref, type, digest;
    fields >> ref >> type >> digest;
    if (!ref.empty()) images[ref] = digest;
  }
  return images;
}

// docker's image ID for `reference`, or "" when it has no such image.
Result<std::string> docker_image_id(const Runtime& runtime, const std::string& reference) {
  std::vector<std::string> argv = base_command(runtime);
  for (const char* arg : {"image", "inspect", "--format", "{{.Id}}"}) argv.emplace_back(arg);
  argv.push_back(reference);
  TRY_ASSIGN(const CommandResult result, run_command(argv, {}));
  if (result.exit_code == 0) return result.output;
  // "No such image" is the normal answer for a missing image; anything else is a problem.
  if (result.output.find("No such image") != std::string::npos) return std::string();
  return bs::make_error(command_failed(argv, result));
}

std::string expected_digest(const Runtime& runtime, const ImageRecord& image, const ImagePlatform& platform) {
  return runtime.kind == RuntimeKind::containerd ? image.target.digest : platform.config.digest;
}

Status import_images(const std::string& root, const Runtime& runtime, const std::vector<ImageToLoad>& images) {
  std::vector<std::string> argv = base_command(runtime);
  if (runtime.kind == RuntimeKind::containerd) {
    for (const char* arg : {"images", "import", "-"}) argv.emplace_back(arg);
  } else {
    argv.emplace_back("load");
  }
  TRY_ASSIGN(const CommandResult result,
             run_command(argv, [&](int fd) { return write_images_archive(root, images, runtime.kind, fd); }));
  if (result.exit_code != 0) {
    return bs::make_error(command_failed(argv, result));
  }
  return bs::ok_status();
}

}  // namespace

std::string_view runtime_name(RuntimeKind kind) {
  return kind == RuntimeKind::containerd ? "containerd" : "docker";
}

std::string host_platform() {
  struct utsname name {};
  std::string machine = ::uname(&name) == 0 ? name.machine : "x86_64";
  if (machine == "x86_64")
    machine = "amd64";
  else if (machine == "aarch64")
    machine = "arm64";
  else if (machine == "i686" || machine == "i386")
    machine = "386";
  else if (machine.rfind("armv7", 0) == 0)
    machine = "arm";
  return "linux/" + machine;
}

Result<Runtime> choose_runtime(const RuntimeOptions& options) {
  Runtime runtime;
  runtime.namespace_name = options.namespace_name;
  const auto exists = [](std::string_view path) { return ::access(std::string(path).c_str(), F_OK) == 0; };
  if (options.runtime == "containerd" || options.runtime == "docker") {
    runtime.kind = options.runtime == "containerd" ? RuntimeKind::containerd : RuntimeKind::docker;
  } else if (options.runtime != "auto") {
    return bs::usage_error("--runtime must be auto, containerd or docker, not '" + options.runtime + "'");
  } else if (!options.address.empty()) {
    return bs::usage_error("--address needs --runtime containerd or --runtime docker");
  } else {
    const bool containerd = exists(k_containerd_socket);
    const bool docker = exists(k_docker_socket);
    if (containerd && docker) {
      return bs::usage_error("both containerd (" + std::string(k_containerd_socket) + ") and docker (" +
                             std::string(k_docker_socket) +
                             ") are running; pass --runtime containerd (for a kubelet using containerd's CRI) "
                             "or --runtime docker (for a kubelet using dockershim)");
    }
    if (!containerd && !docker) {
      return bs::usage_error("found neither containerd (" + std::string(k_containerd_socket) + ") nor docker (" +
                             std::string(k_docker_socket) + "); start one, or pass --runtime and --address SOCKET");
    }
    runtime.kind = containerd ? RuntimeKind::containerd : RuntimeKind::docker;
  }
  const bool is_containerd = runtime.kind == RuntimeKind::containerd;
  runtime.address =
      !options.address.empty() ? options.address : std::string(is_containerd ? k_containerd_socket : k_docker_socket);
  runtime.program = is_containerd ? options.ctr_program : options.docker_program;
  if (!exists(runtime.address)) {
    return bs::usage_error(std::string(runtime_name(runtime.kind)) + " socket " + runtime.address +
                           " does not exist; is " + std::string(runtime_name(runtime.kind)) + " running?");
  }
  return runtime;
}

Result<bs::ImagesIndex> read_images_index(const std::string& root) {
  const std::string path = root + "/" + std::string(bs::k_images_index_path);
  auto text = bs::read_file(path, 64 << 20);
  if (!text.ok()) {
    if (::access(path.c_str(), F_OK) != 0)
      return bs::usage_error("this bundle carries no images (" + path + " is missing)");
    return std::move(text).error();
  }
  TRY_ASSIGN_CTX(auto index, bs::decode_images_index(*text), path);
  return index;
}

Result<const ImagePlatform*> select_platform(const ImageRecord& image, const std::string& platform) {
  std::string have;
  for (const ImagePlatform& p : image.platforms) {
    // "linux/arm64/v8" serves "linux/arm64".
    if (p.platform == platform || p.platform.rfind(platform + "/", 0) == 0) return &p;
    have += (have.empty() ? "" : ", ") + p.platform;
  }
  return bs::usage_error("image '" + bs::printable(image.name) + "' (" + bs::printable(image.reference) +
                         ") is not in this bundle for " + platform + " (it has " + have +
                         "); build the bundle with --platform " + platform);
}

Status write_images_archive(const std::string& root, const std::vector<ImageToLoad>& images, RuntimeKind kind, int fd) {
  TarStream tar(fd);
  TRY(tar.open());
  std::set<std::string> written;  // blobs shared by several images go in once
  const auto blob = [&](const ImageRecord& image, const ImageDescriptor& d) -> Status {
    if (!written.insert(d.digest).second) return bs::ok_status();
    return stream_blob(tar, root, image, d);
  };
  for (const ImageToLoad& item : images) {
    if (kind == RuntimeKind::containerd) {
      for (const ImageDescriptor& d : bs::image_blobs(*item.image)) TRY(blob(*item.image, d));
    } else {
      TRY(blob(*item.image, item.platform->config));
      for (const ImageDescriptor& layer : item.platform->layers) TRY(blob(*item.image, layer));
    }
  }
  if (kind == RuntimeKind::containerd) {
    TRY(tar.file("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"));
    TRY(tar.file("index.json", oci_index(images)));
  } else {
    TRY(tar.file("manifest.json", docker_manifest(images)));
  }
  return tar.finish();
}

Status write_image_archive(const std::string& root, const ImageRecord& image, const ImagePlatform& platform,
                           RuntimeKind kind, int fd) {
  return write_images_archive(root, {ImageToLoad{&image, &platform}}, kind, fd);
}

namespace {

// The names the runtime holds now among the images' names (name -> digest; a missing name is
// absent): containerd in one listing, docker one inspect per reference.
Result<NameDigests> runtime_images(const Runtime& runtime, const std::vector<ImageRecord>& images) {
  if (runtime.kind == RuntimeKind::containerd) return containerd_images(runtime);
  NameDigests known;
  for (const ImageRecord& image : images) {
    TRY_ASSIGN(std::string id, docker_image_id(runtime, image.reference));
    if (!id.empty()) known[image.reference] = std::move(id);
  }
  return known;
}

// "" when the runtime shows every name of `image` with `digest`; otherwise the first name that
// is wrong, as "NAME as missing" or "NAME as DIGEST".
std::string name_problem(const Runtime& runtime, const NameDigests& known, const ImageRecord& image,
                         const std::string& digest) {
  for (const std::string& name : runtime_names(runtime.kind, image)) {
    const auto it = known.find(name);
    if (it == known.end()) return name + " as missing";
    if (it->second != digest) return name + " as " + it->second;
  }
  return "";
}

}  // namespace

Result<std::vector<LoadReport>> load_images(const std::string& root, const Runtime& runtime, bs::Progress& progress,
                                            const std::function<void(const LoadReport&)>& on_report) {
  TRY_ASSIGN(const bs::ImagesIndex index, read_images_index(root));
  // A runtime that exits early must not kill us with SIGPIPE: the write fails with EPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  const std::string platform_name = host_platform();

  // 1. What each image should look like in the runtime, and what is there already.
  std::vector<LoadReport> reports;
  std::vector<ImageToLoad> to_load;
  TRY_ASSIGN(const NameDigests before, runtime_images(runtime, index.images));
  for (size_t i = 0; i < index.images.size(); ++i) {
    const ImageRecord& image = index.images[i];
    TRY_ASSIGN(const ImagePlatform* platform, select_platform(image, platform_name));
    LoadReport report;
    report.name = image.name;
    report.loaded_as = runtime.kind == RuntimeKind::containerd ? image.full_name : image.reference;
    report.digest = expected_digest(runtime, image, *platform);
    // containerd: both names must be there (a host loaded before digest names existed gets them now).
    const bool complete = name_problem(runtime, before, image, report.digest).empty();
    report.outcome = complete ? LoadOutcome::present : LoadOutcome::loaded;
    if (report.outcome == LoadOutcome::loaded) to_load.push_back({&image, platform});
    reports.push_back(std::move(report));
  }

  // 2. One stream with every missing image (shared blobs once), into one import command.
  if (!to_load.empty()) {
    std::set<std::string> counted;
    uint64_t total = 0;
    for (const ImageToLoad& item : to_load) {
      for (const auto& blob : bs::image_blobs(*item.image)) total += counted.insert(blob.digest).second ? blob.size : 0;
    }
    const std::string item = "import " + std::to_string(to_load.size()) + " images";
    progress.start_item(item, total, 0);
    const Status imported = import_images(root, runtime, to_load);
    progress.finish_item(item, imported.ok() ? bs::ItemOutcome::done : bs::ItemOutcome::failed);
    TRY(imported);

    // 3. The runtime must now show every image under each of its names with its digest.
    TRY_ASSIGN(const NameDigests after, runtime_images(runtime, index.images));
    for (size_t i = 0; i < index.images.size(); ++i) {
      const std::string problem = name_problem(runtime, after, index.images[i], reports[i].digest);
      if (problem.empty()) continue;
      return bs::verification_error("image '" + bs::printable(index.images[i].name) + "' (" +
                                    bs::printable(index.images[i].reference) +
                                    "): " + std::string(runtime_name(runtime.kind)) + " shows " + problem +
                                    " after the import, expected " + reports[i].digest);
    }
  }
  if (on_report) {
    for (const LoadReport& report : reports) on_report(report);
  }
  return reports;
}

}  // namespace installer
