// `images load`: loads the bundle's container images into containerd or docker, offline.
//
// Reads an extracted bundle (--from DIR), or this program's own payload (or --bundle FILE),
// which is first verified and extracted into a temporary folder (removed afterwards).
// Prints one line per image to stdout: "loaded|present NAME NAME_IN_RUNTIME DIGEST".
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "bundlespec/container.hpp"
#include "bundlespec/extract.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/interrupt.hpp"
#include "bundlespec/progress.hpp"
#include "installer/cli.hpp"
#include "installer/images.hpp"
#include "installer/self.hpp"

namespace installer {

namespace bs = bundlespec;

namespace {

struct ImagesLoadOptions {
  RuntimeOptions runtime;
  std::string from;
  std::string pubkey;
  std::string fingerprint;
};

bs::Status load_from(const std::string& root, const Runtime& runtime, const GlobalOptions& global) {
  bs::ConsoleProgress progress(stderr, global.quiet ? bs::ConsoleMode::quiet : bs::detect_console_mode(2),
                               "kubeferry-install: ");
  size_t loaded = 0;
  TRY_ASSIGN(const auto reports, load_images(root, runtime, progress, [&](const LoadReport& report) {
               const bool present = report.outcome == LoadOutcome::present;
               loaded += present ? 0 : 1;
               std::printf("%s %s %s %s\n", present ? "present" : "loaded", report.name.c_str(),
                           report.loaded_as.c_str(), report.digest.c_str());
               std::fflush(stdout);
             }));
  if (!global.quiet) {
    std::fprintf(stderr, "kubeferry-install: %zu images loaded into %s (%s), %zu already present\n", loaded,
                 std::string(runtime_name(runtime.kind)).c_str(), runtime.address.c_str(), reports.size() - loaded);
  }
  return bs::ok_status();
}

// Verifies and extracts the bundle into a temporary folder, loads from there, removes it.
bs::Status load_from_payload(const ImagesLoadOptions& options, const Runtime& runtime, const GlobalOptions& global) {
  const std::string bundle_path = global.bundle.empty() ? self_bundle_path() : global.bundle;
  TRY_ASSIGN(bs::TrustPolicy trust, bs::make_trust_policy(options.pubkey, options.fingerprint));
  auto bundle = bs::BundleFile::open(bundle_path, trust);
  if (!bundle.ok() && global.bundle.empty() && bundle.error().message().rfind("trailer:", 0) == 0) {
    return bs::usage_error(
        "this kubeferry-install carries no bundle; run a .run file, or pass --bundle FILE or --from DIR");
  }
  if (!bundle.ok()) return std::move(bundle).error().context("open bundle " + bundle_path);
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp != nullptr && *tmp == '/' ? tmp : "/var/tmp") + "/kubeferry-images-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) return bs::errno_error("create folder", dir);
  bs::Status status = bs::extract_bundle(*bundle, dir + "/bundle", {});
  if (status.ok()) status = load_from(dir + "/bundle", runtime, global);
  std::ignore = bs::remove_tree(dir);
  return status;
}

bs::Status run_images_load(const ImagesLoadOptions& options, const GlobalOptions& global) {
  TRY_ASSIGN(const Runtime runtime, choose_runtime(options.runtime));
  if (!options.from.empty()) return load_from(options.from, runtime, global);
  return load_from_payload(options, runtime, global);
}

}  // namespace

void setup_images_commands(CLI::App& app, const GlobalOptions& global, Commands& commands) {
  auto* images = app.add_subcommand("images", "Container images carried by the bundle");
  images->require_subcommand(1);
  auto options = std::make_shared<ImagesLoadOptions>();
  auto* load =
      images->add_subcommand("load", "Load every image of the bundle into containerd or docker (no registry needed)");
  load->add_option("--runtime", options->runtime.runtime, "auto, containerd or docker")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "containerd", "docker"}));
  load->add_option("--address", options->runtime.address,
                   "Runtime socket (default /run/containerd/containerd.sock or /var/run/docker.sock)");
  load->add_option("--namespace", options->runtime.namespace_name, "containerd namespace")->capture_default_str();
  load->add_option("--from", options->from, "An extracted bundle folder instead of the bundle itself")
      ->check(CLI::ExistingDirectory);
  load->add_option("--pubkey", options->pubkey, "Trust only this public key (KEY.pub)")->check(CLI::ExistingFile);
  load->add_option("--fingerprint", options->fingerprint, "Trust only the key with this fingerprint (SHA256:<hex>)");
  commands.push_back({load, [options, &global] {
                        bs::install_interrupt_handlers();
                        return run_images_load(*options, global);
                      }});
}

}  // namespace installer
