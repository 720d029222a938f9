// Pinning: which signer a reader trusts, and what it says or does when nobody pinned one.
//
// One rule for every command that opens a bundle, in both programs (kubeferry verify and
// inspect; the installer's verify, list, extract, images load|push and install):
//   1. make_trust_policy() turns --pubkey FILE / --fingerprint TEXT into the pinned fingerprint.
//      A flag that was given but is empty (an unset shell variable), or a --pubkey file that is
//      missing, unreadable, empty, a private key or not an Ed25519 public key, is a usage error:
//      it must never fall back to "any signer".
//   2. BundleFile::open(path, policy) refuses any other signer (FORMAT.md 5, step 3).
//   3. check_signer() decides on a bundle nobody pinned: a key in the trusted folder pins it;
//      otherwise it is refused (PinRule::unpinned == refuse, or the trusted folder holds keys,
//      so this host has said whom it trusts), or warn_unpinned() prints the one warning.
// Thread-safety: pure functions, except check_signer() and warn_unpinned(), which write to the
// stream they are given.
#pragma once

#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "bundlespec/container.hpp"
#include "bundlespec/result.hpp"
#include "bundlespec/signing.hpp"

namespace bundlespec {

// The pinning flags as the user gave them: set (possibly to "") when the flag was given.
struct PinFlags {
  std::optional<std::string> pubkey;       // --pubkey FILE
  std::optional<std::string> fingerprint;  // --fingerprint SHA256:<hex>
};

// The trust policy the flags ask for: no fingerprint when neither flag was given. Fails (usage)
// with a message naming the flag and what to pass when both are given, when either is empty,
// when the --pubkey file is not a regular file, cannot be read, is empty, holds a private key,
// or is not an Ed25519 public key (PEM SubjectPublicKeyInfo), or when the fingerprint is not
// SHA256:<64 hex digits>.
Result<TrustPolicy> make_trust_policy(const PinFlags& flags);

// The public key in `path`, as a --pubkey file must hold it. Fails (usage) like
// make_trust_policy() does for --pubkey, naming `flag`.
Result<Key> load_pinned_key(const std::string& path, std::string_view flag = "--pubkey");

// Fingerprints of the Ed25519 public keys in the *.pub files of `dir`. None when `dir` is ""
// or does not exist; files that are not public keys (a private key included) are skipped.
std::set<std::string> trusted_fingerprints(const std::string& dir);

// What to do with an unpinned signer: refuse it; warn, unless the trusted folder holds keys
// (then refuse: this host has said whom it trusts); or warn whatever the folder holds (the
// user explicitly allowed it, install --allow-unpinned-signer).
enum class Unpinned { refuse, warn, allow };

// What a command does with a bundle whose signer nobody pinned.
struct PinRule {
  std::string trusted_dir;  // folder of trusted KEY.pub files; "" = none
  Unpinned unpinned = Unpinned::warn;
  // How to get the other behaviour, said at the end of the warning and of the refusal.
  std::string warn_note = "--require-pinned refuses unpinned bundles";
  std::string refuse_note = "--require-pinned is set";
};

enum class PinState { pinned, unpinned };

// Decides on `signer` (the fingerprint BundleFile::open() accepted under `policy`): pinned when
// `policy` has a fingerprint or the signer is one of trusted_fingerprints(rule.trusted_dir).
// Otherwise, as rule.unpinned says, fails (verification) with "the bundle is signed by FP,
// which is not pinned on this host. Check the fingerprint ... (NOTE)", or prints
// warn_unpinned() to `warnings` (prefixed by `prefix`, e.g. "kubeferry-install: ") and
// returns unpinned.
Result<PinState> check_signer(std::string_view signer, const TrustPolicy& policy, const PinRule& rule,
                              std::FILE* warnings, std::string_view prefix);

// The one "NOT pinned" warning: "PREFIXwarning: the bundle's signer FP is NOT pinned: ...",
// with how to pin it and rule.warn_note, as one line.
void warn_unpinned(std::FILE* out, std::string_view prefix, std::string_view signer, const PinRule& rule);
std::string unpinned_warning(std::string_view signer, const PinRule& rule);

}  // namespace bundlespec
