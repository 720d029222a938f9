// The one validating YAML reader of kubeferry's hand-written files: the builder's manifests
// (builder/manifest.cpp) and the installer's inventories (installer/cluster/inventory.cpp), so the
// same mistake gets the same words in both:
//   unknown key 'KEY' (allowed: A, B)        duplicate key 'KEY' (first at LINE:COL)
//   missing required key 'KEY'               keys must be plain names
//   KEY must not be empty                    KEY must be a string       KEY must be a list
//
// Problems gathers `LINE:COL: message` items so that a whole file is checked before
// anything is reported. MapReader walks one YAML mapping: it finds keys, reports unknown,
// duplicate and missing keys and wrong value types, each at the offending node. Callers
// must catch YAML::Exception around any use (yaml-cpp throws); nothing here throws on its
// own. Thread-safety: one object per thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bundlespec/result.hpp"

namespace bundlespec {

// A 1-based position in a YAML file; 0:0 when unknown.
struct Location {
  int line = 0;
  int column = 0;

  std::string to_string() const;  // "LINE:COL"
  bool operator==(const Location&) const = default;
};

// The 1-based position of a node; 0:0 if yaml-cpp has none.
Location location_of(const YAML::Node& node);
Location location_of(const YAML::Mark& mark);

// "1 problem", "2 problems".
std::string count_of(size_t count, std::string_view noun);

// The wording of the mistakes both readers check (see the file comment).
std::string unknown_key_text(std::string_view key, std::string_view allowed);
std::string duplicate_key_text(std::string_view key, Location first);
std::string missing_key_text(std::string_view key);
std::string empty_value_text(std::string_view key);
std::string not_a_string_text(std::string_view key);

class Problems {
 public:
  struct Item {
    Location at;
    std::string message;
  };

  void add(Location at, std::string message);
  bool empty() const { return m_items.empty(); }
  size_t size() const { return m_items.size(); }
  const std::vector<Item>& items() const { return m_items; }
  // "HEADER (N problems):" then one "FILE:LINE:COL: message" line per problem, sorted by
  // position (stable), as a failure Error.
  Error to_error(const std::string& header, const std::string& file) const;

 private:
  std::vector<Item> m_items;
};

// A scalar value and where it is.
struct Scalar {
  std::string text;
  Location at;
};

enum class Need { required, optional };

class MapReader {
 public:
  // REQUIRES: map.IsMap(). Messages start with `prefix` (e.g. "artifact etcd: ").
  MapReader(const YAML::Node& map, std::string prefix, Problems& problems);

  // Reports every key not in `allowed`, every key given twice and every key that is not a
  // scalar, at the key.
  void check_keys(std::initializer_list<std::string_view> allowed);
  void check_keys(const std::vector<std::string_view>& allowed);
  void set_prefix(std::string prefix) { m_prefix = std::move(prefix); }
  const std::string& prefix() const { return m_prefix; }
  Location at() const { return m_at; }
  Problems& problems() { return m_problems; }
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // The value of `key`; nullptr when absent, after reporting "missing required key" if
  // `need` is required.
  const YAML::Node* value(std::string_view key, Need need);
  // The non-empty scalar text of `key`; nullopt when absent or not a non-empty string
  // (reported: "KEY must be a string", "KEY must not be empty").
  std::optional<Scalar> text(std::string_view key, Need need);
  // The items of a list under `key`; nullopt when absent or not a list (reported).
  std::optional<std::vector<YAML::Node>> list(std::string_view key, Need need);
  // Reports "PREFIX message" at `at`.
  void report(Location at, const std::string& message);

 private:
  struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
  };
  const Entry* find(std::string_view key) const;

  std::vector<Entry> m_entries;
  std::string m_prefix;
  Location m_at;
  Problems& m_problems;
};

}  // namespace bundlespec
