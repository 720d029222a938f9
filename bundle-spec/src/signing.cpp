#include "bundlespec/signing.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <tuple>

#include "bundlespec/digest.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/openssl_error.hpp"

namespace bundlespec {

namespace {

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(length));
}

Status require_ed25519(const Key& key, const std::string& path) {
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return make_error(path + ": not an Ed25519 key");
  }
  return ok_status();
}

}  // namespace

Result<Key> generate_ed25519_key() {
  Handle<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 || EVP_PKEY_keygen(ctx.get(), &raw) <= 0) {
    return make_error("generate Ed25519 key: " + openssl_error_text());
  }
  return Key(raw);
}

Status write_key_pair(const Key& key, const std::string& private_path) {
  const std::string public_path = private_path + ".pub";
  for (const auto& path : {private_path, public_path}) {
    if (::access(path.c_str(), F_OK) == 0) return make_error("refusing to overwrite existing " + path);
  }
  Handle<BIO> bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr)) {
    return make_error("encode private key: " + openssl_error_text());
  }
  TRY(write_file_atomic(private_path, bio_to_string(bio.get()), 0600, Overwrite::no));
  Status status = write_file_atomic(public_path, public_key_pem(key), 0644, Overwrite::no);
  if (!status.ok()) std::ignore = ::unlink(private_path.c_str());
  return status;
}

Result<Key> load_private_key(const std::string& path) {
  TRY_ASSIGN(std::string pem, read_file(path, 1 << 20));
  Handle<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return make_error(path + ": not a PEM private key (" + openssl_error_text() + ")");
  TRY(require_ed25519(key, path));
  return key;
}

Result<Key> load_public_key(const std::string& path) {
  TRY_ASSIGN(std::string pem, read_file(path, 1 << 20));
  Handle<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Key key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    Handle<BIO> again(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    key.reset(PEM_read_bio_PrivateKey(again.get(), nullptr, nullptr, nullptr));
  }
  if (!key) return make_error(path + ": not a PEM public key (" + openssl_error_text() + ")");
  TRY(require_ed25519(key, path));
  return key;
}

Result<Key> parse_public_key_pem(std::string_view pem, const std::string& what) {
  if (holds_private_key_pem(pem)) return make_error(what + ": a private key, not a public key");
  Handle<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Key key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return make_error(what + ": not a PEM public key (" + openssl_error_text() + ")");
  TRY(require_ed25519(key, what));
  return key;
}

bool holds_private_key_pem(std::string_view pem) {
  for (size_t at = pem.find("-----BEGIN "); at != std::string_view::npos; at = pem.find("-----BEGIN ", at + 1)) {
    const size_t end = pem.find('\n', at);
    const std::string_view line = pem.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    if (line.find("PRIVATE KEY-----") != std::string_view::npos) return true;
  }
  return false;
}

Result<Key> public_key_from_raw(std::string_view raw) {
  if (raw.size() != k_ed25519_public_size) return verification_error("public key has the wrong size");
  Key key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()),
                                      raw.size()));
  if (!key) return verification_error("bad public key: " + openssl_error_text());
  return key;
}

std::string raw_public_key(const Key& key) {
  std::string raw(k_ed25519_public_size, '\0');
  size_t length = raw.size();
  EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(raw.data()), &length);
  raw.resize(length);
  return raw;
}

std::string public_key_pem(const Key& key) {
  Handle<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key.get());
  return bio_to_string(bio.get());
}

std::string fingerprint(const Key& key) {
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key.get(), &der);
  std::string spki(reinterpret_cast<const char*>(der), static_cast<size_t>(length > 0 ? length : 0));
  OPENSSL_free(der);
  return "SHA256:" + sha256_hex(spki);
}

Result<std::string> parse_fingerprint(std::string_view text) {
  std::string value(text);
  if (value.size() > 7 && (value.compare(0, 7, "SHA256:") == 0 || value.compare(0, 7, "sha256:") == 0)) {
    value = value.substr(7);
  } else {
    return usage_error("fingerprint '" + std::string(text) + "' must look like SHA256:<64 hex digits>");
  }
  for (char& c : value) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  if (!is_lower_hex(value, 64)) {
    return usage_error("fingerprint '" + std::string(text) + "' must look like SHA256:<64 hex digits>");
  }
  return "SHA256:" + value;
}

Result<std::string> sign(const Key& key, std::string_view message) {
  Handle<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  std::string signature(k_ed25519_signature_size, '\0');
  size_t length = signature.size();
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) <= 0 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) <= 0) {
    return make_error("sign: " + openssl_error_text());
  }
  signature.resize(length);
  return signature;
}

Status verify_signature(const Key& key, std::string_view message, std::string_view signature) {
  Handle<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) <= 0) {
    return make_error("verify: " + openssl_error_text());
  }
  const int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                  reinterpret_cast<const unsigned char*>(message.data()), message.size());
  ERR_clear_error();
  if (rc != 1) return verification_error("signature does not match");
  return ok_status();
}

}  // namespace bundlespec
