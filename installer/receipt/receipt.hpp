// The signed install receipt and the drift check against it (FORMAT.md 12).
//
// Every successful `install` (not --dry-run) writes, below the target root:
//   /var/lib/kubeferry/receipt.json       canonical JSON: bundle, signer, host, roles, every file,
//                                          folder and symlink with its mode and sha256, units,
//                                          images by digest, certificate serials and expiries,
//                                          the preflight result, start and finish times
//   /var/lib/kubeferry/receipt.json.sig   raw Ed25519 over receipt.json's exact bytes
//   /var/lib/kubeferry/receipt.sha256     every file as `sha256sum -c` reads it, relative to the root
//   /var/lib/kubeferry/receipt.sha256.sig raw Ed25519 over receipt.sha256
// signed with the host's own key, made on that host at its first install:
//   /var/lib/kubeferry/host.key (PKCS#8 PEM, 0600) and host.key.pub.
// `verify-host` reads them back, checks the signature, and compares the live host (or --root)
// with the receipt, offline: every changed, missing or extra file, folder, symlink, unit and
// (live) image. This record is not the `trust` helper's installed-bundle record for downgrade
// refusal, which lives beside it in its own file.
// Thread-safety: none; one caller at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bundlespec/container.hpp"
#include "bundlespec/json.hpp"
#include "bundlespec/result.hpp"
#include "bundlespec/signing.hpp"
#include "apply/apply.hpp"
#include "plan/plan.hpp"
#include "system/host.hpp"

namespace installer {

inline constexpr const char* k_receipt_path = "/var/lib/kubeferry/receipt.json";
inline constexpr const char* k_receipt_sums_path = "/var/lib/kubeferry/receipt.sha256";
inline constexpr const char* k_host_key_path = "/var/lib/kubeferry/host.key";
inline constexpr std::string_view k_receipt_format = "kubeferry receipt v1";

// What the install knew besides its plan.
struct ReceiptContext {
  const bundlespec::BundleFile* bundle = nullptr;  // REQUIRED
  const std::vector<BundleImage>* images = nullptr; // the bundle's images (loaded by the image step)
  bool fix = false;                                // install --fix
  int64_t started = 0;                             // seconds since 1970
  int64_t finished = 0;
};

// The receipt of `plan` applied (canonical-JSON-ready): files, folders and symlinks from the
// plan's steps (a file's sha256 and mode are those apply checked on disk), units from its
// service steps, images from its image steps, certificates from the PKI files it installed.
// `host_key` is the fingerprint that will sign it. Fails when a PKI certificate cannot be read.
Result<bundlespec::Json> make_receipt(const Plan& plan, const ReceiptContext& context, const std::string& host_key);

// Loads ROOT/var/lib/kubeferry/host.key, or makes it (0600, and host.key.pub) when there is
// none. `made` tells which.
Result<bundlespec::Key> host_key(const std::string& root, bool& made);

// Writes the four receipt files below `root` atomically (the sums and their signature first, so
// receipt.json never names sums that are not there). Returns receipt.json's path.
Result<std::string> write_receipt(const std::string& root, const Plan& plan, const ReceiptContext& context,
                                  bool& new_key, std::string& fingerprint);

// Removes the receipt files below `root` (uninstall: it no longer describes the host), and with
// Purge::yes the host key too. Missing files are fine.
Status remove_receipt(const std::string& root, Purge purge);

// One difference between the host and its receipt.
struct Drift {
  std::string kind;    // "file", "directory", "symlink", "unit", "image"
  std::string name;    // absolute path, unit name or image reference
  std::string change;  // "changed", "missing", "extra"
  std::string detail;  // what changed: "content: sha256 A, was B", "mode 0755, was 0644"
};

struct HostCheck {
  bundlespec::Json receipt;
  std::string host_key;  // fingerprint of the key that signed the receipt
  std::vector<Drift> drift;
  size_t files = 0, units = 0, images = 0;
  bool images_checked = false;
};

// Reads and checks ROOT's receipt: signature by ROOT/var/lib/kubeferry/host.key.pub (and, when
// `pin` is set, that key's fingerprint must be it). Fails (verification) for a receipt that was
// changed or signed by another key, (failure) when there is none ("no receipt: this host was
// not installed by kubeferry-install, or before receipts existed").
Result<HostCheck> load_receipt(const std::string& root, const std::optional<std::string>& pin);

// Compares the files, units and watched folders below `fs`'s root with the receipt, and, when
// `runner` is given (live host), asks the runtime for every image. Fails only when the runtime
// cannot be asked at all.
Status check_host(HostCheck& check, RealFs& fs, CommandRunner* runner);

// One line per difference ("CHANGED file /opt/kubernetes/cfg/kubelet.conf: content ..."), then
// the summary line.
std::string format_host_check(const HostCheck& check);
bundlespec::Json host_check_json(const HostCheck& check);

}  // namespace installer
