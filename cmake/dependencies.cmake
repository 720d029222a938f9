# Every dependency comes from Debian 12's packages (scripts/setup.sh installs them).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(CURL REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
pkg_check_modules(ARCHIVE REQUIRED IMPORTED_TARGET libarchive)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)

# Shared-library dependencies for the builder and the tests.
add_library(kf_shared_deps INTERFACE)
target_link_libraries(kf_shared_deps INTERFACE
  PkgConfig::ARCHIVE PkgConfig::ZSTD OpenSSL::Crypto yaml-cpp Threads::Threads)

# Static archives for the fully static installer (recipe: shared/docs/test-rig.md 1.4).
# Only tar + gzip + zstd are used from libarchive, so --gc-sections drops the rest.
add_library(kf_static_deps INTERFACE)
foreach(lib archive zstd z acl yaml-cpp ssl crypto)
  string(MAKE_C_IDENTIFIER ${lib} id)
  find_library(KF_STATIC_${id} NAMES lib${lib}.a REQUIRED)
  target_link_libraries(kf_static_deps INTERFACE ${KF_STATIC_${id}})
endforeach()
target_link_libraries(kf_static_deps INTERFACE Threads::Threads)
