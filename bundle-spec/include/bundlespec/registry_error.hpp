// The error document an OCI distribution registry sends with a failed request,
// {"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry",...}]}, as text
// for our messages. Shared by the builder's pulls and the installer's push.
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>

namespace bundlespec {

// " (CODE: message)" of the first error in `body`, both through printable() (the code cut at 64
// bytes, the message at 200); "" when the body is not such a document.
std::string registry_error_text(std::string_view body);

}  // namespace bundlespec
