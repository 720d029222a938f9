// Test fixtures shared by all unit-test binaries.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "bundlespec/result.hpp"

// EXPECT_OK / ASSERT_OK print the error message of a failed Result.
#define EXPECT_OK(expr)                                                                \
  do {                                                                                 \
    const auto& kf_r_ = (expr);                                                        \
    EXPECT_TRUE(kf_r_.ok()) << (kf_r_.ok() ? std::string() : kf_r_.error().message()); \
  } while (false)
#define ASSERT_OK(expr)                                                                \
  do {                                                                                 \
    const auto& kf_r_ = (expr);                                                        \
    ASSERT_TRUE(kf_r_.ok()) << (kf_r_.ok() ? std::string() : kf_r_.error().message()); \
  } while (false)

namespace kftest {

// A fresh folder under $TMPDIR, removed with everything in it when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return m_path; }
  std::string operator/(const std::string& name) const { return m_path + "/" + name; }

 private:
  std::string m_path;
};

// Writes `data` to `path` (creating parent folders) with `mode`; aborts the test on failure.
void write_file(const std::string& path, const std::string& data, int mode = 0644);
std::string read_file(const std::string& path);
bool exists(const std::string& path);

// Runs a shell command, returns its exit status; stdout+stderr go to *output when given.
int run_command(const std::string& command, std::string* output = nullptr);

}  // namespace kftest
