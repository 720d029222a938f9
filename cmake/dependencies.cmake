# Every dependency comes from Debian 12's packages (scripts/setup.sh installs them).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(CURL REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
pkg_check_modules(ARCHIVE REQUIRED IMPORTED_TARGET libarchive)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)

# kf::<name>, one INTERFACE target per third-party library: each of our libraries links the ones
# it uses. An executable whose KF_STATIC_LINK property is ON (the fully static installer) gets the
# static archive instead of the shared library.
#   kf_static_archive(NAME ARCHIVE [STATIC-DEPENDENCY...])  kf_static_<NAME>: lib<ARCHIVE>.a, and
#                                                            the archives it needs after it
#   kf_dependency(NAME SHARED-TARGET)                       kf::<NAME>: kf_static_<NAME> or the
#                                                            shared library
function(kf_static_archive name archive)
  string(MAKE_C_IDENTIFIER ${archive} id)
  find_library(KF_STATIC_${id} NAMES lib${archive}.a REQUIRED)
  add_library(kf_static_${name} STATIC IMPORTED)
  set_target_properties(kf_static_${name} PROPERTIES IMPORTED_LOCATION ${KF_STATIC_${id}})
  target_link_libraries(kf_static_${name} INTERFACE ${ARGN} Threads::Threads)
endfunction()

function(kf_dependency name shared)
  add_library(kf_${name} INTERFACE)
  add_library(kf::${name} ALIAS kf_${name})
  target_link_libraries(kf_${name} INTERFACE
    "$<IF:$<BOOL:$<TARGET_PROPERTY:KF_STATIC_LINK>>,kf_static_${name},${shared}>" Threads::Threads)
endfunction()

kf_static_archive(crypto crypto)
kf_static_archive(ssl ssl kf_static_crypto)
kf_static_archive(zstd zstd)
kf_static_archive(z z)
kf_static_archive(acl acl)
# Only tar + gzip + zstd are used from libarchive, so --gc-sections drops the rest (and the
# static archive needs no more than these).
kf_static_archive(archive archive kf_static_zstd kf_static_z kf_static_acl)
kf_static_archive(yaml yaml-cpp)

kf_dependency(crypto OpenSSL::Crypto)
kf_dependency(ssl OpenSSL::SSL)
kf_dependency(zstd PkgConfig::ZSTD)
kf_dependency(archive PkgConfig::ARCHIVE)
kf_dependency(yaml yaml-cpp)
