// The installer's command table. Each subcommand lives in installer/<name>_cli.cpp with a
// setup_<name>(app, commands) that declares its options (CLI11 only there and in main.cpp)
// and registers a runner; main.cpp dispatches after the parse.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bundlespec/container.hpp"
#include "bundlespec/json.hpp"
#include "bundlespec/result.hpp"
#include "bundlespec/trust.hpp"
#include "plan/plan.hpp"
#include "receipt/receipt.hpp"

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
};

// The folder of KEY.pub files a host trusts (install: below --root).
inline constexpr const char* k_trusted_dir = "/etc/kubeferry/trusted.d";

// --pubkey, --fingerprint, --require-pinned and --trusted-dir of the commands that open a
// bundle (verify, list, extract, images load|push), by add_pin_options().
struct PinOptions {
  bundlespec::PinFlags flags;
  bool require_pinned = false;
  std::string trusted_dir = k_trusted_dir;
};
void add_pin_options(CLI::App* command, PinOptions& pins);

// A verified bundle and whether its signer was pinned.
struct PinnedBundle {
  bundlespec::BundleFile file;
  bundlespec::PinState pin = bundlespec::PinState::unpinned;
};

// The bundle (--bundle FILE, else our own file) opened under `pins` (bundlespec/trust.hpp):
// fails (usage) for bad flags before the file is read, (verification) for a signer other than
// the pinned one or an unpinned one that `pins` refuses, and prints the NOT pinned warning
// otherwise. `no_bundle` is the usage error's advice when this kubeferry-install carries no
// bundle ("pass --bundle FILE").
bundlespec::Result<PinnedBundle> open_pinned_bundle(const GlobalOptions& global, const PinOptions& pins,
                                                    std::string_view no_bundle);

// One per subcommand file. Each adds a subcommand to `app` and a runner to `commands`.
void setup_bundle_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);
// pki init / pki expiry (cli/pki_cli.cpp).
void setup_pki_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);
// images load / images push (cli/images_cli.cpp).
void setup_images_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);
// plan / install / uninstall (cli/plan_cli.cpp).
void setup_plan_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);
// verify-host (cli/receipt_cli.cpp).
void setup_receipt_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);
// Writes the signed receipt of an install that succeeded (making the host key at the first one)
// and says where: on stderr, and the new host key's fingerprint (a result the user keeps) on
// stdout, or both in `json` for install --json (cli/receipt_cli.cpp).
bundlespec::Status record_receipt(const GlobalOptions& global, const std::string& root, const Plan& plan,
                                  const ReceiptContext& context, bundlespec::Json::Object* json);
// verify-media / join (cli/media_cli.cpp).
void setup_media_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);
// ansible (cli/ansible_cli.cpp).
void setup_ansible_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);

}  // namespace installer
