#include "manifest.hpp"

#include <gtest/gtest.h>

#include "cli.hpp"
#include "support/test_util.hpp"

namespace builder {
namespace {

using bundlespec::DigestAlgorithm;

const std::string k_a64(64, 'a');  // test data, not a real checksum
const std::string k_b64(64, 'b');
const std::string k_c64(64, 'c');

// A small valid manifest; line numbers matter to the tests below.
const std::string k_base =
    "bundle: test\n"                                  // 1
    "kubernetes_version: v1.20.11\n"                  // 2
    "epoch: 1631664000\n"                             // 3
    "artifacts:\n"                                    // 4
    "  - name: etcd\n"                                // 5
    "    version: v3.4.9\n"                           // 6
    "    kind: tarball\n"                             // 7
    "    url: https://example.invalid/etcd.tar.gz\n"  // 8
    "    checksum: sha256:" +
    k_a64 +
    "\n"                                                            // 9
    "    source: test data\n"                                       // 10
    "    members:\n"                                                // 11
    "      - {from: ./etcd/etcd, to: etcd/bin/etcd, mode: 0755}\n"  // 12
    "  - name: cfssl\n"                                             // 13
    "    version: R1.2\n"                                           // 14
    "    kind: file\n"                                              // 15
    "    url: https://example.invalid/cfssl\n"                      // 16
    "    checksum: NOT-FOUND\n"                                     // 17
    "    source: nowhere\n"                                         // 18
    "    to: cfssl/bin/cfssl\n"                                     // 19
    "    mode: 0750\n"                                              // 20
    "images:\n"                                                     // 21
    "  - name: pause\n"                                             // 22
    "    ref: registry.k8s.io/pause:3.2@sha256:" +
    k_b64 +
    "\n"                        // 23
    "    source: test data\n";  // 24

// k_base with the first occurrence of `from` replaced by `to`.
std::string with(const std::string& from, const std::string& to) {
  std::string text = k_base;
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// The error message of parsing `yaml` as "m.yaml" ("" if it parsed).
std::string problems(const std::string& yaml) {
  auto result = parse_manifest(yaml, "m.yaml");
  return result.ok() ? std::string() : result.error().message();
}

std::string one_problem(const std::string& line) {
  return "manifest m.yaml is invalid (1 problem):\nm.yaml:" + line;
}

std::string source_path(const std::string& relative) {
  return std::string(KF_SOURCE_DIR) + "/" + relative;
}

TEST(Manifest, BaseParses) {
  auto manifest = parse_manifest(k_base, "m.yaml");
  ASSERT_OK(manifest);
  EXPECT_EQ(manifest->bundle, "test");
  EXPECT_EQ(manifest->kubernetes_version, "v1.20.11");
  EXPECT_EQ(manifest->platforms, std::vector<std::string>{"linux/amd64"});
  EXPECT_EQ(manifest->epoch, 1631664000);
  ASSERT_EQ(manifest->artifacts.size(), 2u);
  const Artifact& etcd = manifest->artifacts[0];
  EXPECT_EQ(etcd.kind, ArtifactKind::tarball);
  EXPECT_EQ(etcd.checksum->to_string(), "sha256:" + k_a64);
  EXPECT_EQ(etcd.platform, "linux/amd64");
  ASSERT_EQ(etcd.placements.size(), 1u);
  EXPECT_EQ(etcd.placements[0].from, "etcd/etcd");  // leading ./ removed
  EXPECT_EQ(etcd.placements[0].to, "etcd/bin/etcd");
  EXPECT_EQ(etcd.placements[0].mode, 0755u);
  const Artifact& cfssl = manifest->artifacts[1];
  EXPECT_EQ(cfssl.kind, ArtifactKind::file);
  EXPECT_FALSE(cfssl.checksum.has_value());
  EXPECT_EQ(cfssl.checksum_at, (Location{17, 15}));
  ASSERT_EQ(cfssl.placements.size(), 1u);
  EXPECT_EQ(cfssl.placements[0].from, "");
  EXPECT_EQ(cfssl.placements[0].mode, 0750u);
  ASSERT_EQ(manifest->images.size(), 1u);
  EXPECT_EQ(manifest->images[0].reference, "registry.k8s.io/pause:3.2");
  EXPECT_EQ(manifest->images[0].pinned_reference(), "registry.k8s.io/pause:3.2@sha256:" + k_b64);
}

TEST(Manifest, RealV1_20_11) {
  auto manifest = load_manifest(source_path("manifests/k8s-v1.20.11.yaml"));
  ASSERT_OK(manifest);
  EXPECT_EQ(manifest->bundle, "k8s-v1.20.11");
  EXPECT_EQ(manifest->kubernetes_version, "v1.20.11");
  // etcd, kubernetes-server, cni-plugins, the runtime (docker, containerd, runc, crictl), cfssl x3.
  ASSERT_EQ(manifest->artifacts.size(), 10u);
  const Artifact& server = manifest->artifacts[1];
  EXPECT_EQ(server.name, "kubernetes-server");
  EXPECT_EQ(server.checksum->algorithm, DigestAlgorithm::sha512);
  EXPECT_EQ(server.placements.size(), 6u);
  EXPECT_EQ(server.placements[0].from, "kubernetes/server/bin/kube-apiserver");
  EXPECT_EQ(server.placements[0].to, "kubernetes/bin/kube-apiserver");
  const Artifact& runc = manifest->artifacts[5];
  EXPECT_EQ(runc.name, "runc");
  EXPECT_EQ(runc.version, "v1.0.2");
  ASSERT_EQ(runc.placements.size(), 1u);
  EXPECT_EQ(runc.placements[0].to, "runtime/runc/runc");
  EXPECT_EQ(manifest->images.size(), 3u);
  // Every artifact is pinned; the flannel v0.14.0 image digest is not.
  EXPECT_OK(require_checksums(*manifest, {}));
  const std::string file = source_path("manifests/k8s-v1.20.11.yaml");
  EXPECT_EQ(require_image_digests(*manifest, {}).error().message(),
            "manifest " + file +
                " cannot be built (1 problem):\n"
                "image flannel quay.io/coreos/flannel:v0.14.0: no digest is pinned (NOT FOUND in " +
                file + ":165:13)" + "\nresolve NOT-FOUND values on a connected machine with: kubeferry pin " + file +
                " (or pass --checksum NAME=sha256:<hex> with a value read from upstream)");
}

TEST(Manifest, RealV1_37_1) {
  const std::string file = source_path("manifests/k8s-v1.37.1.yaml");
  auto manifest = load_manifest(file);
  ASSERT_OK(manifest);
  EXPECT_EQ(manifest->kubernetes_version, "v1.37.1");
  EXPECT_EQ(manifest->artifacts.size(), 13u);
  EXPECT_EQ(manifest->images.size(), 4u);
  // The current set builds as shipped: every value was read from a cited source.
  EXPECT_OK(require_pins(*manifest, {}));
  for (const Artifact& artifact : manifest->artifacts) {
    EXPECT_EQ(artifact.checksum_origin, ChecksumOrigin::manifest) << artifact.name;
    EXPECT_NE(artifact.source.find('@'), std::string::npos) << artifact.name << ": source names no repo@commit";
  }
  for (const Image& image : manifest->images) {
    EXPECT_NE(image.source.find('@'), std::string::npos) << image.name << ": source names no repo@commit";
  }
}

TEST(Manifest, NotFoundRefusedThenAcceptedWithOverride) {
  auto manifest = parse_manifest(k_base, "m.yaml");
  ASSERT_OK(manifest);
  const std::string gap =
      "artifact cfssl R1.2: no checksum is pinned (NOT FOUND in m.yaml:17:15)\n"
      "resolve NOT-FOUND values on a connected machine with: kubeferry pin m.yaml (or pass --checksum "
      "NAME=sha256:<hex> with a value read from upstream)";
  EXPECT_EQ(require_checksums(*manifest, {}).error().message(), "manifest m.yaml cannot be built (1 problem):\n" + gap);
  EXPECT_EQ(apply_checksum_overrides(*manifest, {}).error().message(),
            "manifest m.yaml cannot be built (1 problem):\n" + gap);
  EXPECT_OK(require_image_digests(*manifest, {}));

  auto overrides = parse_checksum_overrides({"cfssl=sha256:" + k_c64});
  ASSERT_OK(overrides);
  EXPECT_OK(require_checksums(*manifest, *overrides));
  EXPECT_OK(require_pins(*manifest, *overrides));
  auto applied = apply_checksum_overrides(*manifest, *overrides);
  ASSERT_OK(applied);
  EXPECT_EQ(applied->artifacts[1].checksum->to_string(), "sha256:" + k_c64);
  EXPECT_EQ(applied->artifacts[1].checksum_origin, ChecksumOrigin::command_line);
  EXPECT_EQ(applied->artifacts[0].checksum_origin, ChecksumOrigin::manifest);
}

TEST(Manifest, ImageNotFoundAndOverride) {
  auto manifest = parse_manifest(with("    ref: registry.k8s.io/pause:3.2@sha256:" + k_b64,
                                      "    ref: registry.k8s.io/pause:3.2\n    digest: NOT-FOUND"),
                                 "m.yaml");
  ASSERT_OK(manifest);
  EXPECT_EQ(require_image_digests(*manifest, {}).error().message(),
            "manifest m.yaml cannot be built (1 problem):\n"
            "image pause registry.k8s.io/pause:3.2: no digest is pinned (NOT FOUND in "
            "m.yaml:24:13)\n"
            "resolve NOT-FOUND values on a connected machine with: kubeferry pin m.yaml (or pass --checksum "
            "NAME=sha256:<hex> with a value read from upstream)");
  auto sha512 = parse_checksum_overrides({"pause=sha512:" + std::string(128, 'd')});
  ASSERT_OK(sha512);
  EXPECT_EQ(require_image_digests(*manifest, *sha512).error().message(),
            "manifest m.yaml cannot be built (1 problem):\n"
            "--checksum pause: an image digest must be sha256:<hex>");
  auto good = parse_checksum_overrides({"pause=sha256:" + k_c64, "cfssl=sha256:" + k_c64});
  ASSERT_OK(good);
  auto applied = apply_checksum_overrides(*manifest, *good);
  ASSERT_OK(applied);
  EXPECT_EQ(applied->images[0].pinned_reference(), "registry.k8s.io/pause:3.2@sha256:" + k_c64);
  EXPECT_EQ(applied->images[0].digest_origin, ChecksumOrigin::command_line);
}

TEST(Manifest, BadOverrides) {
  auto manifest = parse_manifest(k_base, "m.yaml");
  ASSERT_OK(manifest);
  auto overrides = parse_checksum_overrides(
      {"cfssl=sha256:" + k_c64, "etcd=sha256:" + k_c64, "etcd2=sha256:" + k_c64, "pause=sha256:" + k_b64});
  ASSERT_OK(overrides);
  EXPECT_EQ(require_pins(*manifest, *overrides).error().message(),
            "manifest m.yaml cannot be built (2 problems):\n"
            "--checksum etcd: artifact etcd v3.4.9 already pins sha256:" +
                k_a64 +
                " at m.yaml:9:15; change the manifest instead\n"
                "--checksum etcd2: no artifact or image is named 'etcd2' in m.yaml");
}

TEST(Manifest, ParseChecksumOverrides) {
  auto ok = parse_checksum_overrides({"a=sha256:" + k_a64, "b=sha512:" + std::string(128, 'F')});
  ASSERT_OK(ok);
  EXPECT_EQ(ok->at("a").to_string(), "sha256:" + k_a64);
  EXPECT_EQ(ok->at("b").to_string(), "sha512:" + std::string(128, 'f'));
  EXPECT_OK(parse_checksum_overrides({}));

  auto bad = parse_checksum_overrides(
      {"noequals", "=sha256:" + k_a64, "x=sha256:abc", "y=NOT-FOUND", "a=sha256:" + k_a64, "a=sha256:" + k_b64});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), bundlespec::ErrorCode::usage);
  EXPECT_EQ(bad.error().message(),
            "--checksum 'noequals': expected NAME=sha256:<hex> or NAME=sha512:<hex>\n"
            "--checksum '=sha256:" +
                k_a64 +
                "': expected NAME=sha256:<hex> or NAME=sha512:<hex>\n"
                "--checksum x: sha256 checksum must have 64 hex digits, got 3\n"
                "--checksum y: checksum 'NOT-FOUND' has no algorithm prefix (expected sha256:<hex> "
                "or sha512:<hex>)\n"
                "--checksum a is given twice");
}

TEST(Manifest, LoadMissingFile) {
  kftest::TempDir dir;
  EXPECT_EQ(load_manifest(dir / "none.yaml").error().message(),
            "open " + (dir / "none.yaml") + ": No such file or directory");
}

TEST(ManifestValidation, YamlSyntaxError) {
  EXPECT_EQ(problems("bundle: [a\nepoch: 1\n"), one_problem("2:6: YAML error: end of sequence flow not found"));
}

TEST(ManifestValidation, NotAMapping) {
  EXPECT_EQ(problems("- a\n- b\n"), one_problem("1:1: a manifest must be a YAML mapping (bundle, kubernetes_version, "
                                                "epoch, artifacts, ...)"));
  EXPECT_EQ(problems(""), one_problem("1:1: a manifest must be a YAML mapping (bundle, kubernetes_version, "
                                      "epoch, artifacts, ...)"));
}

TEST(ManifestValidation, UnknownAndDuplicateKeys) {
  EXPECT_EQ(problems(with("epoch:", "epochs: 1\nepoch:")),
            "manifest m.yaml is invalid (1 problem):\n"
            "m.yaml:3:1: unknown key 'epochs' (allowed: bundle, kubernetes_version, platforms, "
            "epoch, artifacts, images)");
  EXPECT_EQ(problems(with("    source: test data\n    members", "    sha: x\n    source: test data\n    members")),
            one_problem("10:5: artifact etcd: unknown key 'sha' (allowed: name, version, kind, url, "
                        "checksum, source, pinned_by_user, platform, members, to, mode)"));
  EXPECT_EQ(problems(with("    version: v3.4.9\n", "    version: v3.4.9\n    version: v3.4.8\n")),
            one_problem("7:5: artifact etcd: duplicate key 'version' (first at 6:5)"));
  EXPECT_EQ(problems(with("mode: 0755}", "mode: 0755, owner: root}")),
            one_problem("12:60: artifact etcd: member #1: unknown key 'owner' (allowed: from, to, mode)"));
}

TEST(ManifestValidation, MissingFields) {
  EXPECT_EQ(problems(with("bundle: test\n", "")), one_problem("1:1: missing required key 'bundle'"));
  EXPECT_EQ(problems(with("    url: https://example.invalid/etcd.tar.gz\n", "")),
            one_problem("5:5: artifact etcd: missing required key 'url'"));
  EXPECT_EQ(problems(with("    source: nowhere\n", "")),
            one_problem("13:5: artifact cfssl: missing required key 'source'"));
  EXPECT_EQ(problems(with("  - name: etcd\n    version", "  - version")),
            one_problem("5:5: artifact #1: missing required key 'name'"));
  EXPECT_EQ(problems(with("    version: R1.2\n", "    version:\n")),
            one_problem("15:5: artifact cfssl: version must not be empty"));
}

TEST(ManifestValidation, HeaderValues) {
  EXPECT_EQ(problems(with("bundle: test", "bundle: my bundle")),
            one_problem("1:9: bundle 'my bundle' must match [A-Za-z0-9][A-Za-z0-9._-]* and be at most 128 bytes"));
  // The bundle name becomes the index's name (FORMAT.md 3.2: at most 128 bytes), and a bad one
  // is shown escaped.
  EXPECT_EQ(problems(with("bundle: test", "bundle: " + std::string(129, 'b'))),
            one_problem("1:9: bundle '" + std::string(129, 'b') +
                        "' must match [A-Za-z0-9][A-Za-z0-9._-]* and be at most 128 bytes"));
  EXPECT_EQ(problems(with("bundle: test", "bundle: " + std::string(128, 'b'))), "");
  EXPECT_EQ(problems(with("bundle: test", "bundle: \"ok\\e[2J\\nm.yaml:1:1: fine\"")),
            one_problem("1:9: bundle 'ok\\x1b[2J\\x0am.yaml:1:1: fine' must match [A-Za-z0-9][A-Za-z0-9._-]* and be at "
                        "most 128 bytes"));
  EXPECT_EQ(problems(with("v1.20.11", "1.20")), one_problem("2:21: kubernetes_version '1.20' must look like v1.20.11"));
  EXPECT_EQ(problems(with("epoch: 1631664000", "epoch: -5")),
            one_problem("3:8: epoch must be a whole number of seconds since 1970-01-01 UTC, got '-5'"));
  EXPECT_EQ(problems(with("epoch: 1631664000", "epoch: 9999999999999")),
            one_problem("3:8: epoch 9999999999999 is out of range (0..253402300799)"));
  EXPECT_EQ(problems(with("epoch: 1631664000", "epoch: [1]")), one_problem("3:8: epoch must be a string"));
  EXPECT_EQ(problems(with("epoch: 1631664000\n", "epoch: 1\nplatforms: [linux/amd64, linux/x86, linux/amd64]\n")),
            "manifest m.yaml is invalid (2 problems):\n"
            "m.yaml:4:26: platform 'linux/x86' is not supported (supported: linux/amd64, "
            "linux/arm64, linux/arm, linux/ppc64le, linux/s390x)\n"
            "m.yaml:4:37: platform linux/amd64 is listed twice");
}

TEST(ManifestValidation, Checksums) {
  EXPECT_EQ(problems(with("sha256:" + k_a64, "sha256:abc")),
            one_problem("9:15: artifact etcd: bad checksum: sha256 checksum must have 64 hex "
                        "digits, got 3 (write NOT-FOUND if no published checksum is known)"));
  EXPECT_EQ(problems(with("sha256:" + k_a64, "md5:abc")),
            one_problem("9:15: artifact etcd: bad checksum: checksum algorithm 'md5' is not "
                        "supported (expected sha256 or sha512) (write NOT-FOUND if no published "
                        "checksum is known)"));
  EXPECT_EQ(problems(with("checksum: NOT-FOUND", "checksum: not found")),
            one_problem("17:15: artifact cfssl: bad checksum: checksum 'not found' has no "
                        "algorithm prefix (expected sha256:<hex> or sha512:<hex>) (write "
                        "NOT-FOUND if no published checksum is known)"));
}

TEST(ManifestValidation, KindsAndPlacements) {
  EXPECT_EQ(problems(with("kind: tarball", "kind: zip")),
            one_problem("7:11: artifact etcd: kind must be 'file' or 'tarball', got 'zip'"));
  EXPECT_EQ(problems(with("    kind: tarball\n", "")), one_problem("5:5: artifact etcd: missing required key 'kind'"));
  EXPECT_EQ(problems(with("    mode: 0750\n", "    mode: 0750\n    members: []\n")),
            one_problem("21:14: artifact cfssl: 'members' is only for kind tarball"));
  EXPECT_EQ(problems(with("    members:\n", "    to: x\n    members:\n")),
            one_problem("11:9: artifact etcd: 'to' is only for kind file; each tarball member "
                        "has its own"));
  EXPECT_EQ(
      problems(with("    members:\n      - {from: ./etcd/etcd, to: etcd/bin/etcd, mode: 0755}", "    members: []")),
      one_problem("11:14: artifact etcd: members must list at least one member to keep"));
  EXPECT_EQ(problems(with("{from: ./etcd/etcd, to: etcd/bin/etcd, mode: 0755}", "etcd/etcd")),
            one_problem("12:9: artifact etcd: member #1: must be a mapping with from, to and mode"));
  EXPECT_EQ(problems(with(", mode: 0755}", "}")),
            one_problem("12:9: artifact etcd: member #1: missing required key 'mode'"));
  EXPECT_EQ(
      problems(with("    members:\n      - {from: ./etcd/etcd, to: etcd/bin/etcd, mode: 0755}", "    members: etcd")),
      one_problem("11:14: artifact etcd: members must be a list"));
}

TEST(ManifestValidation, Platforms) {
  EXPECT_EQ(problems(with("epoch: 1631664000\n", "epoch: 1631664000\nplatforms: [linux/amd64, linux/arm64]\n")),
            "manifest m.yaml is invalid (2 problems):\n"
            "m.yaml:6:5: artifact etcd: platform is required when the manifest lists several "
            "platforms\n"
            "m.yaml:14:5: artifact cfssl: platform is required when the manifest lists several "
            "platforms");
  EXPECT_EQ(problems(with("    version: v3.4.9\n", "    version: v3.4.9\n    platform: linux/arm64\n")),
            one_problem("7:15: artifact etcd: platform linux/arm64 is not one of the manifest's "
                        "platforms"));
  // With two platforms the same destination may appear once per platform.
  std::string two = with("epoch: 1631664000\n", "epoch: 1631664000\nplatforms: [linux/amd64, linux/arm64]\n");
  two.replace(two.find("    version: v3.4.9\n"), 20, "    version: v3.4.9\n    platform: linux/amd64\n");
  two.replace(two.find("    version: R1.2\n"), 18, "    version: R1.2\n    platform: linux/arm64\n");
  two.replace(two.find("to: cfssl/bin/cfssl"), 19, "to: etcd/bin/etcd");
  auto manifest = parse_manifest(two, "m.yaml");
  ASSERT_OK(manifest);
  EXPECT_EQ(manifest->artifacts[1].platform, "linux/arm64");
  EXPECT_EQ(problems(with("epoch: 1631664000\n", "epoch: 1631664000\nplatforms: []\n")),
            one_problem("4:12: platforms must list at least one platform"));
}

TEST(ManifestValidation, Destinations) {
  EXPECT_EQ(problems(with("to: cfssl/bin/cfssl", "to: /usr/bin/cfssl")),
            one_problem("19:9: artifact cfssl: destination '/usr/bin/cfssl' must be relative (a "
                        "path inside the bundle), not absolute"));
  EXPECT_EQ(problems(with("to: cfssl/bin/cfssl", "to: cfssl/../../etc/passwd")),
            one_problem("19:9: artifact cfssl: destination 'cfssl/../../etc/passwd' must not "
                        "contain '..'"));
  EXPECT_EQ(problems(with("to: cfssl/bin/cfssl", "to: cfssl//cfssl")),
            one_problem("19:9: artifact cfssl: destination 'cfssl//cfssl' must not contain an "
                        "empty or '.' component"));
  EXPECT_EQ(problems(with("to: cfssl/bin/cfssl", "to: etcd/bin/etcd")),
            one_problem("19:9: artifact cfssl: destination 'etcd/bin/etcd' is already used at "
                        "12:33"));
  EXPECT_EQ(problems(with("to: cfssl/bin/cfssl", "to: etcd/bin/etcd/x")),
            one_problem("19:9: destination 'etcd/bin/etcd/x' lies inside 'etcd/bin/etcd', which "
                        "is a file (12:33)"));
  EXPECT_EQ(problems(with("from: ./etcd/etcd", "from: ../etcd")),
            one_problem("12:16: artifact etcd: member #1: member path '../etcd' must not "
                        "contain '..'"));
}

TEST(ManifestValidation, Modes) {
  EXPECT_EQ(problems(with("mode: 0750", "mode: 750")),
            one_problem("20:11: artifact cfssl: mode must be octal with a leading 0, like 0755, "
                        "got '750'"));
  const std::string rule =
      " is out of range (0001..0775 without the world-writable bit 0002; no setuid, setgid or sticky bit)";
  EXPECT_EQ(problems(with("mode: 0750", "mode: 04755")), one_problem("20:11: artifact cfssl: mode 04755" + rule));
  // What the bundle reader refuses (FORMAT.md 3.3), the manifest refuses first.
  EXPECT_EQ(problems(with("mode: 0750", "mode: 0666")), one_problem("20:11: artifact cfssl: mode 0666" + rule));
  EXPECT_EQ(problems(with("mode: 0750", "mode: 0000")), one_problem("20:11: artifact cfssl: mode 0000" + rule));
  EXPECT_EQ(problems(with("mode: 0750", "mode: 0775")), "");
  EXPECT_EQ(problems(with("mode: 0750", "mode: 0789")),
            one_problem("20:11: artifact cfssl: mode must be octal with a leading 0, like 0755, "
                        "got '0789'"));
}

TEST(ManifestValidation, Names) {
  EXPECT_EQ(problems(with("name: cfssl", "name: etcd")),
            one_problem("13:11: artifact etcd: name 'etcd' is already used at 5:11"));
  EXPECT_EQ(problems(with("name: pause", "name: cfssl")),
            one_problem("22:11: image cfssl: name 'cfssl' is already used at 13:11"));
  EXPECT_EQ(problems(with("name: cfssl", "name: CFSSL")),
            one_problem("13:11: artifact CFSSL: name 'CFSSL' must match [a-z0-9][a-z0-9._-]*"));
}

TEST(ManifestValidation, Images) {
  const std::string ref = "registry.k8s.io/pause:3.2@sha256:" + k_b64;
  EXPECT_EQ(problems(with(ref, "registry.k8s.io/pause:3.2")),
            one_problem("23:10: image pause: ref 'registry.k8s.io/pause:3.2' has no @sha256: "
                        "digest (pin NAME:TAG@sha256:<hex>, or write digest: NOT-FOUND with a "
                        "source note)"));
  EXPECT_EQ(problems(with(ref, "registry.k8s.io/pause@sha256:" + k_b64)),
            one_problem("23:10: image pause: ref 'registry.k8s.io/pause@sha256:" + k_b64 +
                        "' has no tag (write NAME:TAG@sha256:<hex>; the installer tags the "
                        "loaded image with it)"));
  EXPECT_EQ(problems(with(ref, "localhost:5000/pause@sha256:" + k_b64)),
            one_problem("23:10: image pause: ref 'localhost:5000/pause@sha256:" + k_b64 +
                        "' has no tag (write NAME:TAG@sha256:<hex>; the installer tags the "
                        "loaded image with it)"));
  EXPECT_EQ(problems(with(ref, "registry.k8s.io/pause:3.2@sha256:123")),
            one_problem("23:10: image pause: bad digest in ref: sha256 checksum must have 64 "
                        "hex digits, got 3"));
  EXPECT_EQ(problems(with(ref, "registry.k8s.io/pause:3.2@sha512:" + std::string(128, 'e'))),
            one_problem("23:10: image pause: the digest in ref must be sha256"));
  EXPECT_EQ(problems(with("    ref: " + ref + "\n", "    ref: " + ref + "\n    digest: NOT-FOUND\n")),
            one_problem("23:10: image pause: ref pins a digest, so 'digest: NOT-FOUND' must go"));
  EXPECT_EQ(problems(with("    ref: " + ref + "\n", "    ref: " + ref + "\n    digest: sha256:" + k_b64 + "\n")),
            one_problem("24:13: image pause: digest may only be NOT-FOUND (a known digest goes in "
                        "ref as NAME:TAG@sha256:<hex>)"));
  EXPECT_EQ(problems(k_base + "  - name: pause2\n    ref: " + ref + "\n    source: again\n"),
            one_problem("26:10: image pause2: image registry.k8s.io/pause:3.2 is already listed "
                        "at 23:10"));
}

TEST(ManifestValidation, SeveralProblemsAtOnce) {
  std::string text = with("kind: tarball", "kind: zip");
  text.replace(text.find("mode: 0750"), 10, "mode: 9");
  text.replace(text.find("@sha256:" + k_b64), 8 + 64, "");
  text.replace(text.find("epoch: 1631664000"), 17, "epoch: soon");
  EXPECT_EQ(problems(text),
            "manifest m.yaml is invalid (4 problems):\n"
            "m.yaml:3:8: epoch must be a whole number of seconds since 1970-01-01 UTC, got 'soon'\n"
            "m.yaml:7:11: artifact etcd: kind must be 'file' or 'tarball', got 'zip'\n"
            "m.yaml:20:11: artifact cfssl: mode must be octal with a leading 0, like 0755, got '9'\n"
            "m.yaml:23:10: image pause: ref 'registry.k8s.io/pause:3.2' has no @sha256: digest "
            "(pin NAME:TAG@sha256:<hex>, or write digest: NOT-FOUND with a source note)");
}

}  // namespace
}  // namespace builder

namespace builder {
namespace {

// The real setup_manifest_commands(): --checksum repeats and reaches the run.
// (CLI::App::parse takes a vector in reverse order.)
TEST(ManifestCli, CheckParsesAndRuns) {
  kftest::TempDir dir;
  kftest::write_file(dir / "m.yaml", k_base);
  CLI::App app;
  GlobalOptions global;
  Commands commands;
  setup_manifest_commands(app, global, commands);
  ASSERT_EQ(commands.size(), 1u);
  app.parse(
      std::vector<std::string>{"pause=x", "--checksum", "etcd=y", "--checksum", dir / "m.yaml", "check", "manifest"});
  ASSERT_TRUE(commands[0].app->parsed());
  EXPECT_EQ(commands[0].run().error().message(),
            "--checksum etcd: checksum 'y' has no algorithm prefix (expected sha256:<hex> or "
            "sha512:<hex>)\n"
            "--checksum pause: checksum 'x' has no algorithm prefix (expected sha256:<hex> or "
            "sha512:<hex>)");
}

}  // namespace
}  // namespace builder
