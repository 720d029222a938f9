// kubeferry-install: the static, offline half. Parses, dispatches, maps errors to exit codes.
#include <cstdio>
#include <exception>

#include "bundlespec/result.hpp"
#include "bundlespec/text.hpp"
#include "cli/cli.hpp"

using bundlespec::ExitCode;

static const char* const k_exit_codes = "Exit codes: 0 ok, 1 failure, 2 usage, 3 verification failed, 130 interrupted.";

int main(int argc, char** argv) try {
  CLI::App app{
      "kubeferry-install: verify, unpack and install a kubeferry bundle offline.\n"
      "Run as ./BUNDLE.run <command>, or kubeferry-install --bundle FILE <command>.",
      "kubeferry-install"};
  app.footer(k_exit_codes);
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand
  app.set_version_flag("--version", "kubeferry-install " KUBEFERRY_VERSION);
  installer::GlobalOptions global;
  app.add_option("--bundle", global.bundle, "Bundle to use instead of the one appended to this program");
  app.add_flag("-q,--quiet", global.quiet, "Print results only, no progress");
  installer::Commands commands;
  installer::setup_bundle_commands(app, global, commands);
  installer::setup_pki_commands(app, global, commands);
  installer::setup_images_commands(app, global, commands);
  installer::setup_plan_commands(app, global, commands);
  installer::setup_media_commands(app, global, commands);
  installer::setup_receipt_commands(app, global, commands);
  installer::setup_ansible_commands(app, global, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : static_cast<int>(ExitCode::usage);
  }
  for (const auto& command : commands) {
    if (!command.app->parsed()) continue;
    const bundlespec::Status status = command.run();
    if (status.ok()) return 0;
    // Messages carry values from bundles, manifests, inventories and registries; those are
    // escaped where they are added, and this makes sure no control character slips through.
    std::fprintf(stderr, "kubeferry-install: error: %s\n",
                 bundlespec::printable_lines(status.error().message()).c_str());
    return static_cast<int>(bundlespec::exit_code_for(status.error()));
  }
  return static_cast<int>(ExitCode::usage);
} catch (const std::exception& e) {
  std::fprintf(stderr, "kubeferry-install: error: %s\n", e.what());
  return static_cast<int>(ExitCode::failure);
}
