// Helpers shared by the writer, extract and corruption tests: keys, a snapshot of a folder
// tree, and the check that a failed extraction left nothing behind.
#pragma once

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "bundlespec/handles.hpp"
#include "bundlespec/signing.hpp"
#include "support/test_util.hpp"

namespace bundlespec::testing {

inline Key make_key() {
  auto key = generate_ed25519_key();
  EXPECT_OK(key);
  return std::move(key).value();
}

// What a tree looks like: type, permission bits, content (files) or target (symlinks), mtime.
struct Node {
  char type = '?';  // f, d, l
  unsigned mode = 0;
  std::string data;
  int64_t mtime = 0;
  bool operator==(const Node&) const = default;
};
using Tree = std::map<std::string, Node>;

inline void snapshot_into(const std::string& root, const std::string& relative, Tree& tree) {
  const std::string folder = relative.empty() ? root : root + "/" + relative;
  std::vector<std::string> names;
  {
    const bundlespec::Handle<DIR> dir(::opendir(folder.c_str()));
    ASSERT_TRUE(dir != nullptr) << folder;
    while (const dirent* entry = ::readdir(dir.get())) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
  }
  for (const auto& name : names) {
    const std::string rel = relative.empty() ? name : relative + "/" + name;
    const std::string path = root + "/" + rel;
    struct stat st {};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0) << path;
    Node node;
    node.mode = st.st_mode & 07777;
    node.mtime = st.st_mtim.tv_sec;
    if (S_ISDIR(st.st_mode)) {
      node.type = 'd';
      snapshot_into(root, rel, tree);
    } else if (S_ISLNK(st.st_mode)) {
      node.type = 'l';
      node.mode = 0777;
      std::vector<char> target(4096);
      const ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
      ASSERT_GE(n, 0) << path;
      node.data.assign(target.data(), static_cast<size_t>(n));
    } else if (S_ISREG(st.st_mode)) {
      node.type = 'f';
      node.data = kftest::read_file(path);
    }
    tree[rel] = node;
  }
}

// Every entry below `root` (not root itself).
inline Tree snapshot(const std::string& root) {
  Tree tree;
  snapshot_into(root, "", tree);
  return tree;
}

// Names in `folder` that contain ".kubeferry-staging-".
inline std::vector<std::string> staging_leftovers(const std::string& folder) {
  std::vector<std::string> found;
  const bundlespec::Handle<DIR> dir(::opendir(folder.c_str()));
  if (!dir) return {"<cannot open " + folder + ">"};
  while (const dirent* entry = ::readdir(dir.get())) {
    const std::string name = entry->d_name;
    if (name.find(".kubeferry-staging-") != std::string::npos) found.push_back(name);
  }
  return found;
}

// Deterministic filler bytes (xorshift), so big files are not trivially compressible.
inline std::string pseudo_random_bytes(size_t size, uint64_t seed) {
  std::string out(size, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x & 0xff);
  }
  return out;
}

}  // namespace bundlespec::testing
