// verify-media and join. See media.hpp.
#include "media/media.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "bundlespec/container.hpp"
#include "bundlespec/digest.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/handles.hpp"
#include "bundlespec/interrupt.hpp"
#include "bundlespec/text.hpp"

namespace installer {

namespace bs = bundlespec;

namespace {

constexpr size_t k_buffer_size = 1 << 20;

std::string parent_of_path(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The names in `dir` (no "." or ".."), sorted. Empty when it cannot be read.
std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) return names;
  while (const dirent* entry = ::readdir(handle)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

// DIR/*.parts, exactly one; or `where` itself when it names a file.
Result<std::string> find_manifest(const std::string& where) {
  struct stat st{};
  if (::stat(where.c_str(), &st) != 0) return bs::usage_error(where + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return where;
  std::vector<std::string> found;
  for (const std::string& name : list_dir(where)) {
    if (name.size() > bs::k_parts_suffix.size() && name.ends_with(bs::k_parts_suffix)) found.push_back(name);
  }
  if (found.empty()) return bs::usage_error(where + " holds no *.parts manifest (made by kubeferry split)");
  if (found.size() > 1) {
    std::string names;
    for (const auto& name : found) names += " " + bs::printable(name);
    return bs::usage_error(where + " holds several parts manifests (" + names.substr(1) + "): name one");
  }
  return where + "/" + found.front();
}

// What a part on the medium holds compared with the manifest's entry; "" when it is good.
// `by_digest` maps every listed digest to its file, to recognise a renamed or swapped part.
std::string check_file(const std::string& dir, const bs::MediaFile& want,
                       const std::map<std::string, std::string>& by_digest, std::string& buffer,
                       bs::Progress& progress, uint64_t& bytes) {
  const std::string path = dir + "/" + want.name;
  bs::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT) return "missing";
    return std::string("cannot open: ") + std::strerror(errno);
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return "not a regular file";
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < want.size) {
    return "short: " + std::to_string(size) + " of " + std::to_string(want.size) + " bytes (the copy stopped early)";
  }
  if (size > want.size) return "too long: " + std::to_string(size) + " bytes, want " + std::to_string(want.size);
  progress.start_item(want.name, want.size, 0);
  bs::Hasher hasher(bs::DigestAlgorithm::sha256);
  for (uint64_t done = 0; done < size;) {
    if (bs::interrupt_requested()) return "interrupted";
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      progress.finish_item(want.name, bs::ItemOutcome::failed);
      return std::string("unreadable at byte ") + std::to_string(done) + ": " + std::strerror(errno);
    }
    if (n == 0) return "short: it shrank to " + std::to_string(done) + " bytes while being read";
    hasher.update(buffer.data(), static_cast<size_t>(n));
    done += static_cast<uint64_t>(n);
    bytes += static_cast<uint64_t>(n);
    progress.advance(want.name, static_cast<uint64_t>(n));
  }
  const std::string got = hasher.finish_hex();
  progress.finish_item(want.name, got == want.sha256 ? bs::ItemOutcome::done : bs::ItemOutcome::failed);
  if (got == want.sha256) return "";
  if (const auto other = by_digest.find(got); other != by_digest.end()) {
    return "holds the bytes of " + other->second + " (renamed or swapped)";
  }
  return "damaged or from another bundle: sha256 " + got + ", want " + want.sha256;
}

// Files that `cat FILE.part*` would join but the manifest does not list.
std::vector<std::string> extra_parts(const MediaSet& media) {
  std::set<std::string> listed;
  for (const auto& part : media.manifest.parts) listed.insert(part.name);
  const std::string prefix = media.manifest.file.name + ".part";
  std::vector<std::string> extra;
  for (const std::string& name : list_dir(media.dir)) {
    if (name.starts_with(prefix) && !listed.contains(name)) extra.push_back(name);
  }
  return extra;
}

// Streams one part into `out`, hashing it and the whole file, and checks the part's digest.
Status copy_part(const std::string& dir, const bs::MediaFile& part, bs::AtomicFile& out, bs::Hasher& whole,
                 std::string& buffer, bs::Progress& progress) {
  const std::string path = dir + "/" + part.name;
  bs::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return bs::errno_error("open", path);
  progress.start_item(part.name, part.size, 0);
  bs::Hasher hasher(bs::DigestAlgorithm::sha256);
  uint64_t done = 0;
  while (done < part.size) {
    if (bs::interrupt_requested()) return bs::interrupted_error();
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), part.size - done));
    TRY(bs::pread_exact(fd.get(), buffer.data(), want, done, path));
    const std::string_view chunk(buffer.data(), want);
    hasher.update(chunk);
    whole.update(chunk);
    TRY(out.write(chunk));
    done += want;
    progress.advance(part.name, want);
  }
  const std::string got = hasher.finish_hex();
  progress.finish_item(part.name, got == part.sha256 ? bs::ItemOutcome::done : bs::ItemOutcome::failed);
  if (got != part.sha256) {
    return bs::verification_error(part.name + " changed while it was joined: sha256 " + got + ", want " + part.sha256);
  }
  return bs::ok_status();
}

}  // namespace

Result<MediaSet> open_media(const std::string& where, const bs::Key& key) {
  TRY_ASSIGN(const std::string manifest_path, find_manifest(where));
  if (!manifest_path.ends_with(bs::k_parts_suffix)) {
    return bs::usage_error(manifest_path + " is not a parts manifest (FILE.parts)");
  }
  TRY_ASSIGN(const std::string text, bs::read_file(manifest_path, bs::k_max_parts_manifest_size));
  const std::string sig_path = manifest_path + ".sig";
  auto signature = bs::read_file(sig_path, 4096);
  if (!signature.ok()) {
    return bs::verification_error(sig_path + " is missing or unreadable: without it the parts cannot be trusted "
                                  "(copy it from the source medium)");
  }
  const std::string want = bs::fingerprint(key);
  if (!bs::verify_signature(key, text, *signature).ok()) {
    return bs::verification_error(manifest_path + ": signature does not match the key " + want +
                                  " (the parts manifest was changed, or signed by another key); nothing was checked "
                                  "or joined");
  }
  TRY_ASSIGN_CTX(bs::PartsManifest manifest, bs::decode_parts_manifest(text), manifest_path);
  if (manifest.signer != want) {
    return bs::verification_error(manifest_path + ": names the signer " + manifest.signer + " but is signed by " +
                                  want);
  }
  return MediaSet{parent_of_path(manifest_path), manifest_path, std::move(manifest)};
}

Result<MediaReport> check_media(const MediaSet& media, bs::Progress& progress) {
  const bs::PartsManifest& manifest = media.manifest;
  std::map<std::string, std::string> by_digest;
  for (const auto& part : manifest.parts) by_digest.emplace(part.sha256, part.name);
  MediaReport report;
  std::string buffer(k_buffer_size, '\0');
  progress.plan(manifest.parts.size() + (manifest.installer ? 1 : 0));
  for (const auto& part : manifest.parts) {
    const std::string problem = check_file(media.dir, part, by_digest, buffer, progress, report.bytes);
    if (bs::interrupt_requested()) return bs::interrupted_error();
    if (problem.empty()) continue;
    report.problems.push_back(part.name + ": " + problem);
    report.recopy.push_back(part.name);
  }
  for (const std::string& name : extra_parts(media)) {
    report.problems.push_back(name + ": not in the manifest; remove it (cat " + manifest.file.name +
                              ".part* would join it)");
  }
  if (manifest.installer) {
    const std::string problem = check_file(media.dir, *manifest.installer, {}, buffer, progress, report.bytes);
    if (problem == "missing") {
      report.notes.push_back(manifest.installer->name + ": not on the medium (not needed to join)");
    } else if (!problem.empty()) {
      report.problems.push_back(manifest.installer->name + ": " + problem);
      report.recopy.push_back(manifest.installer->name);
    }
  }
  return report;
}

std::string media_failure(const MediaSet& media, const MediaReport& report) {
  size_t bad_parts = 0;
  for (const auto& name : report.recopy) bad_parts += name != media.manifest.file.name + ".installer" ? 1 : 0;
  std::string names;
  for (const auto& name : report.recopy) names += " " + name;
  std::string text = std::to_string(bad_parts) + " of " + std::to_string(media.manifest.parts.size()) +
                     " parts are not good";
  if (!names.empty()) text += "; copy these again from the source:" + names;
  if (report.problems.size() > report.recopy.size()) text += "; remove the files not in the manifest";
  return text + "; nothing was joined";
}

Status join_media(const MediaSet& media, const bs::Key& key, const std::string& output, bs::Progress& progress) {
  if (::access(output.c_str(), F_OK) == 0) {
    return bs::usage_error(output + " exists; remove it or pass another --out");
  }
  TRY_ASSIGN(bs::AtomicFile out, bs::AtomicFile::create(output, 0755, bs::Overwrite::no));
  std::string buffer(k_buffer_size, '\0');
  bs::Hasher whole(bs::DigestAlgorithm::sha256);
  progress.plan(media.manifest.parts.size());
  for (const auto& part : media.manifest.parts) {
    TRY(copy_part(media.dir, part, out, whole, buffer, progress));
  }
  const std::string got = whole.finish_hex();
  if (got != media.manifest.file.sha256) {
    return bs::verification_error("the joined file's sha256 is " + got + ", the manifest says " +
                                  media.manifest.file.sha256);
  }
  // The joined bytes are the bundle the manifest names: its own signature must agree.
  bs::TrustPolicy trust;
  trust.fingerprint = bs::fingerprint(key);
  TRY_ASSIGN_CTX(const bs::BundleFile bundle, bs::BundleFile::open(out.temp_path(), trust),
                 "the joined file is not a bundle signed by that key");
  if (bundle.index().name != media.manifest.bundle) {
    return bs::verification_error("the joined bundle is named " + bundle.index().name + ", the manifest says " +
                                  media.manifest.bundle);
  }
  return out.commit();
}

}  // namespace installer
