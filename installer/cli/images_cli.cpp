// `images load`: loads the bundle's container images into containerd or docker, offline.
// `images push`: pushes them into a private registry (images/push.hpp).
//
// Both read an extracted bundle (--from DIR), or this program's own payload (or --bundle
// FILE), which is first verified and extracted into a temporary folder (removed afterwards).
// Prints one line per image to stdout:
//   load  "loaded|present NAME NAME_IN_RUNTIME DIGEST"
//   push  "pushed|present NAME HOST/REPOSITORY:TAG@DIGEST"
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "bundlespec/container.hpp"
#include "bundlespec/docker_auth.hpp"
#include "bundlespec/extract.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/interrupt.hpp"
#include "bundlespec/progress.hpp"
#include "bundlespec/text.hpp"
#include "cli/cli.hpp"
#include "images/images.hpp"
#include "images/push.hpp"
#include "images/push_protocol.hpp"
#include "bundle/self.hpp"

namespace installer {

namespace bs = bundlespec;

namespace {

// A result line is read by scripts: values are escaped but not cut short.
constexpr size_t k_line_max = bs::k_printable_path_max;

// Where the images come from: --from DIR, else the verified payload (ours or --bundle FILE).
struct BundleSource {
  std::string from;
  PinOptions pins;
};

struct ImagesLoadOptions {
  RuntimeOptions runtime;
  BundleSource source;
};

struct ImagesPushOptions {
  BundleSource source;
  std::string registry;
  std::string cacert;
  bool plain_http = false;
  std::string username;
  std::string password_file;
  std::string auth_file;  // docker config.json; "" = $DOCKER_CONFIG/config.json or ~/.docker/config.json
  int timeout_seconds = 60;
  int retries = 4;
  double retry_delay_seconds = 0.5;
};

bs::Status load_from(const std::string& root, const Runtime& runtime, const GlobalOptions& global) {
  bs::ConsoleProgress progress(stderr, global.quiet ? bs::ConsoleMode::quiet : bs::detect_console_mode(2),
                               "kubeferry-install: ");
  size_t loaded = 0;
  TRY_ASSIGN(const auto reports, load_images(root, runtime, progress, [&](const LoadReport& report) {
               const bool present = report.outcome == LoadOutcome::present;
               loaded += present ? 0 : 1;
               // Names come from the bundle's images.json: escaped.
               std::printf("%s %s %s %s\n", present ? "present" : "loaded",
                           bs::printable(report.name, k_line_max).c_str(),
                           bs::printable(report.loaded_as, k_line_max).c_str(),
                           bs::printable(report.digest, k_line_max).c_str());
               std::fflush(stdout);
             }));
  if (!global.quiet) {
    std::fprintf(stderr, "kubeferry-install: %zu images loaded into %s (%s), %zu already present\n", loaded,
                 std::string(runtime_name(runtime.kind)).c_str(), runtime.address.c_str(), reports.size() - loaded);
  }
  return bs::ok_status();
}

// Verifies and extracts the bundle into a temporary folder, runs `use` on the extracted root,
// removes the folder. With --from, runs `use` on that folder directly.
bs::Status with_bundle(const BundleSource& source, const GlobalOptions& global,
                       const std::function<bs::Status(const std::string&)>& use) {
  if (!source.from.empty()) {
    if (source.pins.flags.pubkey || source.pins.flags.fingerprint || source.pins.require_pinned) {
      return bs::usage_error(
          "--from DIR is an extracted folder, with no signature to check: pin the signer when extracting it "
          "(extract --pubkey or --fingerprint), and drop --pubkey, --fingerprint and --require-pinned here");
    }
    return use(source.from);
  }
  // The file we were run from (not /proc/self/exe), or --bundle, for messages.
  const std::string label = global.bundle.empty() ? self_label() : global.bundle;
  auto bundle = open_pinned_bundle(global, source.pins, "pass --bundle FILE or --from DIR");
  if (!bundle.ok()) {
    if (bundle.error().code() == bs::ErrorCode::usage) return std::move(bundle).error();
    return std::move(bundle).error().context("open bundle " + label);
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp != nullptr && *tmp == '/' ? tmp : "/var/tmp") + "/kubeferry-images-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) return bs::errno_error("create folder", dir);
  bs::Status status = bs::extract_bundle(bundle->file, dir + "/bundle", {});
  if (status.ok()) status = use(dir + "/bundle");
  std::ignore = bs::remove_tree(dir);
  return status;
}

bs::Status run_images_load(const ImagesLoadOptions& options, const GlobalOptions& global) {
  TRY(bs::make_trust_policy(options.source.pins.flags));  // bad pin flags fail before anything else
  TRY_ASSIGN(const Runtime runtime, choose_runtime(options.runtime));
  return with_bundle(options.source, global, [&](const std::string& root) { return load_from(root, runtime, global); });
}

// PushOptions from the flags. Credentials: --username with the first line of --password-file
// (else $KUBEFERRY_REGISTRY_PASSWORD); without --username, the registry's entry in the docker
// config.json (--auth-file, else the default one), if it has one.
bs::Result<PushOptions> push_options(const ImagesPushOptions& options) {
  PushOptions push;
  push.registry = options.registry;
  push.transport = options.plain_http ? Transport::plain_http : Transport::https;
  push.http.cacert = options.cacert;
  push.http.connect_timeout = std::chrono::seconds(options.timeout_seconds);
  push.http.io_timeout = std::chrono::seconds(options.timeout_seconds);
  push.retry.retries = options.retries;
  push.retry.backoff.initial =
      std::chrono::milliseconds(static_cast<long long>(options.retry_delay_seconds * 1000 + 0.5));
  push.username = options.username;
  if (options.plain_http && !options.cacert.empty()) {
    return bs::usage_error("--cacert is for https; it has no use with --plain-http");
  }
  const char* env = std::getenv("KUBEFERRY_REGISTRY_PASSWORD");
  if (!options.password_file.empty()) {
    TRY_ASSIGN(std::string text, bs::read_file(options.password_file, 1 << 16));
    push.password = text.substr(0, text.find_first_of("\r\n"));
    if (push.password.empty()) return bs::usage_error("--password-file " + options.password_file + " is empty");
  } else if (env != nullptr && *env != '\0') {
    push.password = env;
  }
  if (push.username.empty() && !push.password.empty()) {
    return bs::usage_error(
        std::string(options.password_file.empty() ? "KUBEFERRY_REGISTRY_PASSWORD" : "--password-file") +
        " needs --username USER");
  }
  if (!push.username.empty() && push.password.empty()) {
    return bs::usage_error("--username needs a password: --password-file FILE or KUBEFERRY_REGISTRY_PASSWORD");
  }
  if (push.username.empty()) {  // no credentials on the command line: those of `docker login`, if any
    const std::string file = options.auth_file.empty() ? bs::default_docker_config() : options.auth_file;
    TRY_ASSIGN(const auto auths, bs::load_docker_auths(file));
    TRY_ASSIGN(const RegistryTarget target, parse_registry_target(options.registry));
    if (const auto found = auths.find(target.host); found != auths.end()) {
      push.username = found->second.username;
      push.password = found->second.password;
      push.credentials_from = "the auths entry for " + target.host + " in " + file;
    }
  }
  return push;
}

bs::Status push_from(const std::string& root, const PushOptions& push, const GlobalOptions& global) {
  bs::ConsoleProgress progress(stderr, global.quiet ? bs::ConsoleMode::quiet : bs::detect_console_mode(2),
                               "kubeferry-install: ");
  size_t pushed = 0;
  TRY_ASSIGN(const auto reports, push_images(root, push, progress, [&](const PushReport& report) {
               const bool present = report.outcome == PushOutcome::present;
               pushed += present ? 0 : 1;
               // Warnings show with -q too: they change what the registry holds.
               if (!report.warning.empty())
                 std::fprintf(stderr, "kubeferry-install: warning: %s\n", bs::printable_lines(report.warning).c_str());
               std::printf(
                   "%s %s %s@%s\n", present ? "present" : "pushed", bs::printable(report.name, k_line_max).c_str(),
                   bs::printable(report.target, k_line_max).c_str(), bs::printable(report.digest, k_line_max).c_str());
               std::fflush(stdout);
             }));
  if (!global.quiet) {
    std::fprintf(stderr, "kubeferry-install: %zu images pushed to %s, %zu already present\n", pushed,
                 push.registry.c_str(), reports.size() - pushed);
  }
  return bs::ok_status();
}

bs::Status run_images_push(const ImagesPushOptions& options, const GlobalOptions& global) {
  TRY(bs::make_trust_policy(options.source.pins.flags));  // bad pin flags fail before anything else
  TRY_ASSIGN(const PushOptions push, push_options(options));
  TRY(parse_registry_target(push.registry));  // a bad --registry fails before any extraction
  return with_bundle(options.source, global, [&](const std::string& root) { return push_from(root, push, global); });
}

void add_source_options(CLI::App* command, BundleSource& source) {
  command->add_option("--from", source.from, "An extracted bundle folder instead of the bundle itself")
      ->check(CLI::ExistingDirectory);
  add_pin_options(command, source.pins);
}

void setup_push_command(CLI::App* images, const GlobalOptions& global, Commands& commands) {
  auto options = std::make_shared<ImagesPushOptions>();
  auto* push = images->add_subcommand("push", "Push every image of the bundle into a private registry");
  push->add_option("--registry", options->registry,
                   "HOST[:PORT][/PREFIX]: images keep their path and tag under it "
                   "(registry.k8s.io/pause:3.2 -> HOST/PREFIX/pause:3.2)")
      ->required();
  push->add_option("--cacert", options->cacert, "PEM file of the CA that signed the registry's certificate")
      ->check(CLI::ExistingFile);
  push->add_flag("--plain-http", options->plain_http, "Speak plain HTTP to the registry (no TLS)");
  push->add_option("--username", options->username, "User name for the registry (or its token server)");
  push->add_option("--password-file", options->password_file,
                   "File whose first line is the password (else $KUBEFERRY_REGISTRY_PASSWORD)")
      ->check(CLI::ExistingFile);
  push->add_option("--auth-file", options->auth_file,
                   "docker config.json whose auths hold the registry's credentials, when --username is not given "
                   "(default: $DOCKER_CONFIG/config.json or ~/.docker/config.json)")
      ->check(CLI::ExistingFile);
  push->add_option("--timeout", options->timeout_seconds,
                   "Seconds to wait for a connection, and for each read or write on it")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  push->add_option("--retries", options->retries,
                   "Retries of a step after 429/500/502/503/504, refused or reset connections and timeouts "
                   "(with exponential backoff)")
      ->capture_default_str()
      ->check(CLI::Range(0, 20));
  push->add_option("--retry-delay", options->retry_delay_seconds,
                   "Seconds before the first retry; doubled for each further one (at most 30 s)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 30.0));
  add_source_options(push, options->source);
  commands.push_back({push, [options, &global] {
                        bs::install_interrupt_handlers();
                        return run_images_push(*options, global);
                      }});
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
  add_source_options(load, options->source);
  commands.push_back({load, [options, &global] {
                        bs::install_interrupt_handlers();
                        return run_images_load(*options, global);
                      }});
  setup_push_command(images, global, commands);
}

}  // namespace installer
