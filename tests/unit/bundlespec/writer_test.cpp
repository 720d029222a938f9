// The deterministic writer: scanning and mode normalisation, reproducible bytes (FORMAT.md 7),
// the checksum files (FORMAT.md 6), and failures that leave nothing at the output path.
#include "bundlespec/writer.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "bundle_helpers.hpp"
#include "bundlespec/container.hpp"
#include "bundlespec/digest.hpp"
#include "bundlespec/extract.hpp"
#include "support/test_util.hpp"

namespace bundlespec {
namespace {

using testing::make_key;

const std::string k_installer = std::string(KF_BIN_DIR) + "/kubeferry-install";

WriterOptions fast_options(int64_t epoch = 1631664000) {
  WriterOptions options;
  options.name = "test";
  options.epoch = epoch;
  options.compression.level = 3;
  return options;
}

// One file of the content tree: relative path, content, mode on disk.
struct FileSpec {
  std::string path;
  std::string data;
  mode_t mode;
};

std::vector<FileSpec> content_files() {
  return {
      {"bin/tool", "#!/bin/sh\necho tool\n", 0755},
      {"bin/private-tool", "x", 0700},  // normalised to 0755
      {"etc/conf", "key = value\n", 0644},
      {"etc/secret", "s", 0600},  // normalised to 0644
      {"etc/empty", "", 0644},
      {"data/big.bin", testing::pseudo_random_bytes(300 * 1024, 7), 0644},
  };
}

// Lays out the same content in `root`, in the given order, with the given mtime and owner.
void make_content(const std::string& root, bool reverse, time_t mtime, uid_t owner) {
  std::vector<FileSpec> files = content_files();
  if (reverse) std::reverse(files.begin(), files.end());
  for (const auto& f : files) kftest::write_file(root + "/" + f.path, f.data, static_cast<int>(f.mode));
  ASSERT_EQ(::mkdir((root + "/empty-folder").c_str(), reverse ? 0700 : 0755), 0);
  ASSERT_EQ(::symlink("../bin/tool", (root + "/etc/tool-link").c_str()), 0);
  std::string listing;
  ASSERT_EQ(kftest::run_command("find " + root + " -mindepth 1", &listing), 0);
  for (size_t start = 0; start < listing.size();) {
    const size_t end = listing.find('\n', start);
    const std::string path = listing.substr(start, end - start);
    start = end + 1;
    const struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
    ASSERT_EQ(::lchown(path.c_str(), owner, owner), 0) << path;
  }
}

TEST(Writer, ScanSortsAndNormalisesModes) {
  kftest::TempDir dir;
  make_content(dir.path(), false, 1000, 0);
  auto entries = scan_directory(dir.path());
  ASSERT_OK(entries);
  std::vector<std::string> listed;
  for (const auto& source : *entries) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", source.entry.mode);
    listed.push_back(std::string(entry_type_name(source.entry.type)) + " " + mode + " " + source.entry.path +
                     (source.entry.target.empty() ? "" : " -> " + source.entry.target));
  }
  EXPECT_EQ(listed, (std::vector<std::string>{
                        "directory 0755 bin",
                        "file 0755 bin/private-tool",
                        "file 0755 bin/tool",
                        "directory 0755 data",
                        "file 0644 data/big.bin",
                        "directory 0755 empty-folder",
                        "directory 0755 etc",
                        "file 0644 etc/conf",
                        "file 0644 etc/empty",
                        "file 0644 etc/secret",
                        "symlink 0777 etc/tool-link -> ../bin/tool",
                    }));
}

TEST(Writer, ScanRefusesSpecialFiles) {
  kftest::TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "pipe").c_str(), 0644), 0);
  auto entries = scan_directory(dir.path());
  ASSERT_FALSE(entries.ok());
  EXPECT_EQ(entries.error().message(), (dir / "pipe") + ": only files, folders and symlinks can be packed");
  EXPECT_EQ(scan_directory(dir / "pipe").error().message(), (dir / "pipe") + ": not a folder");
  EXPECT_EQ(scan_directory(dir / "missing").error().message(),
            "stat " + (dir / "missing") + ": No such file or directory");
}

// FORMAT.md 7: the bytes depend on content, not on mtimes, owners, creation order or threads.
TEST(Writer, ReproducibleAcrossMtimeOwnerOrderAndThreads) {
  kftest::TempDir dir;
  make_content(dir / "a", false, 1000, 0);
  make_content(dir / "b", true, 2000000000, 4242);
  const Key key = make_key();
  WriterOptions one = fast_options();
  one.threads = 1;
  WriterOptions two = fast_options();
  two.threads = 2;
  auto first = pack_directory(dir / "a", key, one, dir / "a.run");
  ASSERT_OK(first);
  auto second = pack_directory(dir / "b", key, two, dir / "b.run");
  ASSERT_OK(second);
  const std::string a = kftest::read_file(dir / "a.run");
  const std::string b = kftest::read_file(dir / "b.run");
  ASSERT_EQ(a.size(), b.size());
  EXPECT_TRUE(a == b) << "packs of the same content differ";
  EXPECT_EQ(first->file_sha256, second->file_sha256);
  EXPECT_EQ(first->file_sha256, sha256_hex(a));
  EXPECT_EQ(first->file_size, a.size());
  EXPECT_EQ(first->index, second->index);

  // A different epoch changes the bytes (every mtime and "created").
  auto later = pack_directory(dir / "a", key, fast_options(1631664001), dir / "later.run");
  ASSERT_OK(later);
  EXPECT_NE(kftest::read_file(dir / "later.run"), a);
  EXPECT_EQ(later->index.created, 1631664001);
  // So do a different key and a different level.
  ASSERT_OK(pack_directory(dir / "a", make_key(), one, dir / "other-key.run"));
  EXPECT_NE(kftest::read_file(dir / "other-key.run"), a);
  WriterOptions level = one;
  level.compression.level = 4;
  ASSERT_OK(pack_directory(dir / "a", key, level, dir / "level.run"));
  EXPECT_NE(kftest::read_file(dir / "level.run"), a);
}

TEST(Writer, ReproducibleWithInstaller) {
  kftest::TempDir dir;
  make_content(dir / "a", false, 1000, 0);
  make_content(dir / "b", true, 5000, 1000);
  const Key key = make_key();
  WriterOptions one = fast_options();
  one.installer_path = k_installer;
  one.threads = 1;
  WriterOptions two = one;
  two.threads = 2;
  ASSERT_OK(pack_directory(dir / "a", key, one, dir / "a.run"));
  ASSERT_OK(pack_directory(dir / "b", key, two, dir / "b.run"));
  EXPECT_TRUE(kftest::read_file(dir / "a.run") == kftest::read_file(dir / "b.run"));
}

TEST(Writer, LayoutOfTheContainer) {
  kftest::TempDir dir;
  make_content(dir / "src", false, 1000, 0);
  const Key key = make_key();
  WriterOptions options = fast_options();
  options.installer_path = k_installer;
  auto result = pack_directory(dir / "src", key, options, dir / "x.run");
  ASSERT_OK(result);
  const std::string bytes = kftest::read_file(dir / "x.run");
  const std::string installer = kftest::read_file(k_installer);
  // The file starts with the installer byte for byte, so running it runs the installer.
  ASSERT_TRUE(result->index.installer.has_value());
  EXPECT_EQ(result->index.installer->offset, 0u);
  EXPECT_EQ(result->index.installer->size, installer.size());
  EXPECT_EQ(result->index.installer->sha256, sha256_hex(installer));
  EXPECT_TRUE(bytes.compare(0, installer.size(), installer) == 0);
  EXPECT_EQ(result->index.payload.offset, installer.size());
  EXPECT_EQ(result->index.payload.sha256, sha256_hex(bytes.substr(installer.size(), result->index.payload.size)));
  // Payload | index | signature block | trailer, nothing else.
  const std::string index_bytes = encode_index(result->index);
  const size_t index_at = installer.size() + result->index.payload.size;
  EXPECT_EQ(bytes.substr(index_at, index_bytes.size()), index_bytes);
  EXPECT_EQ(bytes.size(), index_at + index_bytes.size() + k_signature_block_size + k_trailer_size);
  EXPECT_EQ(bytes.substr(index_at + index_bytes.size(), 32), raw_public_key(key));
  auto signature_ok = verify_signature(key, std::string(k_signature_context) + index_bytes,
                                       bytes.substr(index_at + index_bytes.size() + 32, 64));
  EXPECT_OK(signature_ok);
  EXPECT_EQ(result->index.signer, fingerprint(key));
  EXPECT_EQ(result->index.compression, (Compression{"zstd", 3, 27}));
  // The payload is one zstd frame (magic 28 b5 2f fd).
  EXPECT_EQ(bytes.substr(installer.size(), 4), std::string("\x28\xb5\x2f\xfd", 4));
  struct stat st {};
  ASSERT_EQ(::stat((dir / "x.run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST(Writer, ChecksumFilesVerifyWithStockTools) {
  kftest::TempDir dir;
  make_content(dir / "src", false, 1000, 0);
  const Key key = make_key();
  ASSERT_OK(write_key_pair(key, dir / "k"));
  auto result = pack_directory(dir / "src", key, fast_options(), dir / "x.run");
  ASSERT_OK(result);
  EXPECT_EQ(kftest::read_file(dir / "x.run.sha256"), result->file_sha256 + "  x.run\n");
  std::string output;
  EXPECT_EQ(kftest::run_command("cd " + dir.path() + " && sha256sum -c x.run.sha256", &output), 0) << output;
  EXPECT_EQ(output, "x.run: OK\n");
  EXPECT_EQ(kftest::run_command("openssl pkeyutl -verify -pubin -inkey " + (dir / "k.pub") + " -rawin -in " +
                                    (dir / "x.run.sha256") + " -sigfile " + (dir / "x.run.sha256.sig"),
                                &output),
            0)
      << output;
  EXPECT_EQ(output, "Signature Verified Successfully\n");
}

TEST(Writer, PackRefusesUnsafeTreesAndWritesNothing) {
  kftest::TempDir dir;
  kftest::write_file(dir / "src/a", "a");
  ASSERT_EQ(::symlink("../../etc/passwd", (dir / "src/escape").c_str()), 0);
  auto result = pack_directory(dir / "src", make_key(), fast_options(), dir / "out/x.run");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::verification);
  EXPECT_EQ(result.error().message(),
            "pack " + (dir / "src") + ": entry escape: symlink target '../../etc/passwd' leaves the bundle");
  EXPECT_FALSE(kftest::exists(dir / "out"));
}

// FORMAT.md 3.2: the writer never writes a name or platform a reader would refuse.
TEST(Writer, RefusesBadNameOrPlatformAndWritesNothing) {
  kftest::TempDir dir;
  kftest::write_file(dir / "src/a", "a");
  WriterOptions options = fast_options();
  options.name = "demo\nOK";
  auto bad_name = pack_directory(dir / "src", make_key(), options, dir / "x.run");
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.error().code(), ErrorCode::usage);
  EXPECT_EQ(bad_name.error().message(),
            "bundle name 'demo\\x0aOK' must be 1-128 bytes of ASCII letters, digits, '.', '-', '_' and '+', "
            "starting with a letter or digit");
  options = fast_options();
  options.platform = "linux amd64";
  auto bad_platform = pack_directory(dir / "src", make_key(), options, dir / "x.run");
  ASSERT_FALSE(bad_platform.ok());
  EXPECT_EQ(bad_platform.error().message(),
            "platform 'linux amd64' must be os/arch or os/arch/variant (at most 128 bytes), each part ASCII letters, "
            "digits, '.', '-', '_' or '+'");
  std::string listing;
  ASSERT_EQ(kftest::run_command("ls -A " + dir.path(), &listing), 0);
  EXPECT_EQ(listing, "src\n");
}

TEST(Writer, FailedWriteLeavesNothing) {
  kftest::TempDir dir;
  kftest::write_file(dir / "src/f", "12345");
  ::mkdir((dir / "out").c_str(), 0755);
  // The file is shorter than the entry says: it "changed size while being packed".
  SourceEntry entry;
  entry.entry.path = "f";
  entry.entry.size = 6;
  entry.source_path = dir / "src/f";
  auto shrunk = write_bundle({entry}, make_key(), fast_options(), dir / "out/x.run");
  ASSERT_FALSE(shrunk.ok());
  EXPECT_EQ(shrunk.error().message(), (dir / "src/f") + ": file changed size while being packed");
  entry.entry.size = 4;
  auto grown = write_bundle({entry}, make_key(), fast_options(), dir / "out/x.run");
  ASSERT_FALSE(grown.ok());
  EXPECT_EQ(grown.error().message(), (dir / "src/f") + ": file changed size while being packed");
  entry.source_path = dir / "src/missing";
  auto missing = write_bundle({entry}, make_key(), fast_options(), dir / "out/x.run");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "open " + (dir / "src/missing") + ": No such file or directory");
  WriterOptions bad_installer = fast_options();
  bad_installer.installer_path = dir / "no-installer";
  entry.source_path = dir / "src/f";
  entry.entry.size = 5;
  auto no_installer = write_bundle({entry}, make_key(), bad_installer, dir / "out/x.run");
  ASSERT_FALSE(no_installer.ok());
  EXPECT_EQ(no_installer.error().message(), "open installer " + (dir / "no-installer") + ": No such file or directory");
  std::string listing;
  ASSERT_EQ(kftest::run_command("ls -A " + (dir / "out"), &listing), 0);
  EXPECT_EQ(listing, "");
}

// A digest the caller vouches for is recorded as given (the bytes are not hashed again): a
// right one gives the same bundle as hashing, a wrong one a bundle every reader refuses by name.
TEST(Writer, KnownDigestIsRecordedAndCheckedByReaders) {
  kftest::TempDir dir;
  const std::string data = testing::pseudo_random_bytes(200 * 1024, 3);
  kftest::write_file(dir / "src/blob", data);
  SourceEntry entry;
  entry.entry.path = "blob";
  entry.entry.size = data.size();
  entry.entry.mode = 0644;
  entry.source_path = dir / "src/blob";
  const Key key = make_key();
  auto hashed = write_bundle({entry}, key, fast_options(), dir / "hashed.run");
  ASSERT_OK(hashed);
  EXPECT_EQ(hashed->index.entries.at(0).sha256, sha256_hex(data));

  entry.known_sha256 = sha256_hex(data);
  auto vouched = write_bundle({entry}, key, fast_options(), dir / "vouched.run");
  ASSERT_OK(vouched);
  EXPECT_EQ(vouched->file_sha256, hashed->file_sha256);

  const std::string wrong = sha256_hex("something else");
  entry.known_sha256 = wrong;
  auto lying = write_bundle({entry}, key, fast_options(), dir / "lying.run");
  ASSERT_OK(lying);
  EXPECT_EQ(lying->index.entries.at(0).sha256, wrong);
  auto bundle = BundleFile::open(dir / "lying.run", {});
  ASSERT_OK(bundle);
  auto extracted = extract_bundle(*bundle, dir / "out", {});
  ASSERT_FALSE(extracted.ok());
  EXPECT_EQ(extracted.error().message(),
            "entry blob: sha256 mismatch (want " + wrong + ", got " + sha256_hex(data) + ")");
  EXPECT_FALSE(kftest::exists(dir / "out"));
}

}  // namespace
}  // namespace bundlespec
