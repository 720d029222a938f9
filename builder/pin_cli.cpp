// `kubeferry pin MANIFEST`: resolves the NOT-FOUND checksums and digests of a manifest on a
// connected machine and writes them into it, marked as resolved by the user (pin.hpp). Prints
// one line per value on stdout:
//   "pinned artifact NAME sha256:<hex> (HOW)" / "pinned image NAME REF@sha256:<hex> (HOW)"
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bundlespec/progress.hpp"
#include "cli.hpp"
#include "interrupt.hpp"
#include "pin.hpp"

namespace builder {

namespace bs = bundlespec;

namespace {

struct PinCliOptions {
  PinManifestOptions pin;
  std::vector<std::string> mirrors;
  std::vector<std::string> creds;
  std::string auth_file;
};

bs::Status run_pin_command(PinCliOptions& options, const GlobalOptions& global) {
  PinManifestOptions& pin = options.pin;
  for (const std::string& text : options.mirrors) {
    TRY_ASSIGN(MirrorRule rule, parse_mirror_rule(text));
    pin.mirrors.push_back(rule);
  }
  TRY_ASSIGN(pin.registry.credentials,
             load_docker_auths(options.auth_file.empty() ? default_docker_config() : options.auth_file));
  for (const std::string& text : options.creds) {
    TRY_ASSIGN(auto entry, parse_creds_flag(text));
    pin.registry.credentials[entry.first] = std::move(entry.second);
  }
  pin.registry.cacert = pin.cacert;
  bs::ConsoleProgress progress(stderr, global.quiet ? bs::ConsoleMode::quiet : bs::detect_console_mode(2),
                               "kubeferry: pin ");
  TRY_ASSIGN_CTX(const PinReport report, run_pin(pin, progress), "pin " + pin.manifest_path);
  for (const Resolved& r : report.resolved) {
    std::printf("pinned %s %s %s (%s)\n", r.image ? "image" : "artifact", r.name.c_str(), r.value.to_string().c_str(),
                r.how.c_str());
  }
  if (!global.quiet) {
    if (report.resolved.empty()) {
      std::fprintf(stderr, "kubeferry: %s has no NOT-FOUND value; nothing to pin\n", pin.manifest_path.c_str());
    } else if (report.written) {
      std::fprintf(stderr, "kubeferry: wrote %zu value(s) into %s, each marked pinned_by_user\n",
                   report.resolved.size(), pin.manifest_path.c_str());
    } else {
      std::fprintf(stderr, "kubeferry: dry run: %s is unchanged\n", pin.manifest_path.c_str());
    }
  }
  return bs::ok_status();
}

}  // namespace

void setup_pin_commands(CLI::App& app, const GlobalOptions& global, Commands& commands) {
  auto options = std::make_shared<PinCliOptions>();
  auto* pin = app.add_subcommand(
      "pin",
      "Resolve the manifest's NOT-FOUND checksums and digests on a connected machine and write them into it.\n"
      "Each artifact is downloaded and checked against the .sha256/.sha512/.sha256sum/SHA256SUMS files\n"
      "published beside it (a disagreement refuses the run and leaves the manifest as it was); each image's\n"
      "digest is read from its registry and checked by fetching it again by digest. Every value written is\n"
      "marked `pinned_by_user: \"DATE how\"`, and the bundle's lock and SBOM keep that mark.");
  pin->add_option("MANIFEST", options->pin.manifest_path, "Manifest file to complete (rewritten in place)")
      ->required()
      ->check(CLI::ExistingFile);
  pin->add_option("--mirror", options->mirrors, "FROM=TO: fetch URLs starting with FROM from TO instead; repeatable");
  pin->add_option("--cacert", options->pin.cacert, "PEM CA bundle to trust for https downloads and registries")
      ->check(CLI::ExistingFile);
  pin->add_option("--creds", options->creds, "REGISTRY=USER:PASSWORD; repeatable (wins over the docker config)");
  pin->add_option("--auth-file", options->auth_file,
                  "docker config.json with auths (default: $DOCKER_CONFIG/config.json or ~/.docker/config.json)");
  pin->add_option("--plain-http", options->pin.registry.plain_http,
                  "HOST:PORT of a registry to reach over http:// (e.g. 127.0.0.1:5000); repeatable");
  pin->add_flag("--allow-unverified", options->pin.allow_unverified,
                "Pin a download that no published checksum file confirms (the mark says NOT verified)");
  pin->add_flag("--dry-run", options->pin.dry_run, "Resolve and print the values, write nothing");
  commands.push_back({pin, [options, &global] {
                        install_interrupt_handlers();
                        return run_pin_command(*options, global);
                      }});
}

}  // namespace builder
