// The reader enforces what FORMAT.md says (issue 12 item 6): correctly signed bundles whose
// payload is hand-made tar and zstd outside the format's dialect (pax global headers, GNU
// sparse or contiguous members, a missing or partial end marker, bytes after it, a second or a
// skippable zstd frame, a window that disagrees with the index), or whose index breaks an entry
// rule (modes, lengths, an installer object in a bare payload), are refused with the exact
// message, by verify_payload_entries, by extract_bundle and by the installer's verify and
// extract commands (exit 3), and extraction leaves no target and no staging folder.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bundle_helpers.hpp"
#include "bundlespec/container.hpp"
#include "bundlespec/digest.hpp"
#include "bundlespec/extract.hpp"
#include "bundlespec/text.hpp"
#include "bundlespec/writer.hpp"
#include "support/test_util.hpp"

// Tar headers below are written as designated initializers naming only what differs.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace bundlespec {
namespace {

const std::string k_installer = std::string(KF_BIN_DIR) + "/kubeferry-install";
constexpr int64_t k_epoch = 1631664000;

// ---- a small tar writer, from FORMAT.md 4.1 -------------------------------------------------

void put_octal(std::string& header, size_t at, size_t width, uint64_t value) {
  char text[32];
  std::snprintf(text, sizeof text, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(value));
  std::memcpy(&header[at], text, width - 1);  // the last byte stays NUL
}

struct Header {
  std::string name;
  char type = '0';
  uint64_t size = 0;
  unsigned mode = 0644;
  std::string link;
  std::string magic = std::string(
      "ustar\0"
      "00",
      8);
};

std::string header_block(const Header& h) {
  std::string header(512, '\0');
  std::memcpy(&header[0], h.name.data(), std::min<size_t>(h.name.size(), 100));
  put_octal(header, 100, 8, h.mode);
  put_octal(header, 108, 8, 0);
  put_octal(header, 116, 8, 0);
  put_octal(header, 124, 12, h.size);
  put_octal(header, 136, 12, static_cast<uint64_t>(k_epoch));
  header[156] = h.type;
  std::memcpy(&header[157], h.link.data(), std::min<size_t>(h.link.size(), 100));
  std::memcpy(&header[257], h.magic.data(), 8);
  std::memset(&header[148], ' ', 8);
  unsigned sum = 0;
  for (const char c : header) sum += static_cast<unsigned char>(c);
  char text[8];
  std::snprintf(text, sizeof text, "%06o", sum);
  std::memcpy(&header[148], text, 7);  // six digits, NUL, and the space already there
  return header;
}

std::string padded(std::string data) {
  data.append((512 - data.size() % 512) % 512, '\0');
  return data;
}

std::string member(const Header& h, const std::string& data = "") {
  return header_block(h) + padded(data);
}

std::string pax_record(const std::string& key, const std::string& value) {
  const std::string body = " " + key + "=" + value + "\n";
  size_t length = body.size() + 1;
  while (std::to_string(length).size() + body.size() != length) ++length;
  return std::to_string(length) + body;
}

std::string pax_member(char type, const std::string& records) {
  Header h;
  h.name = "PaxHeader/x";
  h.type = type;
  h.size = records.size();
  return member(h, records);
}

const std::string k_end(1024, '\0');

std::string zstd_frame(const std::string& data, int window_log) {
  const Handle<ZSTD_CCtx> cctx(ZSTD_createCCtx());
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, 3);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_windowLog, window_log);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 0);
  std::string out(ZSTD_compressBound(data.size()) + 64, '\0');
  ZSTD_outBuffer output{out.data(), out.size(), 0};
  // Content size unknown (as the writer's streaming mode): the header has a window descriptor.
  ZSTD_inBuffer input{data.data(), data.size(), 0};
  size_t rc = ZSTD_compressStream2(cctx.get(), &output, &input, ZSTD_e_continue);
  EXPECT_FALSE(ZSTD_isError(rc));
  ZSTD_inBuffer none{nullptr, 0, 0};
  do {
    rc = ZSTD_compressStream2(cctx.get(), &output, &none, ZSTD_e_end);
    EXPECT_FALSE(ZSTD_isError(rc));
  } while (rc != 0 && !ZSTD_isError(rc));
  out.resize(output.pos);
  return out;
}

std::string skippable_frame(const std::string& data) {
  std::string out = "\x50\x2a\x4d\x18";
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((data.size() >> (8 * i)) & 0xff));
  return out + data;
}

// ---- the entries of the test tree, and members matching them -----------------------------------

const std::string k_data = "hello\n";

IndexEntry dir_entry(const std::string& path, uint32_t mode = 0755) {
  IndexEntry e;
  e.path = path;
  e.type = EntryType::directory;
  e.mode = mode;
  return e;
}
IndexEntry file_entry(const std::string& path, const std::string& data, uint32_t mode = 0644) {
  IndexEntry e;
  e.path = path;
  e.type = EntryType::file;
  e.mode = mode;
  e.size = data.size();
  e.sha256 = sha256_hex(data);
  return e;
}
IndexEntry link_entry(const std::string& path, const std::string& target, uint32_t mode = 0777) {
  IndexEntry e;
  e.path = path;
  e.type = EntryType::symlink;
  e.mode = mode;
  e.target = target;
  return e;
}

std::vector<IndexEntry> good_entries() {
  return {dir_entry("d"), file_entry("d/f", k_data)};
}
std::string good_members() {
  return member({.name = "d/", .type = '5', .mode = 0755}) +
         member({.name = "d/f", .type = '0', .size = k_data.size(), .mode = 0644}, k_data);
}

class ReaderRules : public ::testing::Test {
 protected:
  // Signs `entries` with `payload` as the payload part (bare, or after `installer` bytes).
  std::string assemble(const std::string& payload, const std::vector<IndexEntry>& entries, int window_log = 20,
                       const std::optional<std::string>& installer = std::nullopt) {
    const std::string path = m_dir / ("bundle-" + std::to_string(m_count++) + ".bin");
    Index index;
    index.name = "rules";
    index.created = k_epoch;
    index.signer = fingerprint(m_key);
    index.compression.level = 3;
    index.compression.window_log = window_log;
    const std::string prefix = installer.value_or("");
    if (installer) index.installer = Part{0, prefix.size(), sha256_hex(prefix)};
    index.payload = Part{prefix.size(), payload.size(), sha256_hex(payload)};
    index.entries = entries;
    const std::string index_bytes = encode_index(index);
    auto signature = sign(m_key, std::string(k_signature_context) + index_bytes);
    EXPECT_OK(signature);
    Trailer trailer;
    trailer.payload_offset = prefix.size();
    trailer.payload_size = payload.size();
    trailer.index_size = index_bytes.size();
    kftest::write_file(
        path, prefix + payload + index_bytes + raw_public_key(m_key) + *signature + encode_trailer(trailer), 0644);
    return path;
  }

  // What the installer's command prints and returns (pinned to our key, so no warning).
  int run(const std::string& path, const std::string& command, std::string& output) {
    return kftest::run_command(
        k_installer + " -q --bundle " + path + " " + command + " --fingerprint " + fingerprint(m_key), &output);
  }

  // The index is fine; streaming the payload must fail with `message` everywhere.
  void expect_payload_refused(const std::string& path, const std::string& message) {
    auto bundle = BundleFile::open(path, {});
    ASSERT_OK(bundle);
    EXPECT_OK(bundle->verify_parts());  // the digests are right: the signer made it so
    auto verified = verify_payload_entries(*bundle, {});
    ASSERT_FALSE(verified.ok()) << message;
    EXPECT_EQ(verified.error().code(), ErrorCode::verification);
    EXPECT_EQ(verified.error().message(), message);
    const std::string target = m_dir / "target";
    auto extracted = extract_bundle(*bundle, target, {});
    ASSERT_FALSE(extracted.ok()) << message;
    EXPECT_EQ(extracted.error().code(), ErrorCode::verification);
    EXPECT_EQ(extracted.error().message(), message);
    expect_cli_refused(path, message);
  }

  // Opening the bundle must fail with `message`, and so must the installer's commands.
  void expect_open_refused(const std::string& path, const std::string& message) {
    auto bundle = BundleFile::open(path, {});
    ASSERT_FALSE(bundle.ok()) << message;
    EXPECT_EQ(bundle.error().code(), ErrorCode::verification);
    EXPECT_EQ(bundle.error().message(), message);
    expect_cli_refused(path, message);
  }

  void expect_cli_refused(const std::string& path, const std::string& message) {
    std::string output;
    const std::string target = m_dir / "target";
    EXPECT_EQ(run(path, "extract --to " + target, output), 3) << output;
    EXPECT_EQ(output, "kubeferry-install: error: extract " + path + ": " + message + "\n");
    EXPECT_EQ(run(path, "verify", output), 3) << output;
    EXPECT_EQ(output, "kubeferry-install: error: verify " + path + ": " + message + "\n");
    EXPECT_FALSE(kftest::exists(target));
    EXPECT_TRUE(testing::staging_leftovers(m_dir.path()).empty());
  }

  kftest::TempDir m_dir;
  Key m_key = testing::make_key();
  int m_count = 0;
};

TEST_F(ReaderRules, TheHandMadePayloadIsAccepted) {
  // The baseline every other case changes one thing of.
  const std::string path = assemble(zstd_frame(good_members() + k_end, 20), good_entries());
  auto bundle = BundleFile::open(path, {});
  ASSERT_OK(bundle);
  EXPECT_OK(verify_payload_entries(*bundle, {}));
  ASSERT_OK(extract_bundle(*bundle, m_dir / "out", {}));
  EXPECT_EQ(kftest::read_file(m_dir / "out/d/f"), k_data);
  std::string output;
  EXPECT_EQ(run(path, "verify", output), 0) << output;
}

TEST_F(ReaderRules, PaxGlobalHeader) {
  const std::string tar = pax_member('g', pax_record("comment", "global")) + good_members() + k_end;
  expect_payload_refused(assemble(zstd_frame(tar, 20), good_entries()),
                         "payload: tar header at offset 0: a pax global header (type 'g') is not allowed");
}

TEST_F(ReaderRules, GnuSparseAndContiguousMembers) {
  const std::string dir = member({.name = "d/", .type = '5', .mode = 0755});
  const auto with = [&](const Header& h) { return zstd_frame(dir + member(h, k_data) + k_end, 20); };
  // GNU sparse, old GNU format (its own magic, the sparse map in the header).
  expect_payload_refused(
      assemble(with({.name = "d/f", .type = 'S', .size = k_data.size(), .magic = std::string("ustar  \0", 8)}),
               good_entries()),
      "payload: tar header at offset 512: a GNU sparse file (type 'S') is not allowed");
  // The same type with a POSIX magic.
  expect_payload_refused(assemble(with({.name = "d/f", .type = 'S', .size = k_data.size()}), good_entries()),
                         "payload: tar header at offset 512: a GNU sparse file (type 'S') is not allowed");
  expect_payload_refused(assemble(with({.name = "d/f", .type = '7', .size = k_data.size()}), good_entries()),
                         "payload: tar header at offset 512: a contiguous file (type '7') is not allowed");
  // GNU sparse in pax records (formats 0.x and 1.0).
  const std::string sparse =
      pax_member('x', pax_record("GNU.sparse.major", "1") + pax_record("GNU.sparse.minor", "0") +
                          pax_record("GNU.sparse.name", "d/f") + pax_record("GNU.sparse.realsize", "6"));
  expect_payload_refused(
      assemble(zstd_frame(dir + sparse + member({.name = "d/f", .size = k_data.size()}, k_data) + k_end, 20),
               good_entries()),
      "payload: tar header at offset 512: a GNU sparse file (pax record GNU.sparse.major) is not allowed");
  // An old GNU header without sparse data is not the ustar dialect either.
  expect_payload_refused(
      assemble(with({.name = "d/f", .size = k_data.size(), .magic = std::string("ustar  \0", 8)}), good_entries()),
      "payload: tar header at offset 512: not a POSIX ustar header (magic \"ustar\\0\" \"00\")");
}

TEST_F(ReaderRules, EndMarkerMissingOrPartial) {
  expect_payload_refused(assemble(zstd_frame(good_members(), 20), good_entries()),
                         "payload: the tar archive has no end marker (two zero blocks)");
  expect_payload_refused(assemble(zstd_frame(good_members() + std::string(512, '\0'), 20), good_entries()),
                         "payload: the tar end marker is partial (one zero block of two)");
  // Ends inside a member's data.
  expect_payload_refused(assemble(zstd_frame(good_members().substr(0, 1024 + 3), 20), good_entries()),
                         "payload: the tar archive is truncated (it ends inside a header or a member's data)");
}

TEST_F(ReaderRules, BytesAfterTheEndMarker) {
  expect_payload_refused(assemble(zstd_frame(good_members() + k_end + std::string(512, '\0'), 20), good_entries()),
                         "payload: bytes after the tar end marker (at offset 2560)");
  expect_payload_refused(assemble(zstd_frame(good_members() + k_end + "x", 20), good_entries()),
                         "payload: bytes after the tar end marker (at offset 2560)");
  // A member hidden behind one zero block.
  expect_payload_refused(
      assemble(zstd_frame(member({.name = "d/", .type = '5', .mode = 0755}) + std::string(512, '\0') +
                              member({.name = "d/f", .size = k_data.size()}, k_data) + k_end,
                          20),
               good_entries()),
      "payload: the tar end marker is partial (one zero block of two)");
}

TEST_F(ReaderRules, MoreThanOneZstdFrame) {
  const std::string tar = good_members() + k_end;
  // The tar split over two frames: each decodes, together they are the right tar.
  const std::string first = zstd_frame(tar.substr(0, 1024), 20);
  expect_payload_refused(
      assemble(first + zstd_frame(tar.substr(1024), 20), good_entries()),
      "payload: more than one zstd frame (a second frame starts at byte " + std::to_string(first.size()) + ")");
}

TEST_F(ReaderRules, SkippableZstdFrames) {
  const std::string frame = zstd_frame(good_members() + k_end, 20);
  expect_payload_refused(assemble(skippable_frame("hidden") + frame, good_entries()),
                         "payload: a zstd skippable frame at byte 0 is not allowed");
  expect_payload_refused(assemble(frame + skippable_frame("hidden"), good_entries()),
                         "payload: a zstd skippable frame at byte " + std::to_string(frame.size()) + " is not allowed");
}

TEST_F(ReaderRules, WindowLogDisagreesWithTheFrame) {
  const std::string tar = good_members() + k_end;
  // Smaller than the index says: decodes fine today, but the index does not describe the bytes.
  expect_payload_refused(assemble(zstd_frame(tar, 19), good_entries(), 20),
                         "payload: the zstd frame's window is 2^19 bytes but the index says window_log 20");
  expect_payload_refused(assemble(zstd_frame(tar, 21), good_entries(), 20),
                         "payload: the zstd frame's window is 2^21 bytes but the index says window_log 20");
}

TEST_F(ReaderRules, InstallerObjectInABarePayload) {
  // payload_offset 0 with an "installer" of size 0: a bare payload that claims an installer.
  const std::string path = assemble(zstd_frame(good_members() + k_end, 20), good_entries(), 20, std::string());
  expect_open_refused(path, "index: a bare payload (payload_offset 0) must not have an \"installer\" object");
}

TEST_F(ReaderRules, WriterRefusesAnEmptyInstaller) {
  kftest::write_file(m_dir / "empty-installer", "", 0755);
  kftest::write_file(m_dir / "src/f", "f");
  WriterOptions options;
  options.name = "rules";
  options.epoch = k_epoch;
  options.compression.level = 3;
  options.installer_path = m_dir / "empty-installer";
  auto written = pack_directory(m_dir / "src", m_key, options, m_dir / "x.run");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().message(),
            "installer " + (m_dir / "empty-installer") + " is empty (leave it out to write a bare payload)");
  EXPECT_FALSE(kftest::exists(m_dir / "x.run"));
}

TEST_F(ReaderRules, ModesOutsideTheNormalisedSet) {
  const std::string tar = zstd_frame(good_members() + k_end, 20);
  const auto with_file_mode = [&](uint32_t mode) {
    return assemble(tar, {dir_entry("d"), file_entry("d/f", k_data, mode)});
  };
  const std::string rule = "; files and folders have permission bits 0001-0775, symlinks 0777";
  expect_open_refused(with_file_mode(0666), "entry d/f: mode 0666 is not allowed (world-writable)" + rule);
  expect_open_refused(with_file_mode(0), "entry d/f: mode 0000 is not allowed (no permission bits)" + rule);
  expect_open_refused(assemble(tar, {dir_entry("d", 0777), file_entry("d/f", k_data)}),
                      "entry d: mode 0777 is not allowed (world-writable)" + rule);
  expect_open_refused(assemble(tar, {dir_entry("d"), link_entry("d/l", "f", 0755)}),
                      "entry d/l: mode 0755 is not allowed (a symlink is 0777)" + rule);
  // setuid, setgid and sticky keep their message.
  for (const uint32_t mode : {04755u, 02755u, 01755u}) {
    expect_open_refused(with_file_mode(mode), "entry d/f: setuid, setgid or sticky bits are not allowed");
  }
}

TEST_F(ReaderRules, PathsLongerThanExtractionCanCreate) {
  // 4096 bytes do not fit PATH_MAX with the terminating NUL: openat() says ENAMETOOLONG.
  std::string folders;
  std::vector<IndexEntry> entries;
  while (folders.size() + 1 + 200 < 4096) {
    folders += (folders.empty() ? "" : "/") + std::string(200, 'd');
    entries.push_back(dir_entry(folders));
  }
  const std::string longest = folders + "/" + std::string(4095 - folders.size() - 1, 'f');
  ASSERT_EQ(longest.size(), 4095u);
  const std::string too_long = longest + "g";
  entries.push_back(file_entry(too_long, k_data));
  const std::string tar = zstd_frame(k_end, 20);  // never read: the index is refused first
  expect_open_refused(assemble(tar, entries),
                      "entry " + printable(too_long) + ": path longer than 4095 bytes (PATH_MAX with its NUL)");

  // A symlink target of 4096 bytes: symlinkat() refuses it.
  expect_open_refused(assemble(tar, {link_entry("l", std::string(4096, 'x'))}),
                      "entry l: symlink target longer than 4095 bytes (PATH_MAX with its NUL)");
  expect_open_refused(assemble(tar, {link_entry("l", std::string("a\0b", 3))}), "entry l: NUL byte in symlink target");
}

TEST_F(ReaderRules, TheLongestPathAndTargetExtract) {
  // What verify accepts, extract creates: a 4095-byte path and a 4095-byte symlink target.
  std::string folders;
  std::vector<IndexEntry> entries;
  std::string tar;
  while (folders.size() + 1 + 200 < 4095) {
    folders += (folders.empty() ? "" : "/") + std::string(200, 'd');
    entries.push_back(dir_entry(folders));
  }
  const std::string longest = folders + "/" + std::string(4095 - folders.size() - 1, 'f');
  entries.push_back(file_entry(longest, k_data));
  const std::string target = std::string(4095, 'x');
  entries.insert(entries.begin(), link_entry("a", target));
  // Tar members for them, with pax records for what ustar cannot hold.
  const auto pax_for = [](const std::string& key, const std::string& value) {
    return pax_member('x', pax_record(key, value));
  };
  tar += pax_for("linkpath", target) + member({.name = "a", .type = '2', .mode = 0777, .link = "x"});
  for (size_t i = 1; i < entries.size(); ++i) {
    const IndexEntry& e = entries[i];
    if (e.type == EntryType::directory) {
      tar += pax_for("path", e.path + "/") + member({.name = "x/", .type = '5', .mode = 0755});
    } else {
      tar += pax_for("path", e.path) + member({.name = "x", .size = k_data.size(), .mode = 0644}, k_data);
    }
  }
  tar += k_end;
  const std::string path = assemble(zstd_frame(tar, 20), entries);
  auto bundle = BundleFile::open(path, {});
  ASSERT_OK(bundle);
  EXPECT_OK(verify_payload_entries(*bundle, {}));
  ASSERT_OK(extract_bundle(*bundle, m_dir / "out", {}));
  std::string output;
  EXPECT_EQ(run(path, "verify", output), 0) << output;
  EXPECT_EQ(kftest::run_command("test -L " + (m_dir / "out/a")), 0);
}

}  // namespace
}  // namespace bundlespec
