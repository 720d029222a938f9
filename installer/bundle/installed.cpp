#include "bundle/installed.hpp"

#include <algorithm>
#include <tuple>

#include "bundlespec/json.hpp"
#include "bundlespec/text.hpp"

namespace installer {

namespace bs = bundlespec;

namespace {

constexpr int64_t k_record_version = 1;

bs::Error record_error(const std::string& why) {
  return bs::make_error(std::string("installed-bundle record ") + k_installed_path + ": " + why +
                        " (move it away to start a new record)");
}

Result<InstalledBundle> bundle_from_json(const bs::Json& json) {
  if (!json.is_object()) return record_error("a bundle is not an object");
  InstalledBundle bundle;
  const bs::Json* name = json.find("name");
  const bs::Json* signer = json.find("signer");
  const bs::Json* created = json.find("created");
  const bs::Json* payload = json.find("payload_sha256");
  if (name == nullptr || !name->is_string() || signer == nullptr || !signer->is_string() || created == nullptr ||
      !created->is_integer() || payload == nullptr || !payload->is_string()) {
    return record_error("a bundle lacks name, signer, created or payload_sha256");
  }
  bundle.name = name->as_string();
  bundle.signer = signer->as_string();
  bundle.created = created->as_integer();
  bundle.payload_sha256 = payload->as_string();
  return bundle;
}

std::string encode(const std::vector<InstalledBundle>& bundles) {
  bs::Json::Array items;
  for (const auto& bundle : bundles) {
    bs::Json::Object item;
    item["name"] = bundle.name;
    item["signer"] = bundle.signer;
    item["created"] = bundle.created;
    item["payload_sha256"] = bundle.payload_sha256;
    items.emplace_back(std::move(item));
  }
  bs::Json::Object root;
  root["version"] = k_record_version;
  root["bundles"] = std::move(items);
  return bs::to_canonical_json(root) + "\n";
}

}  // namespace

Result<std::vector<InstalledBundle>> load_installed(Fs& fs) {
  TRY_ASSIGN(const auto st, fs.stat(k_installed_path));
  std::vector<InstalledBundle> bundles;
  if (!st) return bundles;
  if (st->type != FileStat::Type::file) return record_error("not a regular file");
  if (st->size > (1u << 20)) return record_error("larger than 1 MiB");
  TRY_ASSIGN(const std::string text, fs.read_file(k_installed_path));
  auto parsed = bs::parse_json(text);
  if (!parsed.ok()) return record_error(parsed.error().message());
  const bs::Json* version = parsed->is_object() ? parsed->find("version") : nullptr;
  const bs::Json* items = parsed->is_object() ? parsed->find("bundles") : nullptr;
  if (version == nullptr || !version->is_integer() || version->as_integer() != k_record_version || items == nullptr ||
      !items->is_array()) {
    return record_error("not a version 1 record");
  }
  for (const auto& item : items->as_array()) {
    TRY_ASSIGN(InstalledBundle bundle, bundle_from_json(item));
    bundles.push_back(std::move(bundle));
  }
  return bundles;
}

const InstalledBundle* find_installed(const std::vector<InstalledBundle>& bundles, const bs::Index& index) {
  for (const auto& bundle : bundles) {
    if (bundle.name == index.name && bundle.signer == index.signer) return &bundle;
  }
  return nullptr;
}

std::string downgrade_problem(const std::vector<InstalledBundle>& bundles, const bs::Index& index) {
  const InstalledBundle* installed = find_installed(bundles, index);
  if (installed == nullptr || index.created >= installed->created) return "";
  // The name is the signed index's (FORMAT.md 3.2 restricts it to a safe alphabet).
  return "bundle " + index.name + " created " + bs::created_text(index.created) + " is older than the " + index.name +
         " installed on this host (created " + bs::created_text(installed->created) + ", same signer)";
}

Status check_downgrade(const std::vector<InstalledBundle>& bundles, const bs::Index& index, Downgrade allowed,
                       std::string& warning) {
  warning.clear();
  const std::string problem = downgrade_problem(bundles, index);
  if (problem.empty()) return bs::ok_status();
  if (allowed == Downgrade::allow) {
    warning = problem + " (--allow-downgrade is set)";
    return bs::ok_status();
  }
  return bs::verification_error(problem + ": refusing to go back (pass --allow-downgrade to install it anyway)");
}

Status record_installed(Fs& fs, std::vector<InstalledBundle> bundles, const bs::Index& index) {
  const InstalledBundle now{index.name, index.signer, index.created, index.payload.sha256};
  const std::vector<InstalledBundle> before = bundles;
  std::erase_if(bundles, [&](const InstalledBundle& b) { return b.name == now.name && b.signer == now.signer; });
  bundles.push_back(now);
  std::sort(bundles.begin(), bundles.end(), [](const InstalledBundle& a, const InstalledBundle& b) {
    return std::tie(a.name, a.signer) < std::tie(b.name, b.signer);
  });
  if (bundles == before) {
    TRY_ASSIGN(const auto st, fs.stat(k_installed_path));
    if (st) return bs::ok_status();  // unchanged: a converged install writes nothing
  }
  return fs.write_file(k_installed_path, encode(bundles), 0600);
}

}  // namespace installer
