#include "bundlespec/trust.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "bundlespec/fs.hpp"
#include "bundlespec/signing.hpp"
#include "bundlespec/text.hpp"

namespace bundlespec {

namespace {

constexpr uint64_t k_max_key_file = 64 << 10;
constexpr std::string_view k_pass_pubkey = "pass the signer's public key file (KEY.pub, written by kubeferry keygen)";

Error pubkey_error(std::string_view flag, const std::string& path, std::string_view problem) {
  return usage_error(std::string(flag) + " " + printable(path) + " " + std::string(problem) + ": " +
                     std::string(k_pass_pubkey));
}

}  // namespace

Result<Key> load_pinned_key(const std::string& path, std::string_view flag) {
  if (path.empty()) {
    return usage_error(std::string(flag) + " is empty (an unset variable?): " + std::string(k_pass_pubkey));
  }
  // stat before open: opening a FIFO would block.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return pubkey_error(flag, path, std::string("cannot be read (") + std::strerror(errno) + ")");
  }
  if (!S_ISREG(st.st_mode)) return pubkey_error(flag, path, "is not a regular file");
  auto pem = read_file(path, k_max_key_file);
  if (!pem.ok()) {
    if (static_cast<uint64_t>(st.st_size) > k_max_key_file) return pubkey_error(flag, path, "is too large for a key");
    return pubkey_error(flag, path, "cannot be read (" + pem.error().message() + ")");
  }
  if (pem->empty()) return pubkey_error(flag, path, "is empty");
  if (holds_private_key_pem(*pem)) {
    return usage_error(std::string(flag) + " " + printable(path) +
                       " is a private key: pass its public half (KEY.pub beside KEY, written by kubeferry keygen); "
                       "the private key stays with the publisher");
  }
  auto key = parse_public_key_pem(*pem, path);
  if (!key.ok()) return pubkey_error(flag, path, "is not an Ed25519 public key (PEM \"BEGIN PUBLIC KEY\")");
  return key;
}

Result<TrustPolicy> make_trust_policy(const PinFlags& flags) {
  TrustPolicy trust;
  if (flags.pubkey && flags.fingerprint) return usage_error("give --pubkey or --fingerprint, not both");
  if (flags.pubkey) {
    TRY_ASSIGN(const Key key, load_pinned_key(*flags.pubkey));
    trust.fingerprint = fingerprint(key);
  } else if (flags.fingerprint) {
    if (flags.fingerprint->empty()) {
      return usage_error(
          "--fingerprint is empty (an unset variable?): pass the signer's fingerprint, SHA256:<64 hex digits>, as "
          "kubeferry keygen and verify print it");
    }
    auto parsed = parse_fingerprint(*flags.fingerprint);
    if (!parsed.ok()) {
      return usage_error("--fingerprint '" + printable(*flags.fingerprint) +
                         "' must look like SHA256:<64 hex digits>, as kubeferry keygen and verify print it");
    }
    trust.fingerprint = std::move(parsed).value();
  }
  return trust;
}

std::set<std::string> trusted_fingerprints(const std::string& dir) {
  std::set<std::string> out;
  if (dir.empty()) return out;
  const Handle<DIR> d(::opendir(dir.c_str()));
  if (!d) return out;
  while (const dirent* e = ::readdir(d.get())) {
    const std::string name = e->d_name;
    if (name.size() < 5 || name.compare(name.size() - 4, 4, ".pub") != 0) continue;
    auto key = load_pinned_key(dir + "/" + name);
    if (key.ok()) out.insert(fingerprint(*key));
  }
  return out;
}

std::string unpinned_warning(std::string_view signer, const PinRule& rule) {
  std::string text = "the bundle's signer " + std::string(signer) +
                     " is NOT pinned: any valid signature was accepted. Check the fingerprint with the bundle's "
                     "publisher, then pin it with --fingerprint " +
                     std::string(signer) + " or --pubkey KEY.pub";
  if (!rule.trusted_dir.empty()) text += ", or copy KEY.pub into " + printable(rule.trusted_dir) + "/";
  if (!rule.warn_note.empty()) text += " (" + rule.warn_note + ")";
  return text;
}

void warn_unpinned(std::FILE* out, std::string_view prefix, std::string_view signer, const PinRule& rule) {
  const std::string text = unpinned_warning(signer, rule);
  std::fprintf(out, "%.*swarning: %s\n", static_cast<int>(prefix.size()), prefix.data(), text.c_str());
}

Result<PinState> check_signer(std::string_view signer, const TrustPolicy& policy, const PinRule& rule,
                              std::FILE* warnings, std::string_view prefix) {
  if (policy.fingerprint) return PinState::pinned;  // BundleFile::open() refused any other signer
  const std::set<std::string> trusted = trusted_fingerprints(rule.trusted_dir);
  if (trusted.count(std::string(signer)) != 0) return PinState::pinned;
  if (rule.unpinned == Unpinned::allow || (rule.unpinned == Unpinned::warn && trusted.empty())) {
    warn_unpinned(warnings, prefix, signer, rule);
    return PinState::unpinned;
  }
  const std::string note = rule.unpinned == Unpinned::refuse
                               ? rule.refuse_note
                               : "this host trusts only the keys in " + printable(rule.trusted_dir) + "/";
  std::string text = "the bundle is signed by " + std::string(signer) +
                     ", which is not pinned on this host. Check the fingerprint with the bundle's publisher, then "
                     "pin it with --fingerprint " +
                     std::string(signer) + ", or --pubkey KEY.pub";
  if (!rule.trusted_dir.empty()) text += ", or copy KEY.pub into " + printable(rule.trusted_dir) + "/";
  if (!note.empty()) text += " (" + note + ")";
  return verification_error(text);
}

}  // namespace bundlespec
