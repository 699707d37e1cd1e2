#include "common/json_reader.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

using ipo::JsonPathStyle;
using ipo::JsonReadOptions;
using ipo::JsonValue;
using ipo::ReadJson;

namespace {

const char* const kDoc =
    "{\n"
    "  \"name\": \"a\",\n"
    "  \"list\": [\n"
    "    {\"port\": 80},\n"
    "    {\"port\": \"x\"}\n"
    "  ],\n"
    "  \"opts\": {\"com.x\": \"1\", \"n\": null}\n"
    "}\n";

// The message of reading kDoc (or `text`) with `read`, in `style`.
std::string ErrorOf(const std::function<void(const JsonValue&)>& read, JsonPathStyle style = JsonPathStyle::kPath,
                    const std::string& text = kDoc) {
  JsonReadOptions options;
  options.style = style;
  ipo::Status s = ReadJson(text, "d.json", options, read);
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == ipo::Status::Code::kInvalidArgument);
  return s.message();
}

}  // namespace

TEST_CASE("ReadJson hands the typed values of a valid document to the read function") {
  std::vector<int64_t> ports;
  std::map<std::string, std::string> opts;
  ipo::Status s = ReadJson(R"({"name": "a", "list": [{"port": 80}], "opts": {"k": "v"}, "on": true, "r": 1.5})",
                           "d.json", JsonReadOptions{}, [&](const JsonValue& root) {
                             root.OnlyKeys({"name", "list", "opts", "on", "r"});
                             CHECK(root.Get("name").NonEmptyString() == "a");
                             JsonValue list = root.Get("list");
                             for (size_t i = 0; i < list.size(); ++i) ports.push_back(list.At(i).Get("port").Int(1, 65535));
                             root.Get("opts").ForEachMember(
                                 [&](const std::string& k, const JsonValue& v) { opts[k] = v.String(); });
                             CHECK(root.Get("on").Bool());
                             CHECK(root.Get("r").Number() == 1.5);
                             CHECK(root.StringOr("absent", "dflt") == "dflt");
                             CHECK(root.IntOr("absent", -1) == -1);
                             CHECK_FALSE(root.BoolOr("absent", false));
                             CHECK_FALSE(root.Find("absent").has_value());
                             CHECK(list.At(0).path() == "list[0]");
                           });
  CHECK(s.ok());
  CHECK(ports == std::vector<int64_t>{80});
  CHECK(opts == std::map<std::string, std::string>{{"k", "v"}});
  auto n = ipo::ReadJsonAs<int64_t>("[7]", "d.json", JsonReadOptions{}, [](const JsonValue& r) { return r.At(0).Int(); });
  REQUIRE(n.ok());
  CHECK(*n == 7);
}

TEST_CASE("ReadJson errors name the source, the line and the path (kPath)") {
  CHECK(ErrorOf([](const JsonValue& r) { r.Get("list").At(1).Get("port").Int(); }) ==
        "d.json:5: list[1].port: must be an integer, got string");
  CHECK(ErrorOf([](const JsonValue& r) { r.Get("list").At(0).Get("host"); }) ==
        "d.json:4: list[0]: missing required key \"host\"");
  CHECK(ErrorOf([](const JsonValue& r) { r.OnlyKeys({"name", "list"}); }) ==
        "d.json:7: opts: unknown key (expected one of: list, name)");
  CHECK(ErrorOf([](const JsonValue& r) { r.Get("opts").Get("com.x").Fail("is wrong"); }) ==
        "d.json:7: opts[\"com.x\"]: is wrong");
  CHECK(ErrorOf([](const JsonValue& r) { r.Get("name").Int(); }) == "d.json:2: name: must be an integer, got string");
  CHECK(ErrorOf([](const JsonValue& r) { r.Get("list").At(0).Get("port").Int(1, 10); }) ==
        "d.json:4: list[0].port: must be between 1 and 10, got 80");
  CHECK(ErrorOf([](const JsonValue& r) { r.ExpectArray(); }) == "d.json:1: must be an array, got object");
  CHECK(ErrorOf([](const JsonValue& r) { r.Get("name").Bool(); }) == "d.json:2: name: must be true or false, got string");
  CHECK(ErrorOf([](const JsonValue& r) { r.Get("opts").Get("n").String(); }) ==
        "d.json:7: opts.n: must be a string, got null");
  CHECK(ErrorOf([](const JsonValue& r) { r.Get("name").Number(); }) == "d.json:2: name: must be a number, got string");
  CHECK(ErrorOf([](const JsonValue& r) { r.Get("name").Get("x"); }) == "d.json:2: name: must be an object, got string");
}

TEST_CASE("ReadJson errors in the kQuotedKey style") {
  const auto q = JsonPathStyle::kQuotedKey;
  CHECK(ErrorOf([](const JsonValue& r) { r.Get("list").At(1).Get("port").Int(); }, q) ==
        "d.json:5: key \"list[1].port\" must be an integer, got string");
  CHECK(ErrorOf([](const JsonValue& r) { r.Get("list").At(0).Get("host"); }, q) ==
        "d.json:4: missing key \"list[0].host\"");
  CHECK(ErrorOf([](const JsonValue& r) { r.OnlyKeys({"name", "list"}); }, q) ==
        "d.json:7: unknown key \"opts\" (expected one of: list, name)");
  CHECK(ErrorOf([](const JsonValue& r) { r.Fail("must be a spec"); }, q) == "d.json:1: must be a spec");
}

TEST_CASE("ReadJson refuses bad text before reading") {
  CHECK(ErrorOf([](const JsonValue&) {}, JsonPathStyle::kPath, "{\n  \"a\": 1,\n  oops\n}").rfind(
            "d.json:3:3: invalid JSON: syntax error while parsing object key", 0) == 0);
  CHECK(ErrorOf([](const JsonValue&) {}, JsonPathStyle::kPath, "[1e400]") ==
        "d.json: invalid JSON: a number is out of range");
  CHECK(ErrorOf([](const JsonValue&) {}, JsonPathStyle::kPath, std::string(100, '[')) ==
        "d.json:1: nesting deeper than 64 levels");
  CHECK(ErrorOf([](const JsonValue& r) { r.Get("s").NonEmptyString(); }, JsonPathStyle::kPath, "{\"s\": \"\"}") ==
        "d.json:1: s: must not be empty");
}

TEST_CASE("null_is_absent: a null member is found as a missing one") {
  JsonReadOptions options;
  options.null_is_absent = true;
  std::vector<std::string> keys;
  ipo::Status s = ReadJson(R"({"a": null, "b": 1})", "d.json", options, [&](const JsonValue& r) {
    CHECK_FALSE(r.Find("a").has_value());
    CHECK(r.StringOr("a", "x") == "x");
    r.ForEachMember([&](const std::string& k, const JsonValue&) { keys.push_back(k); });
  });
  CHECK(s.ok());
  CHECK(keys == std::vector<std::string>{"a", "b"});  // ForEachMember shows null members
}

TEST_CASE("Uint reads a uint64_t whole and refuses a negative or too large integer; Strings names the item") {
  auto big = ipo::ReadJsonAs<uint64_t>("[18446744073709551615]", "d.json", JsonReadOptions{},
                                       [](const JsonValue& r) { return r.At(0).Uint(UINT64_MAX); });
  REQUIRE(big.ok());
  CHECK(*big == UINT64_MAX);
  CHECK(ErrorOf([](const JsonValue& r) { r.Get("p").Uint(65535); }, JsonPathStyle::kPath, "{\"p\": 65536}") ==
        "d.json:1: p: must be between 0 and 65535, got 65536");
  CHECK(ErrorOf([](const JsonValue& r) { r.Get("p").Uint(65535); }, JsonPathStyle::kPath, "{\"p\": -1}") ==
        "d.json:1: p: must be between 0 and 65535, got -1");
  CHECK(ErrorOf([](const JsonValue& r) { r.Get("b").Strings(); }, JsonPathStyle::kPath, "{\"b\": [\"x\",\n 2]}") ==
        "d.json:2: b[1]: must be a string, got number");
}
