// The content-addressed download cache (builder/cache.hpp) on a real file system: the layout,
// insert's sidecar-then-rename, and each lookup rule of the header (a miss, a trusted hit, a
// size mismatch, a hand-copied file re-hashed, a wrong one deleted, CacheCheck::full), with the
// exact messages of the failures. Expected digests come from sha256sum/sha512sum, not from us.
#include "cache.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <optional>

#include "support/test_util.hpp"

namespace builder {
namespace {

using bundlespec::Checksum;
using bundlespec::DigestAlgorithm;
using bundlespec::ErrorCode;

const std::string k_data = "the bytes of an artifact\n";

// The hex digest of `path` as coreutils' TOOL (sha256sum, sha512sum) prints it.
std::string tool_digest(const std::string& tool, const std::string& path) {
  std::string output;
  EXPECT_EQ(kftest::run_command(tool + " " + path, &output), 0) << output;
  return output.substr(0, output.find(' '));
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Restores an environment variable when the test ends.
class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : m_name(name) {
    if (const char* value = std::getenv(name)) m_old = value;
  }
  ~EnvGuard() {
    if (m_old) {
      ::setenv(m_name, m_old->c_str(), 1);
    } else {
      ::unsetenv(m_name);
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  const char* m_name;
  std::optional<std::string> m_old;
};

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kftest::write_file(m_dir / "source", k_data);
    m_sha256 = tool_digest("sha256sum", m_dir / "source");
    m_sha512 = tool_digest("sha512sum", m_dir / "source");
    ASSERT_EQ(m_sha256.size(), 64u);
    ASSERT_EQ(m_sha512.size(), 128u);
  }

  Checksum sha256() const { return Checksum{DigestAlgorithm::sha256, m_sha256}; }
  Checksum sha512() const { return Checksum{DigestAlgorithm::sha512, m_sha512}; }

  // A verified download in the cache's partial folder, inserted with `final_url`.
  CacheEntry insert(const Cache& cache, const Checksum& checksum, const std::string& final_url) {
    const std::string partial = cache.partial_path(checksum);
    kftest::write_file(partial, k_data, 0600);
    CacheEntry entry;
    entry.size = k_data.size();
    entry.sha256_hex = m_sha256;
    if (checksum.algorithm == DigestAlgorithm::sha512) entry.sha512_hex = m_sha512;
    entry.final_url = final_url;
    auto inserted = cache.insert(partial, checksum, entry);
    EXPECT_OK(inserted);
    return inserted.ok() ? *inserted : CacheEntry{};
  }

  kftest::TempDir m_dir;
  std::string m_sha256;
  std::string m_sha512;
};

TEST_F(CacheTest, OpenMakesTheLayoutAndItsParents) {
  const std::string root = m_dir / "a/b/cache";
  auto cache = Cache::open(root);
  ASSERT_OK(cache);
  EXPECT_EQ(cache->root(), root);
  for (const char* sub : {"", "/sha256", "/sha512", "/partial"}) EXPECT_TRUE(is_dir(root + sub)) << sub;
  EXPECT_EQ(cache->partial_dir(), root + "/partial");
  EXPECT_EQ(cache->entry_path(sha256()), root + "/sha256/" + m_sha256);
  EXPECT_EQ(cache->entry_path(sha512()), root + "/sha512/" + m_sha512);
  EXPECT_EQ(cache->partial_path(sha256()), root + "/partial/sha256-" + m_sha256);
  EXPECT_EQ(cache->partial_path(sha512()), root + "/partial/sha512-" + m_sha512);
  // Opening it again is fine.
  EXPECT_OK(Cache::open(root));
}

TEST_F(CacheTest, OpenRefusesAnEmptyRoot) {
  auto cache = Cache::open("");
  ASSERT_FALSE(cache.ok());
  EXPECT_EQ(cache.error().code(), ErrorCode::usage);
  EXPECT_EQ(cache.error().message(), "the cache folder must not be empty");
}

TEST_F(CacheTest, OpenBelowAFileFailsNamingTheFolder) {
  kftest::write_file(m_dir / "file", "not a folder\n");
  auto cache = Cache::open(m_dir / "file/cache");
  ASSERT_FALSE(cache.ok());
  EXPECT_EQ(cache.error().code(), ErrorCode::failure);
  EXPECT_EQ(cache.error().message(), "create cache folder " + (m_dir / "file/cache") + ": Not a directory");
  EXPECT_EQ(kftest::read_file(m_dir / "file"), "not a folder\n");
}

TEST(DefaultCacheDir, XdgThenHomeThenAUsageError) {
  EnvGuard xdg("XDG_CACHE_HOME");
  EnvGuard home("HOME");
  ::setenv("XDG_CACHE_HOME", "/xdg/cache", 1);
  ::setenv("HOME", "/home/user", 1);
  auto dir = default_cache_dir();
  ASSERT_OK(dir);
  EXPECT_EQ(*dir, "/xdg/cache/kubeferry");
  // A relative XDG_CACHE_HOME is ignored, as the XDG spec says.
  ::setenv("XDG_CACHE_HOME", "relative", 1);
  dir = default_cache_dir();
  ASSERT_OK(dir);
  EXPECT_EQ(*dir, "/home/user/.cache/kubeferry");
  ::unsetenv("XDG_CACHE_HOME");
  dir = default_cache_dir();
  ASSERT_OK(dir);
  EXPECT_EQ(*dir, "/home/user/.cache/kubeferry");
  ::setenv("HOME", "also-relative", 1);
  dir = default_cache_dir();
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.error().code(), ErrorCode::usage);
  EXPECT_EQ(dir.error().message(),
            "cannot choose a download cache: neither XDG_CACHE_HOME nor HOME is an absolute path; pass --cache DIR");
  ::unsetenv("HOME");
  EXPECT_FALSE(default_cache_dir().ok());
}

TEST_F(CacheTest, AMissIsNotAnError) {
  auto cache = Cache::open(m_dir / "cache");
  ASSERT_OK(cache);
  auto hit = cache->lookup(sha256(), CacheCheck::size);
  ASSERT_OK(hit);
  EXPECT_FALSE(hit->has_value());
}

TEST_F(CacheTest, InsertMovesTheFileAndWritesItsSidecar) {
  auto cache = Cache::open(m_dir / "cache");
  ASSERT_OK(cache);
  const CacheEntry entry = insert(*cache, sha256(), "https://mirror.invalid/final");
  const std::string path = cache->entry_path(sha256());
  EXPECT_EQ(entry.path, path);
  EXPECT_EQ(kftest::read_file(path), k_data);
  EXPECT_EQ(mode_of(path), 0644u);
  EXPECT_FALSE(kftest::exists(cache->partial_path(sha256())));
  EXPECT_EQ(kftest::read_file(path + ".meta"), "size=" + std::to_string(k_data.size()) + "\nsha256=" + m_sha256 +
                                                   "\nsha512=\nfinal_url=https://mirror.invalid/final\n");

  auto hit = cache->lookup(sha256(), CacheCheck::size);
  ASSERT_OK(hit);
  ASSERT_TRUE(hit->has_value());
  EXPECT_EQ((*hit)->path, path);
  EXPECT_EQ((*hit)->size, k_data.size());
  EXPECT_EQ((*hit)->sha256_hex, m_sha256);
  EXPECT_EQ((*hit)->sha512_hex, "");
  EXPECT_EQ((*hit)->final_url, "https://mirror.invalid/final");
}

TEST_F(CacheTest, Sha512PinsLiveUnderSha512) {
  auto cache = Cache::open(m_dir / "cache");
  ASSERT_OK(cache);
  insert(*cache, sha512(), "");
  EXPECT_EQ(kftest::read_file(m_dir / ("cache/sha512/" + m_sha512)), k_data);
  EXPECT_FALSE(kftest::exists(m_dir / ("cache/sha256/" + m_sha256)));
  auto hit = cache->lookup(sha512(), CacheCheck::full);
  ASSERT_OK(hit);
  ASSERT_TRUE(hit->has_value());
  EXPECT_EQ((*hit)->sha512_hex, m_sha512);
  EXPECT_EQ((*hit)->sha256_hex, m_sha256);
  // The same bytes under their sha256 are another entry: not there.
  auto other = cache->lookup(sha256(), CacheCheck::size);
  ASSERT_OK(other);
  EXPECT_FALSE(other->has_value());
}

TEST_F(CacheTest, InsertOfAMissingFileFailsAndStoresNothing) {
  auto cache = Cache::open(m_dir / "cache");
  ASSERT_OK(cache);
  const std::string missing = cache->partial_path(sha256());
  CacheEntry entry;
  entry.size = k_data.size();
  entry.sha256_hex = m_sha256;
  auto inserted = cache->insert(missing, sha256(), entry);
  ASSERT_FALSE(inserted.ok());
  EXPECT_EQ(inserted.error().message(), "chmod " + missing + ": No such file or directory");
  EXPECT_FALSE(kftest::exists(cache->entry_path(sha256())));
  // The sidecar written first does not make a hit without its file.
  auto hit = cache->lookup(sha256(), CacheCheck::size);
  ASSERT_OK(hit);
  EXPECT_FALSE(hit->has_value());
}

TEST_F(CacheTest, AHitOfTheWrongSizeIsDeletedAndMisses) {
  auto cache = Cache::open(m_dir / "cache");
  ASSERT_OK(cache);
  insert(*cache, sha256(), "");
  const std::string path = cache->entry_path(sha256());
  ASSERT_EQ(::truncate(path.c_str(), 3), 0);
  auto hit = cache->lookup(sha256(), CacheCheck::size);
  ASSERT_OK(hit);
  EXPECT_FALSE(hit->has_value());
  EXPECT_FALSE(kftest::exists(path));
  EXPECT_FALSE(kftest::exists(path + ".meta"));
}

TEST_F(CacheTest, AHitIsTrustedByNameUnlessCheckedInFull) {
  auto cache = Cache::open(m_dir / "cache");
  ASSERT_OK(cache);
  insert(*cache, sha256(), "https://mirror.invalid/x");
  const std::string path = cache->entry_path(sha256());
  // Same size, other bytes: the cheap check cannot see it, the full one can.
  std::string changed = k_data;
  changed[0] = 'T';
  kftest::write_file(path, changed);
  auto trusted = cache->lookup(sha256(), CacheCheck::size);
  ASSERT_OK(trusted);
  EXPECT_TRUE(trusted->has_value());
  auto full = cache->lookup(sha256(), CacheCheck::full);
  ASSERT_OK(full);
  EXPECT_FALSE(full->has_value());
  EXPECT_FALSE(kftest::exists(path));
  EXPECT_FALSE(kftest::exists(path + ".meta"));
}

TEST_F(CacheTest, AFullCheckOfAGoodHitKeepsItsFinalUrl) {
  auto cache = Cache::open(m_dir / "cache");
  ASSERT_OK(cache);
  insert(*cache, sha256(), "https://mirror.invalid/x");
  auto full = cache->lookup(sha256(), CacheCheck::full);
  ASSERT_OK(full);
  ASSERT_TRUE(full->has_value());
  EXPECT_EQ((*full)->final_url, "https://mirror.invalid/x");
  EXPECT_EQ((*full)->sha512_hex, m_sha512);  // re-hashed: both digests known now
}

TEST_F(CacheTest, AHandCopiedFileIsRehashedAndGetsASidecar) {
  auto cache = Cache::open(m_dir / "cache");
  ASSERT_OK(cache);
  const std::string path = cache->entry_path(sha256());
  kftest::write_file(path, k_data);
  auto hit = cache->lookup(sha256(), CacheCheck::size);
  ASSERT_OK(hit);
  ASSERT_TRUE(hit->has_value());
  EXPECT_EQ((*hit)->path, path);
  EXPECT_EQ((*hit)->size, k_data.size());
  EXPECT_EQ((*hit)->sha256_hex, m_sha256);
  EXPECT_EQ((*hit)->sha512_hex, m_sha512);
  EXPECT_EQ((*hit)->final_url, "");
  EXPECT_EQ(kftest::read_file(path + ".meta"), "size=" + std::to_string(k_data.size()) + "\nsha256=" + m_sha256 +
                                                   "\nsha512=" + m_sha512 + "\nfinal_url=\n");
}

TEST_F(CacheTest, AMalformedSidecarMeansARehash) {
  auto cache = Cache::open(m_dir / "cache");
  ASSERT_OK(cache);
  insert(*cache, sha256(), "https://mirror.invalid/x");
  const std::string meta = cache->entry_path(sha256()) + ".meta";
  kftest::write_file(meta, "size=twelve\nsha256=" + m_sha256 + "\n");
  auto hit = cache->lookup(sha256(), CacheCheck::size);
  ASSERT_OK(hit);
  ASSERT_TRUE(hit->has_value());
  EXPECT_EQ((*hit)->size, k_data.size());
  EXPECT_EQ((*hit)->final_url, "");  // the malformed sidecar's URL is not trusted
  EXPECT_EQ(kftest::read_file(meta), "size=" + std::to_string(k_data.size()) + "\nsha256=" + m_sha256 + "\nsha512=" +
                                         m_sha512 + "\nfinal_url=\n");
}

TEST_F(CacheTest, AHandCopiedWrongFileIsDeletedAndMisses) {
  auto cache = Cache::open(m_dir / "cache");
  ASSERT_OK(cache);
  const std::string path = cache->entry_path(sha256());
  kftest::write_file(path, "other bytes\n");
  auto hit = cache->lookup(sha256(), CacheCheck::size);
  ASSERT_OK(hit);
  EXPECT_FALSE(hit->has_value());
  EXPECT_FALSE(kftest::exists(path));
  EXPECT_FALSE(kftest::exists(path + ".meta"));
}

TEST_F(CacheTest, ALookupFailsOnErrorsOtherThanNotThere) {
  auto cache = Cache::open(m_dir / "cache");
  ASSERT_OK(cache);
  // <root>/sha256 replaced by a file: stat says "Not a directory", which is not a miss.
  ASSERT_EQ(::rmdir((m_dir / "cache/sha256").c_str()), 0);
  kftest::write_file(m_dir / "cache/sha256", "a file\n");
  auto hit = cache->lookup(sha256(), CacheCheck::size);
  ASSERT_FALSE(hit.ok());
  EXPECT_EQ(hit.error().message(), "stat cache entry " + cache->entry_path(sha256()) + ": Not a directory");
}

}  // namespace
}  // namespace builder
