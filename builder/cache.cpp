#include "cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <tuple>
#include <vector>

#include "bundlespec/fs.hpp"

namespace builder {

using bundlespec::Checksum;
using bundlespec::DigestAlgorithm;
using bundlespec::Error;
using bundlespec::Result;
using bundlespec::Status;

namespace {

Status make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return bundlespec::ok_status();
  return bundlespec::errno_error("create cache folder", path);
}

std::string meta_path(const std::string& entry) {
  return entry + ".meta";
}

std::string format_meta(const CacheEntry& entry) {
  return "size=" + std::to_string(entry.size) + "\nsha256=" + entry.sha256_hex + "\nsha512=" + entry.sha512_hex +
         "\nfinal_url=" + entry.final_url + "\n";
}

// Parses the sidecar; nullopt if it is malformed (then the entry is re-hashed).
std::optional<CacheEntry> parse_meta(std::string_view text) {
  CacheEntry entry;
  bool have_size = false;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, eq);
    const std::string value(line.substr(eq + 1));
    if (key == "size") {
      char* stop = nullptr;
      entry.size = std::strtoull(value.c_str(), &stop, 10);
      have_size = !value.empty() && *stop == '\0';
    } else if (key == "sha256") {
      entry.sha256_hex = value;
    } else if (key == "sha512") {
      entry.sha512_hex = value;
    } else if (key == "final_url") {
      entry.final_url = value;
    }
  }
  if (!have_size || !bundlespec::is_lower_hex(entry.sha256_hex, 64)) return std::nullopt;
  return entry;
}

struct FileDigests {
  uint64_t size = 0;
  std::string sha256_hex;
  std::string sha512_hex;
};

// One read of the file through both hashers.
Result<FileDigests> hash_both(const std::string& path) {
  bundlespec::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return bundlespec::errno_error("open", path);
  bundlespec::Hasher sha256(DigestAlgorithm::sha256);
  bundlespec::Hasher sha512(DigestAlgorithm::sha512);
  std::vector<char> buffer(1 << 20);
  FileDigests digests;
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return bundlespec::errno_error("read", path);
    if (n == 0) break;
    sha256.update(buffer.data(), static_cast<size_t>(n));
    sha512.update(buffer.data(), static_cast<size_t>(n));
    digests.size += static_cast<uint64_t>(n);
  }
  digests.sha256_hex = sha256.finish_hex();
  digests.sha512_hex = sha512.finish_hex();
  return digests;
}

void remove_entry(const std::string& path) {
  std::ignore = ::unlink(path.c_str());
  std::ignore = ::unlink(meta_path(path).c_str());
}

}  // namespace

Result<std::string> default_cache_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/kubeferry";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') return std::string(home) + "/.cache/kubeferry";
  return bundlespec::usage_error(
      "cannot choose a download cache: neither XDG_CACHE_HOME nor HOME is an absolute path; "
      "pass --cache DIR");
}

Result<Cache> Cache::open(const std::string& root) {
  if (root.empty()) return bundlespec::usage_error("the cache folder must not be empty");
  // Create the parents too (~/.cache may not exist yet).
  for (size_t slash = root.find('/', 1); slash != std::string::npos; slash = root.find('/', slash + 1)) {
    TRY(make_dir(root.substr(0, slash)));
  }
  TRY(make_dir(root));
  TRY(make_dir(root + "/sha256"));
  TRY(make_dir(root + "/sha512"));
  TRY(make_dir(root + "/partial"));
  return Cache(root);
}

std::string Cache::entry_path(const Checksum& checksum) const {
  return m_root + "/" + std::string(bundlespec::algorithm_name(checksum.algorithm)) + "/" + checksum.hex;
}

std::string Cache::partial_path(const Checksum& checksum) const {
  return partial_dir() + "/" + std::string(bundlespec::algorithm_name(checksum.algorithm)) + "-" + checksum.hex;
}

Result<std::optional<CacheEntry>> Cache::lookup(const Checksum& checksum, CacheCheck check) const {
  const std::string path = entry_path(checksum);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<CacheEntry>();
    return bundlespec::errno_error("stat cache entry", path);
  }
  auto meta_text = bundlespec::read_file(meta_path(path), 64 * 1024);
  std::optional<CacheEntry> meta = meta_text.ok() ? parse_meta(*meta_text) : std::nullopt;
  if (!meta) return rehash(checksum, path, "");
  if (meta->size != static_cast<uint64_t>(st.st_size)) {
    remove_entry(path);  // truncated or replaced behind our back: fetch again
    return std::optional<CacheEntry>();
  }
  meta->path = path;
  if (check == CacheCheck::full) return rehash(checksum, path, meta->final_url);
  return meta;
}

Result<std::optional<CacheEntry>> Cache::rehash(const Checksum& checksum, const std::string& path,
                                                std::string final_url) const {
  TRY_ASSIGN(const FileDigests digests, hash_both(path));
  const std::string& actual = checksum.algorithm == DigestAlgorithm::sha256 ? digests.sha256_hex : digests.sha512_hex;
  if (actual != checksum.hex) {
    remove_entry(path);
    return std::optional<CacheEntry>();
  }
  CacheEntry entry{path, digests.size, digests.sha256_hex, digests.sha512_hex, std::move(final_url)};
  TRY(bundlespec::write_file_atomic(meta_path(path), format_meta(entry), 0644, bundlespec::Overwrite::yes));
  return std::optional<CacheEntry>(std::move(entry));
}

Result<CacheEntry> Cache::insert(const std::string& verified_file, const Checksum& checksum, CacheEntry entry) const {
  entry.path = entry_path(checksum);
  // Sidecar first: a crash between the two steps leaves a sidecar without a file (a miss),
  // never a file without its final URL.
  TRY(bundlespec::write_file_atomic(meta_path(entry.path), format_meta(entry), 0644, bundlespec::Overwrite::yes));
  if (::chmod(verified_file.c_str(), 0644) != 0) {
    return bundlespec::errno_error("chmod", verified_file);
  }
  if (::rename(verified_file.c_str(), entry.path.c_str()) != 0) {
    return bundlespec::errno_error("rename " + verified_file + " to", entry.path);
  }
  TRY(bundlespec::sync_parent_dir(entry.path));
  return entry;
}

}  // namespace builder
