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
            "on exFAT, NTFS or ext4, or in parts (split -b 4000m out/k8s.run out/k8s.run.part-; on the far side cat "
            "out/k8s.run.part-* > out/k8s.run and check it with out/k8s.run.sha256)\n");
}

}  // namespace
}  // namespace builder
