// The pure parts of `kubeferry pin` (builder/pin.hpp): reading checksum files, writing resolved
// values into the manifest's text, and the `pinned_by_user:` mark the manifest loader reads.
// The network side runs against the loopback mirror and registry in tests/integration/pin.sh.
#include "pin.hpp"

#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace builder {
namespace {

using bundlespec::Checksum;
using bundlespec::DigestAlgorithm;

const std::string k_a64(64, 'a');  // test data, not real checksums
const std::string k_b64(64, 'b');

const std::string k_text =
    "# keep me\n"                                                                             // 1
    "bundle: t\n"                                                                             // 2
    "kubernetes_version: v1.20.11\n"                                                          // 3
    "epoch: 1\n"                                                                              // 4
    "artifacts:\n"                                                                            // 5
    "  - name: etcd\n"                                                                        // 6
    "    version: v3.4.9\n"                                                                   // 7
    "    kind: file\n"                                                                        // 8
    "    url: https://example.invalid/etcd\n"                                                 // 9
    "    checksum: NOT-FOUND  # nobody published it\n"                                        // 10
    "    source: NOT FOUND\n"                                                                 // 11
    "    to: etcd/bin/etcd\n"                                                                 // 12
    "    mode: 0755\n"                                                                        // 13
    "  - {name: cfssl, version: R1.2, kind: file, url: 'https://example.invalid/cfssl',\n"    // 14
    "     checksum: 'NOT-FOUND', source: x, to: cfssl/bin/cfssl, mode: 0755}\n"               // 15
    "images:\n"                                                                               // 16
    "  - name: pause\n"                                                                       // 17
    "    ref: registry.k8s.io/pause:3.2\n"                                                    // 18
    "    digest: NOT-FOUND\n"                                                                 // 19
    "    source: NOT FOUND\n"                                                                 // 20
    "  - {name: dns, ref: 'registry.k8s.io/coredns:1.7.0', digest: NOT-FOUND, source: y}\n";  // 21

std::vector<Resolved> all_four() {
  return {{"etcd", false, Checksum{DigestAlgorithm::sha256, k_a64}, "checked one way"},
          {"cfssl", false, Checksum{DigestAlgorithm::sha256, k_b64}, "checked \"another\" way"},
          {"pause", true, Checksum{DigestAlgorithm::sha256, k_b64}, "from the registry"},
          {"dns", true, Checksum{DigestAlgorithm::sha256, k_a64}, "from the registry"}};
}

TEST(Pin, TextGetsEveryValueAndMarkInPlace) {
  auto manifest = parse_manifest(k_text, "m.yaml");
  ASSERT_OK(manifest);
  auto pinned = pin_text(k_text, *manifest, all_four(), "2026-12-02");
  ASSERT_OK(pinned);
  EXPECT_EQ(*pinned,
            "# keep me\n"
            "bundle: t\n"
            "kubernetes_version: v1.20.11\n"
            "epoch: 1\n"
            "artifacts:\n"
            "  - name: etcd\n"
            "    version: v3.4.9\n"
            "    kind: file\n"
            "    url: https://example.invalid/etcd\n"
            "    checksum: sha256:" +
                k_a64 +
                "  # nobody published it\n"
                "    pinned_by_user: \"2026-12-02 checked one way\"\n"
                "    source: NOT FOUND\n"
                "    to: etcd/bin/etcd\n"
                "    mode: 0755\n"
                "  - {name: cfssl, version: R1.2, kind: file, url: 'https://example.invalid/cfssl',\n"
                "     checksum: sha256:" +
                k_b64 +
                ", pinned_by_user: \"2026-12-02 checked \\\"another\\\" way\", source: x, to: cfssl/bin/cfssl, "
                "mode: 0755}\n"
                "images:\n"
                "  - name: pause\n"
                "    ref: \"registry.k8s.io/pause:3.2@sha256:" +
                k_b64 +
                "\"\n"
                "    pinned_by_user: \"2026-12-02 from the registry\"\n"
                "    source: NOT FOUND\n"
                "  - {name: dns, ref: \"registry.k8s.io/coredns:1.7.0@sha256:" +
                k_a64 + "\", pinned_by_user: \"2026-12-02 from the registry\", source: y}\n");
  // The result is a manifest with every value pinned, each marked as the user's.
  auto reloaded = parse_manifest(*pinned, "m.yaml");
  ASSERT_OK(reloaded);
  EXPECT_OK(require_pins(*reloaded, {}));
  EXPECT_EQ(reloaded->artifacts[0].checksum_origin, ChecksumOrigin::user_pin);
  EXPECT_EQ(reloaded->artifacts[0].pinned_by_user, "2026-12-02 checked one way");
  EXPECT_EQ(reloaded->artifacts[1].pinned_by_user, "2026-12-02 checked \"another\" way");
  EXPECT_EQ(reloaded->images[0].digest_origin, ChecksumOrigin::user_pin);
  EXPECT_EQ(reloaded->images[1].pinned_reference(), "registry.k8s.io/coredns:1.7.0@sha256:" + k_a64);
}

TEST(Pin, TextRefusesAValueThatMoved) {
  auto manifest = parse_manifest(k_text, "m.yaml");
  ASSERT_OK(manifest);
  std::string changed = k_text;
  changed.replace(changed.find("    checksum: NOT-FOUND"), 4, "");  // the value is 4 columns left now
  EXPECT_EQ(pin_text(changed, *manifest, {all_four()[0]}, "2026-12-02").error().message(),
            "artifact etcd: NOT-FOUND is no longer at line 10 (the manifest changed while pin ran); run pin again");
}

TEST(Pin, MarkIsValidatedWhenLoading) {
  const std::string pinned = "    checksum: sha256:" + k_a64 + "\n    pinned_by_user: \"2026-12-02 ok\"";
  std::string text = k_text;
  text.replace(text.find("    checksum: NOT-FOUND  # nobody published it"), 46, pinned);
  auto good = parse_manifest(text, "m.yaml");
  ASSERT_OK(good);
  EXPECT_EQ(good->artifacts[0].checksum_origin, ChecksumOrigin::user_pin);

  std::string undated = text;
  undated.replace(undated.find("\"2026-12-02 ok\""), 15, "yesterday");
  EXPECT_EQ(parse_manifest(undated, "m.yaml").error().message(),
            "manifest m.yaml is invalid (1 problem):\n"
            "m.yaml:11:21: artifact etcd: pinned_by_user must start with the date the user resolved the value "
            "(YYYY-MM-DD), got 'yesterday'");
  std::string without_value = k_text;
  without_value.replace(without_value.find("    source: NOT FOUND\n"), 0, "    pinned_by_user: 2026-12-02\n");
  EXPECT_EQ(parse_manifest(without_value, "m.yaml").error().message(),
            "manifest m.yaml is invalid (1 problem):\n"
            "m.yaml:11:21: artifact etcd: pinned_by_user marks a resolved checksum, but the checksum is NOT-FOUND");
}

TEST(Pin, ChecksumFiles) {
  const std::string url = "https://example.invalid/x.tgz.sha256";
  // One hash alone (dl.k8s.io's .sha256 files).
  EXPECT_EQ(*checksum_for(k_a64 + "\n", "x.tgz", DigestAlgorithm::sha256, url), k_a64);
  // sha256sum lines, binary marker and folders in names (SHA256SUMS files).
  EXPECT_EQ(*checksum_for(k_b64 + "  other.tgz\n" + k_a64 + " *dist/x.tgz\n", "x.tgz", DigestAlgorithm::sha256, url),
            k_a64);
  // Upper case is lowered.
  EXPECT_EQ(*checksum_for(std::string(64, 'A') + "  x.tgz", "x.tgz", DigestAlgorithm::sha256, url), k_a64);
  EXPECT_EQ(checksum_for(k_b64 + "  other.tgz\n", "x.tgz", DigestAlgorithm::sha256, url).error().message(),
            url + ": no sha256 for x.tgz in it");
  EXPECT_EQ(checksum_for(k_a64 + "  x.tgz\n", "x.tgz", DigestAlgorithm::sha512, url).error().message(),
            url + ": '" + k_a64 + "' is not a sha512 hash");
  EXPECT_EQ(checksum_for("<html>not found</html>", "x.tgz", DigestAlgorithm::sha256, url).error().message(),
            url + ": no sha256 for x.tgz in it");
}

}  // namespace
}  // namespace builder
