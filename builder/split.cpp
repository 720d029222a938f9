// Cutting a bundle into media parts. See split.hpp.
#include "split.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "bundlespec/container.hpp"
#include "bundlespec/digest.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/interrupt.hpp"
#include "bundlespec/text.hpp"

namespace builder {

namespace bs = bundlespec;

namespace {

constexpr size_t k_buffer_size = 1 << 20;

// The files written so far; removed unless the split completes.
class Written {
 public:
  ~Written() {
    if (m_keep) return;
    for (const auto& path : m_paths) std::ignore = ::unlink(path.c_str());
  }
  void add(std::string path) { m_paths.push_back(std::move(path)); }
  void keep() { m_keep = true; }
  const std::vector<std::string>& paths() const { return m_paths; }

 private:
  std::vector<std::string> m_paths;
  bool m_keep = false;
};

// The ranges of the bundle the pass hashes besides the parts: installer and payload.
struct RangeHashes {
  bs::Hasher whole{bs::DigestAlgorithm::sha256};
  bs::Hasher installer{bs::DigestAlgorithm::sha256};
  bs::Hasher payload{bs::DigestAlgorithm::sha256};
};

// Refuses what the parts manifest cannot describe, before any byte is written.
bs::Status check_inputs(const bs::BundleFile& bundle, const bs::Key& key, const std::string& file_name,
                        uint64_t part_size) {
  if (bundle.signer() != bs::fingerprint(key)) {
    return bs::usage_error("the bundle is signed by " + bundle.signer() + ", --key is " + bs::fingerprint(key) +
                           ": parts are signed with the bundle's own key");
  }
  if (const std::string problem = bs::media_name_problem(file_name); !problem.empty()) {
    return bs::usage_error("file name '" + bs::printable(file_name) + "' " + problem + " (rename the bundle first)");
  }
  const uint64_t count = bs::part_count(bundle.file_size(), part_size);
  if (count > bs::k_max_parts) {
    const uint64_t least = (bundle.file_size() + bs::k_max_parts - 1) / bs::k_max_parts;
    return bs::usage_error("parts of " + std::to_string(part_size) + " bytes would make " + std::to_string(count) +
                           " parts, at most " + std::to_string(bs::k_max_parts) + ": use a size of at least " +
                           std::to_string(least) + " bytes");
  }
  return bs::ok_status();
}

// Copies bytes [begin, end) of the bundle into `out`, hashing them into `part` and `hashes`.
bs::Status copy_range(const bs::BundleFile& bundle, uint64_t begin, uint64_t end, bs::AtomicFile& out,
                      bs::Hasher& part, RangeHashes& hashes, std::optional<bs::AtomicFile>& installer,
                      std::string& buffer, bs::Progress& progress, const std::string& item) {
  const uint64_t installer_end = bundle.trailer().payload_offset;
  const uint64_t payload_end = installer_end + bundle.trailer().payload_size;
  for (uint64_t pos = begin; pos < end;) {
    if (bs::interrupt_requested()) return bs::interrupted_error();
    uint64_t limit = std::min<uint64_t>(end, pos + buffer.size());
    if (pos < installer_end) limit = std::min(limit, installer_end);
    if (pos < payload_end) limit = std::min(limit, payload_end);
    const size_t n = static_cast<size_t>(limit - pos);
    TRY(bs::pread_exact(bundle.fd(), buffer.data(), n, pos, bundle.path()));
    const std::string_view chunk(buffer.data(), n);
    hashes.whole.update(chunk);
    part.update(chunk);
    if (pos < installer_end) {
      hashes.installer.update(chunk);
      if (installer) TRY(installer->write(chunk));
    } else if (pos < payload_end) {
      hashes.payload.update(chunk);
    }
    TRY(out.write(chunk));
    progress.advance(item, n);
    pos = limit;
  }
  return bs::ok_status();
}

// The bytes just copied must be the ones the signed index describes.
bs::Status check_ranges(const bs::BundleFile& bundle, RangeHashes& hashes) {
  const bs::Index& index = bundle.index();
  if (index.installer && hashes.installer.finish_hex() != index.installer->sha256) {
    return bs::verification_error("installer sha256 does not match the index (the file is damaged)");
  }
  if (hashes.payload.finish_hex() != index.payload.sha256) {
    return bs::verification_error("payload sha256 does not match the index (the file is damaged)");
  }
  return bs::ok_status();
}

// FILE.partNNN in `dir` numbered `count` or more: left by an earlier split into more parts,
// they would join into the bundle with `cat FILE.part*`.
std::vector<std::string> stale_parts(const std::string& dir, const std::string& file, uint64_t count) {
  std::vector<std::string> found;
  for (uint64_t i = count; i < bs::k_max_parts; ++i) {
    const std::string path = dir + "/" + bs::part_name(file, i);
    struct stat st{};
    if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) found.push_back(path);
  }
  return found;
}

bs::Status write_manifest(const bs::PartsManifest& manifest, const bs::Key& key, const std::string& path,
                          Written& written) {
  const std::string text = bs::encode_parts_manifest(manifest);
  TRY_ASSIGN(const std::string signature, bs::sign(key, text));
  written.add(path);
  TRY(bs::write_file_atomic(path, text, 0644, bs::Overwrite::yes));
  const std::string sig_path = path + ".sig";
  written.add(sig_path);
  return bs::write_file_atomic(sig_path, signature, 0644, bs::Overwrite::yes);
}

}  // namespace

bs::Result<SplitResult> split_bundle(const std::string& bundle_path, const bs::Key& key, const SplitOptions& options,
                                     bs::Progress& progress) {
  TRY_ASSIGN(const bs::BundleFile bundle, bs::BundleFile::open(bundle_path, bs::TrustPolicy{}));
  const std::filesystem::path input(bundle_path);
  const std::string file_name = input.filename().string();
  const std::string dir = !options.out_dir.empty()         ? options.out_dir
                          : input.parent_path().empty() ? std::string(".")
                                                        : input.parent_path().string();
  TRY(check_inputs(bundle, key, file_name, options.part_size));

  SplitResult result;
  bs::PartsManifest& manifest = result.manifest;
  manifest.bundle = bundle.index().name;
  manifest.signer = bundle.signer();
  manifest.file.name = file_name;
  manifest.file.size = bundle.file_size();
  manifest.part_size = options.part_size;
  result.manifest_path = dir + "/" + bs::parts_manifest_name(file_name);

  Written written;
  // An old manifest must not describe the new parts while they are being written.
  std::ignore = ::unlink(result.manifest_path.c_str());
  std::optional<bs::AtomicFile> installer;
  const uint64_t installer_size = bundle.trailer().payload_offset;
  const std::string installer_path = dir + "/" + file_name + std::string(bs::k_installer_suffix);
  if (installer_size > 0) {
    auto created = bs::AtomicFile::create(installer_path, 0755, bs::Overwrite::yes);
    if (!created.ok()) return std::move(created).error();
    installer.emplace(std::move(created).value());
  }

  RangeHashes hashes;
  std::string buffer(k_buffer_size, '\0');
  const uint64_t count = bs::part_count(bundle.file_size(), options.part_size);
  progress.plan(count);
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t begin = i * options.part_size;
    const uint64_t end = std::min(bundle.file_size(), begin + options.part_size);
    const std::string name = bs::part_name(file_name, i);
    progress.start_item(name, end - begin, 0);
    TRY_ASSIGN(bs::AtomicFile out, bs::AtomicFile::create(dir + "/" + name, 0644, bs::Overwrite::yes));
    bs::Hasher part(bs::DigestAlgorithm::sha256);
    auto copied = copy_range(bundle, begin, end, out, part, hashes, installer, buffer, progress, name);
    if (copied.ok()) {
      written.add(out.path());
      copied = out.commit();
    }
    progress.finish_item(name, copied.ok() ? bs::ItemOutcome::done : bs::ItemOutcome::failed);
    TRY(copied);
    manifest.parts.push_back(bs::MediaFile{name, end - begin, part.finish_hex()});
  }
  manifest.file.sha256 = hashes.whole.finish_hex();
  TRY(check_ranges(bundle, hashes));
  if (installer) {
    written.add(installer_path);
    TRY(installer->commit());
    manifest.installer = bs::MediaFile{file_name + std::string(bs::k_installer_suffix), installer_size,
                                       bundle.index().installer->sha256};
  }
  TRY(write_manifest(manifest, key, result.manifest_path, written));
  for (const std::string& path : stale_parts(dir, file_name, count)) {
    if (::unlink(path.c_str()) == 0) result.removed_stale.push_back(path);
  }
  written.keep();
  result.written = written.paths();
  return result;
}

}  // namespace builder
