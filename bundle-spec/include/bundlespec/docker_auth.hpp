// Registry credentials from a docker config.json (`docker login` writes it; podman's auth.json
// has the same `auths`), shared by the builder's pulls and the installer's push, so one file
// serves both sides of the air gap.
// Thread-safety: pure functions (they read the environment and the file they are given).
#pragma once

#include <map>
#include <string>

#include "bundlespec/result.hpp"

namespace bundlespec {

struct Credentials {
  std::string username;
  std::string password;
};

// Reads the `auths` of a docker config.json: registry host -> credentials. Keys may be URLs
// ("https://index.docker.io/v1/" counts as docker.io). Entries with neither "auth" nor
// username/password (a credential helper's) are skipped. Fails naming the file on bad JSON or
// a bad "auth" value; a missing file is an empty map.
Result<std::map<std::string, Credentials>> load_docker_auths(const std::string& path);

// The config.json to read when none is given: $DOCKER_CONFIG/config.json, else
// $HOME/.docker/config.json ("" if neither variable is set).
std::string default_docker_config();

}  // namespace bundlespec
