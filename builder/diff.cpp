// Bundle diff. See diff.hpp.
#include "diff.hpp"

#include <cstdio>
#include <map>
#include <set>

#include "bundlespec/progress.hpp"
#include "bundlespec/text.hpp"

namespace builder {

namespace bs = bundlespec;

namespace {

using Object = bs::Json::Object;

std::string text_of(const bs::Json& object, const char* key) {
  const bs::Json* value = object.find(key);
  if (value == nullptr) return "";
  if (value->is_string()) return bs::printable(value->as_string(), bs::k_printable_path_max);
  if (value->is_integer()) return std::to_string(value->as_integer());
  return "";
}

std::string octal(uint32_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", mode);
  return text;
}

void add(BundleDiff& diff, const char* section, const char* change, std::string name, std::string detail) {
  diff.differences.push_back(Difference{section, change, std::move(name), std::move(detail)});
}

// "FIELD A -> B" for each listed field that differs.
std::string changed_fields(const bs::Json& a, const bs::Json& b, std::initializer_list<const char*> fields) {
  std::string out;
  for (const char* field : fields) {
    const std::string va = text_of(a, field), vb = text_of(b, field);
    if (va == vb) continue;
    if (!out.empty()) out += ", ";
    out += std::string(field) + " " + (va.empty() ? "(none)" : va) + " -> " + (vb.empty() ? "(none)" : vb);
  }
  return out;
}

void diff_headers(BundleDiff& diff, const bs::BundleFile& a, const bs::BundleFile& b) {
  const bs::Index& ia = a.index();
  const bs::Index& ib = b.index();
  if (ia.name != ib.name) add(diff, "bundle", "changed", "name", ia.name + " -> " + ib.name);
  if (ia.signer != ib.signer) add(diff, "bundle", "changed", "signer", ia.signer + " -> " + ib.signer);
  if (ia.platform != ib.platform) add(diff, "bundle", "changed", "platform", ia.platform + " -> " + ib.platform);
  if (ia.created != ib.created) {
    add(diff, "bundle", "changed", "created", std::to_string(ia.created) + " -> " + std::to_string(ib.created));
  }
  if (ia.compression != ib.compression) {
    add(diff, "bundle", "changed", "compression",
        "level " + std::to_string(ia.compression.level) + " window_log " + std::to_string(ia.compression.window_log) +
            " -> level " + std::to_string(ib.compression.level) + " window_log " +
            std::to_string(ib.compression.window_log));
  }
  const std::string inst_a = ia.installer ? ia.installer->sha256 : "(none)";
  const std::string inst_b = ib.installer ? ib.installer->sha256 : "(none)";
  if (inst_a != inst_b) add(diff, "bundle", "changed", "installer", "sha256 " + inst_a + " -> " + inst_b);
}

// The members of a lock array keyed by their "name".
std::map<std::string, const bs::Json*> by_name(const bs::Json& lock, const char* key) {
  std::map<std::string, const bs::Json*> out;
  if (!lock.is_object()) return out;
  const bs::Json* list = lock.find(key);
  if (list == nullptr || !list->is_array()) return out;
  for (const auto& item : list->as_array()) {
    if (item.is_object()) out[text_of(item, "name")] = &item;
  }
  return out;
}

void diff_lock_list(BundleDiff& diff, const bs::Json& lock_a, const bs::Json& lock_b, const char* key,
                    const char* section, std::initializer_list<const char*> fields,
                    std::initializer_list<const char*> shown) {
  const auto a = by_name(lock_a, key);
  const auto b = by_name(lock_b, key);
  const auto summary = [&](const bs::Json& item) {
    std::string out;
    for (const char* field : shown) {
      const std::string value = text_of(item, field);
      if (value.empty()) continue;
      out += (out.empty() ? "" : " ") + value;
    }
    return out;
  };
  for (const auto& [name, item] : a) {
    const auto other = b.find(name);
    if (other == b.end()) {
      add(diff, section, "removed", name, summary(*item));
    } else if (const std::string changed = changed_fields(*item, *other->second, fields); !changed.empty()) {
      add(diff, section, "changed", name, changed);
    }
  }
  for (const auto& [name, item] : b) {
    if (!a.contains(name)) add(diff, section, "added", name, summary(*item));
  }
}

std::string entry_summary(const bs::IndexEntry& e) {
  std::string out = std::string(bs::entry_type_name(e.type)) + " " + octal(e.mode);
  if (e.type == bs::EntryType::file) out += " " + std::to_string(e.size) + " bytes sha256 " + e.sha256;
  if (e.type == bs::EntryType::symlink) out += " -> " + bs::printable(e.target);
  return out;
}

void diff_entries(BundleDiff& diff, const bs::Index& ia, const bs::Index& ib) {
  std::map<std::string, const bs::IndexEntry*> a, b;
  for (const auto& e : ia.entries) a[e.path] = &e;
  for (const auto& e : ib.entries) b[e.path] = &e;
  for (const auto& [path, ea] : a) {
    const std::string shown = bs::printable(path, bs::k_printable_path_max);
    const auto other = b.find(path);
    if (other == b.end()) {
      add(diff, "file", "removed", shown, entry_summary(*ea));
      continue;
    }
    const bs::IndexEntry& eb = *other->second;
    std::string what;
    const auto also = [&what](const std::string& text) { what += (what.empty() ? "" : ", ") + text; };
    if (ea->type != eb.type) also(std::string("type ") + std::string(bs::entry_type_name(ea->type)) + " -> " +
                                  std::string(bs::entry_type_name(eb.type)));
    if (ea->sha256 != eb.sha256) also("content sha256 " + ea->sha256 + " -> " + eb.sha256);
    if (ea->size != eb.size) also("size " + std::to_string(ea->size) + " -> " + std::to_string(eb.size));
    if (ea->mode != eb.mode) also("mode " + octal(ea->mode) + " -> " + octal(eb.mode));
    if (ea->target != eb.target) also("target " + bs::printable(ea->target) + " -> " + bs::printable(eb.target));
    if (!what.empty()) add(diff, "file", "changed", shown, what);
  }
  for (const auto& [path, eb] : b) {
    if (!a.contains(path)) add(diff, "file", "added", bs::printable(path, bs::k_printable_path_max), entry_summary(*eb));
  }
}

DiffSide side(const bs::BundleFile& bundle, const bs::Json& lock) {
  DiffSide out;
  out.path = bundle.path();
  out.name = bundle.index().name;
  out.signer = bundle.signer();
  out.size = bundle.file_size();
  out.has_lock = lock.is_object();
  return out;
}

std::string side_line(const char* label, const DiffSide& s) {
  return std::string(label) + " " + bs::printable(s.path) + ": " + s.name + ", " + std::to_string(s.size) +
         " bytes, signed by " + s.signer + (s.pinned ? " (pinned)" : " (NOT pinned)") +
         (s.has_lock ? "" : ", no bundle.lock (made by pack)") + "\n";
}

}  // namespace

BundleDiff diff_bundles(const bs::BundleFile& a, const bs::Json& lock_a, const bs::BundleFile& b,
                        const bs::Json& lock_b) {
  BundleDiff diff;
  diff.a = side(a, lock_a);
  diff.b = side(b, lock_b);
  diff_headers(diff, a, b);
  diff_lock_list(diff, lock_a, lock_b, "artifacts", "artifact", {"version", "sha256", "sha512", "pinned", "url"},
                 {"version", "pinned"});
  diff_lock_list(diff, lock_a, lock_b, "images", "image", {"reference", "digest", "platform_digest"},
                 {"reference", "digest"});
  diff_entries(diff, a.index(), b.index());
  if (a.file_size() != b.file_size()) {
    const long long delta = static_cast<long long>(b.file_size()) - static_cast<long long>(a.file_size());
    add(diff, "bundle", "changed", "size",
        std::to_string(a.file_size()) + " -> " + std::to_string(b.file_size()) + " bytes (" +
            (delta > 0 ? "+" : "") + std::to_string(delta) + ")");
  }
  return diff;
}

std::string format_diff(const BundleDiff& diff) {
  std::string out = side_line("A", diff.a) + side_line("B", diff.b);
  for (const Difference& d : diff.differences) {
    std::string change = d.change;
    for (char& c : change) c = static_cast<char>(c - 32);
    out += change + " " + d.section + " " + d.name + (d.detail.empty() ? "" : ": " + d.detail) + "\n";
  }
  if (diff.identical()) {
    out += "identical: same entries, artifacts, images, signer and size\n";
  } else {
    std::map<std::string, size_t> counts;
    for (const Difference& d : diff.differences) ++counts[d.section];
    std::string parts;
    for (const auto& [section, count] : counts) parts += (parts.empty() ? "" : ", ") + std::to_string(count) + " " + section;
    out += std::to_string(diff.differences.size()) + " differences (" + parts + ")\n";
  }
  return out;
}

bs::Json diff_json(const BundleDiff& diff) {
  const auto side_json = [](const DiffSide& s) {
    Object out;
    out["path"] = s.path;
    out["name"] = s.name;
    out["signer"] = s.signer;
    out["pinned"] = s.pinned;
    out["size"] = s.size;
    out["has_lock"] = s.has_lock;
    return bs::Json(std::move(out));
  };
  Object out;
  out["a"] = side_json(diff.a);
  out["b"] = side_json(diff.b);
  out["identical"] = diff.identical();
  bs::Json::Array list;
  for (const Difference& d : diff.differences) {
    Object item;
    item["section"] = d.section;
    item["change"] = d.change;
    item["name"] = d.name;
    item["detail"] = d.detail;
    list.emplace_back(std::move(item));
  }
  out["differences"] = std::move(list);
  return out;
}

}  // namespace builder
