#include "render/common.hpp"

#include <charconv>

#include "bundlespec/digest.hpp"
#include "bundlespec/images_index.hpp"

namespace installer::render {

namespace {

bool parse_int(std::string_view text, int& out) {
  if (text.empty() || text.size() > 6) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

Result<Version> parse_version(std::string_view text) {
  Version version;
  version.text = std::string(text);
  std::string_view rest = text;
  if (!rest.empty() && rest.front() == 'v') rest.remove_prefix(1);
  const size_t dot1 = rest.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : rest.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || !parse_int(rest.substr(0, dot1), version.major) ||
      !parse_int(rest.substr(dot1 + 1, dot2 - dot1 - 1), version.minor) ||
      !parse_int(rest.substr(dot2 + 1), version.patch)) {
    return bundlespec::usage_error("version \"" + std::string(text) + "\": expected vMAJOR.MINOR.PATCH");
  }
  return version;
}

Result<std::string> pinned_image(const ImageRefs& images, const std::string& name) {
  const auto it = images.find(name);
  if (it == images.end()) return bundlespec::usage_error("image " + name + ": not in the bundle's image list");
  const std::string& ref = it->second;
  const size_t at = ref.find("@sha256:");
  if (at == std::string::npos || at == 0 || !bundlespec::is_lower_hex(ref.substr(at + 8), 64)) {
    return bundlespec::usage_error("image " + name + ": " + ref +
                                   " is not pinned by digest (want REPO@sha256:<64 hex>)");
  }
  return ref;
}

Result<std::string> runtime_image(const RenderInput& in, const std::string& name) {
  TRY_ASSIGN(std::string ref, pinned_image(in.images, name));
  if (in.inventory->container_runtime != ContainerRuntime::docker) return ref;
  ref.erase(ref.find("@sha256:"));
  if (bundlespec::without_tag(ref).size() == ref.size()) {
    return bundlespec::usage_error("image " + name + ": " + in.images.at(name) +
                                   " has no tag, and docker finds loaded images by tag only");
  }
  return ref;
}

std::string_view cgroup_driver(const RenderInput&) {
  // cgroupfs on every host kubeferry supports: the seed's CentOS 7 (cgroup v1) and the rest.
  return "cgroupfs";
}

Result<std::string> kit_file(const Kit& kit, const std::string& path) {
  const auto it = kit.find(path);
  if (it == kit.end()) return bundlespec::usage_error("PKI kit: missing " + path);
  return it->second;
}

std::vector<std::string> flag_words(const Flags& flags) {
  std::vector<std::string> out;
  out.reserve(flags.size());
  for (const auto& [flag, value] : flags) out.push_back(value.empty() ? flag : flag + "=" + value);
  return out;
}

std::string options_env_file(std::string_view comment, std::string_view variable, const Flags& flags) {
  std::string out = "# " + std::string(comment) + "\n# Written by kubeferry-install; changes are overwritten.\n";
  out += std::string(variable) + "=\"";
  const auto words = flag_words(flags);
  for (size_t i = 0; i < words.size(); ++i) {
    out += words[i];
    out += i + 1 < words.size() ? " \\\n" : "";
  }
  out += "\"\n";
  return out;
}

RenderedFile component_options_file(const RenderInput& in, const std::string& component, std::string_view variable,
                                    const Flags& flags) {
  return {in.paths.k8s_cfg(component + ".conf"),
          options_env_file(component + " " + in.versions.kubernetes.text + " on " + in.host->name, variable, flags),
          0644, false};
}

std::string render_unit(const UnitSpec& spec) {
  auto join = [](const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : " ") + item;
    return out;
  };
  std::string out = "# Written by kubeferry-install; changes are overwritten.\n[Unit]\n";
  out += "Description=" + spec.description + "\n";
  if (!spec.documentation.empty()) out += "Documentation=" + spec.documentation + "\n";
  if (!spec.after.empty()) out += "After=" + join(spec.after) + "\n";
  if (!spec.wants.empty()) out += "Wants=" + join(spec.wants) + "\n";
  if (!spec.requires_units.empty()) out += "Requires=" + join(spec.requires_units) + "\n";
  out += "\n[Service]\n";
  if (!spec.type.empty()) out += "Type=" + spec.type + "\n";
  if (!spec.environment_file.empty()) out += "EnvironmentFile=" + spec.environment_file + "\n";
  out += "ExecStart=";
  for (size_t i = 0; i < spec.exec_start.size(); ++i) {
    out += (i == 0 ? "" : "  ") + spec.exec_start[i] + (i + 1 < spec.exec_start.size() ? " \\\n" : "\n");
  }
  out += "Restart=" + spec.restart + "\n";
  out += "RestartSec=" + std::to_string(spec.restart_sec) + "\n";
  out += "LimitNOFILE=" + std::to_string(spec.limit_nofile) + "\n";
  out += "\n[Install]\nWantedBy=multi-user.target\n";
  return out;
}

std::string base64(std::string_view data) {
  static constexpr char k_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const uint32_t n = (uint32_t{static_cast<unsigned char>(data[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(data[i + 1])} << 8) |
                       uint32_t{static_cast<unsigned char>(data[i + 2])};
    out += {k_alphabet[n >> 18], k_alphabet[(n >> 12) & 63], k_alphabet[(n >> 6) & 63], k_alphabet[n & 63]};
  }
  if (i + 1 == data.size()) {
    const uint32_t n = uint32_t{static_cast<unsigned char>(data[i])} << 16;
    out += {k_alphabet[n >> 18], k_alphabet[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == data.size()) {
    const uint32_t n = (uint32_t{static_cast<unsigned char>(data[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(data[i + 1])} << 8);
    out += {k_alphabet[n >> 18], k_alphabet[(n >> 12) & 63], k_alphabet[(n >> 6) & 63], '='};
  }
  return out;
}

std::string yaml_quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

Flags logging_flags(const RenderInput& in) {
  if (in.versions.kubernetes.at_least(1, 26)) return {{"--v", "2"}};
  return {{"--logtostderr", "false"}, {"--v", "2"}, {"--log-dir", in.paths.k8s_logs()}};
}

std::string apiserver_url(const Inventory& inventory) {
  const auto all = masters(inventory);
  const std::string address = all.empty() ? std::string("127.0.0.1") : all.front()->address;
  return "https://" + address + ":" + std::to_string(k_apiserver_port);
}

std::string etcd_client_urls(const Inventory& inventory) {
  std::string out;
  for (const Host* member : etcd_members(inventory)) {
    out +=
        (out.empty() ? "" : ",") + std::string("https://") + member->address + ":" + std::to_string(k_etcd_client_port);
  }
  return out;
}

}  // namespace installer::render
