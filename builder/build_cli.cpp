// build / inspect: the online job and its record.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "assemble.hpp"
#include "cli.hpp"
#include "interrupt.hpp"
#include "registry.hpp"
#include "bundlespec/container.hpp"
#include "bundlespec/extract.hpp"
#include "bundlespec/json.hpp"
#include "bundlespec/parts.hpp"
#include "bundlespec/progress.hpp"
#include "bundlespec/text.hpp"

namespace builder {

namespace bs = bundlespec;

namespace {

struct BuildCliOptions {
  BuildOptions build;
  std::string cache;
  std::vector<std::string> mirrors;
  double connect_timeout = 30;
  long low_speed_limit = 1024;
  double low_speed_time = 60;
  int retries = 4;
  std::vector<std::string> creds;
  std::string split;  // --split SIZE
};

struct InspectOptions {
  std::string bundle;
  PinOptions pins;
  bool json = false;
};

// "<bundle>-<os>-<arch>.run", the name the README uses.
bs::Result<std::string> default_output(const std::string& manifest_path) {
  TRY_ASSIGN(Manifest manifest, load_manifest(manifest_path));
  std::string platform = manifest.platforms.front();
  for (char& c : platform) c = c == '/' ? '-' : c;
  return manifest.bundle + "-" + platform + ".run";
}

bs::Status run_build_command(BuildCliOptions& options, const GlobalOptions& global) {
  install_interrupt_handlers();
  BuildOptions& build = options.build;
  std::optional<uint64_t> split;
  if (!options.split.empty()) {
    TRY_ASSIGN(split, bs::parse_split_size(options.split));
  }
  if (build.output.empty()) {
    TRY_ASSIGN(build.output, default_output(build.manifest_path));
  }
  build.fetch.cache_dir = options.cache;
  for (const auto& text : options.mirrors) {
    TRY_ASSIGN(MirrorRule rule, parse_mirror_rule(text));
    build.fetch.mirrors.push_back(rule);
  }
  build.fetch.connect_timeout = std::chrono::milliseconds(static_cast<long>(options.connect_timeout * 1000));
  build.fetch.low_speed_limit = options.low_speed_limit;
  build.fetch.low_speed_time = std::chrono::seconds(static_cast<long>(options.low_speed_time));
  build.fetch.max_attempts = options.retries + 1;
  for (const std::string& text : options.creds) {
    TRY_ASSIGN(auto entry, parse_creds_flag(text));
    build.registry.credentials[entry.first] = std::move(entry.second);
  }
  if (build.installer_path.empty()) build.installer_path = installer_beside_self();
  bs::ConsoleProgress progress(stderr, global.quiet ? bs::ConsoleMode::quiet : bs::detect_console_mode(2),
                               "kubeferry: ");
  TRY_ASSIGN_CTX(const BuildSummary summary, run_build(build, progress), "build " + build.manifest_path);
  std::printf("%s  %s\n", summary.written.file_sha256.c_str(), build.output.c_str());
  std::fputs(fat32_warning(build.output, summary.written.file_size).c_str(), stderr);
  if (!global.quiet) {
    std::fprintf(
        stderr,
        "kubeferry: %s: %zu entries, %s; %zu artifacts downloaded, %zu from the cache; %zu images (%zu blobs); "
        "signed by %s\n",
        build.output.c_str(), summary.written.index.entries.size(),
        bs::format_bytes(summary.written.file_size).c_str(), summary.downloaded, summary.from_cache, summary.images,
        summary.image_blobs, summary.written.index.signer.c_str());
  }
  if (split) return split_written_bundle(build.output, build.key_path, *split, "", global);
  return bs::ok_status();
}

// A string member of a lock object as the table shows it: escaped (the lock comes from the
// bundle, whose signer may not be who you think), "?" when missing.
std::string lock_text(const bs::Json& object, const char* key, const char* missing = "") {
  const bs::Json* value = object.find(key);
  return value != nullptr && value->is_string() ? bs::printable(value->as_string(), bs::k_printable_path_max) : missing;
}

void print_lock_table(const bs::Json& lock) {
  std::printf("bundle %s (Kubernetes %s)\n", lock_text(lock, "bundle", "?").c_str(),
              lock_text(lock, "kubernetes_version", "?").c_str());
  if (const bs::Json* artifacts = lock.find("artifacts"); artifacts && artifacts->is_array()) {
    std::printf("%-22s %-10s %12s  %-64s  %s\n", "ARTIFACT", "VERSION", "SIZE", "SHA256", "URL");
    for (const auto& a : artifacts->as_array()) {
      const bs::Json* size = a.find("size");
      std::printf("%-22s %-10s %12lld  %-64s  %s\n", lock_text(a, "name").c_str(), lock_text(a, "version").c_str(),
                  size && size->is_integer() ? static_cast<long long>(size->as_integer()) : 0LL,
                  lock_text(a, "sha256").c_str(), lock_text(a, "url").c_str());
    }
  }
  if (const bs::Json* images = lock.find("images"); images && images->is_array() && !images->as_array().empty()) {
    std::printf("%-22s %s\n", "IMAGE", "REFERENCE@DIGEST");
    for (const auto& image : images->as_array()) {
      std::printf("%-22s %s@%s\n", lock_text(image, "name").c_str(), lock_text(image, "reference").c_str(),
                  lock_text(image, "digest").c_str());
    }
  }
}

bs::Status run_inspect(const InspectOptions& options) {
  auto status = [&]() -> bs::Status {
    TRY_ASSIGN(const PinnedBundle pinned, open_pinned_bundle(options.bundle, options.pins));
    const bs::BundleFile& bundle = pinned.file;
    TRY_ASSIGN(std::string lock_text, bs::read_bundle_file(bundle, "bundle.lock", 64 << 20));
    TRY_ASSIGN(bs::Json lock, bs::parse_json(lock_text));
    if (!options.json) {
      print_lock_table(lock);
      std::printf("signed by %s\n", bundle.signer().c_str());
      return bs::ok_status();
    }
    TRY_ASSIGN(std::string sbom_text, bs::read_bundle_file(bundle, "sbom.spdx.json", 64 << 20));
    TRY_ASSIGN(bs::Json sbom, bs::parse_json(sbom_text));
    bs::Json::Object out;
    out["signer"] = bundle.signer();
    out["name"] = bundle.index().name;
    out["lock"] = std::move(lock);
    out["sbom"] = std::move(sbom);
    std::fputs(bs::to_pretty_json(out).c_str(), stdout);
    return bs::ok_status();
  }();
  if (!status.ok() && status.error().code() == bs::ErrorCode::usage) return status;  // about the flags
  if (!status.ok()) return std::move(status).error().context("inspect " + options.bundle);
  return status;
}

}  // namespace

void setup_build_commands(CLI::App& app, const GlobalOptions& global, Commands& commands) {
  auto options = std::make_shared<BuildCliOptions>();
  auto* build = app.add_subcommand("build", "Fetch and verify everything a manifest pins, and write one signed .run");
  build->add_option("manifest", options->build.manifest_path, "Manifest (manifests/*.yaml)")
      ->required()
      ->check(CLI::ExistingFile);
  build->add_option("--key", options->build.key_path, "Private signing key (kubeferry keygen)")
      ->required()
      ->check(CLI::ExistingFile);
  build->add_option("--output,-o", options->build.output, "Bundle to write (default: <bundle>-<os>-<arch>.run)");
  build->add_option("--cache", options->cache, "Download cache (default: $XDG_CACHE_HOME/kubeferry)");
  build->add_option("--jobs,-j", options->build.fetch.jobs, "Downloads at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  build->add_option("--mirror", options->mirrors,
                    "Rewrite URLs starting with FROM to start with TO (FROM=TO, repeatable)");
  build->add_option("--cacert", options->build.fetch.cacert, "PEM CA bundle for HTTPS instead of the system's")
      ->check(CLI::ExistingFile);
  build->add_option("--checksum", options->build.checksum_overrides,
                    "Supply a checksum the manifest lacks (NAME=sha256:<hex>, repeatable)");
  build->add_option("--retries", options->retries, "Retries after 5xx, resets and timeouts (with exponential backoff)")
      ->capture_default_str()
      ->check(CLI::Range(0, 20));
  build->add_option("--connect-timeout", options->connect_timeout, "Seconds to wait for a connection")
      ->capture_default_str();
  build->add_option("--low-speed-limit", options->low_speed_limit, "Bytes/s under which a download counts as stalled")
      ->capture_default_str();
  build->add_option("--low-speed-time", options->low_speed_time, "Seconds a download may stall before it is retried")
      ->capture_default_str();
  build->add_option("--plain-http", options->build.registry.plain_http,
                    "HOST:PORT of a registry to reach over http:// (e.g. 127.0.0.1:5000); repeatable");
  build->add_option("--creds", options->creds,
                    "REGISTRY=USER:PASSWORD for a registry; repeatable (wins over the docker config)");
  build->add_option("--auth-file", options->build.registry.auth_file,
                    "docker config.json with auths (default: $DOCKER_CONFIG/config.json or ~/.docker/config.json)");
  build->add_option("--installer", options->build.installer_path,
                    "Installer to put in front (default: kubeferry-install beside kubeferry)");
  build->add_option("--level", options->build.level, "zstd level (part of the output: same level, same bytes)")
      ->capture_default_str()
      ->check(CLI::Range(1, 22));
  build->add_option("--threads", options->build.threads, "zstd worker threads (0 = all CPUs; output does not change)");
  add_split_option(build, options->split);
  commands.push_back({build, [options, &global] { return run_build_command(*options, global); }});

  auto inspect_options = std::make_shared<InspectOptions>();
  auto* inspect = app.add_subcommand("inspect", "Show a bundle's lock (what was pinned and fetched) and SBOM");
  inspect->add_option("bundle", inspect_options->bundle, "Bundle file")->required()->check(CLI::ExistingFile);
  add_pin_options(inspect, inspect_options->pins);
  inspect->add_flag("--json", inspect_options->json, "Print lock and SBOM as JSON");
  commands.push_back({inspect, [inspect_options] { return run_inspect(*inspect_options); }});
}

}  // namespace builder
