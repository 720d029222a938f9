// Owners of libcurl's handles, the builder's alone (the installer never links libcurl; every
// other C type's owner is in bundlespec/handles.hpp). Same shape: one stateless deleter each.
// Thread-safety: a handle is owned by one thread at a time.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>
#include <tuple>

namespace builder {

struct CurlEasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct CurlMultiDeleter {
  void operator()(CURLM* multi) const { std::ignore = curl_multi_cleanup(multi); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct CurlStringDeleter {  // strings libcurl allocated (curl_easy_escape)
  void operator()(char* text) const { curl_free(text); }
};

using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;
using CurlMulti = std::unique_ptr<CURLM, CurlMultiDeleter>;
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

// Appends `line` to `list` (curl_slist_append). False when libcurl is out of memory; `list`
// then holds what it held before.
inline bool append(CurlSlist& list, const std::string& line) {
  curl_slist* appended = curl_slist_append(list.get(), line.c_str());
  if (appended == nullptr) return false;
  std::ignore = list.release();  // appended is the same list, grown
  list.reset(appended);
  return true;
}

}  // namespace builder
