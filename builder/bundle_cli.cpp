// keygen / pack / verify: the bundle-format commands of the builder.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "cli.hpp"
#include "bundlespec/container.hpp"
#include "bundlespec/extract.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/interrupt.hpp"
#include "bundlespec/parts.hpp"
#include "bundlespec/progress.hpp"
#include "bundlespec/signing.hpp"
#include "bundlespec/text.hpp"
#include "bundlespec/writer.hpp"

namespace builder {

namespace bs = bundlespec;

namespace {

struct KeygenOptions {
  std::string out;
};

struct PackOptions {
  std::string dir;
  std::string name;
  std::string key;
  std::string output;
  std::string installer;
  std::string platform = "linux/amd64";
  int64_t epoch = -1;
  int level = 19;
  int threads = 0;
  bool bare = false;
  std::string split;  // --split SIZE: also cut into media parts
};

struct VerifyOptions {
  std::string bundle;
  PinOptions pins;
  bool deep = false;
};

bs::Status run_keygen(const KeygenOptions& options) {
  TRY_ASSIGN(bs::Key key, bs::generate_ed25519_key());
  TRY_CTX(bs::write_key_pair(key, options.out), "keygen");
  std::printf("%s\n", bs::fingerprint(key).c_str());
  std::fprintf(stderr, "kubeferry: wrote %s (private, 0600) and %s.pub\n", options.out.c_str(), options.out.c_str());
  return bs::ok_status();
}

// The installer to put in front of a .run: --installer, else kubeferry-install beside us.
bs::Result<std::string> find_installer(const std::string& given) {
  if (!given.empty()) return given;
  const std::string candidate = installer_beside_self();
  if (::access(candidate.c_str(), R_OK) == 0) return candidate;
  return bs::usage_error("cannot find kubeferry-install next to kubeferry; pass --installer PATH");
}

// SOURCE_DATE_EPOCH when --epoch is not given; 0 when neither is.
bs::Result<int64_t> resolve_epoch(int64_t flag) {
  if (flag >= 0) return flag;
  const char* env = std::getenv("SOURCE_DATE_EPOCH");
  if (env == nullptr || *env == '\0') return int64_t{0};
  char* end = nullptr;
  const long long value = std::strtoll(env, &end, 10);
  if (*end != '\0' || value < 0) return bs::usage_error("SOURCE_DATE_EPOCH must be a non-negative integer");
  return static_cast<int64_t>(value);
}

bs::Status run_pack(const PackOptions& options, const GlobalOptions& global) {
  // FORMAT.md 3.2: readers refuse other names and platforms; say so before any work.
  if (const std::string problem = bs::name_problem(options.name); !problem.empty()) {
    return bs::usage_error("--name '" + bs::printable(options.name) + "' " + problem);
  }
  if (const std::string problem = bs::platform_problem(options.platform); !problem.empty()) {
    return bs::usage_error("--platform '" + bs::printable(options.platform) + "' " + problem);
  }
  std::optional<uint64_t> split;
  if (!options.split.empty()) {
    TRY_ASSIGN(split, bs::parse_split_size(options.split));
  }
  TRY_ASSIGN(bs::Key key, bs::load_private_key(options.key));
  bs::WriterOptions writer;
  writer.name = options.name;
  writer.platform = options.platform;
  TRY_ASSIGN(writer.epoch, resolve_epoch(options.epoch));
  writer.compression.level = options.level;
  writer.threads = options.threads;
  if (!options.bare) {
    TRY_ASSIGN(writer.installer_path, find_installer(options.installer));
  }
  bs::ConsoleProgress progress(stderr, global.quiet ? bs::ConsoleMode::quiet : bs::detect_console_mode(2),
                               "kubeferry: ");
  progress.start_item("pack " + options.output, std::nullopt, 0);
  uint64_t last = 0;
  writer.on_bytes = [&](uint64_t done) {
    progress.advance("pack " + options.output, done - last);
    last = done;
  };
  auto result = bs::pack_directory(options.dir, key, writer, options.output);
  progress.finish_item("pack " + options.output, result.ok() ? bs::ItemOutcome::done : bs::ItemOutcome::failed);
  if (!result.ok()) return std::move(result).error().context("pack " + options.output);
  std::printf("%s  %s\n", result->file_sha256.c_str(), options.output.c_str());
  std::fputs(fat32_warning(options.output, result->file_size).c_str(), stderr);
  if (!global.quiet) {
    std::fprintf(stderr, "kubeferry: %zu entries, %s, signed by %s\n", result->index.entries.size(),
                 bs::format_bytes(result->file_size).c_str(), result->index.signer.c_str());
  }
  if (split) return split_written_bundle(options.output, options.key, *split, "", global);
  return bs::ok_status();
}

bs::Status run_verify(const VerifyOptions& options) {
  auto status = [&]() -> bs::Status {
    TRY_ASSIGN(const PinnedBundle bundle, open_pinned_bundle(options.bundle, options.pins));
    TRY(bundle.file.verify_parts());
    if (options.deep) TRY(bs::verify_payload_entries(bundle.file, {}));
    std::printf("OK %s: %s, %zu entries, signed by %s%s\n", options.bundle.c_str(), bundle.file.index().name.c_str(),
                bundle.file.index().entries.size(), bundle.file.signer().c_str(),
                bundle.pin == bs::PinState::pinned ? " (pinned)" : " (NOT pinned)");
    return bs::ok_status();
  }();
  if (!status.ok() && status.error().code() == bs::ErrorCode::usage) return status;  // about the flags
  if (!status.ok()) return std::move(status).error().context("verify " + options.bundle);
  return status;
}

}  // namespace

void add_pin_options(CLI::App* command, PinOptions& pins) {
  command->add_option("--pubkey", pins.flags.pubkey, "Trust only this public key (KEY.pub)");
  command->add_option("--fingerprint", pins.flags.fingerprint,
                      "Trust only the key with this fingerprint (SHA256:<hex>)");
  command->add_flag("--require-pinned", pins.require_pinned,
                    "Refuse a bundle whose signer is not pinned by --pubkey or --fingerprint");
}

bs::Result<PinnedBundle> open_pinned_bundle(const std::string& path, const PinOptions& pins) {
  TRY_ASSIGN(const bs::TrustPolicy trust, bs::make_trust_policy(pins.flags));
  TRY_ASSIGN(bs::BundleFile bundle, bs::BundleFile::open(path, trust));
  bs::PinRule rule;
  rule.unpinned = pins.require_pinned ? bs::Unpinned::refuse : bs::Unpinned::warn;
  TRY_ASSIGN(const bs::PinState pin, bs::check_signer(bundle.signer(), trust, rule, stderr, "kubeferry: "));
  return PinnedBundle{std::move(bundle), pin};
}

void setup_bundle_commands(CLI::App& app, const GlobalOptions& global, Commands& commands) {
  auto keygen_options = std::make_shared<KeygenOptions>();
  auto* keygen = app.add_subcommand("keygen", "Make an Ed25519 signing key: KEY (PKCS#8 PEM, 0600) and KEY.pub");
  keygen->add_option("--out", keygen_options->out, "Private key file to write (never overwritten)")->required();
  commands.push_back({keygen, [keygen_options] { return run_keygen(*keygen_options); }});

  auto pack_options = std::make_shared<PackOptions>();
  auto* pack = app.add_subcommand("pack", "Bundle a folder into one signed, reproducible, self-extracting file");
  pack->add_option("dir", pack_options->dir, "Folder to bundle")->required()->check(CLI::ExistingDirectory);
  pack->add_option("--name", pack_options->name, "Bundle name recorded in the index")->required();
  pack->add_option("--key", pack_options->key, "Private signing key (from kubeferry keygen)")
      ->required()
      ->check(CLI::ExistingFile);
  pack->add_option("--output,-o", pack_options->output, "File to write (also OUTPUT.sha256 and OUTPUT.sha256.sig)")
      ->required();
  pack->add_option("--epoch", pack_options->epoch, "Timestamp for every entry (default: $SOURCE_DATE_EPOCH, else 0)");
  pack->add_option("--platform", pack_options->platform, "Target platform recorded in the index")
      ->capture_default_str();
  pack->add_option("--level", pack_options->level, "zstd level (part of the format: same level, same bytes)")
      ->capture_default_str()
      ->check(CLI::Range(1, 22));
  pack->add_option("--threads", pack_options->threads, "zstd worker threads (0 = all CPUs; output does not change)")
      ->check(CLI::Range(0, 256));
  pack->add_option("--installer", pack_options->installer,
                   "Installer to put in front (default: kubeferry-install beside kubeferry)");
  pack->add_flag("--bare", pack_options->bare,
                 "Write the payload without the installer (open with kubeferry-install --bundle)");
  add_split_option(pack, pack_options->split);
  commands.push_back({pack, [pack_options, &global] {
                        bs::install_interrupt_handlers();
                        return run_pack(*pack_options, global);
                      }});

  auto verify_options = std::make_shared<VerifyOptions>();
  auto* verify = app.add_subcommand("verify", "Check a bundle's signature and the digest of every byte");
  verify->add_option("bundle", verify_options->bundle, "Bundle file (.run or bare)")->required();
  add_pin_options(verify, verify_options->pins);
  verify->add_flag("--deep", verify_options->deep, "Also decompress the payload and check every entry");
  commands.push_back({verify, [verify_options] { return run_verify(*verify_options); }});
}

std::string fat32_warning(const std::string& output, uint64_t size) {
  constexpr uint64_t k_fat32_max = (uint64_t{4} << 30) - 1;
  if (size <= k_fat32_max) return "";
  return "kubeferry: warning: " + output + " is " + bs::format_bytes(size) +
         ", more than a FAT32 file can hold (4 GiB - 1 byte): carry it on exFAT, NTFS or ext4, or in "
         "signed parts (kubeferry split " +
         output + " fat32 --key KEY, or build with --split fat32; on the far side ./" + output +
         ".installer verify-media and join)\n";
}

std::string installer_beside_self() {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  const std::string path = n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string();
  return path.substr(0, path.rfind('/')) + "/kubeferry-install";
}

}  // namespace builder
