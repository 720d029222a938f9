#include "pki/pki.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>

#include "bundlespec/handles.hpp"
#include "bundlespec/interrupt.hpp"
#include "cli/cli.hpp"
#include "pki/x509.hpp"
#include "support/test_util.hpp"

namespace installer {
namespace {

constexpr std::time_t k_now = 1800000000;  // 2027-01-15T08:00:00Z
const std::string k_example = std::string(KF_SOURCE_DIR) + "/installer/cluster.example.yaml";

Inventory example_inventory() {
  std::vector<std::string> warnings;
  auto inv = load_inventory(k_example, warnings);
  EXPECT_TRUE(inv.ok());
  return inv.ok() ? *inv : Inventory{};
}

using X509Ptr = std::shared_ptr<X509>;
using KeyPtr = std::shared_ptr<EVP_PKEY>;

X509Ptr parse_cert(const std::string& pem) {
  const bundlespec::Handle<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), bundlespec::Deleter<X509>());
}

KeyPtr parse_key(const std::string& pem) {
  const bundlespec::Handle<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return KeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), bundlespec::Deleter<EVP_PKEY>());
}

// "DNS:x" / "IP:1.2.3.4" in certificate order.
std::vector<std::string> sans(X509* cert) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) {
      out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName))));
    } else if (name->type == GEN_IPADD && ASN1_STRING_length(name->d.iPAddress) == 4) {
      const unsigned char* b = ASN1_STRING_get0_data(name->d.iPAddress);
      out.push_back("IP:" + std::to_string(b[0]) + "." + std::to_string(b[1]) + "." + std::to_string(b[2]) + "." +
                    std::to_string(b[3]));
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

// The generated set, made once for the whole suite (RSA key generation takes seconds).
class Pki : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    s_inventory = new Inventory(example_inventory());
    auto files = generate_pki(*s_inventory, k_now);
    ASSERT_OK(files);
    s_files = new std::map<std::string, PkiFile>();
    for (const PkiFile& f : *files) (*s_files)[f.path] = f;
  }
  static void TearDownTestSuite() {
    delete s_files;
    delete s_inventory;
  }
  static const PkiFile& file(const std::string& path) {
    EXPECT_EQ(s_files->count(path), 1u) << path;
    return s_files->at(path);
  }
  static X509Ptr cert(const std::string& path) { return parse_cert(file(path).content); }
  static CertificateInfo info(const std::string& path) {
    auto result = read_certificate_info(file(path).content);
    EXPECT_OK(result);
    return result.ok() ? *result : CertificateInfo{};
  }

  static Inventory* s_inventory;
  static std::map<std::string, PkiFile>* s_files;
};
Inventory* Pki::s_inventory = nullptr;
std::map<std::string, PkiFile>* Pki::s_files = nullptr;

TEST_F(Pki, EveryFileWithItsMode) {
  std::map<std::string, mode_t> expected = {{"etcd/ca.pem", 0644},
                                            {"etcd/ca-key.pem", 0600},
                                            {"etcd/server.pem", 0644},
                                            {"etcd/server-key.pem", 0600},
                                            {"etcd/apiserver-etcd-client.pem", 0644},
                                            {"etcd/apiserver-etcd-client-key.pem", 0600},
                                            {"kubernetes/ca.pem", 0644},
                                            {"kubernetes/ca-key.pem", 0600},
                                            {"kubernetes/apiserver.pem", 0644},
                                            {"kubernetes/apiserver-key.pem", 0600},
                                            {"kubernetes/admin.pem", 0644},
                                            {"kubernetes/admin-key.pem", 0600},
                                            {"kubernetes/kube-proxy.pem", 0644},
                                            {"kubernetes/kube-proxy-key.pem", 0600},
                                            {"kubernetes/kube-controller-manager.pem", 0644},
                                            {"kubernetes/kube-controller-manager-key.pem", 0600},
                                            {"kubernetes/kube-scheduler.pem", 0644},
                                            {"kubernetes/kube-scheduler-key.pem", 0600},
                                            {"kubernetes/sa.key", 0600},
                                            {"kubernetes/sa.pub", 0644},
                                            {"kubernetes/token.csv", 0600},
                                            {"kubernetes/bootstrap-token", 0600}};
  std::map<std::string, mode_t> actual;
  for (const auto& [path, f] : *s_files) actual[path] = f.mode;
  EXPECT_EQ(actual, expected);
}

TEST_F(Pki, SubjectsAndIssuers) {
  const std::map<std::string, std::pair<std::string, std::string>> expected = {
      {"etcd/ca.pem", {"CN=etcd-ca,O=kubeferry", "CN=etcd-ca,O=kubeferry"}},
      {"etcd/server.pem", {"CN=etcd", "CN=etcd-ca,O=kubeferry"}},
      {"etcd/apiserver-etcd-client.pem", {"CN=kube-apiserver-etcd-client", "CN=etcd-ca,O=kubeferry"}},
      {"kubernetes/ca.pem", {"CN=kubernetes-ca,O=kubeferry", "CN=kubernetes-ca,O=kubeferry"}},
      {"kubernetes/apiserver.pem", {"CN=kubernetes", "CN=kubernetes-ca,O=kubeferry"}},
      {"kubernetes/admin.pem", {"CN=admin,O=system:masters", "CN=kubernetes-ca,O=kubeferry"}},
      {"kubernetes/kube-proxy.pem", {"CN=system:kube-proxy", "CN=kubernetes-ca,O=kubeferry"}},
      {"kubernetes/kube-controller-manager.pem", {"CN=system:kube-controller-manager", "CN=kubernetes-ca,O=kubeferry"}},
      {"kubernetes/kube-scheduler.pem", {"CN=system:kube-scheduler", "CN=kubernetes-ca,O=kubeferry"}},
  };
  for (const auto& [path, names] : expected) {
    const CertificateInfo i = info(path);
    EXPECT_EQ(i.subject, names.first) << path;
    EXPECT_EQ(i.issuer, names.second) << path;
  }
}

TEST_F(Pki, SubjectAlternativeNames) {
  EXPECT_EQ(sans(cert("etcd/server.pem").get()),
            (std::vector<std::string>{"DNS:localhost", "IP:192.168.80.21", "IP:192.168.80.7", "IP:192.168.80.8",
                                      "IP:127.0.0.1"}));
  EXPECT_EQ(sans(cert("kubernetes/apiserver.pem").get()),
            (std::vector<std::string>{"DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
                                      "DNS:kubernetes.default.svc.cluster", "DNS:kubernetes.default.svc.cluster.local",
                                      "IP:10.0.0.1", "IP:127.0.0.1", "IP:192.168.80.21"}));
  for (const char* client : {"kubernetes/admin.pem", "kubernetes/kube-proxy.pem", "etcd/ca.pem"}) {
    EXPECT_TRUE(sans(cert(client).get()).empty()) << client;
  }
}

TEST_F(Pki, UsagesConstraintsAndKeyIdentifiers) {
  struct Expect {
    bool ca;
    uint32_t key_usage;
    uint32_t ext_usage;
    const char* issuer;
  };
  const uint32_t leaf = KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT;
  const uint32_t ca = KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN | KU_CRL_SIGN;
  const std::map<std::string, Expect> expected = {
      {"etcd/ca.pem", {true, ca, UINT32_MAX, "etcd/ca.pem"}},
      {"etcd/server.pem", {false, leaf, XKU_SSL_SERVER | XKU_SSL_CLIENT, "etcd/ca.pem"}},
      {"etcd/apiserver-etcd-client.pem", {false, leaf, XKU_SSL_CLIENT, "etcd/ca.pem"}},
      {"kubernetes/ca.pem", {true, ca, UINT32_MAX, "kubernetes/ca.pem"}},
      {"kubernetes/apiserver.pem", {false, leaf, XKU_SSL_SERVER | XKU_SSL_CLIENT, "kubernetes/ca.pem"}},
      {"kubernetes/admin.pem", {false, leaf, XKU_SSL_CLIENT, "kubernetes/ca.pem"}},
      {"kubernetes/kube-proxy.pem", {false, leaf, XKU_SSL_CLIENT, "kubernetes/ca.pem"}},
      {"kubernetes/kube-controller-manager.pem", {false, leaf, XKU_SSL_CLIENT, "kubernetes/ca.pem"}},
      {"kubernetes/kube-scheduler.pem", {false, leaf, XKU_SSL_CLIENT, "kubernetes/ca.pem"}},
  };
  std::set<std::string> serials;
  for (const auto& [path, e] : expected) {
    X509Ptr c = cert(path);
    X509Ptr issuer = cert(e.issuer);
    ASSERT_TRUE(c && issuer) << path;
    EXPECT_EQ(X509_get_version(c.get()), 2) << path;
    EXPECT_EQ(X509_check_ca(c.get()) != 0, e.ca) << path;
    EXPECT_EQ((X509_get_extension_flags(c.get()) & EXFLAG_CA) != 0, e.ca) << path;
    EXPECT_EQ(X509_get_key_usage(c.get()), e.key_usage) << path;
    EXPECT_EQ(X509_get_extended_key_usage(c.get()), e.ext_usage) << path;
    // keyUsage and basicConstraints are critical.
    for (int nid : {NID_key_usage, NID_basic_constraints}) {
      const int index = X509_get_ext_by_NID(c.get(), nid, -1);
      ASSERT_GE(index, 0) << path;
      EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(c.get(), index)), 1) << path;
    }
    // SKI present; AKI = the issuer's SKI.
    const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(c.get());
    const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(c.get());
    ASSERT_NE(ski, nullptr) << path;
    ASSERT_NE(aki, nullptr) << path;
    EXPECT_EQ(ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(issuer.get())), 0) << path;
    // Signed by the issuer's key; the private key matches.
    EXPECT_EQ(X509_verify(c.get(), X509_get0_pubkey(issuer.get())), 1) << path;
    std::string key_path = path.substr(0, path.size() - 4) + "-key.pem";
    KeyPtr key = parse_key(file(key_path).content);
    ASSERT_TRUE(key) << key_path;
    EXPECT_EQ(X509_check_private_key(c.get(), key.get()), 1) << path;
    EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 2048) << path;
    EXPECT_TRUE(EVP_PKEY_is_a(key.get(), "RSA")) << path;
    // Random, positive, distinct serials.
    const ASN1_INTEGER* serial = X509_get0_serialNumber(c.get());
    EXPECT_EQ(ASN1_STRING_type(serial), V_ASN1_INTEGER) << path;
    EXPECT_GE(ASN1_STRING_length(serial), 16) << path;
    serials.insert(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(serial)),
                               static_cast<size_t>(ASN1_STRING_length(serial))));
  }
  EXPECT_EQ(serials.size(), expected.size());
}

TEST_F(Pki, ValidityFromTheInventory) {
  for (const char* path : {"etcd/ca.pem", "kubernetes/apiserver.pem", "kubernetes/admin.pem"}) {
    const CertificateInfo i = info(path);
    EXPECT_EQ(i.not_before, k_now - 300) << path;
    EXPECT_EQ(i.not_after, k_now + 87600L * 3600) << path;
  }
}

TEST_F(Pki, ServiceAccountKeyPairAndToken) {
  KeyPtr key = parse_key(file("kubernetes/sa.key").content);
  ASSERT_TRUE(key);
  auto pub = public_key_pem(key.get());
  ASSERT_OK(pub);
  EXPECT_EQ(*pub, file("kubernetes/sa.pub").content);
  EXPECT_EQ(file("kubernetes/sa.key").content.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);

  const std::string csv = file("kubernetes/token.csv").content;
  std::smatch m;
  ASSERT_TRUE(
      std::regex_match(csv, m, std::regex("([0-9a-f]{32}),kubelet-bootstrap,10001,\"system:node-bootstrapper\"\n")))
      << csv;
  EXPECT_EQ(file("kubernetes/bootstrap-token").content, m[1].str() + "\n");
}

TEST_F(Pki, KitsHoldOnlyWhatEachRoleNeeds) {
  const std::vector<std::string> master = {"etcd/apiserver-etcd-client-key.pem",
                                           "etcd/apiserver-etcd-client.pem",
                                           "etcd/ca.pem",
                                           "etcd/server-key.pem",
                                           "etcd/server.pem",
                                           "kubernetes/admin-key.pem",
                                           "kubernetes/admin.pem",
                                           "kubernetes/apiserver-key.pem",
                                           "kubernetes/apiserver.pem",
                                           "kubernetes/ca-key.pem",
                                           "kubernetes/ca.pem",
                                           "kubernetes/kube-controller-manager-key.pem",
                                           "kubernetes/kube-controller-manager.pem",
                                           "kubernetes/kube-scheduler-key.pem",
                                           "kubernetes/kube-scheduler.pem",
                                           "kubernetes/sa.key",
                                           "kubernetes/sa.pub",
                                           "kubernetes/token.csv"};
  const std::vector<std::string> node = {
      "etcd/ca.pem",       "etcd/server-key.pem",           "etcd/server.pem",          "kubernetes/bootstrap-token",
      "kubernetes/ca.pem", "kubernetes/kube-proxy-key.pem", "kubernetes/kube-proxy.pem"};
  EXPECT_EQ(kit_files(s_inventory->hosts[0]), master);
  EXPECT_EQ(kit_files(s_inventory->hosts[1]), node);
  EXPECT_EQ(kit_files(Host{"n", "1.2.3.4", {Role::node}}),
            (std::vector<std::string>{"kubernetes/bootstrap-token", "kubernetes/ca.pem",
                                      "kubernetes/kube-proxy-key.pem", "kubernetes/kube-proxy.pem"}));
  EXPECT_EQ(kit_files(Host{"e", "1.2.3.4", {Role::etcd}}),
            (std::vector<std::string>{"etcd/ca.pem", "etcd/server-key.pem", "etcd/server.pem"}));
  // No kit ever holds the etcd CA key; only masters hold the Kubernetes CA key.
  for (const std::set<Role>& roles : std::vector<std::set<Role>>{
           {Role::etcd}, {Role::node}, {Role::etcd, Role::node}, {Role::master}, {Role::master, Role::node}}) {
    const auto files = kit_files(Host{"h", "1.2.3.4", roles});
    EXPECT_EQ(std::count(files.begin(), files.end(), "etcd/ca-key.pem"), 0);
    EXPECT_EQ(std::count(files.begin(), files.end(), "kubernetes/ca-key.pem"), roles.count(Role::master) ? 1 : 0);
  }
}

// Every file below `root`, relative, with its permission bits (folders end in "/").
std::map<std::string, mode_t> tree(const std::string& root) {
  std::map<std::string, mode_t> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    struct stat st {};
    ::lstat(entry.path().c_str(), &st);
    std::string rel = std::filesystem::relative(entry.path(), root).string();
    if (entry.is_directory()) rel += "/";
    out[rel] = st.st_mode & 07777;
  }
  return out;
}

TEST_F(Pki, WritePkiLaysOutFilesAndKitsWithModes) {
  kftest::TempDir dir;
  std::vector<PkiFile> files;
  for (const auto& [path, f] : *s_files) files.push_back(f);
  ASSERT_OK(write_pki(*s_inventory, files, dir / "pki"));
  const auto written = tree(dir / "pki");
  struct stat st {};
  ASSERT_EQ(::stat((dir / "pki").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  size_t count = 0;
  for (const auto& [path, f] : *s_files) {
    ASSERT_EQ(written.count(path), 1u) << path;
    EXPECT_EQ(written.at(path), f.mode) << path;
    EXPECT_EQ(kftest::read_file(dir / "pki/" + path), f.content) << path;
    ++count;
  }
  for (const Host& host : s_inventory->hosts) {
    const std::string kit = "hosts/" + host.name + "/";
    std::vector<std::string> in_kit;
    for (const auto& [path, mode] : written) {
      if (path.rfind(kit, 0) != 0) continue;
      if (path.back() == '/') {
        EXPECT_EQ(mode, 0700u) << path;
        continue;
      }
      const std::string rel = path.substr(kit.size());
      in_kit.push_back(rel);
      EXPECT_EQ(mode, s_files->at(rel).mode) << path;
      EXPECT_EQ(kftest::read_file(dir / "pki/" + path), s_files->at(rel).content) << path;
      ++count;
    }
    EXPECT_EQ(in_kit, kit_files(host)) << host.name;
  }
  size_t regular = 0;
  for (const auto& [path, mode] : written) regular += path.back() != '/';
  EXPECT_EQ(regular, count);  // nothing else, no temporary left
  EXPECT_FALSE(kftest::exists(dir / "pki/hosts/node01/kubernetes/ca-key.pem"));
  EXPECT_FALSE(kftest::exists(dir / "pki/hosts/node01/etcd/ca-key.pem"));
}

TEST_F(Pki, RefusesAnExistingPkiOrNonEmptyFolderAndLeavesNothing) {
  kftest::TempDir dir;
  std::vector<PkiFile> files;
  for (const auto& [path, f] : *s_files) files.push_back(f);
  ASSERT_OK(write_pki(*s_inventory, files, dir / "pki"));
  const auto before = tree(dir.path());
  auto again = write_pki(*s_inventory, files, dir / "pki");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), bundlespec::ErrorCode::usage);
  EXPECT_EQ(again.error().message(), "--out " + (dir / "pki") +
                                         ": already holds a PKI (kubernetes/ca.pem); pki init never replaces "
                                         "keys. Keep using it, or move it away to make a new one");
  EXPECT_EQ(pki_init(*s_inventory, dir / "pki", k_now).error().message(), again.error().message());

  kftest::write_file(dir / "other/notes.txt", "x");
  EXPECT_EQ(write_pki(*s_inventory, files, dir / "other").error().message(),
            "--out " + (dir / "other") + ": folder is not empty; pki init writes only into a new or empty folder");
  kftest::write_file(dir / "plain", "x");
  EXPECT_EQ(write_pki(*s_inventory, files, dir / "plain").error().message(),
            "--out " + (dir / "plain") + ": exists and is not a folder");
  auto after = tree(dir.path());
  after.erase("other/");
  after.erase("other/notes.txt");
  after.erase("plain");
  EXPECT_EQ(after, before);
}

TEST_F(Pki, EmptyFolderIsFilledAndMissingParentFailsCleanly) {
  kftest::TempDir dir;
  std::vector<PkiFile> files;
  for (const auto& [path, f] : *s_files) files.push_back(f);
  ASSERT_EQ(::mkdir((dir / "empty").c_str(), 0755), 0);
  ASSERT_OK(write_pki(*s_inventory, files, dir / "empty"));
  EXPECT_TRUE(kftest::exists(dir / "empty/kubernetes/ca.pem"));

  auto missing = write_pki(*s_inventory, files, dir / "no/such/pki");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(),
            "create temporary folder in " + (dir / "no/such") + ": No such file or directory");
  // A failure while writing (a read-only parent) leaves no temporary folder behind.
  ASSERT_EQ(::mkdir((dir / "ro").c_str(), 0500), 0);
  if (::geteuid() != 0) {
    EXPECT_FALSE(write_pki(*s_inventory, files, dir / "ro/pki").ok());
  }
  EXPECT_EQ(tree(dir / "ro").size(), 0u);
}

TEST_F(Pki, InterruptStopsAndLeavesNothing) {
  kftest::TempDir dir;
  std::vector<PkiFile> files;
  for (const auto& [path, f] : *s_files) files.push_back(f);
  bundlespec::set_interrupt_requested(true);
  auto written = write_pki(*s_inventory, files, dir / "pki");
  auto generated = generate_pki(*s_inventory, k_now);
  bundlespec::set_interrupt_requested(false);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code(), bundlespec::ErrorCode::interrupted);
  ASSERT_FALSE(generated.ok());
  EXPECT_EQ(generated.error().code(), bundlespec::ErrorCode::interrupted);
  EXPECT_EQ(generated.error().message(), "etcd PKI: interrupted");
  EXPECT_TRUE(tree(dir.path()).empty());  // neither DIR nor the temporary folder
}

// Renewal: later, the same CAs sign new leaves with new keys; everything else stays byte for
// byte; a leaf never outlives its CA; an expired CA or a kit instead of the PKI is refused.
TEST_F(Pki, RenewKeepsTheCasAndReissuesEveryLeaf) {
  std::vector<PkiFile> old;
  for (const auto& [path, f] : *s_files) old.push_back(f);
  const std::time_t later = k_now + 9L * 365 * 24 * 3600;  // 9 years on: one year left on the CAs
  auto renewed = renew_pki(*s_inventory, old, later);
  ASSERT_OK(renewed);
  ASSERT_EQ(renewed->size(), s_files->size());
  const std::set<std::string> kept = {"etcd/ca.pem",           "etcd/ca-key.pem",           "kubernetes/ca.pem",
                                      "kubernetes/ca-key.pem", "kubernetes/sa.key",         "kubernetes/sa.pub",
                                      "kubernetes/token.csv",  "kubernetes/bootstrap-token"};
  for (const PkiFile& f : *renewed) {
    const PkiFile& before = file(f.path);
    EXPECT_EQ(f.mode, before.mode) << f.path;
    if (kept.count(f.path) != 0) {
      EXPECT_EQ(f.content, before.content) << f.path;
      continue;
    }
    EXPECT_NE(f.content, before.content) << f.path;  // a new key, a new certificate
    if (f.path.size() < 8 || f.path.compare(f.path.size() - 8, 8, "-key.pem") == 0) continue;
    X509Ptr c = parse_cert(f.content);
    ASSERT_TRUE(c) << f.path;
    X509Ptr ca = cert(f.path.rfind("etcd/", 0) == 0 ? "etcd/ca.pem" : "kubernetes/ca.pem");
    EXPECT_EQ(X509_verify(c.get(), X509_get0_pubkey(ca.get())), 1) << f.path;
    auto i = read_certificate_info(f.content);
    ASSERT_OK(i);
    EXPECT_EQ(i->subject, info(f.path).subject) << f.path;
    EXPECT_EQ(i->not_before, later - 300) << f.path;
    EXPECT_EQ(i->not_after, info("etcd/ca.pem").not_after) << f.path << ": capped at the CA's end";
  }
  // A CA past its end cannot sign for anyone.
  const std::time_t too_late = k_now + 87600L * 3600 + 1;
  EXPECT_EQ(renew_pki(*s_inventory, old, too_late).error().message(),
            "etcd/ca.pem expired on 2037-01-12: certificates it signs would not be trusted; make a new PKI with "
            "pki init and install every host with it");
}

TEST_F(Pki, RenewIntoANewFolderFromTheWholePkiOnly) {
  kftest::TempDir dir;
  std::vector<PkiFile> all;
  for (const auto& [path, f] : *s_files) all.push_back(f);
  ASSERT_OK(write_pki(*s_inventory, all, dir / "pki"));
  ASSERT_OK(pki_renew(*s_inventory, dir / "pki", dir / "renewed", k_now + 3600));
  auto back = read_pki(dir / "renewed");
  ASSERT_OK(back);
  EXPECT_EQ(back->size(), s_files->size());
  // The old folder is left as it was; a kit has no CA key and is refused by name.
  auto old_again = read_pki(dir / "pki");
  ASSERT_OK(old_again);
  for (const PkiFile& f : *old_again) EXPECT_EQ(f.content, file(f.path).content) << f.path;
  EXPECT_EQ(pki_renew(*s_inventory, dir / "pki/hosts/master01", dir / "from-kit", k_now).error().message(),
            "PKI " + (dir / "pki/hosts/master01") +
                ": missing etcd/ca-key.pem (pass the folder pki init wrote, not a host's kit)");
  EXPECT_FALSE(kftest::exists(dir / "from-kit"));
  EXPECT_FALSE(pki_renew(*s_inventory, dir / "pki", dir / "renewed", k_now).ok())
      << "an existing PKI is never replaced";
}

TEST(PkiEcdsa, KeyTypeAndValidityComeFromTheInventory) {
  Inventory inv = example_inventory();
  inv.pki = PkiSettings{KeyType::ecdsa, 384, std::chrono::hours(24)};
  auto files = generate_pki(inv, k_now);
  ASSERT_OK(files);
  std::map<std::string, std::string> by_path;
  for (const PkiFile& f : *files) by_path[f.path] = f.content;
  X509Ptr c = parse_cert(by_path["kubernetes/apiserver.pem"]);
  ASSERT_TRUE(c);
  EXPECT_TRUE(EVP_PKEY_is_a(X509_get0_pubkey(c.get()), "EC"));
  EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(c.get())), 384);
  EXPECT_EQ(X509_get_key_usage(c.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  auto i = read_certificate_info(by_path["etcd/ca.pem"]);
  ASSERT_OK(i);
  EXPECT_EQ(i->not_after, k_now + 24 * 3600);
  KeyPtr sa = parse_key(by_path["kubernetes/sa.key"]);
  ASSERT_TRUE(sa);
  EXPECT_TRUE(EVP_PKEY_is_a(sa.get(), "EC"));
}

TEST(PkiExpiry, ScanSortsSoonestFirstAndSkipsKeys) {
  kftest::TempDir dir;
  const KeySpec key{KeyType::ecdsa, 256};
  auto late = make_ca({"late", {}, {}, {}, CertKind::ca}, key, {k_now, k_now + 10 * 86400});
  auto soon = make_ca({"soon", {"o"}, {}, {}, CertKind::ca}, key, {k_now, k_now + 2 * 86400 + 5});
  auto gone = make_ca({"gone", {}, {}, {}, CertKind::ca}, key, {k_now - 9 * 86400, k_now - 86400 + 1});
  ASSERT_OK(late);
  ASSERT_OK(soon);
  ASSERT_OK(gone);
  kftest::write_file(dir / "a/late.pem", *late->cert_pem());
  kftest::write_file(dir / "a/late-key.pem", *late->key_pem());
  kftest::write_file(dir / "b/soon.crt", *soon->cert_pem());
  kftest::write_file(dir / "gone.pem", *gone->cert_pem());
  kftest::write_file(dir / "notes.txt", *gone->cert_pem());  // not *.pem / *.crt: skipped
  auto entries = scan_expiry(dir.path(), k_now);
  ASSERT_OK(entries);
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].path, "gone.pem");
  EXPECT_EQ((*entries)[0].days_left, -1);
  EXPECT_EQ((*entries)[1].path, "b/soon.crt");
  EXPECT_EQ((*entries)[1].subject, "CN=soon,O=o");
  EXPECT_EQ((*entries)[1].days_left, 2);
  EXPECT_EQ((*entries)[2].path, "a/late.pem");
  EXPECT_EQ((*entries)[2].days_left, 10);
  EXPECT_EQ(format_expiry_table(*entries),
            "NOT AFTER (UTC)       DAYS LEFT  FILE        SUBJECT\n"
            "2027-01-14 08:00:01   -1         gone.pem    CN=gone\n"
            "2027-01-17 08:00:05   2          b/soon.crt  CN=soon,O=o\n"
            "2027-01-25 08:00:00   10         a/late.pem  CN=late\n");
  EXPECT_EQ(format_expiry_json(*entries),
            "[\n"
            " {\"path\": \"gone.pem\", \"subject\": \"CN=gone\", \"not_after\": \"2027-01-14T08:00:01Z\", "
            "\"days_left\": -1},\n"
            " {\"path\": \"b/soon.crt\", \"subject\": \"CN=soon,O=o\", \"not_after\": \"2027-01-17T08:00:05Z\", "
            "\"days_left\": 2},\n"
            " {\"path\": \"a/late.pem\", \"subject\": \"CN=late\", \"not_after\": \"2027-01-25T08:00:00Z\", "
            "\"days_left\": 10}\n"
            "]\n");
  // --fail-within: how many have fewer days left than asked, and the soonest.
  EXPECT_EQ(check_expiry_within(*entries, 0).error().message(),
            "1 of 3 certificates expire within 0 days; the soonest: gone.pem (CN=gone) expired on 2027-01-14; make new "
            "ones with `pki renew`");
  EXPECT_EQ(check_expiry_within(*entries, 3).error().message(),
            "2 of 3 certificates expire within 3 days; the soonest: gone.pem (CN=gone) expired on 2027-01-14; make new "
            "ones with `pki renew`");
  entries->erase(entries->begin());
  EXPECT_OK(check_expiry_within(*entries, 2));
  EXPECT_EQ(check_expiry_within(*entries, 11).error().message(),
            "2 of 2 certificates expire within 11 days; the soonest: b/soon.crt (CN=soon,O=o) on 2027-01-17, 2 days "
            "left; make new ones with `pki renew`");
}

TEST(PkiExpiry, Failures) {
  kftest::TempDir dir;
  EXPECT_EQ(scan_expiry(dir.path(), k_now).error().message(), "no certificate (*.pem, *.crt) under " + dir.path());
  kftest::write_file(dir / "bad.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(scan_expiry(dir.path(), k_now).error().message(), dir / "bad.pem" + ": not a PEM certificate");
  EXPECT_EQ(scan_expiry(dir / "missing", k_now).error().message(),
            "read folder " + (dir / "missing") + ": No such file or directory");
}

TEST(PkiCli, ParsesInitRenewAndExpiry) {
  kftest::TempDir dir;
  CLI::App app;
  GlobalOptions global;
  Commands commands;
  setup_pki_commands(app, global, commands);
  ASSERT_EQ(commands.size(), 3u);
  app.parse(std::vector<std::string>{dir / "out", "--out", k_example, "--inventory", "init", "pki"});
  EXPECT_TRUE(commands[0].app->parsed());
  EXPECT_FALSE(commands[1].app->parsed());
  EXPECT_FALSE(commands[2].app->parsed());
  CLI::App app_renew;
  Commands commands_renew;
  setup_pki_commands(app_renew, global, commands_renew);
  app_renew.parse(
      std::vector<std::string>{dir / "new", "--out", dir.path(), "--pki", k_example, "--inventory", "renew", "pki"});
  EXPECT_FALSE(commands_renew[0].app->parsed());
  EXPECT_TRUE(commands_renew[1].app->parsed());
  CLI::App app2;
  Commands commands2;
  setup_pki_commands(app2, global, commands2);
  EXPECT_THROW(app2.parse(std::vector<std::string>{"/nonexistent", "--dir", "expiry", "pki"}), CLI::ValidationError);
}

TEST(PkiCli, InitThenExpiryThroughTheRunners) {
  kftest::TempDir dir;
  CLI::App app;
  GlobalOptions global;
  Commands commands;
  setup_pki_commands(app, global, commands);
  app.parse(std::vector<std::string>{dir / "out", "--out", k_example, "--inventory", "init", "pki"});
  ASSERT_OK(commands[0].run());
  EXPECT_TRUE(kftest::exists(dir / "out/hosts/node02/kubernetes/kube-proxy.pem"));
  auto second = commands[0].run();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().message(), "pki init: --out " + (dir / "out") +
                                          ": already holds a PKI (kubernetes/ca.pem); pki init never replaces "
                                          "keys. Keep using it, or move it away to make a new one");
}

}  // namespace
}  // namespace installer
