// libFuzzer target over everything a reader parses before it trusts a byte: the trailer, the
// index JSON (parse_json, decode_index) and the entry rules (validate_entries).
//
// The input is treated two ways: as the tail of a bundle file (trailer in the last 64 bytes,
// index where the trailer says), and as index bytes on their own. Seeds in corpus/ are a real
// bare bundle and its index. Any crash, leak, overflow or UB report is a failure; a decoded
// index must re-encode to exactly its input (the canonical-encoding rule).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <tuple>

#include "bundlespec/container.hpp"
#include "bundlespec/index.hpp"
#include "bundlespec/json.hpp"

namespace bs = bundlespec;

namespace {

void check_index(std::string_view bytes) {
  auto json = bs::parse_json(bytes);
  if (json.ok()) {
    // Whatever parses must encode and parse again to the same value.
    auto again = bs::parse_json(bs::to_canonical_json(*json));
    if (!again.ok() || !(*again == *json)) std::abort();
  }
  auto index = bs::decode_index(bytes);
  if (!index.ok()) return;
  if (bs::encode_index(*index) != bytes) std::abort();
  std::ignore = bs::validate_entries(index->entries);
  std::ignore = bs::validate_entries(index->entries, 10);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (size >= bs::k_trailer_size) {
    auto trailer = bs::decode_trailer(input.substr(size - bs::k_trailer_size), size);
    if (trailer.ok()) {
      const uint64_t index_at = trailer->payload_offset + trailer->payload_size;
      check_index(input.substr(index_at, trailer->index_size));
    }
  }
  check_index(input);
  return 0;
}
