// verify-host, and the receipt every install writes (receipt/receipt.hpp).
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "bundlespec/json.hpp"
#include "bundlespec/signing.hpp"
#include "bundlespec/text.hpp"
#include "cli/cli.hpp"
#include "receipt/receipt.hpp"
#include "system/host.hpp"

namespace installer {

namespace bs = bundlespec;

namespace {

struct VerifyHostOptions {
  std::string root = "/";
  std::optional<std::string> fingerprint;
  bool json = false;
};

bs::Status run_verify_host(const VerifyHostOptions& options) {
  std::optional<std::string> pin;
  if (options.fingerprint) {
    TRY_ASSIGN(pin, bs::parse_fingerprint(*options.fingerprint));
  }
  RealFs fs(options.root);
  TRY_ASSIGN(HostCheck check, load_receipt(fs.root(), pin));
  RealCommandRunner runner;
  // Images are asked of the running runtime; below --root there is none.
  TRY_CTX(check_host(check, fs, fs.root() == "/" ? &runner : nullptr), "verify-host");
  if (options.json) {
    std::fputs(bs::to_pretty_json(host_check_json(check)).c_str(), stdout);
  } else {
    std::fputs(format_host_check(check).c_str(), stdout);
  }
  if (!check.drift.empty()) {
    return bs::make_error("verify-host: " + std::to_string(check.drift.size()) +
                          " differences between this host and its receipt (listed above)");
  }
  return bs::ok_status();
}

}  // namespace

bs::Status record_receipt(const GlobalOptions& global, const std::string& root, const Plan& plan,
                          const ReceiptContext& context, bs::Json::Object* json) {
  bool new_key = false;
  std::string fingerprint;
  TRY_ASSIGN(const std::string path, write_receipt(root, plan, context, new_key, fingerprint));
  const std::string pub = (root == "/" ? std::string() : root) + k_host_key_path + ".pub";
  if (json != nullptr) {  // stdout holds the report alone
    bs::Json::Object o;
    o["path"] = path;
    o["host_key"] = fingerprint;
    o["host_key_pub"] = pub;
    o["new_host_key"] = new_key;
    (*json)["receipt"] = std::move(o);
    return bs::ok_status();
  }
  if (new_key) {
    // A result: whoever checks this host later pins this fingerprint (verify-host --fingerprint).
    std::printf("made this host's receipt key %s: %s (keep a copy of the fingerprint elsewhere)\n",
                fingerprint.c_str(), pub.c_str());
  }
  if (!global.quiet) {
    std::fprintf(stderr, "kubeferry-install: wrote the signed receipt %s (host key %s); verify-host compares with it\n",
                 path.c_str(), fingerprint.c_str());
  }
  return bs::ok_status();
}

void setup_receipt_commands(CLI::App& app, const GlobalOptions& global, Commands& commands) {
  static_cast<void>(global);
  auto options = std::make_shared<VerifyHostOptions>();
  auto* verify = app.add_subcommand(
      "verify-host",
      "Compare this host with the signed receipt its last install wrote (/var/lib/kubeferry/receipt.json), offline: "
      "every changed, missing or extra file, unit and image. Exit 1 on drift.");
  verify->add_option("--root", options->root, "The --root the install used")->check(CLI::ExistingDirectory);
  verify->add_option("--fingerprint", options->fingerprint,
                     "The host key's fingerprint (SHA256:<hex>) as printed at the first install; refuse another");
  verify->add_flag("--json", options->json, "Print the result as JSON (for monitoring)");
  commands.push_back({verify, [options] { return run_verify_host(*options); }});
}

}  // namespace installer
