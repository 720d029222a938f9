// Ed25519 keys, signatures and fingerprints through OpenSSL EVP.
//
// Private keys are PKCS#8 PEM (mode 0600), public keys SubjectPublicKeyInfo PEM, so that stock
// `openssl pkey` / `openssl pkeyutl -rawin` read them. A key's fingerprint is
// "SHA256:" + hex(sha256(DER SubjectPublicKeyInfo)), which a user reproduces with
// `openssl pkey -pubin -in KEY.pub -outform DER | sha256sum`.
// Thread-safety: a key object may be shared read-only between threads.
#pragma once

#include <string>
#include <string_view>

#include "bundlespec/handles.hpp"
#include "bundlespec/result.hpp"

namespace bundlespec {

inline constexpr size_t k_ed25519_public_size = 32;
inline constexpr size_t k_ed25519_signature_size = 64;

using Key = Handle<EVP_PKEY>;

// Makes a fresh Ed25519 key pair.
Result<Key> generate_ed25519_key();

// Writes KEY (PKCS#8 PEM, 0600) and KEY.pub; refuses if either exists; nothing is left on
// failure.
Status write_key_pair(const Key& key, const std::string& private_path);

// Loads a private key (PEM). Fails naming the path if unreadable or not Ed25519.
Result<Key> load_private_key(const std::string& path);
// Loads a public key (PEM SubjectPublicKeyInfo), or the public half of a private key file.
Result<Key> load_public_key(const std::string& path);
// Parses PEM text holding an Ed25519 public key (SubjectPublicKeyInfo, "BEGIN PUBLIC KEY").
// Fails naming `what` when it holds anything else, a private key included.
Result<Key> parse_public_key_pem(std::string_view pem, const std::string& what);
// True when `pem` holds a PEM private key block ("-----BEGIN ... PRIVATE KEY-----"), found by
// its label alone so that an encrypted key never asks for a passphrase.
bool holds_private_key_pem(std::string_view pem);
// Builds a public key from its 32 raw bytes.
Result<Key> public_key_from_raw(std::string_view raw);

std::string raw_public_key(const Key& key);  // 32 bytes
std::string public_key_pem(const Key& key);
std::string fingerprint(const Key& key);  // "SHA256:<64 hex>"

// Parses a user-given fingerprint ("SHA256:<hex>", case-insensitive hex) into canonical form.
Result<std::string> parse_fingerprint(std::string_view text);

// Ed25519 over the exact bytes of `message`.
Result<std::string> sign(const Key& key, std::string_view message);
// Fails with a verification error "signature does not match" when it does not verify.
Status verify_signature(const Key& key, std::string_view message, std::string_view signature);

}  // namespace bundlespec
