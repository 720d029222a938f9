// Ed25519 keys, signatures and fingerprints, checked against the stock openssl CLI.
#include "bundlespec/signing.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cctype>
#include <string>

#include "bundlespec/digest.hpp"
#include "support/test_util.hpp"

namespace bundlespec {
namespace {

unsigned mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

Key make_key() {
  auto key = generate_ed25519_key();
  EXPECT_OK(key);
  return std::move(key).value();
}

// The first word of a shell command's output (e.g. sha256sum's digest).
std::string first_word(const std::string& command) {
  std::string output;
  EXPECT_EQ(kftest::run_command(command, &output), 0) << command << "\n" << output;
  return output.substr(0, output.find_first_of(" \n"));
}

TEST(Signing, WriteKeyPairFilesAndModes) {
  kftest::TempDir dir;
  const Key key = make_key();
  ASSERT_OK(write_key_pair(key, dir / "k"));
  EXPECT_EQ(mode_of(dir / "k"), 0600u);
  EXPECT_EQ(mode_of(dir / "k.pub"), 0644u);
  EXPECT_EQ(kftest::read_file(dir / "k").rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  EXPECT_EQ(kftest::read_file(dir / "k.pub").rfind("-----BEGIN PUBLIC KEY-----\n", 0), 0u);
  // Only the two files, no temporaries left beside them.
  std::string listing;
  ASSERT_EQ(kftest::run_command("ls -A " + dir.path(), &listing), 0);
  EXPECT_EQ(listing, "k\nk.pub\n");

  // Both halves load back to the same key.
  auto priv = load_private_key(dir / "k");
  ASSERT_OK(priv);
  auto pub = load_public_key(dir / "k.pub");
  ASSERT_OK(pub);
  EXPECT_EQ(raw_public_key(*priv), raw_public_key(key));
  EXPECT_EQ(raw_public_key(*pub), raw_public_key(key));
  EXPECT_EQ(fingerprint(*pub), fingerprint(key));
  // A private key file also serves as a public key.
  auto pub_from_private = load_public_key(dir / "k");
  ASSERT_OK(pub_from_private);
  EXPECT_EQ(fingerprint(*pub_from_private), fingerprint(key));
}

TEST(Signing, RefusesToOverwrite) {
  kftest::TempDir dir;
  ASSERT_OK(write_key_pair(make_key(), dir / "k"));
  const std::string before = kftest::read_file(dir / "k");
  auto again = write_key_pair(make_key(), dir / "k");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message(), "refusing to overwrite existing " + (dir / "k"));
  EXPECT_EQ(kftest::read_file(dir / "k"), before);

  // Only KEY.pub exists: still refused, and no private key appears.
  kftest::write_file(dir / "only.pub", "keep me");
  auto pub_exists = write_key_pair(make_key(), dir / "only");
  ASSERT_FALSE(pub_exists.ok());
  EXPECT_EQ(pub_exists.error().message(), "refusing to overwrite existing " + (dir / "only.pub"));
  EXPECT_FALSE(kftest::exists(dir / "only"));
  EXPECT_EQ(kftest::read_file(dir / "only.pub"), "keep me");
}

TEST(Signing, WriteIntoMissingFolderLeavesNothing) {
  kftest::TempDir dir;
  auto status = write_key_pair(make_key(), dir / "no/such/k");
  ASSERT_FALSE(status.ok());
  EXPECT_FALSE(kftest::exists(dir / "no"));
}

// FORMAT.md 3.2: signer = "SHA256:" + sha256(DER SubjectPublicKeyInfo), as openssl computes it.
TEST(Signing, FingerprintMatchesOpensslCli) {
  kftest::TempDir dir;
  const Key key = make_key();
  ASSERT_OK(write_key_pair(key, dir / "k"));
  const std::string want = first_word("openssl pkey -pubin -in " + (dir / "k.pub") + " -outform DER | sha256sum");
  ASSERT_EQ(want.size(), 64u);
  EXPECT_EQ(fingerprint(key), "SHA256:" + want);
  // The DER SPKI of Ed25519 is a fixed 12-byte prefix plus the raw key.
  const std::string spki = std::string("\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00", 12) + raw_public_key(key);
  EXPECT_EQ(fingerprint(key), "SHA256:" + sha256_hex(spki));
}

TEST(Signing, SignAndVerify) {
  const Key key = make_key();
  auto signature = sign(key, "message");
  ASSERT_OK(signature);
  EXPECT_EQ(signature->size(), k_ed25519_signature_size);
  EXPECT_OK(verify_signature(key, "message", *signature));
  // Ed25519 is deterministic: the same key and message give the same signature.
  auto again = sign(key, "message");
  ASSERT_OK(again);
  EXPECT_EQ(*again, *signature);

  auto changed = verify_signature(key, "messagE", *signature);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.error().code(), ErrorCode::verification);
  EXPECT_EQ(changed.error().message(), "signature does not match");

  std::string flipped = *signature;
  flipped[10] = static_cast<char>(flipped[10] ^ 0x01);
  EXPECT_EQ(verify_signature(key, "message", flipped).error().message(), "signature does not match");
  EXPECT_EQ(verify_signature(key, "message", signature->substr(0, 63)).error().message(), "signature does not match");
  EXPECT_EQ(verify_signature(make_key(), "message", *signature).error().message(), "signature does not match");

  // Through the raw 32 bytes, as a bundle carries the key.
  auto raw = public_key_from_raw(raw_public_key(key));
  ASSERT_OK(raw);
  EXPECT_OK(verify_signature(*raw, "message", *signature));
  EXPECT_EQ(public_key_from_raw("short").error().message(), "public key has the wrong size");
}

// A signature we make is one openssl accepts (FORMAT.md 6 relies on it).
TEST(Signing, OpensslVerifiesOurSignature) {
  kftest::TempDir dir;
  const Key key = make_key();
  ASSERT_OK(write_key_pair(key, dir / "k"));
  kftest::write_file(dir / "msg", "hello\n");
  auto signature = sign(key, "hello\n");
  ASSERT_OK(signature);
  kftest::write_file(dir / "msg.sig", *signature);
  std::string output;
  EXPECT_EQ(kftest::run_command("openssl pkeyutl -verify -pubin -inkey " + (dir / "k.pub") + " -rawin -in " +
                                    (dir / "msg") + " -sigfile " + (dir / "msg.sig"),
                                &output),
            0)
      << output;
  EXPECT_EQ(output, "Signature Verified Successfully\n");
  // And one openssl makes is one we accept.
  ASSERT_EQ(kftest::run_command("openssl pkeyutl -sign -inkey " + (dir / "k") + " -rawin -in " + (dir / "msg") +
                                " -out " + (dir / "ossl.sig")),
            0);
  EXPECT_OK(verify_signature(key, "hello\n", kftest::read_file(dir / "ossl.sig")));
}

TEST(Signing, LoadRefusesOtherKeys) {
  kftest::TempDir dir;
  ASSERT_EQ(kftest::run_command("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + (dir / "ec")),
            0);
  EXPECT_EQ(load_private_key(dir / "ec").error().message(), (dir / "ec") + ": not an Ed25519 key");
  ASSERT_EQ(kftest::run_command("openssl pkey -in " + (dir / "ec") + " -pubout -out " + (dir / "ec.pub")), 0);
  EXPECT_EQ(load_public_key(dir / "ec.pub").error().message(), (dir / "ec.pub") + ": not an Ed25519 key");

  kftest::write_file(dir / "junk", "not a key\n");
  auto junk = load_private_key(dir / "junk");
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.error().message().rfind((dir / "junk") + ": not a PEM private key (", 0), 0u)
      << junk.error().message();
  auto junk_pub = load_public_key(dir / "junk");
  ASSERT_FALSE(junk_pub.ok());
  EXPECT_EQ(junk_pub.error().message().rfind((dir / "junk") + ": not a PEM public key (", 0), 0u)
      << junk_pub.error().message();
  EXPECT_EQ(load_private_key(dir / "missing").error().message(),
            "open " + (dir / "missing") + ": No such file or directory");
}

TEST(Signing, ParseFingerprint) {
  const std::string hex = sha256_hex("x");
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto parsed = parse_fingerprint("SHA256:" + upper);
  ASSERT_OK(parsed);
  EXPECT_EQ(*parsed, "SHA256:" + hex);
  auto lower_prefix = parse_fingerprint("sha256:" + hex);
  ASSERT_OK(lower_prefix);
  EXPECT_EQ(*lower_prefix, "SHA256:" + hex);

  for (const std::string& bad : {std::string("abc"), "SHA256:" + hex.substr(1), hex, "SHA256:" + hex + "0",
                                 "MD5:" + hex, "SHA256:" + hex.substr(1) + "g"}) {
    auto result = parse_fingerprint(bad);
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_EQ(result.error().code(), ErrorCode::usage);
    EXPECT_EQ(result.error().message(), "fingerprint '" + bad + "' must look like SHA256:<64 hex digits>");
  }
}

}  // namespace
}  // namespace bundlespec
