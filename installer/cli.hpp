// The installer's command table. Each subcommand lives in installer/<name>_cli.cpp with a
// setup_<name>(app, commands) that declares its options (CLI11 only there and in main.cpp)
// and registers a runner; main.cpp dispatches after the parse.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "bundlespec/result.hpp"

namespace installer {

struct Command {
  CLI::App* app = nullptr;
  std::function<bundlespec::Status()> run;
};
using Commands = std::vector<Command>;

// Options every command shares.
struct GlobalOptions {
  std::string bundle;  // --bundle FILE: a bare payload or another .run instead of our own
  bool quiet = false;
  bool verbose = false;
};

// One per subcommand file. Each adds a subcommand to `app` and a runner to `commands`.
void setup_bundle_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);
// pki init / pki expiry (installer/pki_cli.cpp).
void setup_pki_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);
// images load / images push (installer/images_cli.cpp).
void setup_images_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);
// plan / install / uninstall (installer/plan_cli.cpp).
void setup_plan_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);

}  // namespace installer
