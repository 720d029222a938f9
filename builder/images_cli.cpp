// `kubeferry images fetch MANIFEST --out DIR`: fetches the manifest's pinned images from their
// registries into DIR/images (the layout of builder/images.hpp), printing one line per image:
//   "image NAME FULL_NAME@DIGEST PLATFORM[,PLATFORM...]"
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "images.hpp"
#include "interrupt.hpp"
#include "manifest.hpp"
#include "bundlespec/progress.hpp"

namespace builder {

namespace bs = bundlespec;

namespace {

struct ImagesFetchOptions {
  std::string manifest;
  std::string out;
  std::vector<std::string> platforms;
  std::vector<std::string> checksums;
  std::vector<std::string> creds;
  std::vector<std::string> plain_http;
  std::string auth_file;
  std::string cache;
  std::string cacert;
  size_t jobs = 4;
  int retries = 4;
};

bs::Result<RegistryOptions> registry_options(const ImagesFetchOptions& options, const Manifest& manifest) {
  RegistryOptions registry;
  registry.fetch.cache_dir = options.cache;
  registry.fetch.cacert = options.cacert;
  registry.fetch.jobs = options.jobs;
  registry.fetch.max_attempts = options.retries + 1;
  registry.auth_file = options.auth_file;
  registry.plain_http = options.plain_http;
  registry.platforms = options.platforms.empty() ? manifest.platforms : options.platforms;
  for (const std::string& text : options.creds) {
    TRY_ASSIGN(auto entry, parse_creds_flag(text));
    registry.credentials[entry.first] = std::move(entry.second);
  }
  return registry;
}

bs::Status run_images_fetch(const ImagesFetchOptions& options, const GlobalOptions& global) {
  TRY_ASSIGN(const ChecksumOverrides overrides, parse_checksum_overrides(options.checksums));
  TRY_ASSIGN(const Manifest loaded, load_manifest(options.manifest));
  TRY(require_image_digests(loaded, overrides));
  TRY_ASSIGN(const Manifest manifest, apply_checksum_overrides(loaded, overrides));
  TRY_ASSIGN(const std::vector<ImageRef> refs, image_refs(manifest));
  TRY_ASSIGN(const RegistryOptions registry, registry_options(options, manifest));
  bs::ConsoleProgress progress(stderr, global.quiet ? bs::ConsoleMode::quiet : bs::detect_console_mode(2),
                               "kubeferry: ");
  TRY_ASSIGN(const ImagesSummary summary, fetch_images(refs, registry, options.out, progress));
  for (const auto& image : summary.index.images) {
    std::string platforms;
    for (const auto& p : image.platforms) platforms += (platforms.empty() ? "" : ",") + p.platform;
    std::printf("image %s %s@%s %s\n", image.name.c_str(), image.full_name.c_str(), image.target.digest.c_str(),
                platforms.c_str());
  }
  if (!global.quiet) {
    std::fprintf(stderr, "kubeferry: %zu images, %zu blobs (%s) in %s/images; %zu downloaded\n",
                 summary.index.images.size(), summary.blob_count, bs::format_bytes(summary.blob_bytes).c_str(),
                 options.out.c_str(), summary.downloaded);
  }
  return bs::ok_status();
}

}  // namespace

void setup_images_commands(CLI::App& app, const GlobalOptions& global, Commands& commands) {
  auto* images = app.add_subcommand("images", "Container images of a manifest");
  images->require_subcommand(1);
  auto options = std::make_shared<ImagesFetchOptions>();
  auto* fetch = images->add_subcommand("fetch", "Fetch the manifest's pinned images into DIR/images");
  fetch->add_option("MANIFEST", options->manifest, "Manifest file (manifests/*.yaml)")
      ->required()
      ->check(CLI::ExistingFile);
  fetch->add_option("--out", options->out, "Bundle staging folder (must exist; DIR/images must not)")
      ->required()
      ->check(CLI::ExistingDirectory);
  fetch->add_option("--platform", options->platforms,
                    "OS/ARCH[/VARIANT] to fetch; repeatable (default: the manifest's platforms)");
  fetch->add_option("--checksum", options->checksums,
                    "NAME=sha256:<hex> for an image the manifest marks NOT-FOUND; repeatable");
  fetch->add_option("--creds", options->creds, "REGISTRY=USER:PASSWORD; repeatable (wins over the docker config)");
  fetch->add_option("--auth-file", options->auth_file,
                    "docker config.json with auths (default: $DOCKER_CONFIG/config.json or ~/.docker/config.json)");
  fetch->add_option("--plain-http", options->plain_http,
                    "HOST:PORT of a registry to reach over http:// (e.g. 127.0.0.1:5000); repeatable");
  fetch->add_option("--cache", options->cache,
                    "Download cache folder (default: $XDG_CACHE_HOME/kubeferry or ~/.cache/kubeferry)");
  fetch->add_option("--cacert", options->cacert, "PEM CA bundle to trust for https registries")
      ->check(CLI::ExistingFile);
  fetch->add_option("--jobs,-j", options->jobs, "Blobs downloaded at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  fetch->add_option("--retries", options->retries, "Retries after 5xx, resets and timeouts (with exponential backoff)")
      ->capture_default_str()
      ->check(CLI::Range(0, 20));
  commands.push_back({fetch, [options, &global] {
                        install_interrupt_handlers();
                        return run_images_fetch(*options, global);
                      }});
}

}  // namespace builder
