// The FAT32 warning after pack and build: silent up to 4 GiB - 1 byte, then exact advice.
#include <gtest/gtest.h>

#include "cli.hpp"

namespace builder {
namespace {

TEST(Fat32Warning, OnlyAboveTheLargestFat32File) {
  const uint64_t max = (uint64_t{4} << 30) - 1;
  EXPECT_EQ(fat32_warning("k8s.run", 0), "");
  EXPECT_EQ(fat32_warning("k8s.run", max), "");
  EXPECT_EQ(fat32_warning("out/k8s.run", max + 1),
            "kubeferry: warning: out/k8s.run is 4.0 GiB, more than a FAT32 file can hold (4 GiB - 1 byte): carry it "
            "on exFAT, NTFS or ext4, or in signed parts (kubeferry split out/k8s.run fat32 --key KEY, or build with "
            "--split fat32; on the far side ./out/k8s.run.installer verify-media and join)\n");
}

}  // namespace
}  // namespace builder
