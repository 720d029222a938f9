# project_warnings / project_settings: linked PRIVATE by our own targets only.
add_library(project_warnings INTERFACE)
target_compile_options(project_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
  -Wnull-dereference -Wcast-align -Wextra-semi)
if(KUBEFERRY_WERROR)
  # g++ 12 reports -Wnull-dereference false positives inside libstdc++ when inlining
  # CLI11's string helpers at -O2, and -Wmaybe-uninitialized ones inside std::variant of
  # recursive types; both stay warnings, not errors.
  target_compile_options(project_warnings INTERFACE -Werror -Wno-error=null-dereference -Wno-error=maybe-uninitialized)
endif()

add_library(project_settings INTERFACE)
# Sections per function let the static installer drop unused libarchive/OpenSSL code.
target_compile_options(project_settings INTERFACE -ffunction-sections -fdata-sections)
target_compile_definitions(project_settings INTERFACE
  $<$<CONFIG:Debug>:_GLIBCXX_ASSERTIONS>
  KUBEFERRY_VERSION="${PROJECT_VERSION}")
if(KUBEFERRY_SANITIZE)
  target_compile_options(project_settings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(project_settings INTERFACE -fsanitize=address,undefined)
endif()
