// verify / list / extract: the bundle-format commands of the installer.
#include "installer/cli.hpp"

namespace installer {

void setup_bundle_commands(CLI::App& app, const GlobalOptions& global, Commands& commands) {
  (void)global;
  auto* verify = app.add_subcommand("verify", "Check the bundle's signature and every digest");
  commands.push_back({verify, [] { return bundlespec::make_error("not implemented yet"); }});
}

}  // namespace installer
