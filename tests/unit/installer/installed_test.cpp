// The installed-bundle record: an older bundle of the same name and signer is refused with
// exact text, --allow-downgrade turns that into a warning, other names and signers are never
// compared, and a converged install does not rewrite the record.
#include "bundle/installed.hpp"

#include <gtest/gtest.h>

#include "fake_host.hpp"
#include "support/test_util.hpp"

namespace installer {
namespace {

bundlespec::Index index_of(const std::string& name, const std::string& signer, int64_t created) {
  bundlespec::Index index;
  index.name = name;
  index.signer = signer;
  index.created = created;
  index.payload.sha256 = std::string(64, 'a');
  return index;
}

TEST(Installed, NoRecordMeansNothingInstalled) {
  FakeFs fs;
  auto bundles = load_installed(fs);
  ASSERT_TRUE(bundles.ok()) << bundles.error().message();
  EXPECT_TRUE(bundles->empty());
  EXPECT_EQ(downgrade_problem(*bundles, index_of("rig", "SHA256:aa", 5)), "");
}

TEST(Installed, OlderBundleOfTheSameNameAndSignerIsRefused) {
  FakeFs fs;
  fs.nodes["/var/lib/kubeferry"] = {FileStat::Type::directory, "", 0700};
  ASSERT_TRUE(record_installed(fs, {}, index_of("rig", "SHA256:aa", 1750118400)).ok());
  EXPECT_EQ(fs.nodes.at(k_installed_path).mode, 0600u);
  auto bundles = load_installed(fs);
  ASSERT_TRUE(bundles.ok()) << bundles.error().message();
  ASSERT_EQ(bundles->size(), 1u);
  EXPECT_EQ(bundles->front(), (InstalledBundle{"rig", "SHA256:aa", 1750118400, std::string(64, 'a')}));

  std::string warning;
  const auto old = index_of("rig", "SHA256:aa", 1631664000);
  const Status refused = check_downgrade(*bundles, old, Downgrade::refuse, warning);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), bundlespec::ErrorCode::verification);
  EXPECT_EQ(refused.error().message(),
            "bundle rig created 2021-09-15T00:00:00Z is older than the rig installed on this host (created "
            "2025-06-17T00:00:00Z, same signer): refusing to go back (pass --allow-downgrade to install it anyway)");
  EXPECT_TRUE(check_downgrade(*bundles, old, Downgrade::allow, warning).ok());
  EXPECT_EQ(warning,
            "bundle rig created 2021-09-15T00:00:00Z is older than the rig installed on this host (created "
            "2025-06-17T00:00:00Z, same signer) (--allow-downgrade is set)");

  // The same time (a rebuild), a newer one, another name or another signer: no downgrade.
  EXPECT_EQ(downgrade_problem(*bundles, index_of("rig", "SHA256:aa", 1750118400)), "");
  EXPECT_EQ(downgrade_problem(*bundles, index_of("rig", "SHA256:aa", 1750118401)), "");
  EXPECT_EQ(downgrade_problem(*bundles, index_of("rig2", "SHA256:aa", 1)), "");
  EXPECT_EQ(downgrade_problem(*bundles, index_of("rig", "SHA256:bb", 1)), "");
}

TEST(Installed, RecordKeepsOneEntryPerNameAndSignerAndIsNotRewrittenWhenUnchanged) {
  FakeFs fs;
  fs.nodes["/var/lib/kubeferry"] = {FileStat::Type::directory, "", 0700};
  ASSERT_TRUE(record_installed(fs, {}, index_of("b", "SHA256:aa", 2)).ok());
  auto bundles = load_installed(fs);
  ASSERT_TRUE(bundles.ok());
  ASSERT_TRUE(record_installed(fs, *bundles, index_of("a", "SHA256:aa", 1)).ok());
  bundles = load_installed(fs);
  ASSERT_TRUE(bundles.ok());
  ASSERT_TRUE(record_installed(fs, *bundles, index_of("b", "SHA256:aa", 3)).ok());
  EXPECT_EQ(fs.nodes.at(k_installed_path).content,
            "{\"bundles\":[{\"created\":1,\"name\":\"a\",\"payload_sha256\":\"" + std::string(64, 'a') +
                "\",\"signer\":\"SHA256:aa\"},{\"created\":3,\"name\":\"b\",\"payload_sha256\":\"" +
                std::string(64, 'a') + "\",\"signer\":\"SHA256:aa\"}],\"version\":1}\n");
  bundles = load_installed(fs);
  ASSERT_TRUE(bundles.ok());
  fs.calls.clear();
  ASSERT_TRUE(record_installed(fs, *bundles, index_of("b", "SHA256:aa", 3)).ok());
  for (const auto& call : fs.calls) EXPECT_EQ(call.rfind("write", 0), std::string::npos) << call;
}

TEST(Installed, DamagedRecordIsAnErrorNamingTheFile) {
  FakeFs fs;
  fs.nodes[k_installed_path] = {FileStat::Type::file, "{\"version\":7}", 0600};
  auto bundles = load_installed(fs);
  ASSERT_FALSE(bundles.ok());
  EXPECT_EQ(bundles.error().message(),
            "installed-bundle record /var/lib/kubeferry/installed-bundles.json: not a version 1 record (move it away "
            "to start a new record)");
}

}  // namespace
}  // namespace installer
