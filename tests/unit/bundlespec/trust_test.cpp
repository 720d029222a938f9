// Pinning (bundlespec/trust.hpp): the --pubkey/--fingerprint rule every command shares, the
// trusted folder, and the one NOT pinned warning.
#include "bundlespec/trust.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "bundlespec/signing.hpp"
#include "support/test_util.hpp"

namespace bundlespec {
namespace {

const std::string k_pass = ": pass the signer's public key file (KEY.pub, written by kubeferry keygen)";

std::string usage_message(const PinFlags& flags) {
  auto result = make_trust_policy(flags);
  if (result.ok()) return "<ok>";
  EXPECT_EQ(result.error().code(), ErrorCode::usage) << result.error().message();
  return result.error().message();
}

// What `run` wrote to a FILE*.
template <typename F>
std::string captured(F run) {
  std::FILE* file = std::tmpfile();
  EXPECT_NE(file, nullptr);
  run(file);
  std::string out;
  std::rewind(file);
  for (int c = std::fgetc(file); c != EOF; c = std::fgetc(file)) out.push_back(static_cast<char>(c));
  std::fclose(file);
  return out;
}

struct Keys {
  kftest::TempDir dir;
  Key key;
  std::string fp;
  Keys() : key(std::move(generate_ed25519_key()).value()), fp(fingerprint(key)) {
    EXPECT_OK(write_key_pair(key, dir / "k"));
  }
};

TEST(TrustPolicy, FromFlags) {
  Keys keys;
  auto none = make_trust_policy({});
  ASSERT_OK(none);
  EXPECT_FALSE(none->fingerprint.has_value());
  auto by_key = make_trust_policy({keys.dir / "k.pub", std::nullopt});
  ASSERT_OK(by_key);
  EXPECT_EQ(by_key->fingerprint, keys.fp);
  auto by_print = make_trust_policy({std::nullopt, keys.fp});
  ASSERT_OK(by_print);
  EXPECT_EQ(by_print->fingerprint, keys.fp);
  EXPECT_EQ(usage_message({keys.dir / "k.pub", keys.fp}), "give --pubkey or --fingerprint, not both");
}

// An unset shell variable gives an empty flag; it must never mean "any signer".
TEST(TrustPolicy, EmptyFlagsAreUsageErrors) {
  EXPECT_EQ(usage_message({std::string(), std::nullopt}), "--pubkey is empty (an unset variable?)" + k_pass);
  EXPECT_EQ(usage_message({std::nullopt, std::string()}),
            "--fingerprint is empty (an unset variable?): pass the signer's fingerprint, SHA256:<64 hex digits>, as "
            "kubeferry keygen and verify print it");
  EXPECT_EQ(usage_message({std::nullopt, std::string("SHA256:abc\x1b[2J")}),
            "--fingerprint 'SHA256:abc\\x1b[2J' must look like SHA256:<64 hex digits>, as kubeferry keygen and "
            "verify print it");
}

TEST(TrustPolicy, RefusesEveryPubkeyFileThatIsNotAPublicKey) {
  Keys keys;
  const std::string d = keys.dir.path();
  kftest::write_file(d + "/empty.pub", "");
  kftest::write_file(d + "/junk.pub", "not a key\n");
  ASSERT_EQ(::mkfifo((d + "/fifo").c_str(), 0644), 0);
  ASSERT_EQ(kftest::run_command("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + d +
                                "/ec 2>/dev/null && openssl pkey -in " + d + "/ec -pubout -out " + d + "/ec.pub"),
            0);
  EXPECT_EQ(usage_message({d + "/missing.pub", std::nullopt}),
            "--pubkey " + d + "/missing.pub cannot be read (No such file or directory)" + k_pass);
  EXPECT_EQ(usage_message({d + "/empty.pub", std::nullopt}), "--pubkey " + d + "/empty.pub is empty" + k_pass);
  EXPECT_EQ(usage_message({d, std::nullopt}), "--pubkey " + d + " is not a regular file" + k_pass);
  EXPECT_EQ(usage_message({d + "/fifo", std::nullopt}), "--pubkey " + d + "/fifo is not a regular file" + k_pass);
  EXPECT_EQ(usage_message({d + "/junk.pub", std::nullopt}),
            "--pubkey " + d + "/junk.pub is not an Ed25519 public key (PEM \"BEGIN PUBLIC KEY\")" + k_pass);
  EXPECT_EQ(usage_message({d + "/ec.pub", std::nullopt}),
            "--pubkey " + d + "/ec.pub is not an Ed25519 public key (PEM \"BEGIN PUBLIC KEY\")" + k_pass);
  EXPECT_EQ(usage_message({d + "/k", std::nullopt}),
            "--pubkey " + d +
                "/k is a private key: pass its public half (KEY.pub beside KEY, written by kubeferry keygen); the "
                "private key stays with the publisher");
}

TEST(TrustPolicy, UnreadablePubkeyFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file";
  Keys keys;
  ASSERT_EQ(::chmod((keys.dir / "k.pub").c_str(), 0), 0);
  EXPECT_EQ(usage_message({keys.dir / "k.pub", std::nullopt}), "--pubkey " + (keys.dir / "k.pub") +
                                                                   " cannot be read (open " + (keys.dir / "k.pub") +
                                                                   ": Permission denied)" + k_pass);
}

TEST(TrustedFingerprints, OnlyPublicKeysCount) {
  Keys keys;
  Keys other;
  kftest::TempDir trusted;
  kftest::write_file(trusted / "a.pub", kftest::read_file(keys.dir / "k.pub"));
  kftest::write_file(trusted / "b.pub", kftest::read_file(other.dir / "k"));  // a private key: skipped
  kftest::write_file(trusted / "c.pub", "junk");
  kftest::write_file(trusted / "d.key", kftest::read_file(other.dir / "k.pub"));  // not *.pub
  EXPECT_EQ(trusted_fingerprints(trusted.path()), std::set<std::string>{keys.fp});
  EXPECT_TRUE(trusted_fingerprints(trusted / "missing").empty());
  EXPECT_TRUE(trusted_fingerprints("").empty());
}

TEST(CheckSigner, PinnedByFlagOrTrustedFolder) {
  Keys keys;
  kftest::TempDir trusted;
  PinRule rule;
  rule.trusted_dir = trusted.path();
  rule.unpinned = Unpinned::refuse;
  const std::string out = captured([&](std::FILE* f) {
    auto state = check_signer(keys.fp, TrustPolicy{keys.fp}, rule, f, "kf: ");
    ASSERT_OK(state);
    EXPECT_EQ(*state, PinState::pinned);
    kftest::write_file(trusted / "k.pub", kftest::read_file(keys.dir / "k.pub"));
    auto by_folder = check_signer(keys.fp, TrustPolicy{}, rule, f, "kf: ");
    ASSERT_OK(by_folder);
    EXPECT_EQ(*by_folder, PinState::pinned);
  });
  EXPECT_EQ(out, "");
}

TEST(CheckSigner, UnpinnedWarnsWithTheFingerprintAndHowToPin) {
  Keys keys;
  PinRule rule;
  rule.trusted_dir = "/nowhere/trusted.d";
  const std::string out = captured([&](std::FILE* f) {
    auto state = check_signer(keys.fp, TrustPolicy{}, rule, f, "kf: ");
    ASSERT_OK(state);
    EXPECT_EQ(*state, PinState::unpinned);
  });
  EXPECT_EQ(out, "kf: warning: the bundle's signer " + keys.fp +
                     " is NOT pinned: any valid signature was accepted. Check the fingerprint with the bundle's "
                     "publisher, then pin it with --fingerprint " +
                     keys.fp +
                     " or --pubkey KEY.pub, or copy KEY.pub into /nowhere/trusted.d/ (--require-pinned refuses "
                     "unpinned bundles)\n");
}

TEST(CheckSigner, RefusesUnpinnedWhenAskedOrWhenTheHostTrustsOtherKeys) {
  Keys keys;
  Keys other;
  kftest::TempDir trusted;
  PinRule rule;
  rule.trusted_dir = trusted.path();
  rule.unpinned = Unpinned::refuse;
  const std::string head = "the bundle is signed by " + keys.fp +
                           ", which is not pinned on this host. Check the fingerprint with the bundle's publisher, "
                           "then pin it with --fingerprint " +
                           keys.fp + ", or --pubkey KEY.pub, or copy KEY.pub into " + trusted.path() + "/";
  const std::string out = captured([&](std::FILE* f) {
    auto refused = check_signer(keys.fp, TrustPolicy{}, rule, f, "kf: ");
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code(), ErrorCode::verification);
    EXPECT_EQ(refused.error().message(), head + " (--require-pinned is set)");
    // Without --require-pinned, a folder holding another key refuses too.
    kftest::write_file(trusted / "other.pub", kftest::read_file(other.dir / "k.pub"));
    rule.unpinned = Unpinned::warn;
    auto by_folder = check_signer(keys.fp, TrustPolicy{}, rule, f, "kf: ");
    ASSERT_FALSE(by_folder.ok());
    EXPECT_EQ(by_folder.error().message(), head + " (this host trusts only the keys in " + trusted.path() + "/)");
  });
  EXPECT_EQ(out, "");
  // Unpinned::allow (install --allow-unpinned-signer) warns whatever the folder holds.
  rule.unpinned = Unpinned::allow;
  rule.warn_note = "--allow-unpinned-signer is set";
  const std::string allowed = captured([&](std::FILE* f) { EXPECT_OK(check_signer(keys.fp, {}, rule, f, "kf: ")); });
  EXPECT_EQ(allowed, "kf: warning: " + unpinned_warning(keys.fp, rule) + "\n");
  EXPECT_NE(allowed.find("(--allow-unpinned-signer is set)\n"), std::string::npos) << allowed;
}

}  // namespace
}  // namespace bundlespec
