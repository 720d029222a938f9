// The strict JSON parser and the canonical encoder (FORMAT.md 3.1): every refusal with its
// exact message and offset, and the one-encoding rule the signature depends on.
#include "bundlespec/json.hpp"

#include <gtest/gtest.h>

#include <string>

#include "support/test_util.hpp"

namespace bundlespec {
namespace {

// The error text of a parse that must fail.
std::string parse_error(std::string_view text, const JsonLimits& limits = {}) {
  auto result = parse_json(text, limits);
  if (result.ok()) return "<parsed: " + to_canonical_json(*result) + ">";
  EXPECT_EQ(result.error().code(), ErrorCode::verification) << text;
  return result.error().message();
}

std::string nested_arrays(size_t levels) {
  return std::string(levels, '[') + std::string(levels, ']');
}

TEST(Json, CanonicalEncodingSortsKeysAndDropsWhitespace) {
  Json::Object object;
  object["b"] = 1;
  object["a"] = Json::Array{Json(true), Json(false), Json(nullptr), Json(-7), Json("x")};
  object["B"] = Json::Object{};
  object["aa"] = Json::Array{};
  EXPECT_EQ(to_canonical_json(Json(object)), R"({"B":{},"a":[true,false,null,-7,"x"],"aa":[],"b":1})");
}

TEST(Json, KeysSortByUtf8Bytes) {
  Json::Object object;
  object["\xc3\xa9"] = 1;  // é: 0xC3 sorts after every ASCII byte
  object["z"] = 2;
  object["Z"] = 3;
  EXPECT_EQ(to_canonical_json(Json(object)), "{\"Z\":3,\"z\":2,\"\xc3\xa9\":1}");
}

TEST(Json, CanonicalEscapesAreMinimal) {
  const std::string s = std::string("q\" b\\ /") + "\b\f\n\r\t" + '\x01' + '\x1f' + "\x7f" + "\xc3\xa9";
  EXPECT_EQ(to_canonical_json(Json(s)), "\"q\\\" b\\\\ /\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\xc3\xa9\"");
  // And the escapes read back to the same string.
  auto back = parse_json(to_canonical_json(Json(s)));
  ASSERT_OK(back);
  EXPECT_EQ(back->as_string(), s);
}

// Pretty output is for terminals: DEL, C1 controls, line separators and bidi overrides become
// \u escapes (the same string to a JSON reader); the canonical encoding keeps them as they are.
TEST(Json, PrettyEscapesWhatATerminalWouldActOn) {
  const Json value = std::string(
      "a\x7f"
      "b\xc2\x9b"
      "c\xe2\x80\xae"
      "d\xe2\x81\xa6"
      "e\xc3\xa9\xe2\x82\xac\x1b");
  EXPECT_EQ(to_pretty_json(value), "\"a\\u007fb\\u009bc\\u202ed\\u2066e\xc3\xa9\xe2\x82\xac\\u001b\"\n");
  EXPECT_EQ(to_canonical_json(value),
            "\"a\x7f"
            "b\xc2\x9b"
            "c\xe2\x80\xae"
            "d\xe2\x81\xa6"
            "e\xc3\xa9\xe2\x82\xac\\u001b\"");
  auto back = parse_json(to_pretty_json(value));
  ASSERT_OK(back);
  EXPECT_EQ(*back, value);
}

TEST(Json, IntegersInShortestForm) {
  EXPECT_EQ(to_canonical_json(Json(int64_t{0})), "0");
  EXPECT_EQ(to_canonical_json(Json(INT64_MIN)), "-9223372036854775808");
  EXPECT_EQ(to_canonical_json(Json(INT64_MAX)), "9223372036854775807");
  auto min = parse_json("-9223372036854775808");
  ASSERT_OK(min);
  EXPECT_EQ(min->as_integer(), INT64_MIN);
  auto max = parse_json("9223372036854775807");
  ASSERT_OK(max);
  EXPECT_EQ(max->as_integer(), INT64_MAX);
}

TEST(Json, ParsesWhitespaceAndEscapesThenReencodesCanonically) {
  auto value = parse_json(" {\n\t\"b\" : [ 1 , 2 ] ,\r\n \"a\" : \"\\u00e9\\/\\ud83d\\ude00\" } ");
  ASSERT_OK(value);
  EXPECT_EQ(to_canonical_json(*value), "{\"a\":\"\xc3\xa9/\xf0\x9f\x98\x80\",\"b\":[1,2]}");
}

TEST(Json, AcceptsValidUtf8AsIs) {
  const std::string text = "\"\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"";
  auto value = parse_json(text);
  ASSERT_OK(value);
  EXPECT_EQ(to_canonical_json(*value), text);
}

TEST(Json, RefusesInvalidUtf8) {
  EXPECT_EQ(parse_error("\"\xff\""), "json: offset 1: invalid UTF-8");
  EXPECT_EQ(parse_error("\"ab\x80\""), "json: offset 3: invalid UTF-8");            // lone continuation
  EXPECT_EQ(parse_error("\"\xc0\x80\""), "json: offset 1: invalid UTF-8");          // overlong NUL
  EXPECT_EQ(parse_error("\"\xe0\x80\xaf\""), "json: offset 1: invalid UTF-8");      // overlong '/'
  EXPECT_EQ(parse_error("\"\xed\xa0\x80\""), "json: offset 1: invalid UTF-8");      // UTF-16 surrogate
  EXPECT_EQ(parse_error("\"\xf4\x90\x80\x80\""), "json: offset 1: invalid UTF-8");  // above U+10FFFF
  EXPECT_EQ(parse_error("\"\xe2\x82\""), "json: offset 1: invalid UTF-8");          // cut short
  EXPECT_EQ(parse_error("\"\xe2"), "json: offset 1: invalid UTF-8");                // cut at the end
  EXPECT_EQ(parse_error("{\"\xc3\x28\":1}"), "json: offset 2: invalid UTF-8");      // in a key
}

TEST(Json, RefusesBadEscapesAndControlCharacters) {
  EXPECT_EQ(parse_error("\"a\nb\""), "json: offset 2: control character in string");
  EXPECT_EQ(parse_error("\"\\x\""), "json: offset 3: bad escape");
  EXPECT_EQ(parse_error("\"\\u12zz\""), "json: offset 6: bad hex digit in \\u escape");
  EXPECT_EQ(parse_error("\"\\u12"), "json: offset 3: short \\u escape");
  EXPECT_EQ(parse_error("\"\\udc00\""), "json: offset 7: lone low surrogate");
  EXPECT_EQ(parse_error("\"\\ud800\""), "json: offset 7: lone high surrogate");
  EXPECT_EQ(parse_error("\"\\ud800\\u0041\""), "json: offset 13: bad surrogate pair");
  EXPECT_EQ(parse_error("\"abc"), "json: offset 4: unterminated string");
}

TEST(Json, RefusesDuplicateKeys) {
  EXPECT_EQ(parse_error(R"({"a":1,"a":2})"), "json: offset 12: duplicate key \"a\"");
  EXPECT_EQ(parse_error(R"({"x":{"k":[],"k":{}}})"), "json: offset 19: duplicate key \"k\"");
  // The same key in different objects is fine.
  EXPECT_OK(parse_json(R"({"a":{"a":1},"b":{"a":2}})"));
}

TEST(Json, RefusesNonIntegers) {
  EXPECT_EQ(parse_error("1.5"), "json: offset 1: only integers are supported");
  EXPECT_EQ(parse_error("1e3"), "json: offset 1: only integers are supported");
  EXPECT_EQ(parse_error("[2E3]"), "json: offset 2: only integers are supported");
  EXPECT_EQ(parse_error("-0.0"), "json: offset 2: only integers are supported");
  EXPECT_EQ(parse_error("9223372036854775808"), "json: offset 19: integer out of range");
  EXPECT_EQ(parse_error("-9223372036854775809"), "json: offset 20: integer out of range");
  EXPECT_EQ(parse_error("01"), "json: offset 2: a number has a leading zero");
  EXPECT_EQ(parse_error("-"), "json: offset 1: a number needs digits");
  EXPECT_EQ(parse_error("+1"), "json: offset 0: unexpected character '+'");
}

TEST(Json, RefusesSyntaxErrors) {
  EXPECT_EQ(parse_error(""), "json: offset 0: unexpected end of input");
  EXPECT_EQ(parse_error("   "), "json: offset 3: unexpected end of input");
  EXPECT_EQ(parse_error("{} x"), "json: offset 3: trailing data after the document");
  EXPECT_EQ(parse_error("{}{}"), "json: offset 2: trailing data after the document");
  EXPECT_EQ(parse_error("[1,]"), "json: offset 3: unexpected character ']'");
  EXPECT_EQ(parse_error("[1 2]"), "json: offset 3: expected ',' or ']'");
  EXPECT_EQ(parse_error("{\"a\" 1}"), "json: offset 5: expected ':'");
  EXPECT_EQ(parse_error("{\"a\":1 \"b\":2}"), "json: offset 7: expected ',' or '}'");
  EXPECT_EQ(parse_error("{a:1}"), "json: offset 1: expected a string key");
  EXPECT_EQ(parse_error("{\"a\":1,}"), "json: offset 7: expected a string key");
  EXPECT_EQ(parse_error("tru"), "json: offset 0: unexpected character 't'");
  EXPECT_EQ(parse_error("[nul]"), "json: offset 1: unexpected character 'n'");
}

// FORMAT.md 3.1: "Nesting depth at most 64": 64 nested containers parse, 65 do not.
TEST(Json, DepthLimit) {
  EXPECT_OK(parse_json(nested_arrays(64)));
  EXPECT_EQ(parse_error(nested_arrays(65)), "json: offset 64: nesting deeper than 64");
  EXPECT_EQ(parse_error(nested_arrays(100000)), "json: offset 64: nesting deeper than 64");

  JsonLimits two;
  two.max_depth = 2;
  EXPECT_OK(parse_json("[[1]]", two));  // scalars do not add a level
  EXPECT_OK(parse_json(R"({"a":{"b":"c"}})", two));
  EXPECT_EQ(parse_error("[[[]]]", two), "json: offset 2: nesting deeper than 2");
  EXPECT_EQ(parse_error(R"({"a":[{}]})", two), "json: offset 6: nesting deeper than 2");
}

TEST(Json, PrettyEncoding) {
  Json::Object object;
  object["b"] = Json::Array{Json(1), Json("x")};
  object["a"] = Json::Object{};
  EXPECT_EQ(to_pretty_json(Json(object)), "{\n  \"a\": {},\n  \"b\": [\n    1,\n    \"x\"\n  ]\n}\n");
}

TEST(Json, TypedMemberLookups) {
  auto doc = parse_json(R"({"n":5,"s":"x"})");
  ASSERT_OK(doc);
  auto s = get_string(*doc, "s");
  ASSERT_OK(s);
  EXPECT_EQ(*s, "x");
  auto n = get_integer(*doc, "n");
  ASSERT_OK(n);
  EXPECT_EQ(*n, 5);
  EXPECT_EQ(get_string(*doc, "missing").error().message(), "missing \"missing\"");
  EXPECT_EQ(get_string(*doc, "n").error().message(), "\"n\": expected a string");
  EXPECT_EQ(get_integer(*doc, "s").error().message(), "\"s\": expected an integer");
  EXPECT_EQ(get_member(*doc, "s", Json::Type::array).error().message(), "\"s\": expected an array");
  EXPECT_EQ(get_member(*doc, "n", Json::Type::object).error().message(), "\"n\": expected an object");
}

TEST(Json, RoundTripOfEveryType) {
  const std::string canonical = R"({"a":[null,true,false,0,-1,"",{"x":[]}],"b":{"c":{"d":"e"}}})";
  auto value = parse_json(canonical);
  ASSERT_OK(value);
  EXPECT_EQ(to_canonical_json(*value), canonical);
  auto again = parse_json(to_pretty_json(*value));
  ASSERT_OK(again);
  EXPECT_EQ(*again, *value);
}

}  // namespace
}  // namespace bundlespec
