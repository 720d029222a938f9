#include "bundlespec/images_index.hpp"

#include <set>

#include "bundlespec/digest.hpp"
#include "bundlespec/json.hpp"
#include "bundlespec/text.hpp"

namespace bundlespec {

namespace {

Json descriptor_to_json(const ImageDescriptor& d) {
  Json::Object object;
  object["mediaType"] = d.media_type;
  object["digest"] = d.digest;
  object["size"] = d.size;
  return object;
}

Json platform_to_json(const ImagePlatform& p) {
  Json::Object object;
  object["platform"] = p.platform;
  object["manifest"] = descriptor_to_json(p.manifest);
  object["config"] = descriptor_to_json(p.config);
  Json::Array layers;
  for (const auto& layer : p.layers) layers.push_back(descriptor_to_json(layer));
  object["layers"] = std::move(layers);
  return object;
}

Json image_to_json(const ImageRecord& image) {
  Json::Object object;
  object["name"] = image.name;
  object["reference"] = image.reference;
  object["fullName"] = image.full_name;
  object["target"] = descriptor_to_json(image.target);
  Json::Array platforms;
  for (const auto& p : image.platforms) platforms.push_back(platform_to_json(p));
  object["platforms"] = std::move(platforms);
  return object;
}

bool valid_digest(std::string_view digest) {
  return digest.substr(0, 7) == "sha256:" && is_lower_hex(digest.substr(7), 64);
}

Result<ImageDescriptor> descriptor_from_json(const Json& json, const std::string& what) {
  if (!json.is_object()) return verification_error(what + ": expected an object");
  ImageDescriptor d;
  auto fields = [&]() -> Status {
    TRY_ASSIGN(d.media_type, get_string(json, "mediaType"));
    TRY_ASSIGN(d.digest, get_string(json, "digest"));
    TRY_ASSIGN(const int64_t size, get_integer(json, "size"));
    if (size < 0) return verification_error("\"size\": negative");
    d.size = static_cast<uint64_t>(size);
    if (!valid_digest(d.digest)) return verification_error("\"digest\": not sha256:<64 hex>: " + printable(d.digest));
    return ok_status();
  }();
  if (!fields.ok()) return std::move(fields).error().context(what);
  return d;
}

Result<ImagePlatform> platform_from_json(const Json& json, const std::string& what) {
  if (!json.is_object()) return verification_error(what + ": expected an object");
  ImagePlatform p;
  TRY_ASSIGN_CTX(auto platform, get_string(json, "platform"), what);
  p.platform = platform;
  const std::string here = what + " (" + printable(p.platform) + ")";
  TRY_ASSIGN(const Json* manifest, get_member(json, "manifest", Json::Type::object));
  TRY_ASSIGN(p.manifest, descriptor_from_json(*manifest, here + ": manifest"));
  TRY_ASSIGN(const Json* config, get_member(json, "config", Json::Type::object));
  TRY_ASSIGN(p.config, descriptor_from_json(*config, here + ": config"));
  TRY_ASSIGN_CTX(auto layers, get_member(json, "layers", Json::Type::array), here);
  for (size_t i = 0; i < layers->as_array().size(); ++i) {
    TRY_ASSIGN(auto layer, descriptor_from_json(layers->as_array()[i], here + ": layer #" + std::to_string(i + 1)));
    p.layers.push_back(std::move(layer));
  }
  return p;
}

Result<ImageRecord> image_from_json(const Json& json, const std::string& what) {
  if (!json.is_object()) return verification_error(what + ": expected an object");
  ImageRecord image;
  auto strings = [&]() -> Status {
    TRY_ASSIGN(image.name, get_string(json, "name"));
    TRY_ASSIGN(image.reference, get_string(json, "reference"));
    TRY_ASSIGN(image.full_name, get_string(json, "fullName"));
    return ok_status();
  }();
  if (!strings.ok()) return std::move(strings).error().context(what);
  const std::string here = what + " (" + printable(image.name) + ")";
  TRY_ASSIGN_CTX(auto target, get_member(json, "target", Json::Type::object), here);
  TRY_ASSIGN(image.target, descriptor_from_json(*target, here + ": target"));
  TRY_ASSIGN_CTX(auto platforms, get_member(json, "platforms", Json::Type::array), here);
  for (size_t i = 0; i < platforms->as_array().size(); ++i) {
    TRY_ASSIGN(auto p, platform_from_json(platforms->as_array()[i], here + ": platform #" + std::to_string(i + 1)));
    image.platforms.push_back(std::move(p));
  }
  if (image.platforms.empty()) return verification_error(here + ": no platforms");
  return image;
}

}  // namespace

std::string encode_images_index(const ImagesIndex& index) {
  Json::Object object;
  object["version"] = index.version;
  Json::Array images;
  for (const auto& image : index.images) images.push_back(image_to_json(image));
  object["images"] = std::move(images);
  return to_canonical_json(object) + "\n";
}

Result<ImagesIndex> decode_images_index(std::string_view text) {
  auto decoded = [&]() -> Result<ImagesIndex> {
    TRY_ASSIGN(const Json json, parse_json(text));
    if (!json.is_object()) return verification_error("expected a JSON object");
    ImagesIndex index;
    TRY_ASSIGN(const int64_t version, get_integer(json, "version"));
    if (version != k_images_index_version) {
      return verification_error("version " + std::to_string(version) + " is not supported (this installer reads " +
                                std::to_string(k_images_index_version) + ")");
    }
    TRY_ASSIGN(const Json* images, get_member(json, "images", Json::Type::array));
    std::set<std::string> names;
    for (size_t i = 0; i < images->as_array().size(); ++i) {
      TRY_ASSIGN(auto image, image_from_json(images->as_array()[i], "image #" + std::to_string(i + 1)));
      if (!names.insert(image.name).second) {
        return verification_error("image #" + std::to_string(i + 1) + ": name '" + printable(image.name) +
                                  "' is listed twice");
      }
      index.images.push_back(std::move(image));
    }
    return index;
  }();
  if (!decoded.ok()) return std::move(decoded).error().context("images index");
  return decoded;
}

std::string_view without_tag(std::string_view name) {
  const size_t colon = name.rfind(':');
  const size_t slash = name.rfind('/');
  const bool has_tag = colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash);
  return has_tag ? name.substr(0, colon) : name;
}

std::string digest_name(const ImageRecord& image) {
  return std::string(without_tag(image.full_name)) + "@" + image.target.digest;
}

std::string image_blob_path(std::string_view digest) {
  return std::string(k_images_dir) + "/blobs/sha256/" + std::string(digest.substr(7));
}

std::vector<ImageDescriptor> image_blobs(const ImageRecord& image) {
  std::vector<ImageDescriptor> blobs;
  std::set<std::string> seen;
  auto add = [&](const ImageDescriptor& d) {
    if (seen.insert(d.digest).second) blobs.push_back(d);
  };
  add(image.target);
  for (const auto& p : image.platforms) {
    add(p.manifest);
    add(p.config);
    for (const auto& layer : p.layers) add(layer);
  }
  return blobs;
}

bool is_index_media_type(std::string_view media_type) {
  return media_type == k_media_oci_index || media_type == k_media_docker_list;
}

}  // namespace bundlespec
