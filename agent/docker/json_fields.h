// Typed reads of fields out of nlohmann::json values for the Docker decoders. A field of the
// wrong type is a DecodeError naming the field's path ("NetworkSettings.Ports[\"80/tcp\"]");
// the public decoders catch it and return a Status, so no exception leaves this module.
//
// Thread safety: stateless functions.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace ipo::docker::internal {

using Json = nlohmann::json;

// Thrown by the readers below; what() is "field <path>: <problem>", "top level: <problem>",
// "invalid JSON at byte <n> in '<first 60 bytes>'" or, for a number beyond a double,
// "invalid JSON: a number out of range in '<first 60 bytes>'", or a bound of the pre-check
// (common/json_limits.h: 64 MiB, 32 levels, 1 MiB strings): "body:<line>: nesting deeper
// than 32 levels".
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses `text`, or throws DecodeError "invalid JSON ..." (above).
Json ParseJson(std::string_view text);

// "<parent>.<key>" ("<key>" when parent is empty).
std::string FieldPath(std::string_view parent, std::string_view key);

// obj[key] as a string; "" when obj lacks the key or it is null.
// REQUIRES: obj is an object.
std::string String(const Json& obj, std::string_view path, const char* key);
// obj[key] as a signed integer; `fallback` when absent or null.
int64_t Int(const Json& obj, std::string_view path, const char* key, int64_t fallback = 0);
// obj[key] as a bool; false when absent or null.
bool Bool(const Json& obj, std::string_view path, const char* key);
// obj[key] when it is an object; an empty object when absent or null.
const Json& Object(const Json& obj, std::string_view path, const char* key);
// obj[key] when it is an array; an empty array when absent or null.
const Json& Array(const Json& obj, std::string_view path, const char* key);
// Throws unless `value` is an object.
void ExpectObject(const Json& value, std::string_view path);
// Throws unless `value` is an array.
void ExpectArray(const Json& value, std::string_view path);

// Runs `decode` and turns a DecodeError into InvalidArgument "<what>: <error>".
template <typename T, typename F>
Result<T> Decode(std::string_view what, F&& decode) {
  try {
    return decode();
  } catch (const DecodeError& e) {
    return Status::InvalidArgument(std::string(what) + ": " + e.what());
  }
}

}  // namespace ipo::docker::internal
