#include "lock.hpp"

#include <cctype>
#include <ctime>

#include "bundlespec/digest.hpp"

namespace builder {

namespace bs = bundlespec;

std::string iso8601_utc(int64_t epoch) {
  const std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

namespace {

const FetchResult* find_result(const std::vector<FetchResult>& fetched, const std::string& name) {
  for (const auto& result : fetched) {
    if (result.name == name) return &result;
  }
  return nullptr;
}

bs::Json artifact_lock(const Artifact& artifact, const FetchResult* result) {
  bs::Json::Object object;
  object["name"] = artifact.name;
  object["version"] = artifact.version;
  object["kind"] = std::string(kind_name(artifact.kind));
  object["url"] = artifact.url;
  object["source"] = artifact.source;
  if (artifact.checksum) object["pinned"] = artifact.checksum->to_string();
  object["pinned_by"] = std::string(origin_name(artifact.checksum_origin));
  if (!artifact.pinned_by_user.empty()) object["pinned_by_user"] = artifact.pinned_by_user;
  if (result != nullptr) {
    object["fetched_from"] = result->url;
    object["final_url"] = result->final_url;
    object["size"] = result->size;
    object["sha256"] = result->sha256_hex;
    if (!result->sha512_hex.empty()) object["sha512"] = result->sha512_hex;
  }
  return object;
}

const Image* find_image(const Manifest& manifest, const std::string& name) {
  for (const auto& image : manifest.images) {
    if (image.name == name) return &image;
  }
  return nullptr;
}

// The SPDX comment of a value the user resolved: the SBOM must not pass it off as published.
std::string user_pin_comment(std::string_view what, const std::string& mark) {
  return std::string(what) + " resolved by the user with kubeferry pin on " + mark +
         "; not read from a published source";
}

bs::Json image_lock(const LockedImage& image, const Image* pinned) {
  bs::Json::Object object;
  if (pinned != nullptr) {
    object["pinned_by"] = std::string(origin_name(pinned->digest_origin));
    if (!pinned->pinned_by_user.empty()) object["pinned_by_user"] = pinned->pinned_by_user;
  }
  object["name"] = image.name;
  object["reference"] = image.reference;
  object["digest"] = image.digest;
  if (!image.platform_digest.empty()) object["platform_digest"] = image.platform_digest;
  object["size"] = image.size;
  return object;
}

std::string spdx_id(const std::string& name) {
  std::string id = "SPDXRef-Package-";
  for (char c : name) id.push_back((std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '-');
  return id;
}

bs::Json spdx_package(const std::string& name, const std::string& version, const std::string& location,
                      const std::vector<std::pair<std::string, std::string>>& checksums,
                      const std::string& comment = {}) {
  bs::Json::Object package;
  if (!comment.empty()) package["comment"] = comment;
  package["SPDXID"] = spdx_id(name);
  package["name"] = name;
  package["versionInfo"] = version;
  package["downloadLocation"] = location.empty() ? "NOASSERTION" : location;
  package["filesAnalyzed"] = false;
  package["licenseConcluded"] = "NOASSERTION";
  package["licenseDeclared"] = "NOASSERTION";
  package["copyrightText"] = "NOASSERTION";
  bs::Json::Array sums;
  for (const auto& [algorithm, value] : checksums) {
    bs::Json::Object sum;
    sum["algorithm"] = algorithm;
    sum["checksumValue"] = value;
    sums.push_back(std::move(sum));
  }
  package["checksums"] = std::move(sums);
  return package;
}

}  // namespace

bs::Json make_lock(const Manifest& manifest, const std::string& manifest_sha256,
                   const std::vector<FetchResult>& fetched, const std::vector<LockedImage>& images) {
  bs::Json::Object lock;
  lock["lock_version"] = 1;
  lock["bundle"] = manifest.bundle;
  lock["kubernetes_version"] = manifest.kubernetes_version;
  lock["epoch"] = manifest.epoch;
  lock["manifest_sha256"] = manifest_sha256;
  bs::Json::Array platforms;
  for (const auto& platform : manifest.platforms) platforms.push_back(platform);
  lock["platforms"] = std::move(platforms);
  bs::Json::Array artifacts;
  for (const auto& artifact : manifest.artifacts)
    artifacts.push_back(artifact_lock(artifact, find_result(fetched, artifact.name)));
  lock["artifacts"] = std::move(artifacts);
  bs::Json::Array image_list;
  for (const auto& image : images) image_list.push_back(image_lock(image, find_image(manifest, image.name)));
  lock["images"] = std::move(image_list);
  return lock;
}

bs::Json make_sbom(const Manifest& manifest, const std::vector<FetchResult>& fetched,
                   const std::vector<LockedImage>& images, const std::string& lock_sha256) {
  bs::Json::Object doc;
  doc["spdxVersion"] = "SPDX-2.3";
  doc["dataLicense"] = "CC0-1.0";
  doc["SPDXID"] = "SPDXRef-DOCUMENT";
  doc["name"] = manifest.bundle;
  // Deterministic: derived from the lock, not from a random UUID.
  doc["documentNamespace"] = "https://kubeferry.invalid/spdx/" + manifest.bundle + "-" + lock_sha256;
  bs::Json::Object creation;
  creation["created"] = iso8601_utc(manifest.epoch);
  creation["creators"] = bs::Json::Array{bs::Json("Tool: kubeferry-" KUBEFERRY_VERSION)};
  doc["creationInfo"] = std::move(creation);
  bs::Json::Array packages;
  bs::Json::Array relationships;
  const auto describe = [&](const std::string& name) {
    bs::Json::Object relation;
    relation["spdxElementId"] = "SPDXRef-DOCUMENT";
    relation["relationshipType"] = "DESCRIBES";
    relation["relatedSpdxElement"] = spdx_id(name);
    relationships.push_back(std::move(relation));
  };
  for (const auto& artifact : manifest.artifacts) {
    std::vector<std::pair<std::string, std::string>> sums;
    if (const FetchResult* result = find_result(fetched, artifact.name)) {
      sums.emplace_back("SHA256", result->sha256_hex);
      if (!result->sha512_hex.empty()) sums.emplace_back("SHA512", result->sha512_hex);
    }
    const std::string comment =
        artifact.pinned_by_user.empty() ? std::string() : user_pin_comment("checksum", artifact.pinned_by_user);
    packages.push_back(spdx_package(artifact.name, artifact.version, artifact.url, sums, comment));
    describe(artifact.name);
  }
  for (const auto& image : images) {
    const std::string hex = image.digest.rfind("sha256:", 0) == 0 ? image.digest.substr(7) : image.digest;
    const Image* pinned = find_image(manifest, image.name);
    const std::string comment = pinned == nullptr || pinned->pinned_by_user.empty()
                                    ? std::string()
                                    : user_pin_comment("digest", pinned->pinned_by_user);
    packages.push_back(
        spdx_package(image.name, image.reference, image.reference + "@" + image.digest, {{"SHA256", hex}}, comment));
    describe(image.name);
  }
  doc["packages"] = std::move(packages);
  doc["relationships"] = std::move(relationships);
  return doc;
}

}  // namespace builder
