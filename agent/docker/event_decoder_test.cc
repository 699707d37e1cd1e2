// Tests of event_decoder.h on /events output captured from dockerd 20.10.24 (API 1.41).
#include "docker/event_decoder.h"

#include <catch2/catch.hpp>

#include "docker/testdata.h"

#include <sstream>

namespace ipo::docker {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

TEST_CASE("DecodeEvent reads a network connect event", "[docker][event]") {
  auto ev = DecodeEvent(
      R"({"Type":"network","Action":"connect","Actor":{"ID":"e44ac6f464a7","Attributes":)"
      R"({"container":"11c44c9ab4ac","name":"capnet","type":"bridge"}},"scope":"local",)"
      R"("time":1795564767,"timeNano":1795564767164465922})");
  REQUIRE(ev.ok());
  CHECK(ev->type == "network");
  CHECK(ev->action == "connect");
  CHECK(ev->id == "e44ac6f464a7");
  CHECK(ev->attributes == std::map<std::string, std::string>{
                              {"container", "11c44c9ab4ac"}, {"name", "capnet"}, {"type", "bridge"}});
  CHECK(ev->time_nano == 1795564767164465922);
}

TEST_CASE("DecodeEvent falls back to time in seconds", "[docker][event]") {
  auto ev = DecodeEvent(R"({"Type":"container","Action":"die","Actor":{"ID":"abc"},"time":12})");
  REQUIRE(ev.ok());
  CHECK(ev->time_nano == 12'000'000'000);
  CHECK(ev->attributes.empty());
}

TEST_CASE("DecodeEvent decodes every captured event in order", "[docker][event]") {
  const auto lines = Lines(ReadTestdata("events_raw.ndjson"));
  REQUIRE(lines.size() == 46);
  std::vector<std::string> container_actions;
  int64_t last = 0;
  for (const auto& line : lines) {
    auto ev = DecodeEvent(line);
    REQUIRE(ev.ok());
    CHECK(ev->time_nano >= last);
    last = ev->time_nano;
    if (ev->type == "container" && ev->attributes["name"] == "deux") {
      container_actions.push_back(ev->action);
    }
  }
  CHECK(container_actions ==
        std::vector<std::string>{"rename", "kill", "kill", "die", "stop", "start", "restart"});

  auto health = DecodeEvent(lines[18]);
  REQUIRE(health.ok());
  CHECK(health->action == "health_status: healthy");
  CHECK(health->id == "04a9842260c5abf14041b0fb0adf8fcb9c1c163dded65173053149ee8b5e6e46");
  CHECK(health->attributes.at("name") == "hc");

  auto rename = DecodeEvent(lines[24]);
  REQUIRE(rename.ok());
  CHECK(rename->action == "rename");
  CHECK(rename->attributes.at("oldName") == "/two");
  CHECK(rename->attributes.at("name") == "deux");
}

TEST_CASE("DecodeEvent names what is wrong", "[docker][event]") {
  auto check = [](std::string_view json, const std::string& message) { CheckInvalid(DecodeEvent(json), message); };
  check(R"({"Type":"container","Action":)",
        "Docker event: body:1:29: invalid JSON: syntax error while parsing value - unexpected end of input; "
        "expected '[', '{', or a literal");
  check("", "Docker event: body:1:1: invalid JSON: syntax error while parsing value - unexpected end of input; "
            "expected '[', '{', or a literal");
  check(R"({"Type":"container","Action":"start","time":-1e999})",
        "Docker event: body: invalid JSON: a number is out of range");
  check("[1]", "Docker event: body:1: must be an object, got array");
  check(R"({"Type":"container","Action":"start","time":17955647532})",
        "Docker event: body:1: time: 17955647532 seconds do not fit in nanoseconds");
  check(R"({"Action":"start","time":1})", "Docker event: body:1: missing required key \"Type\"");
  check(R"({"Type":"container","time":1})", "Docker event: body:1: missing required key \"Action\"");
  check(R"({"Type":"container","Action":"start"})",
        "Docker event: body:1: fields timeNano and time are missing");
  check(R"({"Type":"container","Action":"start","timeNano":"1"})",
        "Docker event: body:1: timeNano: must be an integer, got string");
  check(R"({"Type":"container","Action":"start","time":1,"Actor":{"Attributes":{"n":1}}})",
        "Docker event: body:1: Actor.Attributes.n: must be a string, got number");
  check(R"({"Type":"container","Action":"start","time":1,"Actor":[]})",
        "Docker event: body:1: Actor: must be an object, got array");
}

TEST_CASE("EventsPath filters container and network events", "[docker][event]") {
  CHECK(EventsPath(0) ==
        "/events?filters=%7B%22type%22%3A%5B%22container%22%2C%22network%22%5D%7D");
  CHECK(EventsPath(1795564767164465922) ==
        "/events?since=1795564767.164465922&"
        "filters=%7B%22type%22%3A%5B%22container%22%2C%22network%22%5D%7D");
  CHECK(EventsPath(5'000'000'007).find("since=5.000000007&") != std::string::npos);
}

TEST_CASE("EventStreamSplitter yields the same messages for every chunking", "[docker][event]") {
  const std::string body = ReadTestdata("events_raw.ndjson");
  const auto expected = Lines(body);

  SECTION("two chunks split at every byte offset") {
    for (size_t cut = 0; cut <= body.size(); ++cut) {
      EventStreamSplitter splitter;
      std::vector<std::string> got;
      REQUIRE(splitter.Feed(std::string_view(body).substr(0, cut), &got).ok());
      REQUIRE(splitter.Feed(std::string_view(body).substr(cut), &got).ok());
      REQUIRE(got == expected);
      REQUIRE(splitter.pending_bytes() == 0);
    }
  }
  SECTION("one byte at a time") {
    EventStreamSplitter splitter;
    std::vector<std::string> got;
    for (char c : body) REQUIRE(splitter.Feed(std::string_view(&c, 1), &got).ok());
    CHECK(got == expected);
  }
  SECTION("three chunks, with CRLF and blank lines") {
    std::string crlf = "\r\n";
    for (const auto& line : expected) crlf += line + "\r\n\n";
    for (size_t a = 0; a < crlf.size(); a += 97) {
      for (size_t b = a; b <= crlf.size(); b += 89) {
        EventStreamSplitter splitter;
        std::vector<std::string> got;
        const std::string_view v(crlf);
        REQUIRE(splitter.Feed(v.substr(0, a), &got).ok());
        REQUIRE(splitter.Feed(v.substr(a, b - a), &got).ok());
        REQUIRE(splitter.Feed(v.substr(b), &got).ok());
        REQUIRE(got == expected);
      }
    }
  }
}

TEST_CASE("EventStreamSplitter holds an unfinished message back", "[docker][event]") {
  EventStreamSplitter splitter;
  std::vector<std::string> got;
  REQUIRE(splitter.Feed("{\"a\":1}\n{\"b\"", &got).ok());
  CHECK(got == std::vector<std::string>{"{\"a\":1}"});
  CHECK(splitter.pending_bytes() == 4);
  REQUIRE(splitter.Feed(":2}\n", &got).ok());
  CHECK(got == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"});
  CHECK(splitter.pending_bytes() == 0);
}

TEST_CASE("EventStreamSplitter refuses an endless message", "[docker][event]") {
  EventStreamSplitter splitter(8);
  std::vector<std::string> got;
  REQUIRE(splitter.Feed("12345678\n", &got).ok());
  Status s = splitter.Feed("123456789", &got);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message() == "Docker event stream: a message exceeds 8 bytes without a newline");
}

}  // namespace
}  // namespace ipo::docker
