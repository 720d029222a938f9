// `kubeferry build`'s assembly (builder/assemble.hpp): unpack_members on tarballs made by GNU
// tar (gzip, zstd, xz), bundle_entries' layout, and run_build end to end without a network:
// the artifacts are put in the content-addressed cache beforehand (the cache re-hashes a
// hand-copied file before it trusts it), so the build fetches nothing and the mirror URL is
// never asked. Every failure is checked for its exact message and for leaving no output, no
// checksum files and no staging folder.
#include "assemble.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "bundlespec/signing.hpp"
#include "support/test_util.hpp"

namespace builder {
namespace {

namespace bs = bundlespec;

std::string tool_digest(const std::string& tool, const std::string& path) {
  std::string output;
  EXPECT_EQ(kftest::run_command(tool + " " + path, &output), 0) << output;
  return output.substr(0, output.find(' '));
}

// Runs a shell command that must succeed.
void sh(const std::string& command) {
  std::string output;
  ASSERT_EQ(kftest::run_command(command, &output), 0) << command << "\n" << output;
}

// Names in `dir` (not recursive), sorted, " "-joined.
std::string listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  std::string joined;
  for (const auto& name : names) joined += (joined.empty() ? "" : " ") + name;
  return joined;
}

Artifact tarball_artifact(const std::vector<std::pair<std::string, std::string>>& members) {
  Artifact artifact;
  artifact.name = "etcd";
  artifact.version = "v3.4.23";
  artifact.kind = ArtifactKind::tarball;
  artifact.url = "https://example.invalid/etcd.tar.gz";
  for (const auto& [from, to] : members) {
    Placement placement;
    placement.from = from;
    placement.to = to;
    placement.mode = 0755;
    artifact.placements.push_back(placement);
  }
  return artifact;
}

class UnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // ./etcd-v3.4.23/{etcd,etcdctl,README.md} as upstream's tarball has them, "./" included.
    kftest::write_file(m_dir / "tree/etcd-v3.4.23/etcd", "etcd binary\n", 0755);
    kftest::write_file(m_dir / "tree/etcd-v3.4.23/etcdctl", "etcdctl binary\n", 0755);
    kftest::write_file(m_dir / "tree/etcd-v3.4.23/README.md", "readme\n");
    sh("ln -s etcd " + (m_dir / "tree/etcd-v3.4.23/etcd-link"));
    sh("tar -C " + (m_dir / "tree") + " -czf " + (m_dir / "etcd.tar.gz") + " .");
    // A hard link: named after its target on the command line, so tar stores it as the link.
    kftest::write_file(m_dir / "hard/etcd-v3.4.23/etcd", "etcd binary\n", 0755);
    sh("ln " + (m_dir / "hard/etcd-v3.4.23/etcd") + " " + (m_dir / "hard/etcd-v3.4.23/etcd-hard"));
    sh("tar -C " + (m_dir / "hard") + " -czf " + (m_dir / "hard.tar.gz") + " etcd-v3.4.23/etcd etcd-v3.4.23/etcd-hard");
    ASSERT_EQ(::mkdir((m_dir / "staging").c_str(), 0755), 0);
  }

  kftest::TempDir m_dir;
};

TEST_F(UnpackTest, CopiesTheWantedMembersToTheirBundlePaths) {
  const Artifact artifact =
      tarball_artifact({{"etcd-v3.4.23/etcd", "etcd/bin/etcd"}, {"etcd-v3.4.23/etcdctl", "etcd/bin/etcdctl"}});
  ASSERT_OK(unpack_members(artifact, m_dir / "etcd.tar.gz", m_dir / "staging"));
  EXPECT_EQ(kftest::read_file(m_dir / "staging/etcd/bin/etcd"), "etcd binary\n");
  EXPECT_EQ(kftest::read_file(m_dir / "staging/etcd/bin/etcdctl"), "etcdctl binary\n");
  EXPECT_EQ(listing(m_dir / "staging"), "etcd");
  EXPECT_EQ(listing(m_dir / "staging/etcd/bin"), "etcd etcdctl");
}

TEST_F(UnpackTest, ReadsZstdAndXzToo) {
  sh("tar -C " + (m_dir / "tree") + " --zstd -cf " + (m_dir / "etcd.tar.zst") + " .");
  sh("tar -C " + (m_dir / "tree") + " -cJf " + (m_dir / "etcd.tar.xz") + " .");
  const Artifact artifact = tarball_artifact({{"etcd-v3.4.23/etcdctl", "bin/etcdctl"}});
  for (const char* name : {"etcd.tar.zst", "etcd.tar.xz"}) {
    const std::string staging = m_dir / (std::string("staging-") + name);
    ASSERT_EQ(::mkdir(staging.c_str(), 0755), 0);
    ASSERT_OK(unpack_members(artifact, m_dir / name, staging));
    EXPECT_EQ(kftest::read_file(staging + "/bin/etcdctl"), "etcdctl binary\n") << name;
  }
}

TEST_F(UnpackTest, NamesEveryMissingMember) {
  const Artifact artifact = tarball_artifact({{"etcd-v3.4.23/etcd", "etcd/bin/etcd"},
                                              {"etcd-v3.4.23/nope", "etcd/bin/nope"},
                                              {"etcd/etcd", "etcd/bin/other"}});
  const bs::Status status = unpack_members(artifact, m_dir / "etcd.tar.gz", m_dir / "staging");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message(), "artifact etcd v3.4.23: tarball has no member etcd-v3.4.23/nope, etcd/etcd");
}

TEST_F(UnpackTest, RefusesASymlinkOrHardlinkMember) {
  for (const char* member : {"etcd-v3.4.23/etcd-link", "etcd-v3.4.23/etcd-hard"}) {
    const Artifact artifact = tarball_artifact({{member, "etcd/bin/etcd"}});
    const std::string tarball = m_dir / (std::string(member).find("hard") != std::string::npos ? "hard.tar.gz" : "etcd.tar.gz");
    const bs::Status status = unpack_members(artifact, tarball, m_dir / "staging");
    ASSERT_FALSE(status.ok()) << member;
    EXPECT_EQ(status.error().message(), "artifact etcd v3.4.23: member " + std::string(member) + " is not a regular file");
    EXPECT_FALSE(kftest::exists(m_dir / "staging/etcd/bin/etcd")) << member;
  }
}

// tar names a folder member with its trailing slash.
TEST_F(UnpackTest, RefusesAFolderMember) {
  const Artifact artifact = tarball_artifact({{"etcd-v3.4.23/", "etcd/bin/etcd"}});
  const bs::Status status = unpack_members(artifact, m_dir / "etcd.tar.gz", m_dir / "staging");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message(), "artifact etcd v3.4.23: member etcd-v3.4.23/ is not a regular file");
}

TEST_F(UnpackTest, NeverOverwritesAFileInStaging) {
  kftest::write_file(m_dir / "staging/etcd/bin/etcd", "already here\n");
  const Artifact artifact = tarball_artifact({{"etcd-v3.4.23/etcd", "etcd/bin/etcd"}});
  const bs::Status status = unpack_members(artifact, m_dir / "etcd.tar.gz", m_dir / "staging");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message(), "create " + (m_dir / "staging/etcd/bin/etcd") + ": File exists");
  EXPECT_EQ(kftest::read_file(m_dir / "staging/etcd/bin/etcd"), "already here\n");
}

TEST_F(UnpackTest, AMissingOrCorruptTarballNamesTheArtifact) {
  const Artifact artifact = tarball_artifact({{"etcd-v3.4.23/etcd", "etcd/bin/etcd"}});
  const bs::Status missing = unpack_members(artifact, m_dir / "absent.tar.gz", m_dir / "staging");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(),
            "artifact etcd v3.4.23: cannot read tarball: Failed to open '" + (m_dir / "absent.tar.gz") + "'");
  kftest::write_file(m_dir / "junk.tar.gz", std::string(2048, 'x'));
  const bs::Status junk = unpack_members(artifact, m_dir / "junk.tar.gz", m_dir / "staging");
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.error().message(), "artifact etcd v3.4.23: cannot read tarball: Unrecognized archive format");
  // A gzip stream cut in the middle (half of its bytes).
  sh("f=" + (m_dir / "etcd.tar.gz") + "; head -c $(($(stat -c %s $f) / 2)) $f >" + (m_dir / "cut.tar.gz"));
  const bs::Status cut = unpack_members(artifact, m_dir / "cut.tar.gz", m_dir / "staging");
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().message().rfind("artifact etcd v3.4.23: ", 0), 0u) << cut.error().message();
}

// bundle_entries ------------------------------------------------------------------------------

class EntriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kftest::write_file(m_dir / "cache/cfssl", "cfssl binary\n");
    kftest::write_file(m_dir / "staging/etcd/bin/etcd", "etcd binary\n");
    kftest::write_file(m_dir / "staging/bundle.lock", "{}\n");
    kftest::write_file(m_dir / "staging/images/blobs/sha256/" + std::string(64, 'b'), "blob\n");
    auto parsed = parse_manifest(
        "bundle: t\nkubernetes_version: v1.20.11\nepoch: 1\nartifacts:\n"
        "  - {name: etcd, version: v3.4.23, kind: tarball, url: 'https://example.invalid/etcd.tgz',\n"
        "     checksum: 'sha256:" +
            std::string(64, 'a') +
            "', source: test data,\n"
            "     members: [{from: etcd/etcd, to: etcd/bin/etcd, mode: 0755}]}\n"
            "  - {name: cfssl, version: R1.2, kind: file, url: 'https://example.invalid/cfssl',\n"
            "     checksum: 'sha256:" +
            std::string(64, 'c') + "', source: test data, to: cfssl/bin/cfssl, mode: 0750}\n",
        "m.yaml");
    ASSERT_OK(parsed);
    m_manifest = *parsed;
    m_fetched = {FetchResult{"etcd", m_dir / "cache/etcd.tgz", "", "", 0, std::string(64, 'a'), "", true},
                 FetchResult{"cfssl", m_dir / "cache/cfssl", "", "", 13, std::string(64, 'c'), "", true}};
  }

  kftest::TempDir m_dir;
  Manifest m_manifest;
  std::vector<FetchResult> m_fetched;
};

TEST_F(EntriesTest, FilesMembersExtrasAndEveryParentSorted) {
  const std::string blob = "images/blobs/sha256/" + std::string(64, 'b');
  auto entries = bundle_entries(m_manifest, m_fetched, m_dir / "staging", {"bundle.lock", blob});
  ASSERT_OK(entries);
  std::string got;
  for (const auto& source : *entries) {
    const bs::IndexEntry& e = source.entry;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", e.mode);
    got += std::string(bs::entry_type_name(e.type)) + " " + e.path + " " + mode + " " + std::to_string(e.size) + " " +
           source.source_path + " [" + source.known_sha256 + "] " + (e.origin ? e.origin->artifact : "-") + "\n";
  }
  const std::string s = m_dir / "staging";
  EXPECT_EQ(got, "file bundle.lock 0644 3 " + s + "/bundle.lock [] -\n" +
                     "directory cfssl 0755 0  [] -\n"
                     "directory cfssl/bin 0755 0  [] -\n"
                     "file cfssl/bin/cfssl 0750 13 " +
                     (m_dir / "cache/cfssl") + " [" + std::string(64, 'c') +
                     "] cfssl\n"  // from the verified cache: its digest is known
                     "directory etcd 0755 0  [] -\n"
                     "directory etcd/bin 0755 0  [] -\n"
                     "file etcd/bin/etcd 0755 12 " +
                     s + "/etcd/bin/etcd [] etcd\n" +  // unpacked: the writer hashes it
                     "directory images 0755 0  [] -\n"
                     "directory images/blobs 0755 0  [] -\n"
                     "directory images/blobs/sha256 0755 0  [] -\n"
                     "file " +
                     blob + " 0644 5 " + s + "/" + blob + " [" + std::string(64, 'b') + "] -\n");
  const bs::IndexEntry& cfssl = (*entries)[3].entry;
  ASSERT_TRUE(cfssl.origin.has_value());
  EXPECT_EQ(*cfssl.origin,
            (bs::Origin{"cfssl", "R1.2", "https://example.invalid/cfssl", "sha256:" + std::string(64, 'c')}));
}

TEST_F(EntriesTest, TwoFilesForOnePathAreRefused) {
  kftest::write_file(m_dir / "staging/cfssl/bin/cfssl", "also cfssl\n");
  auto entries = bundle_entries(m_manifest, m_fetched, m_dir / "staging", {"cfssl/bin/cfssl"});
  ASSERT_FALSE(entries.ok());
  EXPECT_EQ(entries.error().message(), "two files want bundle path cfssl/bin/cfssl");
}

TEST_F(EntriesTest, AnArtifactWithoutAResultIsRefused) {
  auto entries = bundle_entries(m_manifest, {m_fetched[0]}, m_dir / "staging", {});
  ASSERT_FALSE(entries.ok());
  EXPECT_EQ(entries.error().message(), "artifact cfssl was not fetched");
}

TEST_F(EntriesTest, AMissingSourceIsNamed) {
  auto entries = bundle_entries(m_manifest, m_fetched, m_dir / "staging", {"sbom.spdx.json"});
  ASSERT_FALSE(entries.ok());
  EXPECT_EQ(entries.error().message(), "stat " + (m_dir / "staging/sbom.spdx.json") + ": No such file or directory");
}

// run_build -----------------------------------------------------------------------------------

class BuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kftest::write_file(m_dir / "tree/etcd-v3.4.23/etcd", "etcd binary\n", 0755);
    kftest::write_file(m_dir / "tree/etcd-v3.4.23/etcdctl", "etcdctl binary\n", 0755);
    sh("tar -C " + (m_dir / "tree") + " -czf " + (m_dir / "etcd.tar.gz") + " .");
    kftest::write_file(m_dir / "cfssl", "cfssl binary\n", 0755);
    m_etcd_sha = tool_digest("sha256sum", m_dir / "etcd.tar.gz");
    m_cfssl_sha = tool_digest("sha256sum", m_dir / "cfssl");
    // Hand-copied into the cache: the cache re-hashes them on the first lookup.
    sh("mkdir -p " + (m_dir / "cache/sha256") + " && cp " + (m_dir / "etcd.tar.gz") + " " +
       (m_dir / ("cache/sha256/" + m_etcd_sha)) + " && cp " + (m_dir / "cfssl") + " " +
       (m_dir / ("cache/sha256/" + m_cfssl_sha)));
    auto key = bs::generate_ed25519_key();
    ASSERT_OK(key);
    ASSERT_OK(bs::write_key_pair(*key, m_dir / "key"));
    ASSERT_EQ(::mkdir((m_dir / "out").c_str(), 0755), 0);
  }

  // A manifest whose URLs point at a port nothing listens on: a fetch would fail.
  std::string manifest(const std::string& etcd_member, const std::string& cfssl_checksum) const {
    return "bundle: build-test\nkubernetes_version: v1.20.11\nepoch: 1631664000\nartifacts:\n"
           "  - name: etcd\n    version: v3.4.23\n    kind: tarball\n"
           "    url: http://127.0.0.1:9/etcd.tar.gz\n    checksum: sha256:" +
           m_etcd_sha +
           "\n    source: test data (sha256sum of the tarball made here)\n    members:\n"
           "      - {from: " +
           etcd_member +
           ", to: etcd/bin/etcd, mode: 0755}\n"
           "  - name: cfssl\n    version: R1.2\n    kind: file\n    url: http://127.0.0.1:9/cfssl\n"
           "    checksum: " +
           cfssl_checksum +
           "\n    source: test data (sha256sum of the file made here)\n    to: cfssl/bin/cfssl\n    mode: 0755\n";
  }

  BuildOptions options(const std::string& manifest_text) {
    kftest::write_file(m_dir / "m.yaml", manifest_text);
    BuildOptions build;
    build.manifest_path = m_dir / "m.yaml";
    build.key_path = m_dir / "key";
    build.output = m_dir / "out/b.run";
    build.installer_path = std::string(KF_BIN_DIR) + "/kubeferry-install";
    build.fetch.cache_dir = m_dir / "cache";
    build.fetch.max_attempts = 1;
    build.level = 3;
    build.threads = 1;
    return build;
  }

  // The build failed with `message` and left nothing in out/.
  void expect_refused(const BuildOptions& build, const std::string& message) {
    bs::NullProgress progress;
    auto summary = run_build(build, progress);
    ASSERT_FALSE(summary.ok());
    EXPECT_EQ(summary.error().message(), message);
    EXPECT_EQ(listing(m_dir / "out"), "");
  }

  kftest::TempDir m_dir;
  std::string m_etcd_sha;
  std::string m_cfssl_sha;
};

TEST_F(BuildTest, BuildsFromTheCacheAlone) {
  if (!kftest::exists(std::string(KF_BIN_DIR) + "/kubeferry-install")) GTEST_SKIP() << "kubeferry-install not built";
  const BuildOptions build = options(manifest("etcd-v3.4.23/etcd", "sha256:" + m_cfssl_sha));
  bs::NullProgress progress;
  auto summary = run_build(build, progress);
  ASSERT_OK(summary);
  EXPECT_EQ(summary->from_cache, 2u);
  EXPECT_EQ(summary->downloaded, 0u);
  EXPECT_EQ(summary->images, 0u);
  EXPECT_EQ(listing(m_dir / "out"), "b.run b.run.sha256 b.run.sha256.sig");  // no staging folder left
  EXPECT_EQ(tool_digest("sha256sum", m_dir / "out/b.run"), summary->written.file_sha256);
  // The bundle, read by the real installer: the files and the three records.
  std::string list;
  ASSERT_EQ(kftest::run_command(m_dir / "out/b.run" + " list --pubkey " + (m_dir / "key.pub"), &list), 0) << list;
  for (const char* path : {" bundle.lock", " cfssl/bin/cfssl", " etcd/bin/etcd", " manifest.yaml", " sbom.spdx.json"}) {
    EXPECT_NE(list.find(path), std::string::npos) << path << " in\n" << list;
  }
  std::string out;
  ASSERT_EQ(kftest::run_command(m_dir / "out/b.run" + " -q extract --to " + (m_dir / "x") + " --pubkey " +
                                    (m_dir / "key.pub"),
                                &out),
            0)
      << out;
  EXPECT_EQ(kftest::read_file(m_dir / "x/etcd/bin/etcd"), "etcd binary\n");
  EXPECT_EQ(kftest::read_file(m_dir / "x/cfssl/bin/cfssl"), "cfssl binary\n");
  EXPECT_EQ(kftest::read_file(m_dir / "x/manifest.yaml"), kftest::read_file(m_dir / "m.yaml"));
  // Same inputs, same bytes.
  BuildOptions again = build;
  again.output = m_dir / "b2.run";
  auto second = run_build(again, progress);
  ASSERT_OK(second);
  EXPECT_EQ(second->written.file_sha256, summary->written.file_sha256);
}

TEST_F(BuildTest, AMissingMemberLeavesNoOutputAndNoStaging) {
  expect_refused(options(manifest("etcd-v3.4.23/nope", "sha256:" + m_cfssl_sha)),
                 "artifact etcd v3.4.23: tarball has no member etcd-v3.4.23/nope");
}

TEST_F(BuildTest, AnUnpinnedArtifactIsRefusedBeforeAnyFetch) {
  const BuildOptions build = options(manifest("etcd-v3.4.23/etcd", "NOT-FOUND"));
  sh("rm -rf " + (m_dir / "cache"));
  expect_refused(build, "manifest " + (m_dir / "m.yaml") +
                            " cannot be built (1 problem):\nartifact cfssl R1.2: no checksum is pinned (NOT FOUND in " +
                            (m_dir / "m.yaml") +
                            ":17:15)\nresolve NOT-FOUND values on a connected machine with: kubeferry pin " +
                            (m_dir / "m.yaml") +
                            " (or pass --checksum NAME=sha256:<hex> with a value read from upstream)");
  EXPECT_FALSE(kftest::exists(m_dir / "cache"));
}

TEST_F(BuildTest, AnOverrideFillsTheMissingPin) {
  if (!kftest::exists(std::string(KF_BIN_DIR) + "/kubeferry-install")) GTEST_SKIP() << "kubeferry-install not built";
  BuildOptions build = options(manifest("etcd-v3.4.23/etcd", "NOT-FOUND"));
  build.checksum_overrides = {"cfssl=sha256:" + m_cfssl_sha};
  bs::NullProgress progress;
  auto summary = run_build(build, progress);
  ASSERT_OK(summary);
  EXPECT_EQ(summary->from_cache, 2u);
}

TEST_F(BuildTest, AMissingKeyIsRefusedBeforeAnyFetch) {
  BuildOptions build = options(manifest("etcd-v3.4.23/etcd", "sha256:" + m_cfssl_sha));
  build.key_path = m_dir / "no-such-key";
  sh("rm -rf " + (m_dir / "cache"));
  bs::NullProgress progress;
  auto summary = run_build(build, progress);
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(summary.error().message().find(m_dir / "no-such-key"), std::string::npos) << summary.error().message();
  EXPECT_EQ(listing(m_dir / "out"), "");
  EXPECT_FALSE(kftest::exists(m_dir / "cache"));
}

TEST_F(BuildTest, AFetchFailureLeavesNoOutput) {
  // The cfssl bytes are not in the cache: the build must fetch them, and 127.0.0.1:9 refuses.
  sh("rm " + (m_dir / ("cache/sha256/" + m_cfssl_sha)));
  bs::NullProgress progress;
  auto summary = run_build(options(manifest("etcd-v3.4.23/etcd", "sha256:" + m_cfssl_sha)), progress);
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(summary.error().message().find("artifact 'cfssl'"), std::string::npos) << summary.error().message();
  EXPECT_EQ(listing(m_dir / "out"), "");
}

}  // namespace
}  // namespace builder
