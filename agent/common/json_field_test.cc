#include "common/json_field.h"

#include <catch2/catch.hpp>

using nlohmann::json;

namespace {

// The message of the JsonFieldError that `read` throws ("" when it throws none).
template <typename F>
std::string ErrorOf(F&& read) {
  try {
    read();
  } catch (const ipo::JsonFieldError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a member is read as its type, and a missing one is an error or the fallback") {
  json j = json::parse(R"({"n": 7, "s": "x", "b": true, "f": 1.5, "l": ["a", "b"], "neg": -3, "z": null})");
  CHECK(ipo::Field<uint16_t>(j, "", "n") == 7);
  CHECK(ipo::Field<std::string>(j, "", "s") == "x");
  CHECK(ipo::Field<bool>(j, "", "b"));
  CHECK(ipo::Field<double>(j, "", "f") == 1.5);
  CHECK(ipo::Field<double>(j, "", "n") == 7.0);
  CHECK(ipo::Field<int64_t>(j, "", "neg") == -3);
  CHECK(ipo::Field<std::vector<std::string>>(j, "", "l") == std::vector<std::string>{"a", "b"});
  CHECK(ipo::FieldOr<std::string>(j, "", "absent", "d") == "d");
  CHECK(ipo::FieldOr<uint64_t>(j, "", "z", 9) == 9);  // null counts as absent
  CHECK(ErrorOf([&] { ipo::Field<bool>(j, "doc", "absent"); }) == "doc.absent: missing");
}

TEST_CASE("a member of the wrong type or out of range is an error naming its path") {
  json j = json::parse(R"({"c": [{"port": 70000, "proto": -1, "name": 5, "tags": ["a", 1]}]})");
  const json& c = j["c"][0];
  std::string at = ipo::JsonIndex("c", 0);
  CHECK(ErrorOf([&] { ipo::Field<uint16_t>(c, at, "port"); }) == "c[0].port: expected an integer from 0 to 65535, "
                                                                  "found number");
  CHECK(ErrorOf([&] { ipo::Field<uint8_t>(c, at, "proto"); }) == "c[0].proto: expected an integer from 0 to 255, "
                                                                  "found number");
  CHECK(ErrorOf([&] { ipo::Field<std::string>(c, at, "name"); }) == "c[0].name: expected a string, found number");
  CHECK(ErrorOf([&] { ipo::Field<std::vector<std::string>>(c, at, "tags"); }) ==
        "c[0].tags[1]: expected a string, found number");
  CHECK(ErrorOf([&] { ipo::ExpectJsonObject(j["c"], ""); }) == "top level: expected an object, found array");
  CHECK(ipo::FindMember(j["c"], "port") == nullptr);  // not an object: no members
}
