#include "pki/x509.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <array>

#include "bundlespec/handles.hpp"
#include "bundlespec/openssl_error.hpp"

namespace installer {

using bundlespec::Error;
using bundlespec::openssl_error;
using bundlespec::Status;

namespace {

// Shared owners (Credential holds them) with the handle table's deleters.
std::shared_ptr<X509> own(X509* cert) {
  return std::shared_ptr<X509>(cert, bundlespec::Deleter<X509>());
}
std::shared_ptr<EVP_PKEY> own(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, bundlespec::Deleter<EVP_PKEY>());
}

Result<std::string> bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size < 0 || data == nullptr) return openssl_error("read memory BIO");
  return std::string(data, static_cast<size_t>(size));
}

// Writes something into a fresh memory BIO with `write` and returns the text.
template <typename F>
Result<std::string> to_pem(std::string_view what, F&& write) {
  bundlespec::Handle<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return openssl_error(what);
  return bio_text(bio.get());
}

Status set_random_serial(X509* cert) {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) return openssl_error("random serial");
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x40;  // and never zero or short
  bundlespec::Handle<BIGNUM> bn(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return openssl_error("set serial");
  }
  return bundlespec::ok_status();
}

Status set_subject(X509_NAME* name, const CertRequest& request) {
  for (const std::string& org : request.organizations) {
    if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(org.c_str()), -1,
                                   -1, 0) != 1) {
      return openssl_error("set subject O=" + org);
    }
  }
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(request.common_name.c_str()), -1, -1, 0) != 1) {
    return openssl_error("set subject CN=" + request.common_name);
  }
  return bundlespec::ok_status();
}

Status add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  bundlespec::Handle<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return openssl_error(std::string("add extension ") + OBJ_nid2sn(nid) + "=" + value);
  }
  return bundlespec::ok_status();
}

std::string alt_names(const CertRequest& request) {
  std::string out;
  for (const auto& dns : request.dns_names) out += (out.empty() ? "DNS:" : ",DNS:") + dns;
  for (const auto& ip : request.ip_addresses) out += (out.empty() ? "IP:" : ",IP:") + ip;
  return out;
}

// The v3 extensions. `issuer` is the CA certificate, or `cert` itself when self-signed.
Status add_extensions(X509* cert, X509* issuer, const CertRequest& request, KeyType key_type) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  const bool ca = request.kind == CertKind::ca;
  const std::string leaf_usage =
      key_type == KeyType::rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature";
  TRY(add_extension(cert, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE"));
  TRY(add_extension(cert, &ctx, NID_key_usage, ca ? "critical,digitalSignature,keyCertSign,cRLSign" : leaf_usage));
  if (request.kind == CertKind::server) {
    TRY(add_extension(cert, &ctx, NID_ext_key_usage, "serverAuth,clientAuth"));
  } else if (request.kind == CertKind::client) {
    TRY(add_extension(cert, &ctx, NID_ext_key_usage, "clientAuth"));
  }
  TRY(add_extension(cert, &ctx, NID_subject_key_identifier, "hash"));
  TRY(add_extension(cert, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (const std::string names = alt_names(request); !names.empty()) {
    TRY(add_extension(cert, &ctx, NID_subject_alt_name, names));
  }
  return bundlespec::ok_status();
}

// A certificate for `key`, signed by `issuer_key`; `issuer` is null for a self-signed CA.
Result<std::shared_ptr<X509>> build_certificate(EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                                                const CertRequest& request, KeyType key_type,
                                                const Validity& validity) {
  std::shared_ptr<X509> cert = own(X509_new());
  if (!cert) return openssl_error("X509_new");
  X509* x = cert.get();
  if (X509_set_version(x, 2) != 1) return openssl_error("set version");
  TRY(set_random_serial(x));
  TRY(set_subject(X509_get_subject_name(x), request));
  if (X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(x)) != 1) {
    return openssl_error("set issuer");
  }
  if (ASN1_TIME_set(X509_getm_notBefore(x), validity.not_before) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(x), validity.not_after) == nullptr) {
    return openssl_error("set validity");
  }
  if (X509_set_pubkey(x, key) != 1) return openssl_error("set public key");
  TRY(add_extensions(x, issuer ? issuer : x, request, key_type));
  if (X509_sign(x, issuer_key, EVP_sha256()) <= 0) return openssl_error("sign " + request.common_name);
  return cert;
}

KeyType key_type_of(EVP_PKEY* key) {
  return EVP_PKEY_is_a(key, "RSA") ? KeyType::rsa : KeyType::ecdsa;
}

}  // namespace

Result<std::shared_ptr<EVP_PKEY>> generate_key(const KeySpec& spec) {
  EVP_PKEY* key = nullptr;
  if (spec.type == KeyType::rsa) {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(spec.bits));
  } else {
    const char* curve = spec.bits == 384 ? "P-384" : spec.bits == 256 ? "P-256" : nullptr;
    if (curve == nullptr) {
      return bundlespec::make_error("generate ECDSA key: unsupported curve size " + std::to_string(spec.bits));
    }
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve);
  }
  if (key == nullptr) {
    return openssl_error("generate " + std::string(to_string(spec.type)) + " " + std::to_string(spec.bits) +
                         "-bit key");
  }
  return own(key);
}

Result<std::string> private_key_pem(EVP_PKEY* key) {
  return to_pem("write private key",
                [key](BIO* bio) { return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr); });
}

Result<std::string> public_key_pem(EVP_PKEY* key) {
  return to_pem("write public key", [key](BIO* bio) { return PEM_write_bio_PUBKEY(bio, key); });
}

Result<std::string> Credential::cert_pem() const {
  X509* cert = m_cert.get();
  return to_pem("write certificate", [cert](BIO* bio) { return PEM_write_bio_X509(bio, cert); });
}

Result<std::string> Credential::key_pem() const {
  return private_key_pem(m_key.get());
}

Result<Credential> make_ca(const CertRequest& request, const KeySpec& key_spec, const Validity& validity) {
  TRY_ASSIGN(auto key, generate_key(key_spec));
  TRY_ASSIGN(auto cert, build_certificate(key.get(), nullptr, key.get(), request, key_spec.type, validity));
  return Credential(std::move(cert), std::move(key));
}

Result<Credential> issue_certificate(const Credential& ca, const CertRequest& request, const KeySpec& key_spec,
                                     const Validity& validity) {
  TRY_ASSIGN(auto key, generate_key(key_spec));
  TRY_ASSIGN(auto cert, build_certificate(key.get(), ca.cert(), ca.key(), request, key_type_of(key.get()), validity));
  return Credential(std::move(cert), std::move(key));
}

Result<std::string> random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    return openssl_error("random bytes");
  }
  static const char* const k_digits = "0123456789abcdef";
  std::string hex;
  for (const char c : raw) {
    const auto b = static_cast<unsigned char>(c);
    hex += k_digits[b >> 4];
    hex += k_digits[b & 15];
  }
  return hex;
}

static Result<std::string> name_text(const X509_NAME* name) {
  return to_pem("print name",
                [name](BIO* bio) { return X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0 ? 1 : 0; });
}

static Result<std::time_t> time_of(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return openssl_error("read certificate time");
  return timegm(&tm);
}

Result<CertificateInfo> read_certificate_info(std::string_view pem) {
  bundlespec::Handle<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return openssl_error("BIO_new_mem_buf");
  std::shared_ptr<X509> cert = own(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    return bundlespec::make_error("not a PEM certificate");
  }
  CertificateInfo info;
  TRY_ASSIGN(info.subject, name_text(X509_get_subject_name(cert.get())));
  TRY_ASSIGN(info.issuer, name_text(X509_get_issuer_name(cert.get())));
  TRY_ASSIGN(info.not_before, time_of(X509_get0_notBefore(cert.get())));
  TRY_ASSIGN(info.not_after, time_of(X509_get0_notAfter(cert.get())));
  // The serial as `openssl x509 -noout -serial` prints it: uppercase hex.
  bundlespec::Handle<BIGNUM> serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr));
  if (!serial) return openssl_error("ASN1_INTEGER_to_BN");
  char* hex = BN_bn2hex(serial.get());
  if (hex == nullptr) return openssl_error("BN_bn2hex");
  info.serial = hex;
  OPENSSL_free(hex);
  return info;
}

Result<Credential> load_credential(std::string_view cert_pem, std::string_view key_pem) {
  bundlespec::Handle<BIO> cert_bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  bundlespec::Handle<BIO> key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  if (!cert_bio || !key_bio) return openssl_error("BIO_new_mem_buf");
  std::shared_ptr<X509> cert = own(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    return bundlespec::make_error("not a PEM certificate");
  }
  std::shared_ptr<EVP_PKEY> key = own(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    return bundlespec::make_error("not a PEM private key");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return bundlespec::make_error("the private key does not belong to the certificate");
  }
  return Credential(std::move(cert), std::move(key));
}

}  // namespace installer
