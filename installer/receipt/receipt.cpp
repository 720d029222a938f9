// The install receipt and verify-host. See receipt.hpp; FORMAT.md 12 is the authority.
#include "receipt/receipt.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "bundlespec/digest.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/signing.hpp"
#include "bundlespec/text.hpp"
#include "pki/x509.hpp"

namespace installer {

namespace bs = bundlespec;

namespace {

using Object = bs::Json::Object;
using Array = bs::Json::Array;

std::string below(const std::string& root, const std::string& path) {
  return (root == "/" ? std::string() : root) + path;
}

std::string octal(int64_t mode) {
  char text[24];
  std::snprintf(text, sizeof text, "%04llo", static_cast<unsigned long long>(mode) & 07777);
  return text;
}

std::string base_name(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

bool is_certificate_file(const FileStep& file) {
  return file.source.starts_with("pki:") && file.path.ends_with(".pem") && !file.path.ends_with("-key.pem");
}

bs::Json bundle_json(const bs::BundleFile& bundle) {
  Object out;
  out["name"] = bundle.index().name;
  out["signer"] = bundle.signer();
  out["index_sha256"] = bs::sha256_hex(bs::encode_index(bundle.index()));
  out["payload_sha256"] = bundle.index().payload.sha256;
  out["platform"] = bundle.index().platform;
  return out;
}

bs::Json preflight_json(const PreflightSpec& spec, bool fix) {
  Object out;
  out["result"] = "passed";
  out["fix"] = fix;
  Array sysctls, modules, ports, tools;
  for (const auto& [key, value] : spec.sysctls) sysctls.emplace_back(key + "=" + value);
  for (const auto& module : spec.modules) modules.emplace_back(module);
  for (const int port : spec.ports) ports.emplace_back(port);
  for (const auto& tool : spec.tools) tools.emplace_back(tool.first);
  out["sysctls"] = std::move(sysctls);
  out["modules"] = std::move(modules);
  out["ports"] = std::move(ports);
  out["tools"] = std::move(tools);
  if (spec.runtime) out["runtime"] = std::string(to_string(*spec.runtime));
  return out;
}

// Folders that hold only what the install put there: an added file is drift. The */bin folders
// of etcd and Kubernetes; not the CNI folder, where flannel's init container adds its plugin.
bool watched_folder(const DirStep& dir, const std::string& cni_bin) {
  return !dir.data && dir.path.ends_with("/bin") && dir.path != cni_bin;
}

Status add_file_steps(const Plan& plan, Object& out) {
  Array files, certificates, watched;
  const std::string cni_bin = render::Paths{}.cni_bin_dir;
  for (const Step& step : plan.steps) {
    Object file;
    file["path"] = step.path();
    const FileStep* file_step = step.as<FileStep>();
    if (const DirStep* dir = step.as<DirStep>()) {
      file["type"] = "directory";
      file["mode"] = static_cast<int64_t>(dir->mode);
      file["data"] = dir->data;
      if (watched_folder(*dir, cni_bin)) watched.emplace_back(dir->path);
    } else if (file_step != nullptr) {
      file["type"] = "file";
      file["mode"] = static_cast<int64_t>(file_step->mode);
      file["sha256"] = file_step->sha256;
    } else if (const SymlinkStep* link = step.as<SymlinkStep>()) {
      file["type"] = "symlink";
      file["target"] = link->target;
    } else {
      continue;
    }
    files.emplace_back(std::move(file));
    if (file_step == nullptr || !is_certificate_file(*file_step)) continue;
    TRY_ASSIGN_CTX(const CertificateInfo info, read_certificate_info(file_step->content),
                   "receipt: certificate " + file_step->path);
    Object cert;
    cert["path"] = file_step->path;
    cert["serial"] = info.serial;
    cert["subject"] = info.subject;
    cert["not_before"] = static_cast<int64_t>(info.not_before);
    cert["not_after"] = static_cast<int64_t>(info.not_after);
    certificates.emplace_back(std::move(cert));
  }
  out["files"] = std::move(files);
  out["certificates"] = std::move(certificates);
  out["watched"] = std::move(watched);
  return bs::ok_status();
}

bs::Json units_json(const Plan& plan) {
  std::map<std::string, std::string> unit_files;  // unit name -> its unit file step's path
  for (const Step& step : plan.steps) {
    if (step.kind() == StepKind::file && (step.path().ends_with(".service") || step.path().ends_with(".socket")))
      unit_files[base_name(step.path())] = step.path();
  }
  Array units;
  for (const Step& step : plan.steps) {
    const ServiceStep* service = step.as<ServiceStep>();
    if (service == nullptr) continue;
    Object unit;
    unit["name"] = service->unit;
    const auto file = unit_files.find(service->unit);
    unit["path"] = file != unit_files.end() ? file->second : std::string();
    units.emplace_back(std::move(unit));
  }
  return units;
}

bs::Json images_json(const Plan& plan, const std::vector<BundleImage>* images) {
  Array out;
  const bool loads = std::any_of(plan.steps.begin(), plan.steps.end(),
                                 [](const Step& step) { return step.kind() == StepKind::image; });
  if (!loads || images == nullptr) return out;
  for (const auto& image : *images) {
    Object entry;
    entry["name"] = image.name;
    entry["reference"] = image.ref;
    out.emplace_back(std::move(entry));
  }
  return out;
}

// `sha256sum -c` lines for every file, relative to the root ("HEX  opt/etcd/bin/etcd").
std::string sums_text(const Plan& plan) {
  std::string out;
  for (const Step& step : plan.steps) {
    if (const FileStep* file = step.as<FileStep>()) out += file->sha256 + "  " + file->path.substr(1) + "\n";
  }
  return out;
}

const std::string& text_of(const bs::Json& object, const char* key) {
  static const std::string empty;
  const bs::Json* value = object.find(key);
  return value != nullptr && value->is_string() ? value->as_string() : empty;
}

int64_t integer_of(const bs::Json& object, const char* key) {
  const bs::Json* value = object.find(key);
  return value != nullptr && value->is_integer() ? value->as_integer() : -1;
}

const Array& array_of(const bs::Json& object, const char* key) {
  static const Array empty;
  const bs::Json* value = object.find(key);
  return value != nullptr && value->is_array() ? value->as_array() : empty;
}

void add_drift(HostCheck& check, std::string kind, std::string name, std::string change, std::string detail = "") {
  check.drift.push_back(Drift{std::move(kind), std::move(name), std::move(change), std::move(detail)});
}

const char* type_name(FileStat::Type type) {
  switch (type) {
    case FileStat::Type::file:
      return "file";
    case FileStat::Type::directory:
      return "directory";
    case FileStat::Type::symlink:
      return "symlink";
    case FileStat::Type::socket:
      return "socket";
    case FileStat::Type::other:
      return "other";
  }
  return "other";
}

// One file, folder or symlink of the receipt against the disk.
Status check_entry(HostCheck& check, RealFs& fs, const bs::Json& entry) {
  const std::string& path = text_of(entry, "path");
  const std::string& type = text_of(entry, "type");
  TRY_ASSIGN(const std::optional<FileStat> stat, fs.stat(path));
  if (!stat) {
    add_drift(check, type, path, "missing");
    return bs::ok_status();
  }
  if (type_name(stat->type) != type) {
    add_drift(check, type, path, "changed", std::string("now a ") + type_name(stat->type));
    return bs::ok_status();
  }
  if (type == "symlink") {
    TRY_ASSIGN(const std::string target, fs.read_link(path));
    if (target != text_of(entry, "target")) {
      add_drift(check, type, path, "changed", "target " + target + ", was " + text_of(entry, "target"));
    }
    return bs::ok_status();
  }
  const int64_t mode = integer_of(entry, "mode");
  if (static_cast<int64_t>(stat->mode) != mode) {
    add_drift(check, type, path, "changed", "mode " + octal(stat->mode) + ", was " + octal(mode));
  }
  if (type == "file") {
    TRY_ASSIGN(const std::string digest, fs.sha256(path));
    if (digest != text_of(entry, "sha256")) {
      add_drift(check, type, path, "changed", "content: sha256 " + digest + ", was " + text_of(entry, "sha256"));
    }
  }
  return bs::ok_status();
}

// Entries of the watched folders the receipt does not list.
void check_watched(HostCheck& check, RealFs& fs, const std::set<std::string>& listed) {
  for (const auto& folder : array_of(check.receipt, "watched")) {
    if (!folder.is_string()) continue;
    DIR* dir = ::opendir(fs.full(folder.as_string()).c_str());
    if (dir == nullptr) continue;  // a missing folder is reported as missing already
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(dir)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      const std::string path = folder.as_string() + "/" + name;
      if (!listed.contains(path)) add_drift(check, "file", path, "extra", "not installed by kubeferry");
    }
  }
}

// The targets `systemctl enable` links the unit into: the WantedBy= words of its file (only
// [Install] has them; docker.socket names sockets.target), multi-user.target when it names none.
std::vector<std::string> wanted_by(RealFs& fs, const std::string& path) {
  std::vector<std::string> targets;
  auto text = path.empty() ? Result<std::string>(std::string()) : fs.read_file(path);
  const std::string body = text.ok() ? *text : std::string();
  for (size_t begin = 0; begin < body.size();) {
    size_t end = body.find('\n', begin);
    if (end == std::string::npos) end = body.size();
    const std::string_view line(body.data() + begin, end - begin);
    if (line.starts_with("WantedBy=")) {
      std::istringstream words{std::string(line.substr(9))};
      for (std::string word; words >> word;) targets.push_back(word);
    }
    begin = end + 1;
  }
  if (targets.empty()) targets.emplace_back("multi-user.target");
  return targets;
}

void check_units(HostCheck& check, RealFs& fs) {
  for (const auto& unit : array_of(check.receipt, "units")) {
    ++check.units;
    const std::string& name = text_of(unit, "name");
    const std::string& path = text_of(unit, "path");
    auto file = fs.stat(path);
    if (!path.empty() && (!file.ok() || !file->has_value())) {
      add_drift(check, "unit", name, "missing", "its unit file " + path + " is gone");
      continue;
    }
    // `systemctl enable` (with or without --root) links the unit into each target that wants it.
    for (const std::string& target : wanted_by(fs, path)) {
      const std::string wants = "/etc/systemd/system/" + target + ".wants/" + name;
      auto link = fs.stat(wants);
      if (!link.ok() || !link->has_value()) {
        add_drift(check, "unit", name, "changed", "not enabled (no " + wants + ")");
        break;
      }
    }
  }
}

// "REPO:TAG@sha256:HEX" -> the names the runtime lists it under.
std::string image_name(const std::string& reference, const std::string& runtime) {
  const size_t at = reference.find('@');
  if (runtime == "containerd" && at != std::string::npos) {
    const std::string repo_tag = reference.substr(0, at);
    const size_t colon = repo_tag.rfind(':');
    const std::string repo = colon != std::string::npos && repo_tag.find('/', colon) == std::string::npos
                                 ? repo_tag.substr(0, colon)
                                 : repo_tag;
    return repo + reference.substr(at);
  }
  std::string name = reference.substr(0, at);
  for (const char* prefix : {"docker.io/library/", "docker.io/"}) {
    if (name.starts_with(prefix)) name = name.substr(std::string_view(prefix).size());
  }
  return name;
}

Status check_images(HostCheck& check, CommandRunner& runner) {
  const Array& images = array_of(check.receipt, "images");
  if (images.empty()) return bs::ok_status();
  const bs::Json* preflight = check.receipt.find("preflight");
  const std::string runtime = preflight != nullptr ? text_of(*preflight, "runtime") : std::string();
  const std::vector<std::string> argv =
      runtime == "docker" ? std::vector<std::string>{"docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"}
                          : std::vector<std::string>{"ctr", "-n", "k8s.io", "images", "ls", "-q"};
  TRY_ASSIGN(const CommandResult listed, runner.run(argv));
  if (listed.exit_code != 0) {
    return bs::make_error(join_argv(argv) + " exited with " + std::to_string(listed.exit_code) + ": " +
                          bs::printable(listed.output, 400));
  }
  std::set<std::string> present;
  for (size_t begin = 0; begin < listed.output.size();) {
    const size_t end = std::min(listed.output.find('\n', begin), listed.output.size());
    present.insert(listed.output.substr(begin, end - begin));
    begin = end + 1;
  }
  check.images_checked = true;
  for (const auto& image : images) {
    ++check.images;
    const std::string& reference = text_of(image, "reference");
    if (!present.contains(image_name(reference, runtime))) {
      add_drift(check, "image", reference, "missing", "not in " + (runtime.empty() ? std::string("containerd") : runtime));
    }
  }
  return bs::ok_status();
}

}  // namespace

Result<bs::Json> make_receipt(const Plan& plan, const ReceiptContext& context, const std::string& host_key) {
  Object out;
  out["format"] = std::string(k_receipt_format);
  out["bundle"] = bundle_json(*context.bundle);
  out["host"] = plan.host;
  out["cluster"] = plan.cluster;
  out["host_key"] = host_key;
  Array roles;
  for (const auto& role : plan.roles) roles.emplace_back(role);
  out["roles"] = std::move(roles);
  out["kubernetes_version"] = plan.kubernetes_version;
  bs::Json receipt = std::move(out);
  TRY(add_file_steps(plan, receipt.as_object()));
  receipt["units"] = units_json(plan);
  receipt["images"] = images_json(plan, context.images);
  receipt["preflight"] = preflight_json(plan.preflight, context.fix);
  receipt["started"] = context.started;
  receipt["finished"] = context.finished;
  receipt["files_sha256"] = bs::sha256_hex(sums_text(plan));
  return receipt;
}

Result<bs::Key> host_key(const std::string& root, bool& made) {
  const std::string path = below(root, k_host_key_path);
  made = false;
  if (::access(path.c_str(), F_OK) == 0) return bs::load_private_key(path);
  TRY_ASSIGN(bs::Key key, bs::generate_ed25519_key());
  TRY_CTX(bs::write_key_pair(key, path), "make the host key");
  made = true;
  return key;
}

Result<std::string> write_receipt(const std::string& root, const Plan& plan, const ReceiptContext& context,
                                  bool& new_key, std::string& fingerprint) {
  TRY_ASSIGN(const bs::Key key, host_key(root, new_key));
  fingerprint = bs::fingerprint(key);
  TRY_ASSIGN(const bs::Json receipt, make_receipt(plan, context, fingerprint));
  const std::string text = bs::to_canonical_json(receipt);
  const std::string sums = sums_text(plan);
  TRY_ASSIGN(const std::string text_sig, bs::sign(key, text));
  TRY_ASSIGN(const std::string sums_sig, bs::sign(key, sums));
  const std::string path = below(root, k_receipt_path);
  const std::string sums_path = below(root, k_receipt_sums_path);
  TRY(bs::write_file_atomic(sums_path, sums, 0644, bs::Overwrite::yes));
  TRY(bs::write_file_atomic(sums_path + ".sig", sums_sig, 0644, bs::Overwrite::yes));
  // The signature first: a receipt.json that is there always has its own signature beside it
  // (an old signature beside a new receipt fails verify-host, which says so).
  TRY(bs::write_file_atomic(path + ".sig", text_sig, 0644, bs::Overwrite::yes));
  TRY(bs::write_file_atomic(path, text, 0644, bs::Overwrite::yes));
  return path;
}

Status remove_receipt(const std::string& root, Purge purge) {
  std::vector<std::string> paths = {below(root, k_receipt_path), below(root, k_receipt_path) + ".sig",
                                    below(root, k_receipt_sums_path), below(root, k_receipt_sums_path) + ".sig"};
  if (purge == Purge::yes) {
    paths.push_back(below(root, k_host_key_path));
    paths.push_back(below(root, k_host_key_path) + std::string(".pub"));
  }
  for (const auto& path : paths) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return bs::errno_error("remove", path);
  }
  return bs::ok_status();
}

Result<HostCheck> load_receipt(const std::string& root, const std::optional<std::string>& pin) {
  const std::string path = below(root, k_receipt_path);
  if (::access(path.c_str(), F_OK) != 0) {
    return bs::make_error("no receipt at " + path +
                          ": this host was not installed by kubeferry-install, or before receipts existed (install "
                          "again to write one)");
  }
  TRY_ASSIGN(const std::string text, bs::read_file(path, 64 << 20));
  auto signature = bs::read_file(path + ".sig", 4096);
  if (!signature.ok()) return bs::verification_error(path + ".sig is missing: the receipt cannot be trusted");
  const std::string pub_path = below(root, k_host_key_path) + std::string(".pub");
  auto key = bs::load_public_key(pub_path);
  if (!key.ok()) return bs::verification_error("the host key " + pub_path + " is missing or unreadable");
  const std::string fp = bs::fingerprint(*key);
  if (pin && *pin != fp) {
    return bs::verification_error("the receipt's host key is " + fp + ", not the pinned " + *pin +
                                  " (the key was replaced)");
  }
  if (!bs::verify_signature(*key, text, *signature).ok()) {
    return bs::verification_error(path + ": signature does not match the host key " + fp +
                                  " (the receipt was changed after the install)");
  }
  TRY_ASSIGN(bs::Json receipt, bs::parse_json(text));
  if (!receipt.is_object() || text_of(receipt, "format") != k_receipt_format) {
    return bs::verification_error(path + ": not a " + std::string(k_receipt_format));
  }
  if (text_of(receipt, "host_key") != fp) {
    return bs::verification_error(path + ": names the host key " + text_of(receipt, "host_key") +
                                  " but is signed by " + fp);
  }
  HostCheck check;
  check.receipt = std::move(receipt);
  check.host_key = fp;
  return check;
}

Status check_host(HostCheck& check, RealFs& fs, CommandRunner* runner) {
  std::set<std::string> listed;
  for (const auto& entry : array_of(check.receipt, "files")) {
    listed.insert(text_of(entry, "path"));
    ++check.files;
    TRY(check_entry(check, fs, entry));
  }
  check_watched(check, fs, listed);
  check_units(check, fs);
  if (runner != nullptr) TRY(check_images(check, *runner));
  return bs::ok_status();
}

std::string format_host_check(const HostCheck& check) {
  std::string out;
  for (const Drift& drift : check.drift) {
    std::string change = drift.change;
    std::transform(change.begin(), change.end(), change.begin(), [](char c) { return static_cast<char>(c - 32); });
    out += change + " " + drift.kind + " " + bs::printable(drift.name) +
           (drift.detail.empty() ? "" : ": " + bs::printable(drift.detail)) + "\n";
  }
  const std::string counts = std::to_string(check.files) + " files, " + std::to_string(check.units) + " units, " +
                             (check.images_checked ? std::to_string(check.images) + " images"
                                                   : std::string("images not checked (--root)"));
  const std::string& host = text_of(check.receipt, "host");
  if (check.drift.empty()) {
    out += "OK host " + host + " matches its receipt (" + counts + "; signed by host key " + check.host_key + ")\n";
  } else {
    out += "DRIFT host " + host + ": " + std::to_string(check.drift.size()) + " differences from its receipt (" +
           counts + "; signed by host key " + check.host_key + ")\n";
  }
  return out;
}

bs::Json host_check_json(const HostCheck& check) {
  Object out;
  out["host"] = text_of(check.receipt, "host");
  out["host_key"] = check.host_key;
  out["ok"] = check.drift.empty();
  out["files"] = static_cast<int64_t>(check.files);
  out["units"] = static_cast<int64_t>(check.units);
  out["images"] = check.images_checked ? bs::Json(static_cast<int64_t>(check.images)) : bs::Json(nullptr);
  if (const bs::Json* bundle = check.receipt.find("bundle")) out["bundle"] = *bundle;
  Array drift;
  for (const Drift& d : check.drift) {
    Object entry;
    entry["kind"] = d.kind;
    entry["name"] = d.name;
    entry["change"] = d.change;
    entry["detail"] = d.detail;
    drift.emplace_back(std::move(entry));
  }
  out["drift"] = std::move(drift);
  return out;
}

}  // namespace installer
