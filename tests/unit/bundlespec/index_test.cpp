// The index: canonical encoding round trip, refusal of any other byte string, and every
// entry rule of FORMAT.md 3.3/3.4 refused by name with its exact message.
#include "bundlespec/index.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bundlespec/digest.hpp"
#include "support/test_util.hpp"

namespace bundlespec {
namespace {

IndexEntry dir(std::string path) {
  IndexEntry e;
  e.path = std::move(path);
  e.type = EntryType::directory;
  e.mode = 0755;
  return e;
}

IndexEntry file(std::string path, uint64_t size = 3, uint32_t mode = 0644) {
  IndexEntry e;
  e.path = std::move(path);
  e.type = EntryType::file;
  e.mode = mode;
  e.size = size;
  e.sha256 = sha256_hex(e.path);
  return e;
}

IndexEntry link(std::string path, std::string target) {
  IndexEntry e;
  e.path = std::move(path);
  e.type = EntryType::symlink;
  e.mode = 0777;
  e.target = std::move(target);
  return e;
}

IndexEntry of_type(std::string path, EntryType type) {
  IndexEntry e;
  e.path = std::move(path);
  e.type = type;
  e.mode = 0644;
  if (type == EntryType::hardlink) e.target = "a";
  return e;
}

Index sample_index() {
  Index index;
  index.name = "k8s-v1.20.11";
  index.created = 1631664000;
  index.signer = "SHA256:" + sha256_hex("key");
  index.compression.level = 3;
  index.installer = Part{0, 100, sha256_hex("installer")};
  index.payload = Part{100, 50, sha256_hex("payload")};
  IndexEntry etcd = file("etcd/bin/etcd", 21529688, 0755);
  etcd.origin = Origin{"etcd", "v3.4.9", "https://example.invalid/etcd.tar.gz", "sha256:" + sha256_hex("up")};
  index.entries = {dir("etcd"), dir("etcd/bin"), link("etcd/bin/e", "etcd"), etcd, file("\xc3\xa9t\xc3\xa9.txt", 0)};
  return index;
}

// validate_entries' message, or "" when the entries are fine.
std::string problem(const std::vector<IndexEntry>& entries, uint64_t max_entry_size = k_max_entry_size) {
  auto status = validate_entries(entries, max_entry_size);
  if (status.ok()) return "";
  EXPECT_EQ(status.error().code(), ErrorCode::verification);
  return status.error().message();
}

std::string decode_error(std::string_view bytes) {
  auto result = decode_index(bytes);
  if (result.ok()) return "<decoded>";
  EXPECT_EQ(result.error().code(), ErrorCode::verification);
  return result.error().message();
}

TEST(Index, EncodeDecodeRoundTrip) {
  const Index index = sample_index();
  const std::string bytes = encode_index(index);
  auto decoded = decode_index(bytes);
  ASSERT_OK(decoded);
  EXPECT_EQ(*decoded, index);
  EXPECT_EQ(encode_index(*decoded), bytes);
  EXPECT_OK(validate_entries(index.entries));
}

TEST(Index, ExactEncoding) {
  Index index;
  index.name = "n";
  index.created = 7;
  index.signer = "S";
  index.payload = Part{0, 1, std::string(64, 'a')};
  index.entries = {dir("d"), file("d/f", 2, 0755), link("d/l", "f")};
  index.entries[1].sha256 = std::string(64, 'b');
  EXPECT_EQ(encode_index(index),
            "{\"compression\":{\"algorithm\":\"zstd\",\"level\":19,\"window_log\":27},\"created\":7,"
            "\"entries\":[{\"mode\":493,\"path\":\"d\",\"type\":\"directory\"},"
            "{\"mode\":493,\"path\":\"d/f\",\"sha256\":\"" +
                std::string(64, 'b') +
                "\",\"size\":2,\"type\":\"file\"},"
                "{\"mode\":511,\"path\":\"d/l\",\"target\":\"f\",\"type\":\"symlink\"}],"
                "\"format_version\":1,\"name\":\"n\","
                "\"payload\":{\"offset\":0,\"sha256\":\"" +
                std::string(64, 'a') +
                "\",\"size\":1},"
                "\"platform\":\"linux/amd64\",\"signer\":\"S\"}");
}

TEST(Index, RefusesNonCanonicalBytes) {
  const std::string bytes = encode_index(sample_index());
  // Whitespace, reordered keys, an escaped '/', a needless \u escape: all the same JSON value.
  EXPECT_EQ(decode_error(bytes + "\n"), "index: not in canonical encoding");
  EXPECT_EQ(decode_error(" " + bytes), "index: not in canonical encoding");
  std::string spaced = bytes;
  spaced.insert(spaced.find(':') + 1, " ");
  EXPECT_EQ(decode_error(spaced), "index: not in canonical encoding");
  std::string escaped = bytes;
  escaped.replace(escaped.find("etcd/bin/etcd"), 13, "etcd\\/bin\\/etcd");
  EXPECT_EQ(decode_error(escaped), "index: not in canonical encoding");
  std::string unicode = bytes;
  unicode.replace(unicode.find("\"name\":\"k"), 9, "\"name\":\"\\u006b");
  EXPECT_EQ(decode_error(unicode), "index: not in canonical encoding");
  // Move "compression" (the first key) to the end.
  const size_t end = bytes.find("},") + 2;
  const std::string reordered = "{" + bytes.substr(end, bytes.size() - end - 1) + "," + bytes.substr(1, end - 2) + "}";
  ASSERT_EQ(reordered.size(), bytes.size());
  EXPECT_EQ(decode_error(reordered), "index: not in canonical encoding");
}

TEST(Index, RefusesMalformedIndexes) {
  const std::string bytes = encode_index(sample_index());
  EXPECT_EQ(decode_error("[]"), "index: not a JSON object");
  EXPECT_EQ(decode_error("{"), "index: json: offset 1: expected a string key");
  EXPECT_EQ(decode_error(bytes.substr(0, bytes.size() - 1)),
            "index: json: offset " + std::to_string(bytes.size() - 1) + ": expected ',' or '}'");
  std::string unknown = bytes;
  unknown.insert(unknown.size() - 1, ",\"zzz\":1");
  EXPECT_EQ(decode_error(unknown), "index: unknown field \"zzz\"");
  std::string version = bytes;
  version.replace(version.find("\"format_version\":1"), 18, "\"format_version\":2");
  EXPECT_EQ(decode_error(version), "index: format_version 2 is not supported (this reader knows 1)");
  std::string algorithm = bytes;
  algorithm.replace(algorithm.find("\"zstd\""), 6, "\"gzip\"");
  EXPECT_EQ(decode_error(algorithm), "index: compression: only zstd is supported");
  std::string missing = bytes;
  missing.replace(missing.find("\"name\":\"k8s-v1.20.11\","), 22, "");
  EXPECT_EQ(decode_error(missing), "index: missing \"name\"");
  std::string type = bytes;
  type.replace(type.find("\"type\":\"symlink\""), 16, "\"type\":\"socket\"");
  EXPECT_EQ(decode_error(type), "index: entry 2: unknown entry type \"socket\"");
  std::string sha = bytes;
  sha.replace(sha.find(sha256_hex("payload")), 1, "A");
  EXPECT_EQ(decode_error(sha), "index: payload: \"sha256\": not 64 lowercase hex digits");
  std::string mode = bytes;
  mode.replace(mode.find("\"mode\":493"), 10, "\"mode\":4096");
  EXPECT_EQ(decode_error(mode), "index: entry 0: \"mode\": out of range");
  std::string negative = bytes;
  negative.replace(negative.find("\"size\":21529688"), 15, "\"size\":-1");
  EXPECT_EQ(decode_error(negative), "index: entry 3: \"size\": negative");
  EXPECT_EQ(decode_error(std::string(k_max_index_size + 1, ' ')), "index: larger than the 64 MiB limit");
}

// FORMAT.md 3.2: name and platform are short ASCII labels, so a reader can print them.
TEST(Index, NameAndPlatformRules) {
  const std::string name_rule =
      "must be 1-128 bytes of ASCII letters, digits, '.', '-', '_' and '+', starting with a letter or digit";
  for (const std::string& good : std::vector<std::string>{"k8s-v1.20.11", "a", "A_b+c.d-e", std::string(128, 'x')}) {
    EXPECT_EQ(name_problem(good), "") << good;
  }
  for (const std::string& bad : std::vector<std::string>{"", "-x", ".x", "a b", "a/b", "ok\nOK fake", "\x1b[31mred",
                                                         "caf\xc3\xa9", std::string(129, 'x')}) {
    EXPECT_EQ(name_problem(bad), name_rule) << bad;
  }
  const std::string platform_rule =
      "must be os/arch or os/arch/variant (at most 128 bytes), each part ASCII letters, digits, '.', '-', '_' or '+'";
  for (const std::string& good : std::vector<std::string>{"linux/amd64", "linux/arm/v7", "linux/ppc64le"}) {
    EXPECT_EQ(platform_problem(good), "") << good;
  }
  for (const std::string& bad : std::vector<std::string>{"", "linux", "linux/", "/amd64", "linux//amd64", "a/b/c/d",
                                                         "linux/amd64\n", "linux/" + std::string(123, 'x')}) {
    EXPECT_EQ(platform_problem(bad), platform_rule) << bad;
  }
}

TEST(Index, RefusesForgedNameOrPlatform) {
  Index forged = sample_index();
  forged.name = "demo\nOK evil: 1 entries, signed by SHA256:0000";
  EXPECT_EQ(decode_error(encode_index(forged)),
            "index: \"name\" \"demo\\x0aOK evil: 1 entries, signed by SHA256:0000\": must be 1-128 bytes of ASCII "
            "letters, digits, '.', '-', '_' and '+', starting with a letter or digit");
  forged = sample_index();
  forged.platform = "linux/\x1b[2Jamd64";
  EXPECT_EQ(decode_error(encode_index(forged)),
            "index: \"platform\" \"linux/\\x1b[2Jamd64\": must be os/arch or os/arch/variant (at most 128 bytes), "
            "each part ASCII letters, digits, '.', '-', '_' or '+'");
  forged = sample_index();
  forged.name = std::string(129, 'n');
  EXPECT_EQ(decode_error(encode_index(forged)),
            "index: \"name\" \"" + std::string(129, 'n') +
                "\": must be 1-128 bytes of ASCII letters, digits, '.', '-', '_' and '+', starting with a letter or "
                "digit");
}

// Entry paths in messages are escaped: a hostile path cannot forge a line or a colour.
TEST(Index, EntryMessagesEscapeThePath) {
  EXPECT_EQ(problem({file("a\x1b[2J\nOK"), file("a\x1b[2J\nOK")}), "entry a\\x1b[2J\\x0aOK: listed twice");
  EXPECT_EQ(problem({link("l", "../\x9b")}), "entry l: symlink target '../\\x9b' leaves the bundle");
}

TEST(Index, ValidEntries) {
  EXPECT_EQ(problem({}), "");
  EXPECT_EQ(
      problem({dir("a"), link("a/l", ".."), link("a/m", "../a/./l"), dir("b"), link("b/up", "../a"), link("c", "a/l")}),
      "");
  // '-' sorts before '/', so a sibling can sit between a folder and its children.
  EXPECT_EQ(problem({dir("a"), file("a-b"), file("a/b")}), "");
  EXPECT_EQ(problem({file(std::string(255, 'x'))}), "");
  EXPECT_EQ(problem({file("big", 10)}, 10), "");
}

TEST(Index, RefusesBadPaths) {
  EXPECT_EQ(problem({file("/etc/passwd")}), "entry /etc/passwd: absolute path");
  EXPECT_EQ(problem({dir("a"), file("a/../b")}), "entry a/../b: '..' path component");
  EXPECT_EQ(problem({file("..")}), "entry ..: '..' path component");
  EXPECT_EQ(problem({dir("a"), file("a/./b")}), "entry a/./b: '.' path component");
  EXPECT_EQ(problem({dir("a"), file("a//b")}), "entry a//b: empty path component");
  EXPECT_EQ(problem({dir("a/")}), "entry a/: path ends with '/'");
  EXPECT_EQ(problem({file("")}), "entry : empty path");
  EXPECT_EQ(problem({file(std::string("a\0b", 3))}), "entry a\\x00b: NUL byte in path");  // escaped
  // Paths in messages are cut at 200 bytes (printable()).
  EXPECT_EQ(problem({file(std::string(256, 'x'))}),
            "entry " + std::string(200, 'x') + "...: path component longer than 255 bytes");
  std::string long_path;
  while (long_path.size() <= k_max_path) long_path += "abcdefgh/";
  long_path += "f";
  EXPECT_EQ(problem({file(long_path)}),
            "entry " + long_path.substr(0, 200) + "...: path longer than 4095 bytes (PATH_MAX with its NUL)");
}

TEST(Index, RefusesBadOrder) {
  EXPECT_EQ(problem({file("b"), file("a")}), "entry a: out of order (entries must be sorted bytewise)");
  EXPECT_EQ(problem({file("a"), file("a")}), "entry a: listed twice");
  EXPECT_EQ(problem({dir("a"), dir("a")}), "entry a: listed twice");
  EXPECT_EQ(problem({file("B"), file("a"), file("C")}), "entry C: out of order (entries must be sorted bytewise)");
  EXPECT_EQ(problem({file("a/b")}), "entry a/b: parent folder a is not listed before it");
  EXPECT_EQ(problem({dir("a"), file("a/b/c")}), "entry a/b/c: parent folder a/b is not listed before it");
  EXPECT_EQ(problem({file("a"), file("a/b")}), "entry a/b: parent a is not a folder");
  EXPECT_EQ(problem({link("a", "."), file("a/b")}), "entry a/b: parent a is not a folder");
}

TEST(Index, RefusesSymlinkEscapes) {
  EXPECT_EQ(problem({link("l", "../x")}), "entry l: symlink target '../x' leaves the bundle");
  EXPECT_EQ(problem({link("l", "..")}), "entry l: symlink target '..' leaves the bundle");
  EXPECT_EQ(problem({dir("a"), link("a/l", "../../etc/passwd")}),
            "entry a/l: symlink target '../../etc/passwd' leaves the bundle");
  EXPECT_EQ(problem({dir("a"), link("a/l", "b/../../..")}), "entry a/l: symlink target 'b/../../..' leaves the bundle");
  EXPECT_EQ(problem({link("l", "/etc")}), "entry l: symlink target '/etc' is absolute");
  EXPECT_EQ(problem({link("l", "")}), "entry l: empty symlink target");
  // a/l -> .. is the bundle root, harmless by itself; b -> a/l/.. would apply '..' to that
  // link and climb out of the bundle once extracted, so it is refused.
  EXPECT_EQ(problem({dir("a"), link("a/l", ".."), link("b", "a/l/..")}),
            "entry b: symlink target 'a/l/..' passes through a/l, which is not a folder");
  EXPECT_EQ(problem({dir("a"), link("a/l", ".."), link("b", "a/l/a")}),
            "entry b: symlink target 'a/l/a' passes through a/l, which is not a folder");
  EXPECT_EQ(problem({dir("a"), link("a/l", ".."), link("b", "a/l/")}),
            "entry b: symlink target 'a/l/' passes through a/l, which is not a folder");
  // Through a file too.
  EXPECT_EQ(problem({file("f"), link("l", "f/..")}),
            "entry l: symlink target 'f/..' passes through f, which is not a folder");
}

TEST(Index, RefusesOtherTypes) {
  EXPECT_EQ(problem({of_type("dev", EntryType::char_device)}), "entry dev: device nodes are not allowed");
  EXPECT_EQ(problem({of_type("blk", EntryType::block_device)}), "entry blk: device nodes are not allowed");
  EXPECT_EQ(problem({of_type("p", EntryType::fifo)}), "entry p: fifos are not allowed");
  EXPECT_EQ(problem({file("a"), of_type("h", EntryType::hardlink)}), "entry h: hardlinks are not allowed");
  EXPECT_EQ(problem({file("s", 1, 04755)}), "entry s: setuid, setgid or sticky bits are not allowed");
  IndexEntry sticky = dir("t");
  sticky.mode = 01777;
  EXPECT_EQ(problem({sticky}), "entry t: setuid, setgid or sticky bits are not allowed");
}

TEST(Index, RefusesOversize) {
  EXPECT_EQ(problem({file("big", 11)}, 10), "entry big: size 11 exceeds the limit of 10 bytes");
  EXPECT_EQ(problem({file("huge", k_max_entry_size + 1)}),
            "entry huge: size 68719476737 exceeds the limit of 68719476736 bytes");
}

TEST(Index, PathProblem) {
  EXPECT_EQ(path_problem("a/b/c"), "");
  EXPECT_EQ(path_problem("a/"), "path ends with '/'");
  EXPECT_EQ(path_problem("/"), "absolute path");
}

TEST(Index, JsonView) {
  const Index index = sample_index();
  const Json json = index_to_json(index);
  EXPECT_EQ(to_canonical_json(json), encode_index(index));
  ASSERT_NE(json.find("entries"), nullptr);
  EXPECT_EQ(json.find("entries")->as_array().size(), index.entries.size());
}

}  // namespace
}  // namespace bundlespec
