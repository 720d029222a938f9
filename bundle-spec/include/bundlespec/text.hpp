// Text helpers both programs share: ASCII helpers for the protocol code (HTTP headers,
// WWW-Authenticate, URLs) of the builder's registry client and the installer's push client, and
// printable(), which every value read from a bundle, inventory, manifest or registry goes
// through before it is printed.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bundlespec {

// How many bytes of one foreign value printable() keeps by default.
inline constexpr size_t k_printable_max = 200;
// ... and of a path in an error message (FORMAT.md caps bundle paths at 4096 bytes).
inline constexpr size_t k_printable_path_max = 4096;

// `text` made safe to show on a terminal or in a log as part of one line, so that a hostile
// value cannot forge output lines, move the cursor or send terminal escape sequences:
// printable ASCII (0x20-0x7e) and valid UTF-8 sequences of printable characters appear as
// themselves; every other byte appears as \xNN (two lowercase hex digits): C0 controls (tab
// and newline included), ESC, DEL, the bytes of C1 controls (U+0080-U+009F, the 8-bit CSI
// among them), of line/paragraph separators and bidirectional overrides (U+2028-U+202E,
// U+2066-U+2069), and any byte that is not part of well-formed UTF-8. A backslash stays a
// backslash, so printable() of printable() output is the same text.
// When the result would be longer than `max_bytes`, it is cut at a whole character or escape
// and "..." is appended (the result is then at most max_bytes + 3 bytes).
std::string printable(std::string_view text, size_t max_bytes = k_printable_max);

// printable() for a whole message that may hold several lines: each line as printable() would
// show it, newlines kept, no length cap (the values in it are capped where they were added).
std::string printable_lines(std::string_view text);

// `text` with A-Z mapped to a-z; other bytes unchanged (header names, schemes, host names).
std::string ascii_lower(std::string_view text);

// `text` without leading and trailing whitespace (space, tab, CR, LF, VT, FF).
std::string_view trim_space(std::string_view text);
// `text` without trailing whitespace (the same set): a command's output, a token file's line.
std::string_view trim_end(std::string_view text);

// "a b c": the words joined with single spaces, for messages that show a command line.
std::string join_argv(const std::vector<std::string>& words);

// The folder part of a '/'-separated path: "a/b" -> "a", "/a/b" -> "/a", "/a" -> "/", and ""
// for a name without a '/' (a bundle path at the top of the bundle).
std::string parent_of(std::string_view path);

// "Basic " + base64(user ":" password), an HTTP Basic Authorization value (RFC 7617).
std::string basic_authorization(std::string_view user, std::string_view password);

}  // namespace bundlespec
