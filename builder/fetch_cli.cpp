// kubeferry fetch: download and verify artifacts into the cache (a developer command; the
// same code path as `kubeferry build`'s downloads).
#include "fetch_cli.hpp"

#include <cstdio>
#include <memory>

#include "bundlespec/progress.hpp"
#include "cli.hpp"
#include "interrupt.hpp"

namespace builder {

namespace bs = bundlespec;

namespace {

struct FetchCommandOptions {
  FetchFlags flags;
  std::vector<std::string> artifacts;  // URL#sha256:HEX
};

// "URL#CHECKSUM": split at the last '#' (a fragment is never sent to a server). The name is the
// URL's last path segment.
bs::Result<FetchRequest> parse_artifact(const std::string& text) {
  const size_t hash = text.rfind('#');
  if (hash == std::string::npos || hash == 0) {
    return bs::usage_error("artifact '" + text + "' must look like URL#sha256:<hex>");
  }
  FetchRequest request;
  request.url = text.substr(0, hash);
  TRY_ASSIGN_CTX(auto checksum, bs::parse_checksum(text.substr(hash + 1)), "artifact '" + text + "'");
  request.checksum = checksum;
  const size_t slash = request.url.find_last_of('/');
  request.name = slash == std::string::npos ? request.url : request.url.substr(slash + 1);
  return request;
}

bs::Status run_fetch(const FetchCommandOptions& options, const GlobalOptions& global) {
  std::vector<FetchRequest> requests;
  for (const std::string& artifact : options.artifacts) {
    TRY_ASSIGN(FetchRequest request, parse_artifact(artifact));
    requests.push_back(std::move(request));
  }
  TRY_ASSIGN(const FetchOptions fetch_options, make_fetch_options(options.flags));
  bs::ConsoleProgress progress(stderr, global.quiet ? bs::ConsoleMode::quiet : bs::detect_console_mode(2),
                               "kubeferry: ");
  TRY_ASSIGN(const auto results, fetch_all(requests, fetch_options, progress));
  for (const FetchResult& r : results) {
    std::printf("%s %llu sha256:%s %s %s\n", r.name.c_str(), static_cast<unsigned long long>(r.size),
                r.sha256_hex.c_str(), r.path.c_str(), r.final_url.c_str());
  }
  return bs::ok_status();
}

}  // namespace

void add_fetch_options(CLI::App& command, FetchFlags& flags) {
  command.add_option("--cache", flags.cache,
                     "Download cache (default: $XDG_CACHE_HOME/kubeferry, else ~/.cache/kubeferry)");
  command.add_option("--jobs,-j", flags.jobs, "Downloads at once")->capture_default_str()->check(CLI::Range(1, 64));
  command.add_option("--mirror", flags.mirrors,
                     "FROM=TO: fetch URLs that start with FROM from TO instead (repeatable; the "
                     "longest FROM wins)");
  command.add_option("--cacert", flags.cacert, "PEM CA bundle for https (default: the system's)")
      ->check(CLI::ExistingFile);
  command.add_option("--retries", flags.retries, "Retries after 5xx, resets and timeouts (with exponential backoff)")
      ->capture_default_str()
      ->check(CLI::Range(0, 20));
  command.add_option("--connect-timeout", flags.connect_timeout_s, "Seconds to connect")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  command
      .add_option("--low-speed-limit", flags.low_speed_limit,
                  "Abort (and retry) a transfer slower than this many bytes/s ...")
      ->capture_default_str()
      ->check(CLI::Range(1L, 1L << 40));
  command.add_option("--low-speed-time", flags.low_speed_time_s, "... for this many seconds")
      ->capture_default_str()
      ->check(CLI::Range(1L, 3600L));
  command.add_flag("--verify-cache", flags.verify_cache,
                   "Re-hash cache hits (default: trust the content address, check the size)");
}

bs::Result<FetchOptions> make_fetch_options(const FetchFlags& flags) {
  FetchOptions options;
  options.cache_dir = flags.cache;
  options.jobs = flags.jobs;
  for (const std::string& text : flags.mirrors) {
    TRY_ASSIGN(MirrorRule rule, parse_mirror_rule(text));
    options.mirrors.push_back(std::move(rule));
  }
  options.cacert = flags.cacert;
  options.max_attempts = flags.retries + 1;
  options.connect_timeout = std::chrono::milliseconds(static_cast<long long>(flags.connect_timeout_s * 1000));
  options.low_speed_limit = flags.low_speed_limit;
  options.low_speed_time = std::chrono::seconds(flags.low_speed_time_s);
  options.cache_check = flags.verify_cache ? CacheCheck::full : CacheCheck::size;
  return options;
}

void setup_fetch_commands(CLI::App& app, const GlobalOptions& global, Commands& commands) {
  auto options = std::make_shared<FetchCommandOptions>();
  auto* fetch =
      app.add_subcommand("fetch",
                         "Download and verify artifacts into the cache (developer tool; `build` does this too). "
                         "Prints NAME SIZE sha256:HEX PATH FINAL_URL per artifact");
  fetch->add_option("artifact", options->artifacts, "URL#sha256:<hex> or URL#sha512:<hex>")->required();
  add_fetch_options(*fetch, options->flags);
  commands.push_back({fetch, [options, &global] {
                        install_interrupt_handlers();
                        return run_fetch(*options, global);
                      }});
}

}  // namespace builder
