// Loading a bundle's container images into containerd or docker, offline.
//
// The bundle keeps every blob once (images/blobs/sha256/<hex>) and an index
// (images/images.json, bundlespec/images_index.hpp). For the images not yet in the runtime,
// load_images() assembles one tar stream in the format the runtime reads and pipes it, as it
// is written, into the runtime's own import command; nothing is copied to disk or held whole
// in memory:
//   containerd  `ctr -a ADDRESS -n NAMESPACE images import -` reading an OCI image layout:
//               blobs/sha256/<hex> (the pinned index or manifest, the platform manifests,
//               configs, layers), oci-layout, and index.json naming the pinned blob twice,
//               each with the annotations io.containerd.image.name and
//               org.opencontainers.image.ref.name set to one of the image's two names:
//                 the full name     REGISTRY/REPOSITORY:TAG (what people and `ctr run` use);
//                 the digest name   REGISTRY/REPOSITORY@sha256:<pinned digest>
//                                   (bundlespec::digest_name). Kubernetes refers to our images
//                                   by pinned references REPO:TAG@DIGEST (the kubelet's sandbox
//                                   image, the rendered pod specs); containerd's CRI normalises
//                                   such a reference to REPO@DIGEST (a digest drops the tag) and
//                                   looks that name up in the namespace. Without it the kubelet
//                                   pulls, which fails offline. A CRI pull creates both names
//                                   too. ctr import makes one image per descriptor, so both
//                                   names point at the pinned digest (an image index too: ctr
//                                   unpacks the host's platform).
//   docker      `docker -H unix://ADDRESS load` reading a docker-archive: blobs/sha256/<hex>
//               (config and layers of the host's platform) and manifest.json with RepoTags =
//               the manifest's reference. docker 20.10 reads nothing else; its image ID is the
//               config digest, which is what "present" is checked against.
// The metadata files come last in the stream, so a stream cut short (a corrupted blob) never
// names an image. Every blob's SHA-256 and size are checked while it streams.
// An image is skipped when the runtime already has each of its names with the expected digest
// (containerd: both names in `ctr images ls`, so a host that holds only the full name, as
// loaded by an older installer, gets the image again with both; docker: `docker image
// inspect` ID of the reference), and checked the same way after an import. docker gets no
// digest name: it cannot give one to a loaded image.
// Thread-safety: one call at a time; it spawns processes and waits for them.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bundlespec/images_index.hpp"
#include "bundlespec/progress.hpp"
#include "bundlespec/result.hpp"

namespace installer {

enum class RuntimeKind { containerd, docker };

inline constexpr std::string_view k_containerd_socket = "/run/containerd/containerd.sock";
inline constexpr std::string_view k_docker_socket = "/var/run/docker.sock";

struct RuntimeOptions {
  std::string runtime = "auto";           // auto | containerd | docker
  std::string address;                    // socket path; "" = the runtime's default socket
  std::string namespace_name = "k8s.io";  // containerd namespace (the one the kubelet's CRI uses)
  std::string ctr_program = "ctr";        // looked up in PATH
  std::string docker_program = "docker";
};

struct Runtime {
  RuntimeKind kind = RuntimeKind::containerd;
  std::string address;
  std::string namespace_name;
  std::string program;
};

// Resolves `auto`: the runtime whose socket exists (containerd's or docker's default, or
// --address given with an explicit runtime). Fails (usage) when neither socket exists, or
// both do (then --runtime must choose: a docker host may run containerd underneath).
bundlespec::Result<Runtime> choose_runtime(const RuntimeOptions& options);

// "containerd" / "docker".
std::string_view runtime_name(RuntimeKind kind);

// The host's platform as "linux/<GOARCH>" (x86_64 -> amd64, aarch64 -> arm64, ...).
std::string host_platform();

// Reads and checks ROOT/images/images.json (ROOT: an extracted bundle). Fails naming the file.
bundlespec::Result<bundlespec::ImagesIndex> read_images_index(const std::string& root);

// The platform entry of `image` to load on `platform` ("os/arch"; variants ignored), or an
// error (usage) naming the platforms the bundle has.
bundlespec::Result<const bundlespec::ImagePlatform*> select_platform(const bundlespec::ImageRecord& image,
                                                                     const std::string& platform);

// One image to load and the platform entry chosen for this host.
struct ImageToLoad {
  const bundlespec::ImageRecord* image = nullptr;
  const bundlespec::ImagePlatform* platform = nullptr;
};

// Writes one tar stream holding every image of `images` (blobs shared between them once; the
// metadata entry lists them all), as write_image_archive() does for one.
bundlespec::Status write_images_archive(const std::string& root, const std::vector<ImageToLoad>& images,
                                        RuntimeKind kind, int fd);

// Writes the tar stream for one image (format by `kind`, see the file comment) to `fd`,
// reading blobs from ROOT/images/blobs. Fails (verification) on a blob whose size or SHA-256
// differs, naming the image, the digest and the file; the stream is then incomplete.
bundlespec::Status write_image_archive(const std::string& root, const bundlespec::ImageRecord& image,
                                       const bundlespec::ImagePlatform& platform, RuntimeKind kind, int fd);

enum class LoadOutcome { loaded, present };

struct LoadReport {
  std::string name;
  std::string loaded_as;  // containerd: the full name (the digest name is implied); docker: the reference
  std::string digest;     // containerd: the pinned digest; docker: the image ID (config digest)
  LoadOutcome outcome = LoadOutcome::loaded;
};

// Loads every image of ROOT's bundle into `runtime` (see the file comment): the images the
// runtime lacks go into ONE stream and one import command, so either all of them arrive or,
// when the stream or the command fails, none is named (a re-run starts over). `on_report`
// (may be empty) is then called once per image, in index order. Progress gets one item.
bundlespec::Result<std::vector<LoadReport>> load_images(const std::string& root, const Runtime& runtime,
                                                        bundlespec::Progress& progress,
                                                        const std::function<void(const LoadReport&)>& on_report = {});

}  // namespace installer
