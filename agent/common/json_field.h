// JsonField: typed reads of the members of the agent's own JSON documents (the state file,
// the status document), with errors that name the member's path, e.g.
// "containers[2].ipv4: expected a string, found number" or "proxy_ports[0].port: missing".
//
// The readers throw JsonFieldError; each public decoder that uses them (model/observed_json.h,
// state/state_store.h, status/status_doc.h) catches it and returns a Status, so no exception
// leaves a module. An integer outside the target type's range is of the wrong type.
//
// Thread safety: stateless functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace ipo {

class JsonFieldError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "<path>.<key>" ("<key>" when path is empty) and "<path>[<i>]".
std::string JsonPath(std::string_view path, std::string_view key);
std::string JsonIndex(std::string_view path, size_t i);

namespace json_field_internal {
bool AsBool(const nlohmann::json& v, std::string_view path);
std::string AsString(const nlohmann::json& v, std::string_view path);
uint64_t AsUnsigned(const nlohmann::json& v, std::string_view path, uint64_t max);
int64_t AsInt(const nlohmann::json& v, std::string_view path);
double AsDouble(const nlohmann::json& v, std::string_view path);
std::vector<std::string> AsStrings(const nlohmann::json& v, std::string_view path);
}  // namespace json_field_internal

// `v` (found at `path`) as T: bool, std::string, an unsigned integer type, int64_t, double or
// std::vector<std::string>.
template <typename T>
T JsonAs(const nlohmann::json& v, std::string_view path) {
  namespace in = json_field_internal;
  if constexpr (std::is_same_v<T, bool>) {
    return in::AsBool(v, path);
  } else if constexpr (std::is_same_v<T, std::string>) {
    return in::AsString(v, path);
  } else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) {
    return static_cast<T>(in::AsUnsigned(v, path, std::numeric_limits<T>::max()));
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return in::AsInt(v, path);
  } else if constexpr (std::is_same_v<T, double>) {
    return in::AsDouble(v, path);
  } else {
    static_assert(std::is_same_v<T, std::vector<std::string>>, "no JSON reader for this type");
    return in::AsStrings(v, path);
  }
}

// obj[key], or nullptr when `obj` has no such member or it is null.
const nlohmann::json* FindMember(const nlohmann::json& obj, const char* key);

// obj[key] as T (`path` is obj's); "<path>.<key>: missing" when absent or null.
template <typename T>
T Field(const nlohmann::json& obj, std::string_view path, const char* key) {
  const nlohmann::json* v = FindMember(obj, key);
  if (v == nullptr) throw JsonFieldError(JsonPath(path, key) + ": missing");
  return JsonAs<T>(*v, JsonPath(path, key));
}

// obj[key] as T, or `fallback` when absent or null.
template <typename T>
T FieldOr(const nlohmann::json& obj, std::string_view path, const char* key, T fallback) {
  const nlohmann::json* v = FindMember(obj, key);
  return v == nullptr ? fallback : JsonAs<T>(*v, JsonPath(path, key));
}

// Throws "<path>: expected an object/array, found <type>" unless `v` is one.
void ExpectJsonObject(const nlohmann::json& v, std::string_view path);
void ExpectJsonArray(const nlohmann::json& v, std::string_view path);

}  // namespace ipo
