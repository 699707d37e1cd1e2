#include "common/json_limits.h"

#include <catch2/catch.hpp>
#include <string>

using ipo::CheckJsonLimits;
using ipo::JsonLimits;

TEST_CASE("CheckJsonLimits accepts documents within the bounds") {
  CHECK(CheckJsonLimits(R"({"a": [1, {"b": "x\"]]]]"}]})", "f.json", JsonLimits{}).ok());
  CHECK(CheckJsonLimits("", "f.json", JsonLimits{}).ok());
  CHECK(CheckJsonLimits("not json at all", "f.json", JsonLimits{}).ok());  // the parser's job
}

TEST_CASE("CheckJsonLimits refuses deep nesting with the line") {
  std::string deep = "{\n\"a\":\n" + std::string(100, '[');
  auto st = CheckJsonLimits(deep, "p.json", JsonLimits{});
  CHECK(st.message() == "p.json:3: nesting deeper than 64 levels");
  // Brackets inside strings are text, not nesting.
  std::string quoted = "[\"" + std::string(100, '[') + "\"]";
  CHECK(CheckJsonLimits(quoted, "p.json", JsonLimits{}).ok());
}

TEST_CASE("CheckJsonLimits refuses long strings and big files") {
  std::string name = "{\n  \"name\": \"" + std::string(100000, 'a') + "\"\n}";
  CHECK(CheckJsonLimits(name, "p.json", JsonLimits{}).message() == "p.json:2: a string longer than 4096 bytes");
  JsonLimits small;
  small.max_bytes = 10;
  CHECK(CheckJsonLimits("[1,2,3,4,5,6]", "p.json", small).message() ==
        "p.json: 13 bytes is more than the 10 this file may have");
  // An escaped quote does not end the string; an unterminated string is left to the parser.
  std::string escaped = "[\"" + std::string(5000, '\\') + "\"]";
  CHECK_FALSE(CheckJsonLimits(escaped, "p.json", JsonLimits{}).ok());
  CHECK(CheckJsonLimits("[\"abc", "p.json", JsonLimits{}).ok());
}
