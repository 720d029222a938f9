// Keys and X.509 certificates with OpenSSL 3 (EVP/X509 APIs): the building blocks of the
// cluster PKI (pki.hpp decides which certificates exist; this file only knows how to make one).
//
// Every certificate is X.509 v3, signed with SHA-256, with a random positive 127-bit serial,
// basicConstraints, keyUsage and extendedKeyUsage marked as below, a subjectKeyIdentifier and
// an authorityKeyIdentifier. Private keys are PEM PKCS#8 ("BEGIN PRIVATE KEY").
// Thread-safety: a Credential is immutable after creation and may be shared.
#pragma once

#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bundlespec/result.hpp"
#include "cluster/inventory.hpp"

namespace installer {

using bundlespec::Result;

struct KeySpec {
  KeyType type = KeyType::rsa;
  int bits = 2048;  // RSA modulus bits, or ECDSA curve size (256 = P-256, 384 = P-384)
};

// What a certificate may be used for.
enum class CertKind {
  ca,      // CA:TRUE, keyCertSign + cRLSign + digitalSignature
  server,  // CA:FALSE, digitalSignature (+ keyEncipherment for RSA), serverAuth + clientAuth
  client,  // CA:FALSE, digitalSignature (+ keyEncipherment for RSA), clientAuth
};

struct CertRequest {
  std::string common_name;
  std::vector<std::string> organizations;  // O=, in order
  std::vector<std::string> dns_names;      // subjectAltName DNS:
  std::vector<std::string> ip_addresses;   // subjectAltName IP: (IPv4 dotted quads)
  CertKind kind = CertKind::client;
};

struct Validity {
  std::time_t not_before = 0;
  std::time_t not_after = 0;
};

// A certificate with its private key.
class Credential {
 public:
  Credential(std::shared_ptr<X509> cert, std::shared_ptr<EVP_PKEY> key)
      : m_cert(std::move(cert)), m_key(std::move(key)) {}
  X509* cert() const { return m_cert.get(); }
  EVP_PKEY* key() const { return m_key.get(); }
  Result<std::string> cert_pem() const;
  Result<std::string> key_pem() const;  // secret: never print it

 private:
  std::shared_ptr<X509> m_cert;
  std::shared_ptr<EVP_PKEY> m_key;
};

// A fresh private key. Fails (naming the OpenSSL error) if the key type or size is refused.
Result<std::shared_ptr<EVP_PKEY>> generate_key(const KeySpec& spec);
// PEM of the private key (PKCS#8) or of its public half (SubjectPublicKeyInfo).
Result<std::string> private_key_pem(EVP_PKEY* key);
Result<std::string> public_key_pem(EVP_PKEY* key);

// A self-signed CA. REQUIRES: request.kind == CertKind::ca.
Result<Credential> make_ca(const CertRequest& request, const KeySpec& key, const Validity& validity);
// A certificate for a fresh key, signed by `ca`.
Result<Credential> issue_certificate(const Credential& ca, const CertRequest& request, const KeySpec& key,
                                     const Validity& validity);

// A certificate and its private key read back from PEM. Fails with "not a PEM certificate",
// "not a PEM private key" or "the private key does not belong to the certificate".
Result<Credential> load_credential(std::string_view cert_pem, std::string_view key_pem);

// `bytes` random bytes from OpenSSL's CSPRNG, as lower-case hex.
Result<std::string> random_hex(size_t bytes);

// What `pki expiry` and the tests read back from a PEM certificate.
struct CertificateInfo {
  std::string subject;  // RFC 2253 order, e.g. "O=system:masters,CN=admin"
  std::string issuer;
  std::time_t not_before = 0;
  std::time_t not_after = 0;
  std::string serial;  // uppercase hex, as `openssl x509 -noout -serial` prints it
};
// Parses the first certificate of `pem`. Fails with "not a PEM certificate" otherwise.
Result<CertificateInfo> read_certificate_info(std::string_view pem);

}  // namespace installer
