#include "bundle/self.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundlespec/handles.hpp"

namespace installer {

std::string self_bundle_path() {
  if (::access("/proc/self/exe", R_OK) == 0) return "/proc/self/exe";
  const auto* exec_path = reinterpret_cast<const char*>(::getauxval(AT_EXECFN));
  return exec_path != nullptr ? std::string(exec_path) : std::string("/proc/self/exe");
}

std::string self_label() {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) return std::string(self, static_cast<size_t>(n));
  return self_bundle_path();
}

bool has_appended_data(const std::string& path) {
  bundlespec::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  Elf64_Ehdr header{};
  if (::pread(fd.get(), &header, sizeof header, 0) != static_cast<ssize_t>(sizeof header)) return false;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return false;
  // The section header table is the last thing a linker writes into the file.
  const uint64_t elf_end = header.e_shoff + static_cast<uint64_t>(header.e_shnum) * header.e_shentsize;
  return static_cast<uint64_t>(st.st_size) > elf_end;
}

}  // namespace installer
