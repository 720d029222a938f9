// Where the installer finds its own bundle: the file it was started from.
//
// A .run is this executable with the bundle appended, so the bundle is /proc/self/exe; where
// /proc is not mounted (a bare chroot) the path the kernel recorded at exec (AT_EXECFN) is
// used instead. Thread-safety: pure functions of the process.
#pragma once

#include <string>

namespace installer {

// "/proc/self/exe" when readable, else the exec path; for messages use self_label().
std::string self_bundle_path();
// The file we were run from, resolved, for messages.
std::string self_label();
// True when `path` is longer than the ELF image it starts with: something was appended (a
// bundle, possibly damaged). False for a bare kubeferry-install or on any read error.
bool has_appended_data(const std::string& path);

}  // namespace installer
