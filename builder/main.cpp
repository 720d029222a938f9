// kubeferry: the online half. Parses, dispatches, maps errors to exit codes.
#include <cstdio>
#include <exception>

#include "cli.hpp"
#include "bundlespec/result.hpp"
#include "bundlespec/text.hpp"

using bundlespec::ExitCode;

static const char* const k_exit_codes = "Exit codes: 0 ok, 1 failure, 2 usage, 3 verification failed, 130 interrupted.";

int main(int argc, char** argv) try {
  CLI::App app{"kubeferry: build signed, reproducible, self-extracting Kubernetes bundles.", "kubeferry"};
  app.footer(k_exit_codes);
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand
  app.set_version_flag("--version", "kubeferry " KUBEFERRY_VERSION);
  builder::GlobalOptions global;
  app.add_flag("-q,--quiet", global.quiet, "Print results only, no progress");
  builder::Commands commands;
  builder::setup_bundle_commands(app, global, commands);
  builder::setup_build_commands(app, global, commands);
  builder::setup_manifest_commands(app, global, commands);
  builder::setup_images_commands(app, global, commands);
  builder::setup_fetch_commands(app, global, commands);
  builder::setup_pin_commands(app, global, commands);
  builder::setup_split_commands(app, global, commands);
  builder::setup_diff_commands(app, global, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : static_cast<int>(ExitCode::usage);
  }
  for (const auto& command : commands) {
    if (!command.app->parsed()) continue;
    const bundlespec::Status status = command.run();
    if (status.ok()) return command.exit_code ? command.exit_code() : 0;
    // Messages carry values from bundles, manifests, inventories and registries; those are
    // escaped where they are added, and this makes sure no control character slips through.
    std::fprintf(stderr, "kubeferry: error: %s\n", bundlespec::printable_lines(status.error().message()).c_str());
    return static_cast<int>(bundlespec::exit_code_for(status.error()));
  }
  return static_cast<int>(ExitCode::usage);
} catch (const std::exception& e) {
  std::fprintf(stderr, "kubeferry: error: %s\n", e.what());
  return static_cast<int>(ExitCode::failure);
}
