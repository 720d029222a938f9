// Download flags shared by `kubeferry fetch` and `kubeferry build`, and the `fetch` command.
//
// add_fetch_options() declares --cache, --jobs, --mirror, --cacert, --retries,
// --connect-timeout, --low-speed-limit, --low-speed-time and --verify-cache on a subcommand;
// make_fetch_options() turns the parsed values into builder::FetchOptions (parsing --mirror
// rules). CLI11 appears only here and in *_cli.cpp.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "fetch.hpp"
#include "bundlespec/result.hpp"

namespace builder {

struct FetchFlags {
  std::string cache;  // "" = default_cache_dir()
  size_t jobs = 4;
  std::vector<std::string> mirrors;  // FROM=TO
  std::string cacert;
  int retries = 3;  // attempts after the first
  double connect_timeout_s = 30;
  long low_speed_limit = 1024;
  long low_speed_time_s = 60;
  bool verify_cache = false;
};

void add_fetch_options(CLI::App& command, FetchFlags& flags);

// Fails (usage) on a malformed --mirror.
bundlespec::Result<FetchOptions> make_fetch_options(const FetchFlags& flags);

}  // namespace builder
