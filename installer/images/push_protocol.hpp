// The pure parts of `images push` (push.hpp): where an image goes in the registry (a token
// server's answer is read by bundlespec/registry_protocol.hpp). No I/O, so unit tests cover them without a registry.
// Thread-safety: pure functions and value types.
#pragma once

#include <string>
#include <string_view>

#include "bundlespec/images_index.hpp"
#include "bundlespec/registry_protocol.hpp"
#include "bundlespec/result.hpp"

namespace installer {

// --registry HOST[:PORT][/PREFIX], split.
struct RegistryTarget {
  std::string host;    // "reg.local:5000", "127.0.0.1:5000", "[::1]:5000"
  std::string prefix;  // "" or "mirror/k8s" (no leading or trailing '/')
};

// Parses --registry. Fails (usage) on a URL ("https://..."), an empty host, a bad port, or a
// prefix that is not lower-case path components [a-z0-9._-].
bundlespec::Result<RegistryTarget> parse_registry_target(std::string_view text);

// Where an image goes in the registry: REPOSITORY (PREFIX/ + the image's path without its
// registry) and TAG.
struct TargetReference {
  std::string host;
  std::string repository;
  std::string tag;
  // "HOST/REPOSITORY:TAG"
  std::string str() const;
};

// The target of `image` (its full_name "REGISTRY/PATH:TAG") on `target`. Fails (usage) when
// full_name has no registry component or no tag.
bundlespec::Result<TargetReference> target_reference(const bundlespec::ImageRecord& image,
                                                     const RegistryTarget& target);

// The value of "token" (else "access_token") of a token server's JSON answer, "" if none:
// bundle-spec's, which the builder's pulls use too.
using bundlespec::token_from_response;

}  // namespace installer
