// The downloader against a real nginx on 127.0.0.1 (scripts/rig/mirror.sh), with the rig's
// fault-injecting proxy for 500s and cut connections. Skipped only when nginx is missing.
#include "fetch.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "bundlespec/digest.hpp"
#include "registry.hpp"
#include "support/test_util.hpp"

namespace {

using builder::FetchOptions;
using builder::FetchRequest;
using builder::FetchResult;
using bundlespec::Checksum;
using bundlespec::DigestAlgorithm;
using bundlespec::ErrorCode;
using bundlespec::RecordingProgress;

// Field by field, so the test keeps compiling when FetchRequest grows optional members.
FetchRequest make_request(const std::string& name, const std::string& url, Checksum checksum) {
  FetchRequest request;
  request.name = name;
  request.url = url;
  request.checksum = std::move(checksum);
  return request;
}

struct MirrorFile {
  uint64_t size = 0;
  std::string sha256;
  std::string sha512;
};

const std::string k_etcd = "github.com/etcd-io/etcd/releases/download/v3.4.23/etcd-v3.4.23-linux-amd64.tar.gz";
const std::string k_cni =
    "github.com/containernetworking/plugins/releases/download/v1.1.1/"
    "cni-plugins-linux-amd64-v1.1.1.tgz";
const std::string k_k8s = "dl.k8s.io/v1.20.11/kubernetes-server-linux-amd64.tar.gz";
const std::string k_blob = "test/blob.bin";
const std::string k_small = "test/small.txt";

class FetchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The rig is on 127.0.0.1: never send it through a proxy from the environment.
    for (const char* var : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
      ::unsetenv(var);
    }
    if (kftest::run_command("command -v nginx") != 0) {
      s_skip = "nginx is not installed (apt-get install nginx-light)";
      return;
    }
    s_rig = new kftest::TempDir();
    const std::string script = std::string(KF_SOURCE_DIR) + "/scripts/rig/mirror.sh";
    const std::string mirror = std::string(KF_BIN_DIR) + "/../rig/mirror";
    std::string output;
    if (kftest::run_command("bash " + script + " build " + mirror, &output) != 0 ||
        kftest::run_command("bash " + script + " start " + mirror + " " + s_rig->path(), &output) != 0) {
      s_setup_error = "mirror.sh failed: " + output;
      return;
    }
    std::istringstream env(kftest::read_file(*s_rig / "env"));
    for (std::string line; std::getline(env, line);) {
      const size_t eq = line.find('=');
      if (eq != std::string::npos) s_env[line.substr(0, eq)] = line.substr(eq + 1);
    }
    std::istringstream tsv(kftest::read_file(mirror + "/checksums.tsv"));
    std::string path;
    MirrorFile file;
    while (tsv >> path >> file.size >> file.sha256 >> file.sha512) s_files[path] = file;
  }

  static void TearDownTestSuite() {
    if (s_rig == nullptr) return;
    std::ignore =
        kftest::run_command("bash " + std::string(KF_SOURCE_DIR) + "/scripts/rig/mirror.sh stop " + s_rig->path());
    delete s_rig;
    s_rig = nullptr;
  }

  void SetUp() override {
    if (!s_skip.empty()) GTEST_SKIP() << s_skip;
    ASSERT_EQ(s_setup_error, "");
    ASSERT_EQ(s_files.count(k_blob), 1u);
    m_options.cache_dir = m_dir / "cache";
    m_options.initial_backoff = std::chrono::milliseconds(50);
    m_options.connect_timeout = std::chrono::milliseconds(5000);
    m_options.low_speed_time = std::chrono::seconds(10);
    m_options.interrupted = &m_stop;
    m_log_start = log_lines().size();
  }

  static std::string mirror_url() { return s_env["MIRROR_URL"]; }
  static std::string proxy_url() { return s_env["PROXY_URL"]; }

  static FetchRequest request(const std::string& name, const std::string& url, const std::string& file,
                              DigestAlgorithm algorithm = DigestAlgorithm::sha256) {
    const MirrorFile& f = s_files.at(file);
    return make_request(name, url, Checksum{algorithm, algorithm == DigestAlgorithm::sha256 ? f.sha256 : f.sha512});
  }

  // nginx's access log lines (format "METHOD URI STATUS BYTES \"RANGE\"").
  static std::vector<std::string> log_lines() {
    std::istringstream in(kftest::read_file(s_env["ACCESS_LOG"]));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  // Lines logged since SetUp; waits up to 2 s until at least `count` are there (nginx logs a
  // request when it ends, which may be just after the client saw the last byte).
  std::vector<std::string> new_log_lines(size_t count) const {
    std::vector<std::string> lines;
    for (int i = 0; i < 40; ++i) {
      lines = log_lines();
      if (lines.size() >= m_log_start + count) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::vector<std::string>(lines.begin() + static_cast<long>(m_log_start), lines.end());
  }

  std::vector<std::string> files_in(const std::string& sub) const {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(m_dir / ("cache/" + sub), ec)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  static uint64_t file_size(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  }

  inline static kftest::TempDir* s_rig = nullptr;
  inline static std::string s_skip;
  inline static std::string s_setup_error;
  inline static std::map<std::string, std::string> s_env;
  inline static std::map<std::string, MirrorFile> s_files;

  kftest::TempDir m_dir;
  FetchOptions m_options;
  std::atomic<bool> m_stop{false};
  RecordingProgress m_progress;
  size_t m_log_start = 0;
};

TEST_F(FetchTest, DownloadsThroughMirrorRuleAndVerifiesChecksum) {
  m_options.mirrors = {{"https://github.com/", mirror_url() + "/github.com/"}};
  const auto results = builder::fetch_all({request("etcd", "https://" + k_etcd, k_etcd)}, m_options, m_progress);
  ASSERT_OK(results);
  ASSERT_EQ(results->size(), 1u);
  const FetchResult& r = results->front();
  const MirrorFile& f = s_files.at(k_etcd);
  EXPECT_EQ(r.name, "etcd");
  EXPECT_EQ(r.path, m_dir / ("cache/sha256/" + f.sha256));
  EXPECT_EQ(r.url, mirror_url() + "/" + k_etcd);
  EXPECT_EQ(r.final_url, mirror_url() + "/" + k_etcd);
  EXPECT_EQ(r.size, f.size);
  EXPECT_EQ(r.sha256_hex, f.sha256);
  EXPECT_EQ(r.sha512_hex, "");
  EXPECT_FALSE(r.from_cache);
  auto on_disk = bundlespec::hash_file_hex(r.path, DigestAlgorithm::sha256);
  ASSERT_OK(on_disk);
  EXPECT_EQ(*on_disk, f.sha256);
  EXPECT_EQ(files_in("partial"), std::vector<std::string>{});
  EXPECT_EQ(new_log_lines(1), std::vector<std::string>{"GET /" + k_etcd + " 200 " + std::to_string(f.size) + " \"-\""});
  EXPECT_EQ(m_progress.events(),
            (std::vector<std::string>{"plan 1", "start etcd " + std::to_string(f.size) + " 0",
                                      "advance etcd " + std::to_string(f.size), "finish etcd done"}));
}

TEST_F(FetchTest, Sha512PinStoresUnderSha512AndStillReportsSha256) {
  const auto results =
      builder::fetch_all({request("kubernetes-server", mirror_url() + "/" + k_k8s, k_k8s, DigestAlgorithm::sha512)},
                         m_options, m_progress);
  ASSERT_OK(results);
  const MirrorFile& f = s_files.at(k_k8s);
  EXPECT_EQ(results->front().path, m_dir / ("cache/sha512/" + f.sha512));
  EXPECT_EQ(results->front().sha512_hex, f.sha512);
  EXPECT_EQ(results->front().sha256_hex, f.sha256);
  std::string listing;
  ASSERT_EQ(kftest::run_command("tar tzf " + results->front().path, &listing), 0);
  EXPECT_NE(listing.find("kubernetes/server/bin/kube-apiserver\n"), std::string::npos);
}

TEST_F(FetchTest, RetriesTwo500sThenSucceeds) {
  m_options.max_attempts = 3;
  const std::string url = proxy_url() + "/fault/500x2-retry/" + k_small;
  const auto results = builder::fetch_all({request("small", url, k_small)}, m_options, m_progress);
  ASSERT_OK(results);
  EXPECT_EQ(results->front().sha256_hex, s_files.at(k_small).sha256);
  const std::vector<std::string> expected = {
      "plan 1",
      "message small: HTTP 500 Internal Server Error; retrying in 50 ms (attempt 2 of 3)",
      "message small: HTTP 500 Internal Server Error; retrying in 100 ms (attempt 3 of 3)",
      "start small 26 0",
      "advance small 26",
      "finish small done"};
  EXPECT_EQ(m_progress.events(), expected);
  // The two 500s came from the proxy; nginx served the one good answer.
  EXPECT_EQ(new_log_lines(1), std::vector<std::string>{"GET /" + k_small + " 200 26 \"-\""});
}

TEST_F(FetchTest, GivesUpAfterMaxAttemptsOf500) {
  m_options.max_attempts = 2;
  const std::string url = proxy_url() + "/fault/500x5-giveup/" + k_small;
  const auto results = builder::fetch_all({request("small", url, k_small)}, m_options, m_progress);
  ASSERT_FALSE(results.ok());
  EXPECT_EQ(results.error().code(), ErrorCode::failure);
  EXPECT_EQ(results.error().message(), "artifact 'small': GET " + url +
                                           ": HTTP 500 Internal Server Error (gave up after 2 "
                                           "attempts)");
  EXPECT_EQ(files_in("partial"), std::vector<std::string>{});
  EXPECT_EQ(files_in("sha256"), std::vector<std::string>{});
}

TEST_F(FetchTest, CutConnectionResumesWithOnlyTheMissingBytes) {
  const std::string url = proxy_url() + "/fault/cut1000000-resume/" + k_blob;
  const auto results = builder::fetch_all({request("blob", url, k_blob)}, m_options, m_progress);
  ASSERT_OK(results);
  const MirrorFile& f = s_files.at(k_blob);
  EXPECT_EQ(results->front().sha256_hex, f.sha256);
  auto on_disk = bundlespec::hash_file_hex(results->front().path, DigestAlgorithm::sha256);
  ASSERT_OK(on_disk);
  EXPECT_EQ(*on_disk, f.sha256);
  // Second request: a Range from byte 1000000, answered 206 with exactly the rest.
  const auto lines = new_log_lines(2);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("GET /" + k_blob + " 200 ", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1], "GET /" + k_blob + " 206 " + std::to_string(f.size - 1000000) + " \"bytes=1000000-\"");
  const auto& events = m_progress.events();
  EXPECT_NE(std::find(events.begin(), events.end(), "start blob 4194304 1000000"), events.end());
}

TEST_F(FetchTest, ResumesFromPartialFileOfEarlierRun) {
  const MirrorFile& f = s_files.at(k_blob);
  const std::string blob = kftest::read_file(std::string(KF_BIN_DIR) + "/../rig/mirror/www/" + k_blob);
  ASSERT_EQ(blob.size(), f.size);
  kftest::write_file(m_dir / ("cache/partial/sha256-" + f.sha256), blob.substr(0, 123456));
  const auto results =
      builder::fetch_all({request("blob", mirror_url() + "/" + k_blob, k_blob)}, m_options, m_progress);
  ASSERT_OK(results);
  EXPECT_EQ(results->front().sha256_hex, f.sha256);
  EXPECT_EQ(new_log_lines(1), std::vector<std::string>{"GET /" + k_blob + " 206 " + std::to_string(f.size - 123456) +
                                                       " \"bytes=123456-\""});
}

TEST_F(FetchTest, ServerIgnoringRangeRestartsCleanly) {
  const MirrorFile& f = s_files.at(k_blob);
  // A partial file of wrong bytes: if they were kept, the checksum would fail.
  kftest::write_file(m_dir / ("cache/partial/sha256-" + f.sha256), std::string(5000, 'x'));
  const std::string url = proxy_url() + "/fault/norange/" + k_blob;
  const auto results = builder::fetch_all({request("blob", url, k_blob)}, m_options, m_progress);
  ASSERT_OK(results);
  EXPECT_EQ(results->front().size, f.size);
  EXPECT_EQ(results->front().sha256_hex, f.sha256);
  const auto& events = m_progress.events();
  EXPECT_EQ(events.at(1), "message blob: server ignored the range request (HTTP 200); downloading from the start");
  EXPECT_EQ(events.at(2), "start blob 4194304 0");
  EXPECT_EQ(new_log_lines(1), std::vector<std::string>{"GET /" + k_blob + " 200 " + std::to_string(f.size) + " \"-\""});
}

TEST_F(FetchTest, ThrottledMirrorHitsLowSpeedTimeout) {
  m_options.max_attempts = 1;
  m_options.low_speed_limit = 1048576;
  m_options.low_speed_time = std::chrono::seconds(1);
  const std::string url = mirror_url() + "/slow/" + k_blob;
  const auto start = std::chrono::steady_clock::now();
  const auto results = builder::fetch_all({request("blob", url, k_blob)}, m_options, m_progress);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(results.ok());
  EXPECT_EQ(results.error().message(),
            "artifact 'blob': GET " + url +
                ": Operation too slow. Less than 1048576 bytes/sec transferred the last 1 seconds");
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  // The bytes that did arrive are kept for a resume; nothing entered the cache.
  const std::string partial = m_dir / ("cache/partial/sha256-" + s_files.at(k_blob).sha256);
  EXPECT_GT(file_size(partial), 0u);
  EXPECT_EQ(files_in("sha256"), std::vector<std::string>{});
}

TEST_F(FetchTest, NotFoundNamesArtifactAndUrlWithoutRetrying) {
  const std::string url = mirror_url() + "/test/missing.bin";
  const FetchRequest missing = make_request("missing", url, Checksum{DigestAlgorithm::sha256, std::string(64, 'a')});
  const auto results = builder::fetch_all({missing}, m_options, m_progress);
  ASSERT_FALSE(results.ok());
  EXPECT_EQ(results.error().code(), ErrorCode::failure);
  EXPECT_EQ(results.error().message(), "artifact 'missing': GET " + url + ": HTTP 404 Not Found");
  EXPECT_EQ(new_log_lines(1).size(), 1u);
  EXPECT_EQ(files_in("partial"), std::vector<std::string>{});
  EXPECT_EQ(m_progress.events(), (std::vector<std::string>{"plan 1", "finish missing failed"}));
}

TEST_F(FetchTest, WrongChecksumDeletesBytesAndNamesBothDigests) {
  const std::string url = mirror_url() + "/" + k_small;
  const std::string wrong = bundlespec::sha256_hex("not the mirror's file");
  const FetchRequest r = make_request("small", url, Checksum{DigestAlgorithm::sha256, wrong});
  const auto results = builder::fetch_all({r}, m_options, m_progress);
  ASSERT_FALSE(results.ok());
  EXPECT_EQ(results.error().code(), ErrorCode::verification);
  EXPECT_EQ(results.error().message(), "artifact 'small': checksum mismatch for " + url + ": expected sha256:" + wrong +
                                           ", got sha256:" + s_files.at(k_small).sha256 +
                                           "; the downloaded bytes were deleted");
  EXPECT_EQ(files_in("sha256"), std::vector<std::string>{});
  EXPECT_EQ(files_in("partial"), std::vector<std::string>{});
}

TEST_F(FetchTest, RedirectChainRecordsFinalUrl) {
  const std::string url = mirror_url() + "/r1/" + k_small;
  const auto results = builder::fetch_all({request("small", url, k_small)}, m_options, m_progress);
  ASSERT_OK(results);
  EXPECT_EQ(results->front().url, url);
  EXPECT_EQ(results->front().final_url, mirror_url() + "/" + k_small);
  const auto lines = new_log_lines(3);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].rfind("GET /r1/" + k_small + " 302 ", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("GET /r2/" + k_small + " 301 ", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2], "GET /" + k_small + " 200 26 \"-\"");
}

TEST_F(FetchTest, WarmCacheSendsNoRequest) {
  const std::string url = mirror_url() + "/r1/" + k_small;
  const auto cold = builder::fetch_all({request("small", url, k_small)}, m_options, m_progress);
  ASSERT_OK(cold);
  const size_t after_cold = new_log_lines(3).size();
  ASSERT_EQ(after_cold, 3u);
  RecordingProgress warm_progress;
  const auto warm = builder::fetch_all({request("small", url, k_small)}, m_options, warm_progress);
  ASSERT_OK(warm);
  EXPECT_TRUE(warm->front().from_cache);
  EXPECT_EQ(warm->front().path, cold->front().path);
  EXPECT_EQ(warm->front().final_url, cold->front().final_url);  // kept in the sidecar
  EXPECT_EQ(warm->front().size, 26u);
  EXPECT_EQ(warm->front().sha256_hex, cold->front().sha256_hex);
  EXPECT_EQ(warm_progress.events(), (std::vector<std::string>{"plan 1", "finish small cached"}));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(new_log_lines(0).size(), after_cold);
}

TEST_F(FetchTest, FullCacheCheckReplacesCorruptedEntry) {
  const std::string url = mirror_url() + "/" + k_small;
  ASSERT_OK(builder::fetch_all({request("small", url, k_small)}, m_options, m_progress));
  const std::string entry = m_dir / ("cache/sha256/" + s_files.at(k_small).sha256);
  kftest::write_file(entry, std::string(26, 'z'));  // same size, wrong bytes
  // The default check trusts the name (documented); the full check re-hashes and re-fetches.
  m_options.cache_check = builder::CacheCheck::full;
  const auto again = builder::fetch_all({request("small", url, k_small)}, m_options, m_progress);
  ASSERT_OK(again);
  EXPECT_FALSE(again->front().from_cache);
  EXPECT_EQ(kftest::read_file(entry), "kubeferry loopback mirror\n");
  EXPECT_EQ(new_log_lines(2).size(), 2u);
}

TEST_F(FetchTest, SeveralInParallel) {
  m_options.jobs = 4;
  m_options.mirrors = {{"https://", mirror_url() + "/"}};
  std::vector<FetchRequest> requests = {
      request("etcd", "https://" + k_etcd, k_etcd),
      request("cni", "https://" + k_cni, k_cni),
      request("cfssl", "https://pkg.cfssl.org/R1.2/cfssl_linux-amd64", "pkg.cfssl.org/R1.2/cfssl_linux-amd64"),
      request("cfssljson", "https://pkg.cfssl.org/R1.2/cfssljson_linux-amd64",
              "pkg.cfssl.org/R1.2/cfssljson_linux-amd64"),
      request("cfssl-certinfo", "https://pkg.cfssl.org/R1.2/cfssl-certinfo_linux-amd64",
              "pkg.cfssl.org/R1.2/cfssl-certinfo_linux-amd64"),
      request("kubernetes-server", "https://" + k_k8s, k_k8s, DigestAlgorithm::sha512),
      // Same bytes under a second name: fetched once.
      request("etcd-again", "https://" + k_etcd, k_etcd),
  };
  const auto results = builder::fetch_all(requests, m_options, m_progress);
  ASSERT_OK(results);
  ASSERT_EQ(results->size(), requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ((*results)[i].name, requests[i].name);
    auto on_disk = bundlespec::hash_file_hex((*results)[i].path, requests[i].checksum.algorithm);
    ASSERT_OK(on_disk);
    EXPECT_EQ(*on_disk, requests[i].checksum.hex) << requests[i].name;
  }
  EXPECT_EQ(new_log_lines(6).size(), 6u);
  // The transfers overlapped: a second item started before the first one finished.
  const auto& events = m_progress.events();
  const auto first_finish =
      std::find_if(events.begin(), events.end(), [](const std::string& e) { return e.rfind("finish ", 0) == 0; });
  const auto starts_before =
      std::count_if(events.begin(), first_finish, [](const std::string& e) { return e.rfind("start ", 0) == 0; });
  EXPECT_GE(starts_before, 2);
}

TEST_F(FetchTest, InterruptKeepsPartialAndNextRunResumes) {
  const MirrorFile& f = s_files.at(k_blob);
  m_progress.on_advance = [this](std::string_view, uint64_t) { m_stop.store(true); };
  const auto stopped =
      builder::fetch_all({request("blob", mirror_url() + "/slow/" + k_blob, k_blob)}, m_options, m_progress);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code(), ErrorCode::interrupted);
  EXPECT_EQ(stopped.error().message(), "interrupted: stopped 1 download; partial files are kept in " +
                                           m_dir / "cache/partial" + " and the next run resumes them");
  const std::string partial = m_dir / ("cache/partial/sha256-" + f.sha256);
  const uint64_t kept = file_size(partial);
  ASSERT_GT(kept, 0u);
  EXPECT_EQ(files_in("sha256"), std::vector<std::string>{});
  new_log_lines(1);  // let nginx log the aborted request

  m_stop.store(false);
  m_progress.on_advance = nullptr;
  m_log_start = log_lines().size();
  const auto resumed =
      builder::fetch_all({request("blob", mirror_url() + "/" + k_blob, k_blob)}, m_options, m_progress);
  ASSERT_OK(resumed);
  EXPECT_EQ(resumed->front().sha256_hex, f.sha256);
  EXPECT_EQ(new_log_lines(1), std::vector<std::string>{"GET /" + k_blob + " 206 " + std::to_string(f.size - kept) +
                                                       " \"bytes=" + std::to_string(kept) + "-\""});
}

TEST_F(FetchTest, ConnectionResetResumesFromTheBytesReceived) {
  const MirrorFile& f = s_files.at(k_blob);
  const std::string url = proxy_url() + "/fault/reset700000-reset/" + k_blob;
  const auto results = builder::fetch_all({request("blob", url, k_blob)}, m_options, m_progress);
  ASSERT_OK(results);
  EXPECT_EQ(results->front().sha256_hex, f.sha256);
  // How much of the body survives an RST depends on the kernel; the resumed request must
  // start where the kept bytes end and carry exactly the rest.
  const auto lines = new_log_lines(2);
  ASSERT_EQ(lines.size(), 2u);
  uint64_t sent = 0;
  uint64_t from = 0;
  ASSERT_EQ(std::sscanf(lines[1].c_str(), "GET /test/blob.bin 206 %lu \"bytes=%lu-\"", &sent, &from), 2) << lines[1];
  EXPECT_GT(from, 0u);
  EXPECT_LE(from, 700000u);
  EXPECT_EQ(sent, f.size - from);
}

TEST_F(FetchTest, SeveralFailuresAreListedInRequestOrder) {
  const std::string missing_url = mirror_url() + "/test/missing.bin";
  const std::string small_url = mirror_url() + "/" + k_small;
  const std::string wrong = bundlespec::sha256_hex("not the mirror's file");
  const auto results =
      builder::fetch_all({make_request("missing", missing_url, Checksum{DigestAlgorithm::sha256, std::string(64, 'b')}),
                          request("blob", mirror_url() + "/" + k_blob, k_blob),
                          make_request("small", small_url, Checksum{DigestAlgorithm::sha256, wrong})},
                         m_options, m_progress);
  ASSERT_FALSE(results.ok());
  EXPECT_EQ(results.error().code(), ErrorCode::failure);
  EXPECT_EQ(results.error().message(),
            "2 of 3 downloads failed:\n"
            "  artifact 'missing': GET " +
                missing_url +
                ": HTTP 404 Not Found\n"
                "  artifact 'small': checksum mismatch for " +
                small_url + ": expected sha256:" + wrong + ", got sha256:" + s_files.at(k_small).sha256 +
                "; the downloaded bytes were deleted");
  // The good artifact still reached the cache for the next run.
  EXPECT_EQ(files_in("sha256"),
            (std::vector<std::string>{s_files.at(k_blob).sha256, s_files.at(k_blob).sha256 + ".meta"}));
}

// A registry answer other than 200 carries its status (Reason::http_status): the image
// fetcher tells a missing manifest (404) from other failures by it, not by the message text.
// nginx is no registry, and answers 404 for a manifest path it does not hold.
TEST_F(FetchTest, RegistryAnswerCarriesItsHttpStatus) {
  const std::string host = mirror_url().substr(std::string("http://").size());
  builder::RegistryAuth auth;
  auth.plain_http = {host};
  auth.max_attempts = 1;
  builder::RegistryClient client(auth);
  auto name = builder::parse_image_name(host + "/test/missing:1.0");
  ASSERT_OK(name);
  const std::string digest = "sha256:" + std::string(64, '0');
  auto manifest = client.get_manifest(*name, digest);
  ASSERT_FALSE(manifest.ok());
  EXPECT_EQ(manifest.error().message(),
            "GET " + mirror_url() + "/v2/test/missing/manifests/" + digest + ": HTTP 404 Not Found");
  EXPECT_EQ(manifest.error().reason(), bundlespec::Reason::http_status);
  EXPECT_EQ(manifest.error().http_status(), 404);
}

TEST_F(FetchTest, RejectsDuplicateNames) {
  const auto results = builder::fetch_all(
      {request("a", mirror_url() + "/" + k_small, k_small), request("a", mirror_url() + "/" + k_blob, k_blob)},
      m_options, m_progress);
  ASSERT_FALSE(results.ok());
  EXPECT_EQ(results.error().code(), ErrorCode::usage);
  EXPECT_EQ(results.error().message(), "artifact name 'a' is used twice");
}

// ---- without the rig ----------------------------------------------------------------------

TEST(MirrorRule, ParsesFromEqualsTo) {
  auto rule = builder::parse_mirror_rule("https://dl.k8s.io/=http://127.0.0.1:8080/k8s/");
  ASSERT_OK(rule);
  EXPECT_EQ(rule->from, "https://dl.k8s.io/");
  EXPECT_EQ(rule->to, "http://127.0.0.1:8080/k8s/");
  for (const char* bad : {"no-equals", "=http://x/", "https://x/="}) {
    auto parsed = builder::parse_mirror_rule(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().message(), "--mirror '" + std::string(bad) + "' must look like FROM=TO (URL prefixes)");
  }
}

TEST(MirrorRule, LongestPrefixWinsOnce) {
  const std::vector<builder::MirrorRule> rules = {{"https://", "http://m/all/"},
                                                  {"https://dl.k8s.io/", "http://m/k8s/"}};
  EXPECT_EQ(builder::apply_mirrors("https://dl.k8s.io/v1/x.tar.gz", rules), "http://m/k8s/v1/x.tar.gz");
  EXPECT_EQ(builder::apply_mirrors("https://github.com/a", rules), "http://m/all/github.com/a");
  EXPECT_EQ(builder::apply_mirrors("http://plain/a", rules), "http://plain/a");
}

TEST(CacheDir, PrefersXdgCacheHomeThenHome) {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const std::string saved_xdg = xdg ? xdg : "";
  const std::string saved_home = home ? home : "";
  ::setenv("XDG_CACHE_HOME", "/x/cache", 1);
  EXPECT_EQ(builder::default_cache_dir().value_or(""), "/x/cache/kubeferry");
  ::setenv("XDG_CACHE_HOME", "relative", 1);
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(builder::default_cache_dir().value_or(""), "/home/u/.cache/kubeferry");
  ::unsetenv("XDG_CACHE_HOME");
  ::unsetenv("HOME");
  auto none = builder::default_cache_dir();
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message(),
            "cannot choose a download cache: neither XDG_CACHE_HOME nor HOME is an absolute path; "
            "pass --cache DIR");
  if (xdg) ::setenv("XDG_CACHE_HOME", saved_xdg.c_str(), 1);
  if (home) ::setenv("HOME", saved_home.c_str(), 1);
}

}  // namespace
