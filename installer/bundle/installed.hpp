// The installed-bundle record: which bundle (name, signer, `created`) this host last installed,
// so that `install` can refuse an older bundle of the same name and signer (no silent
// downgrade; FORMAT.md 3.2 `created`).
//
// ROOT/var/lib/kubeferry/installed-bundles.json (0600), canonical JSON:
//   {"bundles":[{"created":N,"name":"…","payload_sha256":"…","signer":"SHA256:…"},…],"version":1}
// one object per (name, signer), sorted by name then signer. It is kubeferry's own bookkeeping,
// not signed: whoever can write it can also run the installer as root. Thread-safety: value
// types and functions of the Fs they are given.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bundlespec/index.hpp"
#include "bundlespec/result.hpp"
#include "system/host.hpp"

namespace installer {

inline constexpr const char* k_installed_path = "/var/lib/kubeferry/installed-bundles.json";

struct InstalledBundle {
  std::string name;
  std::string signer;
  int64_t created = 0;
  std::string payload_sha256;
  bool operator==(const InstalledBundle&) const = default;
};

// The record's bundles; none when the file does not exist. Fails (failure) naming the file when
// it cannot be read or is not a record this version wrote.
Result<std::vector<InstalledBundle>> load_installed(Fs& fs);

// The entry for `index`'s name and signer, or nullptr.
const InstalledBundle* find_installed(const std::vector<InstalledBundle>& bundles, const bundlespec::Index& index);

enum class Downgrade { refuse, allow };

// "" when installing `index` is not a downgrade: nothing of its name and signer was installed,
// or the installed one was created at the same time or earlier. Otherwise the one-line reason,
// "bundle NAME created TIME is older than the NAME installed on this host (created TIME, same
// signer)". A bundle of another name or signer is never compared.
std::string downgrade_problem(const std::vector<InstalledBundle>& bundles, const bundlespec::Index& index);

// Refuses (verification) a downgrade unless `allowed`: "<downgrade_problem>: refusing to go
// back (pass --allow-downgrade to install it anyway)". With Downgrade::allow, `warning` gets the
// reason (else it stays empty).
Status check_downgrade(const std::vector<InstalledBundle>& bundles, const bundlespec::Index& index, Downgrade allowed,
                       std::string& warning);

// Records `index` as installed (replacing the entry of its name and signer) and writes the file
// atomically, only when that changes it. REQUIRES: the state folder exists.
Status record_installed(Fs& fs, std::vector<InstalledBundle> bundles, const bundlespec::Index& index);

}  // namespace installer
