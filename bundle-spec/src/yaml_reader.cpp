#include "bundlespec/yaml_reader.hpp"

#include <algorithm>

#include "bundlespec/text.hpp"

namespace bundlespec {

std::string Location::to_string() const {
  return std::to_string(line) + ":" + std::to_string(column);
}

std::string unknown_key_text(std::string_view key, std::string_view allowed) {
  return "unknown key '" + printable(key) + "' (allowed: " + std::string(allowed) + ")";
}

std::string duplicate_key_text(std::string_view key, Location first) {
  return "duplicate key '" + printable(key) + "' (first at " + first.to_string() + ")";
}

std::string missing_key_text(std::string_view key) {
  return "missing required key '" + std::string(key) + "'";
}

std::string empty_value_text(std::string_view key) {
  return std::string(key) + " must not be empty";
}

std::string not_a_string_text(std::string_view key) {
  return std::string(key) + " must be a string";
}

Location location_of(const YAML::Mark& mark) {
  if (mark.is_null()) return {};
  return {mark.line + 1, mark.column + 1};
}

Location location_of(const YAML::Node& node) {
  return location_of(node.Mark());
}

std::string count_of(size_t count, std::string_view noun) {
  return std::to_string(count) + " " + std::string(noun) + (count == 1 ? "" : "s");
}

void Problems::add(Location at, std::string message) {
  m_items.push_back({at, std::move(message)});
}

Error Problems::to_error(const std::string& header, const std::string& file) const {
  std::vector<Item> items = m_items;
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.at.line != b.at.line ? a.at.line < b.at.line : a.at.column < b.at.column;
  });
  std::string text = header + " (" + count_of(items.size(), "problem") + "):";
  for (const Item& item : items) {
    text += "\n" + file + ":" + item.at.to_string() + ": " + item.message;
  }
  return make_error(std::move(text));
}

MapReader::MapReader(const YAML::Node& map, std::string prefix, Problems& problems)
    : m_prefix(std::move(prefix)), m_at(location_of(map)), m_problems(problems) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : std::string();
    m_entries.push_back({key, it->first, it->second});
  }
}

void MapReader::check_keys(std::initializer_list<std::string_view> allowed) {
  check_keys(std::vector<std::string_view>(allowed));
}

void MapReader::check_keys(const std::vector<std::string_view>& allowed) {
  std::string allowed_list;
  for (std::string_view key : allowed) {
    allowed_list += (allowed_list.empty() ? "" : ", ") + std::string(key);
  }
  for (const Entry& entry : m_entries) {
    const Location at = location_of(entry.key_node);
    if (!entry.key_node.IsScalar()) {
      report(at, "keys must be plain names");
      continue;
    }
    if (std::find(allowed.begin(), allowed.end(), entry.key) == allowed.end()) {
      report(at, unknown_key_text(entry.key, allowed_list));
      continue;
    }
    const Entry* first = find(entry.key);
    if (first != &entry) report(at, duplicate_key_text(entry.key, location_of(first->key_node)));
  }
}

const MapReader::Entry* MapReader::find(std::string_view key) const {
  for (const Entry& entry : m_entries) {
    if (entry.key == key) return &entry;
  }
  return nullptr;
}

void MapReader::report(Location at, const std::string& message) {
  m_problems.add(at, m_prefix + message);
}

const YAML::Node* MapReader::value(std::string_view key, Need need) {
  const Entry* entry = find(key);
  if (entry == nullptr && need == Need::required) {
    report(m_at, missing_key_text(key));
  }
  return entry ? &entry->value : nullptr;
}

std::optional<Scalar> MapReader::text(std::string_view key, Need need) {
  const YAML::Node* node = value(key, need);
  if (node == nullptr) return std::nullopt;
  const Location at = location_of(*node);
  if (node->IsNull() || (node->IsScalar() && node->Scalar().empty())) {
    report(at, empty_value_text(key));
    return std::nullopt;
  }
  if (!node->IsScalar()) {
    report(at, not_a_string_text(key));
    return std::nullopt;
  }
  return Scalar{node->Scalar(), at};
}

std::optional<std::vector<YAML::Node>> MapReader::list(std::string_view key, Need need) {
  const YAML::Node* node = value(key, need);
  if (node == nullptr) return std::nullopt;
  if (!node->IsSequence()) {
    report(location_of(*node), std::string(key) + " must be a list");
    return std::nullopt;
  }
  std::vector<YAML::Node> items;
  for (const YAML::Node& item : *node) items.push_back(item);
  return items;
}

}  // namespace bundlespec
