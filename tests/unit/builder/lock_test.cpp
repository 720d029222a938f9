// bundle.lock and the SPDX 2.3 SBOM (builder/lock.hpp): every field the header names, for a
// manifest read by the real manifest parser, compared as canonical JSON; both are pure (same
// inputs, same bytes, whatever the order of the fetch results) and take their time from the
// manifest's epoch, not the clock.
#include "lock.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "bundlespec/digest.hpp"
#include "support/test_util.hpp"

namespace builder {
namespace {

namespace bs = bundlespec;

// Test data: these hex strings are made up for the test, not checksums of anything.
const std::string k_a64(64, 'a');
const std::string k_b64(64, 'b');
const std::string k_c64(64, 'c');
const std::string k_d64(64, 'd');
const std::string k_e64(64, 'e');
const std::string k_f128(128, 'f');

const std::string k_manifest =
    "bundle: lock-test\n"
    "kubernetes_version: v1.20.11\n"
    "epoch: 1631664000\n"
    "artifacts:\n"
    "  - name: kubernetes-server\n"
    "    version: v1.20.11\n"
    "    kind: tarball\n"
    "    url: https://dl.example.invalid/kubernetes-server-linux-amd64.tar.gz\n"
    "    checksum: sha512:" +
    k_f128 +
    "\n"
    "    source: test data\n"
    "    members:\n"
    "      - {from: kubernetes/server/bin/kubelet, to: kubernetes/bin/kubelet, mode: 0755}\n"
    "  - name: cfssl\n"
    "    version: R1.2\n"
    "    kind: file\n"
    "    url: https://pkg.example.invalid/cfssl_linux-amd64\n"
    "    checksum: NOT-FOUND\n"
    "    source: nowhere\n"
    "    to: cfssl/bin/cfssl\n"
    "    mode: 0755\n"
    "images:\n"
    "  - name: pause\n"
    "    ref: registry.example.invalid/pause:3.4.1@sha256:" +
    k_b64 +
    "\n"
    "    source: test data\n";

Manifest manifest_with_override() {
  auto parsed = parse_manifest(k_manifest, "m.yaml");
  EXPECT_OK(parsed);
  auto overrides = parse_checksum_overrides({"cfssl=sha256:" + k_a64});
  EXPECT_OK(overrides);
  auto filled = apply_checksum_overrides(*parsed, *overrides);
  EXPECT_OK(filled);
  return *filled;
}

std::vector<FetchResult> fetched() {
  FetchResult k8s{"kubernetes-server", "/cache/sha512/f",
                  "https://mirror.invalid/dl.example.invalid/kubernetes-server-linux-amd64.tar.gz",
                  "https://mirror.invalid/final/k8s.tar.gz", 300, k_c64, k_f128, false};
  FetchResult cfssl{"cfssl", "/cache/sha256/a", "https://pkg.example.invalid/cfssl_linux-amd64", "", 12, k_a64, "", true};
  return {k8s, cfssl};
}

std::vector<LockedImage> images() {
  return {LockedImage{"pause", "registry.example.invalid/pause:3.4.1", "sha256:" + k_b64, "sha256:" + k_d64, 700},
          LockedImage{"tools", "registry.example.invalid/tools:1.0", "sha256:" + k_e64, "", 50}};
}

const std::string k_lock_json =
    "{\"artifacts\":["
    "{\"fetched_from\":\"https://mirror.invalid/dl.example.invalid/kubernetes-server-linux-amd64.tar.gz\","
    "\"final_url\":\"https://mirror.invalid/final/k8s.tar.gz\",\"kind\":\"tarball\",\"name\":\"kubernetes-server\","
    "\"pinned\":\"sha512:" +
    k_f128 +
    "\",\"pinned_by\":\"manifest\",\"sha256\":\"" + k_c64 + "\",\"sha512\":\"" + k_f128 +
    "\",\"size\":300,\"source\":\"test data\","
    "\"url\":\"https://dl.example.invalid/kubernetes-server-linux-amd64.tar.gz\",\"version\":\"v1.20.11\"},"
    "{\"fetched_from\":\"https://pkg.example.invalid/cfssl_linux-amd64\",\"final_url\":\"\",\"kind\":\"file\","
    "\"name\":\"cfssl\",\"pinned\":\"sha256:" +
    k_a64 + "\",\"pinned_by\":\"command line\",\"sha256\":\"" + k_a64 +
    "\",\"size\":12,\"source\":\"nowhere\",\"url\":\"https://pkg.example.invalid/cfssl_linux-amd64\","
    "\"version\":\"R1.2\"}],"
    "\"bundle\":\"lock-test\",\"epoch\":1631664000,"
    "\"images\":["
    "{\"digest\":\"sha256:" +
    k_b64 + "\",\"name\":\"pause\",\"pinned_by\":\"manifest\",\"platform_digest\":\"sha256:" + k_d64 +
    "\",\"reference\":\"registry.example.invalid/pause:3.4.1\",\"size\":700},"
    "{\"digest\":\"sha256:" +
    k_e64 +
    "\",\"name\":\"tools\",\"reference\":\"registry.example.invalid/tools:1.0\",\"size\":50}],"
    "\"kubernetes_version\":\"v1.20.11\",\"lock_version\":1,\"manifest_sha256\":\"" +
    k_c64 + "\",\"platforms\":[\"linux/amd64\"]}";

TEST(Lock, RecordsEveryArtifactAndImage) {
  const Manifest manifest = manifest_with_override();
  EXPECT_EQ(bs::to_canonical_json(make_lock(manifest, k_c64, fetched(), images())), k_lock_json);
}

TEST(Lock, IsAPureFunctionOfItsInputs) {
  const Manifest manifest = manifest_with_override();
  std::vector<FetchResult> reversed = fetched();
  std::reverse(reversed.begin(), reversed.end());
  // Artifacts are listed in manifest order, found by name among the results.
  EXPECT_EQ(bs::to_canonical_json(make_lock(manifest, k_c64, reversed, images())), k_lock_json);
  EXPECT_EQ(bs::to_pretty_json(make_lock(manifest, k_c64, fetched(), images())),
            bs::to_pretty_json(make_lock(manifest, k_c64, fetched(), images())));
}

TEST(Lock, AnArtifactWithoutAFetchResultHasNoDownloadFields) {
  const Manifest manifest = manifest_with_override();
  const std::string lock = bs::to_canonical_json(make_lock(manifest, k_c64, {fetched()[0]}, {}));
  EXPECT_NE(lock.find("{\"kind\":\"file\",\"name\":\"cfssl\",\"pinned\":\"sha256:" + k_a64 +
                      "\",\"pinned_by\":\"command line\",\"source\":\"nowhere\","
                      "\"url\":\"https://pkg.example.invalid/cfssl_linux-amd64\",\"version\":\"R1.2\"}"),
            std::string::npos)
      << lock;
  EXPECT_NE(lock.find("\"images\":[]"), std::string::npos) << lock;
}

TEST(Sbom, DescribesEveryArtifactAndImageAsAPackage) {
  const Manifest manifest = manifest_with_override();
  const std::string sbom = bs::to_canonical_json(make_sbom(manifest, fetched(), images(), k_e64));
  const std::string na = "\"copyrightText\":\"NOASSERTION\"";
  const auto package = [&](const std::string& id, const std::string& name, const std::string& version,
                           const std::string& location, const std::string& sums) {
    return "{\"SPDXID\":\"SPDXRef-Package-" + id + "\",\"checksums\":[" + sums + "]," + na +
           ",\"downloadLocation\":\"" + location +
           "\",\"filesAnalyzed\":false,\"licenseConcluded\":\"NOASSERTION\",\"licenseDeclared\":\"NOASSERTION\","
           "\"name\":\"" +
           name + "\",\"versionInfo\":\"" + version + "\"}";
  };
  const auto sum = [](const std::string& algorithm, const std::string& value) {
    return "{\"algorithm\":\"" + algorithm + "\",\"checksumValue\":\"" + value + "\"}";
  };
  const auto describes = [](const std::string& id) {
    return "{\"relatedSpdxElement\":\"SPDXRef-Package-" + id +
           "\",\"relationshipType\":\"DESCRIBES\",\"spdxElementId\":\"SPDXRef-DOCUMENT\"}";
  };
  const std::string want =
      "{\"SPDXID\":\"SPDXRef-DOCUMENT\",\"creationInfo\":{\"created\":\"2021-09-15T00:00:00Z\","
      "\"creators\":[\"Tool: kubeferry-" KUBEFERRY_VERSION
      "\"]},\"dataLicense\":\"CC0-1.0\","
      "\"documentNamespace\":\"https://kubeferry.invalid/spdx/lock-test-" +
      k_e64 + "\",\"name\":\"lock-test\",\"packages\":[" +
      package("kubernetes-server", "kubernetes-server", "v1.20.11",
              "https://dl.example.invalid/kubernetes-server-linux-amd64.tar.gz",
              sum("SHA256", k_c64) + "," + sum("SHA512", k_f128)) +
      "," +
      package("cfssl", "cfssl", "R1.2", "https://pkg.example.invalid/cfssl_linux-amd64", sum("SHA256", k_a64)) + "," +
      package("pause", "pause", "registry.example.invalid/pause:3.4.1",
              "registry.example.invalid/pause:3.4.1@sha256:" + k_b64, sum("SHA256", k_b64)) +
      "," +
      package("tools", "tools", "registry.example.invalid/tools:1.0",
              "registry.example.invalid/tools:1.0@sha256:" + k_e64, sum("SHA256", k_e64)) +
      "],\"relationships\":[" + describes("kubernetes-server") + "," + describes("cfssl") + "," +
      describes("pause") + "," + describes("tools") + "],\"spdxVersion\":\"SPDX-2.3\"}";
  EXPECT_EQ(sbom, want);
}

TEST(Sbom, AnUnfetchedArtifactHasNoChecksums) {
  const Manifest manifest = manifest_with_override();
  const std::string sbom = bs::to_canonical_json(make_sbom(manifest, {}, {}, k_e64));
  EXPECT_NE(sbom.find("{\"SPDXID\":\"SPDXRef-Package-cfssl\",\"checksums\":[],"), std::string::npos) << sbom;
}

TEST(Sbom, TheLockDigestNamesTheDocument) {
  const Manifest manifest = manifest_with_override();
  const std::string one = bs::to_canonical_json(make_sbom(manifest, fetched(), images(), k_a64));
  const std::string two = bs::to_canonical_json(make_sbom(manifest, fetched(), images(), k_b64));
  EXPECT_NE(one, two);
  EXPECT_NE(one.find("\"documentNamespace\":\"https://kubeferry.invalid/spdx/lock-test-" + k_a64 + "\""),
            std::string::npos);
}

TEST(Iso8601Utc, FormatsTheEpochInUtc) {
  // Values as `date -u -d @EPOCH +%FT%TZ` prints them.
  EXPECT_EQ(iso8601_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(iso8601_utc(1631664000), "2021-09-15T00:00:00Z");
  EXPECT_EQ(iso8601_utc(951782400), "2000-02-29T00:00:00Z");
  EXPECT_EQ(iso8601_utc(951782399), "2000-02-28T23:59:59Z");
}

}  // namespace
}  // namespace builder
