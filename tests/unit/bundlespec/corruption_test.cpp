// Corruption suite: one flipped byte anywhere in a bundle, or a truncation anywhere, must be
// a verification failure, and a failed extraction must leave neither the target nor a
// staging folder. Runs through the C++ API for speed (tests/cli/bundle_corruption.sh runs a
// few of the same cases through the real binaries for exit code 3).
//
// Coverage per part of a small .run (installer = the real static kubeferry-install):
// every byte of the payload, index, signature block and trailer; the first and last 64
// bytes of the installer plus k_installer_samples offsets spread evenly through it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bundle_helpers.hpp"
#include "bundlespec/container.hpp"
#include "bundlespec/digest.hpp"
#include "bundlespec/extract.hpp"
#include "bundlespec/writer.hpp"
#include "support/test_util.hpp"

namespace bundlespec {
namespace {

constexpr size_t k_installer_samples = 400;

struct Parts {
  uint64_t installer_end = 0;  // = payload offset
  uint64_t payload_end = 0;    // = index offset
  uint64_t index_end = 0;      // = signature offset
  uint64_t signature_end = 0;  // = trailer offset
  uint64_t size = 0;
};

class Corruption : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    s_dir = new kftest::TempDir();
    const std::string src = *s_dir / "src";
    kftest::write_file(src + "/bin/tool", "#!/bin/sh\necho 'a small tool'\nexit 0\n", 0755);
    kftest::write_file(src + "/etc/conf", "listen = 127.0.0.1:2379\nname = node-1\n", 0644);
    kftest::write_file(src + "/etc/empty", "", 0644);
    ASSERT_EQ(::symlink("../bin/tool", (src + "/etc/tool").c_str()), 0);
    WriterOptions options;
    options.name = "corruption";
    options.epoch = 1631664000;
    options.compression.level = 3;
    options.installer_path = std::string(KF_BIN_DIR) + "/kubeferry-install";
    const Key key = testing::make_key();
    auto written = pack_directory(src, key, options, *s_dir / "good.run");
    ASSERT_OK(written);
    s_bytes = new std::string(kftest::read_file(*s_dir / "good.run"));
    s_index = new Index(written->index);
    const Index& index = written->index;
    s_parts.installer_end = index.payload.offset;
    s_parts.payload_end = index.payload.offset + index.payload.size;
    s_parts.index_end = s_parts.payload_end + encode_index(index).size();
    s_parts.signature_end = s_parts.index_end + k_signature_block_size;
    s_parts.size = s_bytes->size();
    ASSERT_EQ(s_parts.signature_end + k_trailer_size, s_parts.size);
  }
  static void TearDownTestSuite() {
    delete s_index;
    delete s_bytes;
    delete s_dir;
  }

  void SetUp() override {
    m_work = *s_dir / ("work-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    ASSERT_EQ(::mkdir(m_work.c_str(), 0755), 0);
    m_file = m_work + "/x.run";
    kftest::write_file(m_file, *s_bytes, 0755);
    m_fd = ::open(m_file.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(m_fd, 0);
  }
  void TearDown() override { ::close(m_fd); }

  void poke(uint64_t offset, char value) { ASSERT_EQ(::pwrite(m_fd, &value, 1, static_cast<off_t>(offset)), 1); }

  // Checks the working file as it is now; returns the message of the first failure, which
  // must be a verification failure. Extraction must fail too and leave nothing behind.
  std::string expect_refused(const std::string& what) {
    auto bundle = BundleFile::open(m_file, {});
    if (!bundle.ok()) {
      EXPECT_EQ(bundle.error().code(), ErrorCode::verification) << what << ": " << bundle.error().message();
      ++m_stage["open"];
      return bundle.error().message();
    }
    auto verified = bundle->verify_parts();
    EXPECT_FALSE(verified.ok()) << what << ": verify_parts accepted a corrupt bundle";
    if (verified.ok()) return "";
    EXPECT_EQ(verified.error().code(), ErrorCode::verification) << what << ": " << verified.error().message();
    const std::string target = m_work + "/target";
    auto extracted = extract_bundle(*bundle, target, {});
    EXPECT_FALSE(extracted.ok()) << what << ": extraction accepted a corrupt bundle";
    if (!extracted.ok()) {
      EXPECT_EQ(extracted.error().code(), ErrorCode::verification) << what << ": " << extracted.error().message();
      ++m_stage[extract_stage(extracted.error().message())];
    }
    EXPECT_FALSE(kftest::exists(target)) << what;
    const auto leftovers = testing::staging_leftovers(m_work);
    EXPECT_TRUE(leftovers.empty()) << what << ": " << (leftovers.empty() ? "" : leftovers.front());
    if (kftest::exists(target)) kftest::run_command("rm -rf " + target);
    return verified.error().message();
  }

  // Which check of the extraction caught it, for the summary.
  static std::string extract_stage(const std::string& message) {
    if (message.rfind("installer: sha256 mismatch", 0) == 0) return "extract: installer digest";
    if (message.rfind("payload: sha256 mismatch", 0) == 0) return "extract: payload digest";
    if (message.find(": sha256 mismatch") != std::string::npos) return "extract: entry digest";
    if (message.rfind("entry ", 0) == 0 || message.rfind("payload entry", 0) == 0) return "extract: entry check";
    return "extract: decompression";
  }

  // Flips `mask` into the byte at every offset in [begin, end), checks, and restores it.
  void flip_range(uint64_t begin, uint64_t end, unsigned char mask, const std::string& part) {
    for (uint64_t offset = begin; offset < end; ++offset) flip_one(offset, mask, part);
  }
  void flip_one(uint64_t offset, unsigned char mask, const std::string& part) {
    const char original = (*s_bytes)[offset];
    poke(offset, static_cast<char>(original ^ static_cast<char>(mask)));
    expect_refused(part + " byte " + std::to_string(offset) + " ^ " + std::to_string(mask));
    poke(offset, original);
    ++m_cases;
  }

  void print_summary(const std::string& name, std::chrono::steady_clock::time_point start) const {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    std::string stages;
    for (const auto& [stage, count] : m_stage) stages += " [" + stage + ": " + std::to_string(count) + "]";
    std::printf("%s: %zu cases in %lld ms;%s\n", name.c_str(), m_cases, static_cast<long long>(ms.count()),
                stages.c_str());
  }

  static kftest::TempDir* s_dir;
  static std::string* s_bytes;
  static Index* s_index;
  static Parts s_parts;

  std::string m_work;
  std::string m_file;
  int m_fd = -1;
  size_t m_cases = 0;
  std::map<std::string, size_t> m_stage;
};

kftest::TempDir* Corruption::s_dir = nullptr;
std::string* Corruption::s_bytes = nullptr;
Index* Corruption::s_index = nullptr;
Parts Corruption::s_parts;

TEST_F(Corruption, TheGoodBundleVerifiesAndExtracts) {
  auto bundle = BundleFile::open(m_file, {});
  ASSERT_OK(bundle);
  EXPECT_OK(bundle->verify_parts());
  ASSERT_OK(extract_bundle(*bundle, m_work + "/target", {}));
  EXPECT_EQ(kftest::read_file(m_work + "/target/etc/conf"), "listen = 127.0.0.1:2379\nname = node-1\n");
  std::printf("bundle: installer %llu, payload %llu, index %llu, signature 96, trailer 64 bytes\n",
              static_cast<unsigned long long>(s_parts.installer_end),
              static_cast<unsigned long long>(s_parts.payload_end - s_parts.installer_end),
              static_cast<unsigned long long>(s_parts.index_end - s_parts.payload_end));
}

TEST_F(Corruption, EveryPayloadByte) {
  const auto start = std::chrono::steady_clock::now();
  flip_range(s_parts.installer_end, s_parts.payload_end, 0x01, "payload");
  flip_range(s_parts.installer_end, s_parts.payload_end, 0xff, "payload");
  print_summary("payload", start);
  EXPECT_EQ(m_stage["open"], 0u);  // the payload is not read by open()
}

TEST_F(Corruption, EveryIndexSignatureAndTrailerByte) {
  const auto start = std::chrono::steady_clock::now();
  for (const unsigned char mask : {0x01, 0x80, 0xff}) {
    flip_range(s_parts.payload_end, s_parts.index_end, mask, "index");
    flip_range(s_parts.index_end, s_parts.signature_end, mask, "signature");
    flip_range(s_parts.signature_end, s_parts.size, mask, "trailer");
  }
  print_summary("index+signature+trailer", start);
  EXPECT_EQ(m_stage["open"], m_cases);  // all refused before any payload byte is read
}

TEST_F(Corruption, InstallerSample) {
  const auto start = std::chrono::steady_clock::now();
  const uint64_t end = s_parts.installer_end;
  std::set<uint64_t> offsets;
  for (uint64_t i = 0; i < 64; ++i) {
    offsets.insert(i);
    offsets.insert(end - 1 - i);
  }
  for (size_t i = 0; i < k_installer_samples; ++i) offsets.insert(end * i / k_installer_samples + i % 7);
  for (const uint64_t offset : offsets) flip_one(offset, 0x01, "installer");
  print_summary("installer", start);
  EXPECT_EQ(m_stage["extract: installer digest"], m_cases);
}

TEST_F(Corruption, ExactMessages) {
  const Index& index = *s_index;
  // A payload byte: the payload digest names both digests.
  const uint64_t at = s_parts.installer_end + (s_parts.payload_end - s_parts.installer_end) / 2;
  std::string changed = s_bytes->substr(s_parts.installer_end, s_parts.payload_end - s_parts.installer_end);
  changed[at - s_parts.installer_end] = static_cast<char>(changed[at - s_parts.installer_end] ^ 0x01);
  poke(at, static_cast<char>((*s_bytes)[at] ^ 0x01));
  EXPECT_EQ(expect_refused("payload"),
            "payload: sha256 mismatch (want " + index.payload.sha256 + ", got " + sha256_hex(changed) + ")");
  poke(at, (*s_bytes)[at]);

  // An installer byte.
  std::string installer = s_bytes->substr(0, s_parts.installer_end);
  installer[100] = static_cast<char>(installer[100] ^ 0x01);
  poke(100, installer[100]);
  EXPECT_EQ(expect_refused("installer"),
            "installer: sha256 mismatch (want " + index.installer->sha256 + ", got " + sha256_hex(installer) + ")");
  poke(100, (*s_bytes)[100]);

  // The signature itself, and an index byte: both break the signature.
  const std::string broken = "signature: the index was changed or the signature is corrupt: signature does not match";
  poke(s_parts.signature_end - 1, static_cast<char>((*s_bytes)[s_parts.signature_end - 1] ^ 0x01));
  EXPECT_EQ(expect_refused("signature"), broken);
  poke(s_parts.signature_end - 1, (*s_bytes)[s_parts.signature_end - 1]);
  poke(s_parts.payload_end + 2, static_cast<char>((*s_bytes)[s_parts.payload_end + 2] ^ 0x01));
  EXPECT_EQ(expect_refused("index"), broken);
  poke(s_parts.payload_end + 2, (*s_bytes)[s_parts.payload_end + 2]);

  // A trailer length field: the parts no longer tile the file.
  poke(s_parts.signature_end + 8, static_cast<char>((*s_bytes)[s_parts.signature_end + 8] ^ 0x01));
  EXPECT_EQ(expect_refused("trailer"), "trailer: the parts it names do not add up to the file size " +
                                           std::to_string(s_parts.size) + " (truncated or appended to)");
  poke(s_parts.signature_end + 8, (*s_bytes)[s_parts.signature_end + 8]);

  // The good file again.
  auto bundle = BundleFile::open(m_file, {});
  ASSERT_OK(bundle);
  EXPECT_OK(bundle->verify_parts());
}

TEST_F(Corruption, TruncationAnywhere) {
  const auto start = std::chrono::steady_clock::now();
  std::set<uint64_t> lengths = {0, 1, 63, 64, 65, s_parts.size - 1, s_parts.size - 64, s_parts.size - 65};
  for (const uint64_t boundary :
       {s_parts.installer_end, s_parts.payload_end, s_parts.index_end, s_parts.signature_end}) {
    lengths.insert(boundary - 1);
    lengths.insert(boundary);
    lengths.insert(boundary + 1);
  }
  for (uint64_t i = 1; i < 40; ++i) lengths.insert(s_parts.size * i / 40);
  for (uint64_t i = s_parts.installer_end; i < s_parts.size; i += 97) lengths.insert(i);
  for (const uint64_t length : lengths) {
    ASSERT_EQ(::ftruncate(m_fd, static_cast<off_t>(length)), 0);
    const std::string message = expect_refused("truncated to " + std::to_string(length));
    EXPECT_EQ(message.rfind("trailer: ", 0), 0u) << length << ": " << message;
    ++m_cases;
    if (length == s_parts.size - 1) {
      EXPECT_EQ(message, "trailer: no kubeferry trailer at the end of the file (not a bundle, or truncated)");
    }
    if (length < k_trailer_size) {
      EXPECT_EQ(message, "trailer: file is too short to be a kubeferry bundle");
    }
  }
  print_summary("truncation", start);
}

TEST_F(Corruption, AppendedBytes) {
  ASSERT_EQ(::pwrite(m_fd, "x", 1, static_cast<off_t>(s_parts.size)), 1);
  EXPECT_EQ(expect_refused("one byte appended"),
            "trailer: no kubeferry trailer at the end of the file (not a bundle, or truncated)");
  // A second copy of the trailer after the first: the magic is there, the sizes do not add up.
  const std::string trailer = s_bytes->substr(s_parts.signature_end);
  ASSERT_EQ(::ftruncate(m_fd, static_cast<off_t>(s_parts.size)), 0);
  ASSERT_EQ(::pwrite(m_fd, trailer.data(), trailer.size(), static_cast<off_t>(s_parts.size)), 64);
  EXPECT_EQ(expect_refused("trailer appended"), "trailer: the parts it names do not add up to the file size " +
                                                    std::to_string(s_parts.size + 64) + " (truncated or appended to)");
}

TEST_F(Corruption, PinnedKeyMismatch) {
  TrustPolicy other;
  other.fingerprint = fingerprint(testing::make_key());
  auto bundle = BundleFile::open(m_file, other);
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().code(), ErrorCode::verification);
  EXPECT_EQ(bundle.error().message(), "signer " + s_index->signer + " is not the pinned key " + *other.fingerprint);
  TrustPolicy same;
  same.fingerprint = s_index->signer;
  EXPECT_OK(BundleFile::open(m_file, same));
}

}  // namespace
}  // namespace bundlespec
