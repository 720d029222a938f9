// Verifying extraction: the round trip gives the tree back exactly, and hostile entries in a
// correctly signed bundle are refused by name, leaving no target and no staging folder.
#include "bundlespec/extract.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "bundle_helpers.hpp"
#include "bundlespec/container.hpp"
#include "bundlespec/writer.hpp"
#include "support/test_util.hpp"

namespace bundlespec {
namespace {

using testing::make_key;
using testing::Node;
using testing::Tree;

constexpr int64_t k_epoch = 1631664000;
const std::string k_installer = std::string(KF_BIN_DIR) + "/kubeferry-install";

WriterOptions fast_options() {
  WriterOptions options;
  options.name = "roundtrip";
  options.epoch = k_epoch;
  options.compression.level = 3;
  return options;
}

const std::string k_long_name = "long/" + std::string(150, 'n') + ".txt";  // path > 100 bytes (ustar limit)
const std::string k_utf8_folder =
    "donn\xc3\xa9"
    "es";
const std::string k_utf8_file = k_utf8_folder + "/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.txt";

// A tree with every kind of entry the format allows.
void make_tree(const std::string& root) {
  kftest::write_file(root + "/bin/tool", "#!/bin/sh\necho tool\n", 0755);
  kftest::write_file(root + "/bin/owner-only", "x", 0700);
  kftest::write_file(root + "/etc/conf", "key = value\n", 0644);
  kftest::write_file(root + "/etc/private", "p", 0600);
  kftest::write_file(root + "/etc/empty", "", 0644);
  kftest::write_file(root + "/big.bin", testing::pseudo_random_bytes((2u << 20) + 12345, 1), 0644);
  kftest::write_file(root + "/" + k_long_name, "long", 0644);
  kftest::write_file(root + "/" + k_utf8_file, "utf-8", 0644);
  ASSERT_EQ(::mkdir((root + "/empty-folder").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((root + "/etc/nested").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root + "/etc/nested/deeper").c_str(), 0755), 0);
  ASSERT_EQ(::symlink("tool", (root + "/bin/link").c_str()), 0);
  ASSERT_EQ(::symlink("etc", (root + "/etc-link").c_str()), 0);
  ASSERT_EQ(::symlink("../../bin/tool", (root + "/etc/nested/up").c_str()), 0);
  ASSERT_EQ(::symlink("nowhere", (root + "/dangling").c_str()), 0);
}

// The tree as the bundle should give it back: normalised modes, every mtime = the epoch.
Tree expected_tree(const std::string& root) {
  Tree tree = testing::snapshot(root);
  for (auto& [path, node] : tree) {
    node.mtime = k_epoch;
    if (node.type == 'd') node.mode = 0755;
    if (node.type == 'f') node.mode = (node.mode & 0111) ? 0755 : 0644;
  }
  return tree;
}

std::string type_and_mode(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return "missing";
  char text[32];
  std::snprintf(text, sizeof text, "%s %04o", S_ISDIR(st.st_mode) ? "d" : "-", st.st_mode & 07777);
  return text;
}

class Extract : public ::testing::Test {
 protected:
  kftest::TempDir m_dir;
  Key m_key = make_key();
};

TEST_F(Extract, RoundTripGivesTheTreeBack) {
  make_tree(m_dir / "src");
  WriterOptions options = fast_options();
  options.installer_path = k_installer;
  auto written = pack_directory(m_dir / "src", m_key, options, m_dir / "x.run");
  ASSERT_OK(written);
  EXPECT_EQ(written->index.entries.size(), 19u);

  auto bundle = BundleFile::open(m_dir / "x.run", {});
  ASSERT_OK(bundle);
  EXPECT_OK(bundle->verify_parts());
  EXPECT_OK(verify_payload_entries(*bundle, {}));
  EXPECT_EQ(bundle->index(), written->index);
  ASSERT_OK(extract_bundle(*bundle, m_dir / "out", {}));

  const Tree want = expected_tree(m_dir / "src");
  const Tree got = testing::snapshot(m_dir / "out");
  EXPECT_EQ(got.size(), want.size());
  for (const auto& [path, node] : want) {
    const auto it = got.find(path);
    ASSERT_NE(it, got.end()) << "missing " << path;
    EXPECT_EQ(it->second.type, node.type) << path;
    EXPECT_EQ(it->second.mode, node.mode) << path;
    EXPECT_TRUE(it->second.data == node.data) << path;
    EXPECT_EQ(it->second.mtime, node.mtime) << path;
  }
  for (const auto& [path, node] : got) EXPECT_TRUE(want.count(path)) << "extra " << path;
  EXPECT_EQ(type_and_mode(m_dir / "out"), "d 0755");
  EXPECT_EQ(type_and_mode(m_dir / "out/empty-folder"), "d 0755");
  EXPECT_TRUE(testing::staging_leftovers(m_dir.path()).empty());

  // One file straight out of the bundle.
  auto conf = read_bundle_file(*bundle, "etc/conf", 1024);
  ASSERT_OK(conf);
  EXPECT_EQ(*conf, "key = value\n");
  auto utf8 = read_bundle_file(*bundle, k_utf8_file, 1024);
  ASSERT_OK(utf8);
  EXPECT_EQ(*utf8, "utf-8");
  EXPECT_EQ(read_bundle_file(*bundle, "etc", 1024).error().message(), "the bundle has no file etc");
  EXPECT_EQ(read_bundle_file(*bundle, "big.bin", 1024).error().message(), "big.bin: larger than 1024 bytes");
}

TEST_F(Extract, IntoAnEmptyFolderAndFromABarePayload) {
  make_tree(m_dir / "src");
  ASSERT_OK(pack_directory(m_dir / "src", m_key, fast_options(), m_dir / "bare.bin"));
  auto bundle = BundleFile::open(m_dir / "bare.bin", {});
  ASSERT_OK(bundle);
  EXPECT_FALSE(bundle->index().installer.has_value());
  EXPECT_EQ(bundle->trailer().payload_offset, 0u);
  ASSERT_EQ(::mkdir((m_dir / "empty").c_str(), 0700), 0);
  ASSERT_OK(extract_bundle(*bundle, m_dir / "empty", {}));
  EXPECT_TRUE(testing::snapshot(m_dir / "empty") == expected_tree(m_dir / "src"));
  EXPECT_EQ(type_and_mode(m_dir / "empty"), "d 0755");
}

TEST_F(Extract, RefusesAnExistingTarget) {
  kftest::write_file(m_dir / "src/f", "f");
  ASSERT_OK(pack_directory(m_dir / "src", m_key, fast_options(), m_dir / "x.bin"));
  auto bundle = BundleFile::open(m_dir / "x.bin", {});
  ASSERT_OK(bundle);
  kftest::write_file(m_dir / "full/keep", "keep");
  auto full = extract_bundle(*bundle, m_dir / "full", {});
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code(), ErrorCode::failure);
  EXPECT_EQ(full.error().message(), (m_dir / "full") + " exists and is not empty");
  EXPECT_EQ(kftest::read_file(m_dir / "full/keep"), "keep");
  kftest::write_file(m_dir / "file", "file");
  EXPECT_EQ(extract_bundle(*bundle, m_dir / "file", {}).error().message(),
            (m_dir / "file") + " exists and is not a folder");
  EXPECT_EQ(extract_bundle(*bundle, m_dir / "no/such/parent/out", {}).error().message(),
            "statvfs " + (m_dir / "no/such/parent") + ": No such file or directory");
  EXPECT_TRUE(testing::staging_leftovers(m_dir.path()).empty());
}

// Hostile bundles: write_bundle() signs whatever it is given, so these are correctly signed.
class Hostile : public Extract {
 protected:
  SourceEntry file_entry(const std::string& path, const std::string& data) {
    const std::string source = m_dir / ("data-" + std::to_string(m_files++));
    kftest::write_file(source, data);
    SourceEntry e;
    e.entry.path = path;
    e.entry.type = EntryType::file;
    e.entry.size = data.size();
    e.source_path = source;
    return e;
  }
  static SourceEntry special(const std::string& path, EntryType type, const std::string& target = "") {
    SourceEntry e;
    e.entry.path = path;
    e.entry.type = type;
    e.entry.mode = type == EntryType::directory ? 0755 : type == EntryType::symlink ? 0777 : 0644;
    e.entry.target = target;
    return e;
  }
  // Writes and signs a bare bundle of `entries`; returns its path.
  std::string write(const std::vector<SourceEntry>& entries) {
    const std::string path = m_dir / ("hostile-" + std::to_string(m_files++) + ".bin");
    auto written = write_bundle(entries, m_key, fast_options(), path);
    EXPECT_OK(written);
    return path;
  }
  // Opening (which checks every entry before anything is written) must refuse with `message`,
  // and so must the installer's extract command, leaving no target and no staging folder.
  void expect_refused(const std::vector<SourceEntry>& entries, const std::string& message) {
    const std::string path = write(entries);
    auto bundle = BundleFile::open(path, {});
    ASSERT_FALSE(bundle.ok()) << message;
    EXPECT_EQ(bundle.error().code(), ErrorCode::verification);
    EXPECT_EQ(bundle.error().message(), message);

    std::string output;
    const std::string target = m_dir / "target";
    const int rc = kftest::run_command(k_installer + " -q --bundle " + path + " extract --to " + target, &output);
    EXPECT_EQ(rc, 3) << output;
    EXPECT_EQ(output, "kubeferry-install: error: extract " + path + ": " + message + "\n");
    EXPECT_FALSE(kftest::exists(target));
    EXPECT_TRUE(testing::staging_leftovers(m_dir.path()).empty());
  }
  int m_files = 0;
};

TEST_F(Hostile, AbsolutePath) {
  expect_refused({file_entry("/tmp/kubeferry-hostile-absolute", "pwned")},
                 "entry /tmp/kubeferry-hostile-absolute: absolute path");
  EXPECT_FALSE(kftest::exists("/tmp/kubeferry-hostile-absolute"));
}

TEST_F(Hostile, DotDot) {
  expect_refused({file_entry("../escaped", "pwned")}, "entry ../escaped: '..' path component");
  expect_refused({special("a", EntryType::directory), file_entry("a/../../escaped", "pwned")},
                 "entry a/../../escaped: '..' path component");
  EXPECT_FALSE(kftest::exists(m_dir / "../escaped"));
}

TEST_F(Hostile, SymlinkEscape) {
  expect_refused({special("l", EntryType::symlink, "../../../etc")},
                 "entry l: symlink target '../../../etc' leaves the bundle");
  expect_refused({special("l", EntryType::symlink, "/etc")}, "entry l: symlink target '/etc' is absolute");
  // Each link alone stays inside; together, b would climb out through a/l.
  expect_refused({special("a", EntryType::directory), special("a/l", EntryType::symlink, ".."),
                  special("b", EntryType::symlink, "a/l/..")},
                 "entry b: symlink target 'a/l/..' passes through a/l, which is not a folder");
  // A file written through a symlinked folder.
  expect_refused({special("l", EntryType::symlink, "."), file_entry("l/f", "x")},
                 "entry l/f: parent l is not a folder");
}

TEST_F(Hostile, DeviceNodesFifosHardlinks) {
  expect_refused({special("null", EntryType::char_device)}, "entry null: device nodes are not allowed");
  expect_refused({special("sda", EntryType::block_device)}, "entry sda: device nodes are not allowed");
  expect_refused({special("pipe", EntryType::fifo)}, "entry pipe: fifos are not allowed");
  expect_refused({file_entry("a", "a"), special("h", EntryType::hardlink, "a")}, "entry h: hardlinks are not allowed");
  SourceEntry setuid = file_entry("s", "s");
  setuid.entry.mode = 04755;
  expect_refused({setuid}, "entry s: setuid, setgid or sticky bits are not allowed");
}

TEST_F(Hostile, UnsortedOrDuplicated) {
  expect_refused({file_entry("b", "b"), file_entry("a", "a")},
                 "entry a: out of order (entries must be sorted bytewise)");
  expect_refused({file_entry("a", "1"), file_entry("a", "2")}, "entry a: listed twice");
  expect_refused({file_entry("d/f", "x")}, "entry d/f: parent folder d is not listed before it");
}

// Oversize is a reader's own limit: the bundle opens, extraction refuses before writing.
TEST_F(Hostile, OversizeEntry) {
  const std::string path = write({file_entry("small", "ok"), file_entry("zbig", std::string(100, 'x'))});
  auto bundle = BundleFile::open(path, {});
  ASSERT_OK(bundle);
  ExtractOptions limited;
  limited.max_entry_size = 10;
  auto status = extract_bundle(*bundle, m_dir / "target", limited);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), ErrorCode::verification);
  EXPECT_EQ(status.error().message(), "entry zbig: size 100 exceeds the limit of 10 bytes");
  EXPECT_FALSE(kftest::exists(m_dir / "target"));
  EXPECT_TRUE(testing::staging_leftovers(m_dir.path()).empty());
  EXPECT_EQ(verify_payload_entries(*bundle, limited).error().message(),
            "entry zbig: size 100 exceeds the limit of 10 bytes");
  limited.max_entry_size = 100;
  EXPECT_OK(extract_bundle(*bundle, m_dir / "target", limited));
  EXPECT_EQ(kftest::read_file(m_dir / "target/zbig"), std::string(100, 'x'));
}

}  // namespace
}  // namespace bundlespec
