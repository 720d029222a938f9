// The installer's image streams: the exact tar an image becomes for containerd (OCI layout) and
// for docker (docker-archive), read back with libarchive; corrupted blobs; platform choice;
// runtime choice. (Real containerd and dockerd read these streams in
// tests/integration/images_load.sh.)
#include "images/images.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>

#include "bundlespec/digest.hpp"
#include "support/test_util.hpp"

namespace {

namespace bs = bundlespec;
using installer::RuntimeKind;

struct Fixture {
  kftest::TempDir dir;
  bs::ImageRecord image;

  bs::ImageDescriptor blob(const std::string& type, const std::string& content) {
    const std::string hex = bs::sha256_hex(content);
    kftest::write_file(dir / ("images/blobs/sha256/" + hex), content);
    return {type, "sha256:" + hex, content.size()};
  }

  Fixture() {
    bs::ImagePlatform p;
    p.platform = "linux/amd64";
    p.manifest = blob(std::string(bs::k_media_oci_manifest), "{\"manifest\":1}");
    p.config = blob("application/vnd.oci.image.config.v1+json", "{\"config\":1}");
    p.layers = {blob("application/vnd.oci.image.layer.v1.tar+gzip", std::string(3 << 20, 'a')),
                blob("application/vnd.oci.image.layer.v1.tar+gzip", "layer two")};
    image = {"busybox", "127.0.0.1:5000/test/busybox:1.0", "127.0.0.1:5000/test/busybox:1.0", p.manifest, {p}};
  }

  // Writes the stream to a file and reads it back: entry name -> content.
  std::vector<std::pair<std::string, std::string>> stream(RuntimeKind kind, bs::Status* status = nullptr) {
    const std::string out = dir / "stream.tar";
    bs::Fd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
    bs::Status written = installer::write_image_archive(dir.path(), image, image.platforms[0], kind, fd.get());
    if (status != nullptr)
      *status = written;
    else
      EXPECT_OK(written);
    fd.reset();
    std::vector<std::pair<std::string, std::string>> entries;
    const bs::ArchiveReader reader;
    struct archive* a = reader.get();
    archive_read_support_format_tar(a);
    if (archive_read_open_filename(a, out.c_str(), 65536) == ARCHIVE_OK) {
      archive_entry* entry = nullptr;
      while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
        std::string content(static_cast<size_t>(archive_entry_size(entry)), '\0');
        if (!content.empty() &&
            archive_read_data(a, content.data(), content.size()) != static_cast<la_ssize_t>(content.size()))
          break;
        entries.emplace_back(archive_entry_pathname(entry), std::move(content));
      }
    }
    return entries;
  }
};

std::vector<std::string> names(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.first);
  return out;
}

std::string path_of(const bs::ImageDescriptor& d) {
  return "blobs/sha256/" + d.digest.substr(7);
}

TEST(ImageArchive, ContainerdOciLayout) {
  Fixture f;
  const auto entries = f.stream(RuntimeKind::containerd);
  const auto& p = f.image.platforms[0];
  EXPECT_EQ(names(entries), (std::vector<std::string>{path_of(p.manifest), path_of(p.config), path_of(p.layers[0]),
                                                      path_of(p.layers[1]), "oci-layout", "index.json"}));
  EXPECT_EQ(entries[2].second, std::string(3 << 20, 'a'));
  EXPECT_EQ(entries[4].second, "{\"imageLayoutVersion\":\"1.0.0\"}");
  // The pinned manifest twice: under the tag name and under the digest name CRI looks up.
  const std::string digest_name = "127.0.0.1:5000/test/busybox@" + p.manifest.digest;
  EXPECT_EQ(entries[5].second,
            "{\"manifests\":[{\"annotations\":{\"io.containerd.image.name\":\"127.0.0.1:5000/test/busybox:1.0\","
            "\"org.opencontainers.image.ref.name\":\"127.0.0.1:5000/test/busybox:1.0\"},\"digest\":\"" +
                p.manifest.digest +
                "\",\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":14},"
                "{\"annotations\":{\"io.containerd.image.name\":\"" +
                digest_name + "\",\"org.opencontainers.image.ref.name\":\"" + digest_name + "\"},\"digest\":\"" +
                p.manifest.digest +
                "\",\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":14}],"
                "\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"schemaVersion\":2}");
}

TEST(ImageArchive, ContainerdSharedDigestNameListedOnce) {
  // Two tags of one repository pinned to the same manifest: three names, not four.
  Fixture f;
  bs::ImageRecord latest = f.image;
  latest.name = "busybox-latest";
  latest.reference = latest.full_name = "127.0.0.1:5000/test/busybox:latest";
  const std::string out = f.dir / "shared.tar";
  bs::Fd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
  ASSERT_OK(installer::write_images_archive(f.dir.path(),
                                            {{&f.image, &f.image.platforms[0]}, {&latest, &latest.platforms[0]}},
                                            RuntimeKind::containerd, fd.get()));
  fd.reset();
  std::string index;
  ASSERT_EQ(kftest::run_command("tar -xOf " + out + " index.json", &index), 0);
  std::vector<std::string> names;
  const std::string key = "\"io.containerd.image.name\":\"";
  for (size_t at = index.find(key); at != std::string::npos; at = index.find(key, at + 1)) {
    const size_t start = at + key.size();
    names.push_back(index.substr(start, index.find('"', start) - start));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"127.0.0.1:5000/test/busybox:1.0",
                                             "127.0.0.1:5000/test/busybox@" + f.image.target.digest,
                                             "127.0.0.1:5000/test/busybox:latest"}));
}

TEST(ImageArchive, DockerArchive) {
  Fixture f;
  const auto entries = f.stream(RuntimeKind::docker);
  const auto& p = f.image.platforms[0];
  EXPECT_EQ(names(entries),
            (std::vector<std::string>{path_of(p.config), path_of(p.layers[0]), path_of(p.layers[1]), "manifest.json"}));
  EXPECT_EQ(entries[3].second, "[{\"Config\":\"" + path_of(p.config) + "\",\"Layers\":[\"" + path_of(p.layers[0]) +
                                   "\",\"" + path_of(p.layers[1]) +
                                   "\"],\"RepoTags\":[\"127.0.0.1:5000/test/busybox:1.0\"]}]");
}

TEST(ImageArchive, CorruptedBlobCutsTheStreamShort) {
  Fixture f;
  const auto& layer = f.image.platforms[0].layers[0];
  const std::string path = f.dir / bs::image_blob_path(layer.digest);
  std::string bad(3 << 20, 'a');
  bad[100] = 'b';
  kftest::write_file(path, bad);
  bs::Status status;
  const auto entries = f.stream(RuntimeKind::containerd, &status);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), bs::ErrorCode::verification);
  EXPECT_EQ(status.error().message(), "image 'busybox' (127.0.0.1:5000/test/busybox:1.0): blob " + layer.digest +
                                          " is corrupted: its SHA-256 is sha256:" + bs::sha256_hex(bad) + " (" + path +
                                          "); extract the bundle again");
  // Neither the bad layer nor the metadata made it into the stream.
  EXPECT_EQ(names(entries).size(), 2u);

  kftest::write_file(path, "short");
  const auto short_entries = f.stream(RuntimeKind::docker, &status);
  EXPECT_EQ(status.error().message(), "image 'busybox' (127.0.0.1:5000/test/busybox:1.0): blob " + layer.digest +
                                          " is corrupted: 5 bytes, expected " + std::to_string(3 << 20) + " (" + path +
                                          "); extract the bundle again");
}

TEST(ImageArchive, SeveralImagesShareBlobsOnce) {
  Fixture f;
  bs::ImageRecord second = f.image;
  second.name = "tools";
  second.reference = second.full_name = "127.0.0.1:5000/test/tools:1.0";
  second.platforms[0].layers.push_back(f.blob("application/vnd.oci.image.layer.v1.tar+gzip", "layer three"));
  const std::string out = f.dir / "multi.tar";
  bs::Fd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
  ASSERT_OK(installer::write_images_archive(f.dir.path(),
                                            {{&f.image, &f.image.platforms[0]}, {&second, &second.platforms[0]}},
                                            RuntimeKind::docker, fd.get()));
  fd.reset();
  std::string listing;
  ASSERT_EQ(kftest::run_command("tar -tf " + out, &listing), 0);
  const auto& p = second.platforms[0];
  EXPECT_EQ(listing, path_of(p.config) + "\n" + path_of(p.layers[0]) + "\n" + path_of(p.layers[1]) + "\n" +
                         path_of(p.layers[2]) + "\nmanifest.json\n");
}

TEST(ImagePlatform, Selection) {
  Fixture f;
  f.image.platforms[0].platform = "linux/arm64/v8";
  auto arm = installer::select_platform(f.image, "linux/arm64");
  ASSERT_OK(arm);
  EXPECT_EQ((*arm)->platform, "linux/arm64/v8");
  EXPECT_EQ(installer::select_platform(f.image, "linux/amd64").error().message(),
            "image 'busybox' (127.0.0.1:5000/test/busybox:1.0) is not in this bundle for linux/amd64 (it has "
            "linux/arm64/v8); build the bundle with --platform linux/amd64");
}

TEST(Runtime, Choice) {
  kftest::TempDir dir;
  installer::RuntimeOptions options;
  options.runtime = "containerd";
  options.address = dir / "missing.sock";
  EXPECT_EQ(installer::choose_runtime(options).error().message(),
            "containerd socket " + (dir / "missing.sock") + " does not exist; is containerd running?");
  options.runtime = "auto";
  EXPECT_EQ(installer::choose_runtime(options).error().message(),
            "--address needs --runtime containerd or --runtime docker");
  options.runtime = "podman";
  EXPECT_EQ(installer::choose_runtime(options).error().message(),
            "--runtime must be auto, containerd or docker, not 'podman'");
  kftest::write_file(dir / "docker.sock", "");
  options.runtime = "docker";
  options.address = dir / "docker.sock";
  auto docker = installer::choose_runtime(options);
  ASSERT_OK(docker);
  EXPECT_EQ(docker->kind, RuntimeKind::docker);
  EXPECT_EQ(docker->program, "docker");
}

TEST(ImagesIndexFile, MissingMeansNoImages) {
  kftest::TempDir dir;
  EXPECT_EQ(installer::read_images_index(dir.path()).error().message(),
            "this bundle carries no images (" + dir.path() + "/images/images.json is missing)");
}

}  // namespace
