#include "common/json_lines.h"

#include <catch2/catch.hpp>

using ipo::JsonLines;

TEST_CASE("JsonLines locates keys, array items and nested values") {
  const char* text =
      "{\n"
      "  \"a\": 1,\n"
      "  \"list\": [\n"
      "    {\"x\": \"s,}]\"},\n"
      "    {\n"
      "      \"x\": 2\n"
      "    }\n"
      "  ],\n"
      "  \"b\": {\"c\": [true, null]}\n"
      "}\n";
  JsonLines lines(text);
  CHECK(lines.LineOf("a") == 2);
  CHECK(lines.LineOf("list") == 3);
  CHECK(lines.LineOf("list[0]") == 4);
  CHECK(lines.LineOf("list[0].x") == 4);
  CHECK(lines.LineOf("list[1]") == 5);
  CHECK(lines.LineOf("list[1].x") == 6);
  CHECK(lines.LineOf("b.c") == 9);
  CHECK(lines.LineOf("b.c[1]") == 9);
  // Unknown paths fall back to the closest known parent.
  CHECK(lines.LineOf("list[1].missing") == 5);
  CHECK(lines.LineOf("nope") == 1);
}

TEST_CASE("JsonError formats source, line and path") {
  JsonLines lines("{\n \"k\": 1\n}");
  CHECK(ipo::JsonError("p.json", lines, "k", "must be a string") == "p.json:2: k: must be a string");
  CHECK(ipo::JsonError("p.json", lines, "", "empty") == "p.json:1: empty");
}

TEST_CASE("paths quote keys that are not plain names") {
  CHECK(ipo::JsonMemberPath("", "lan") == "lan");
  CHECK(ipo::JsonMemberPath("a", "b-c_1") == "a.b-c_1");
  CHECK(ipo::JsonMemberPath("Ports", "80/tcp") == "Ports[\"80/tcp\"]");
  CHECK(ipo::JsonMemberPath("", "") == "[\"\"]");
  CHECK(ipo::JsonItemPath("list", 3) == "list[3]");
}

TEST_CASE("JsonLines with a stop path indexes up to that path") {
  const char* text = "{\n\"a\": [\n1,\n2\n],\n\"b\": {\"c\": 3}\n}";
  JsonLines full(text);
  for (const char* path : {"", "a", "a[1]", "b", "b.c"}) {
    CHECK(JsonLines(text, path).LineOf(path) == full.LineOf(path));
  }
  CHECK(JsonLines(text, "a[0]").LineOf("b.c") == 1);  // not indexed: the root's line
}
