// verify-media / join: media parts made by `kubeferry split` (media/media.hpp).
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "bundlespec/interrupt.hpp"
#include "bundlespec/progress.hpp"
#include "bundlespec/text.hpp"
#include "bundlespec/trust.hpp"
#include "cli/cli.hpp"
#include "media/media.hpp"

namespace installer {

namespace bs = bundlespec;

namespace {

struct MediaOptions {
  std::string where;
  std::string pubkey;
  std::string out;  // join
};

// Every part of `media` checked; prints each problem on stdout.
Status check_parts(const GlobalOptions& global, const MediaSet& media) {
  bs::ConsoleProgress progress(stderr, global.quiet ? bs::ConsoleMode::quiet : bs::detect_console_mode(2),
                               "kubeferry-install: ");
  TRY_ASSIGN(const MediaReport report, check_media(media, progress));
  for (const auto& note : report.notes) std::fprintf(stderr, "kubeferry-install: %s\n", bs::printable(note).c_str());
  for (const auto& problem : report.problems) std::printf("BAD %s\n", bs::printable(problem).c_str());
  if (!report.ok()) {
    return bs::verification_error(media.manifest_path + ": " + media_failure(media, report));
  }
  return bs::ok_status();
}

// The set, checked: its signature, then every part.
Result<MediaSet> checked_media(const GlobalOptions& global, const MediaOptions& options) {
  TRY_ASSIGN(const bs::Key key, bs::load_pinned_key(options.pubkey));
  TRY_ASSIGN(MediaSet media, open_media(options.where, key));
  TRY(check_parts(global, media));
  return media;
}

bs::Status run_verify_media(const GlobalOptions& global, const MediaOptions& options) {
  TRY_ASSIGN(const MediaSet media, checked_media(global, options));
  const bs::PartsManifest& m = media.manifest;
  std::printf("OK %s: %zu parts, %s, bundle %s (%s), signed by %s (pinned)\n", media.manifest_path.c_str(),
              m.parts.size(), bs::format_bytes(m.file.size).c_str(), m.bundle.c_str(), m.file.name.c_str(),
              m.signer.c_str());
  if (!global.quiet) {
    std::fprintf(stderr, "kubeferry-install: every part is good; join them with: join %s --pubkey %s --out %s\n",
                 options.where.c_str(), options.pubkey.c_str(), m.file.name.c_str());
  }
  return bs::ok_status();
}

bs::Status run_join(const GlobalOptions& global, const MediaOptions& options) {
  TRY_ASSIGN(const bs::Key key, bs::load_pinned_key(options.pubkey));
  TRY_ASSIGN(const MediaSet media, open_media(options.where, key));
  const std::string out = options.out.empty() ? media.manifest.file.name : options.out;
  if (::access(out.c_str(), F_OK) == 0) return bs::usage_error(out + " exists; remove it or pass another --out");
  TRY(check_parts(global, media));
  bs::ConsoleProgress progress(stderr, global.quiet ? bs::ConsoleMode::quiet : bs::detect_console_mode(2),
                               "kubeferry-install: ");
  TRY_CTX(join_media(media, key, out, progress), "join " + media.manifest_path + " into " + out + " (nothing written)");
  std::printf("%s  %s\n", media.manifest.file.sha256.c_str(), out.c_str());
  if (!global.quiet) {
    std::fprintf(stderr, "kubeferry-install: joined %zu parts into %s (%s), signed by %s; next: ./%s verify --pubkey %s\n",
                 media.manifest.parts.size(), out.c_str(), bs::format_bytes(media.manifest.file.size).c_str(),
                 media.manifest.signer.c_str(), out.c_str(), options.pubkey.c_str());
  }
  return bs::ok_status();
}

void add_media_arguments(CLI::App* command, MediaOptions& options) {
  command->add_option("parts", options.where, "Folder holding one FILE.parts (and its parts), or FILE.parts")
      ->required();
  command->add_option("--pubkey", options.pubkey, "The bundle signer's public key (KEY.pub)")->required();
}

}  // namespace

void setup_media_commands(CLI::App& app, const GlobalOptions& global, Commands& commands) {
  auto verify_options = std::make_shared<MediaOptions>();
  auto* verify = app.add_subcommand(
      "verify-media",
      "Check media parts made by kubeferry split: the signed FILE.parts, then every part; names each part that is "
      "missing, short or damaged. Writes nothing.");
  add_media_arguments(verify, *verify_options);
  commands.push_back({verify, [&global, verify_options] {
                        bs::install_interrupt_handlers();
                        return run_verify_media(global, *verify_options);
                      }});

  auto join_options = std::make_shared<MediaOptions>();
  auto* join = app.add_subcommand(
      "join",
      "Check every part as verify-media does, then join them into the bundle, checking each part and the whole "
      "file's sha256 while writing; the file appears only when all of it is right");
  add_media_arguments(join, *join_options);
  join->add_option("--out,-o", join_options->out, "Bundle to write (default: the manifest's FILE, here); never replaced");
  commands.push_back({join, [&global, join_options] {
                        bs::install_interrupt_handlers();
                        return run_join(global, *join_options);
                      }});
}

}  // namespace installer
