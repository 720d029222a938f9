// keygen / pack / verify: the bundle-format commands of the builder.
#include "builder/cli.hpp"

namespace builder {

void setup_bundle_commands(CLI::App& app, const GlobalOptions& global, Commands& commands) {
  (void)global;
  auto* keygen = app.add_subcommand("keygen", "Make an Ed25519 signing key pair");
  commands.push_back({keygen, [] { return bundlespec::make_error("not implemented yet"); }});
}

}  // namespace builder
