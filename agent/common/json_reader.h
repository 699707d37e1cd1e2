// JsonReader: the one strict, path-aware way the agent reads a JSON document (the policy,
// the nginx spec, Docker Engine API bodies, the state file, the status document). ReadJson bounds the text (json_limits.h),
// parses it and hands the root to a read function as a JsonValue; the read function walks
// the document with typed getters that know the JSON path of every value.
//
// A getter that meets a value of the wrong type, a missing key or (with OnlyKeys) an unknown
// key stops the read; so does JsonValue::Fail for a value that is well-typed but wrong. The
// error comes back from ReadJson as InvalidArgument naming the source, the line where the
// value (or its object) starts and the path, in one of two styles (JsonPathStyle):
//   kPath       "p.json:14: networks[1].bridge: must be a string, got number"
//               "p.json:8: networks[0]: missing required key \"name\""
//               "p.json:2: colour: unknown key (expected one of: lan, version)"
//   kQuotedKey  "spec.json:7: key \"api.burst\" must be an integer, got string"
//               "spec.json:5: missing key \"tls.certificate\""
//               "spec.json:9: unknown key \"tls.certficate\" (expected one of: ...)"
// A syntax error reads "<source>:<line>:<column>: invalid JSON: <reason>"; a number beyond a
// double "<source>: invalid JSON: a number is out of range"; a bound of the limits is
// CheckJsonLimits' message. Paths: "a.b", "a[3]", and a["k.x"] for a key that is not made of
// letters, digits, '_' and '-' (json_lines.h).
//
// Internally a failed read unwinds by an exception private to json_reader.cc; ReadJson
// catches it, so no exception leaves ReadJson (a read function must not catch (...)).
// JsonValues are only valid inside `read`.
//
// Thread safety: ReadJson is reentrant; a JsonValue belongs to the read that made it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/json_limits.h"
#include "common/status.h"

namespace ipo {

// How an error message names the value at fault (examples above). Two, because both are
// quoted by tests and docs outside the agent: kPath is the policy's wording (tests/faults,
// tests/dbus, docs/policy.md), kQuotedKey the nginx spec's (tests/nginx, docs/nginx.md).
enum class JsonPathStyle { kPath, kQuotedKey };

struct JsonReadOptions {
  JsonLimits limits;
  JsonPathStyle style = JsonPathStyle::kPath;
  // True: a member whose value is null counts as absent (Docker writes null for an empty map
  // or list). False: null is a value like any other, of type "null".
  bool null_is_absent = false;
};

class JsonValue {
 public:
  // "networks[1].bridge"; "" for the root.
  const std::string& path() const { return path_; }
  // nlohmann's names: "null", "boolean", "number", "string", "array", "object".
  std::string type_name() const;
  bool is_null() const;
  bool is_string() const;
  bool is_integer() const;
  bool is_object() const;
  bool is_array() const;
  // True for an empty array or object.
  bool empty() const;
  // The value as compact JSON text ("1.51", "[1,2]").
  std::string Dump() const;

  // Ends the read with `what` about this value ("\"x\" is reserved").
  [[noreturn]] void Fail(const std::string& what) const;

  // Scalars; each fails "must be <kind>, got <type>" on another type.
  std::string String() const;
  std::string NonEmptyString() const;  // also fails "must not be empty"
  int64_t Int() const;
  int64_t Int(int64_t min, int64_t max) const;  // also fails "must be between min and max, got n"
  // A non-negative integer up to `max`; fails "must be between 0 and max, got n" otherwise
  // (a uint64_t counter above INT64_MAX reads back whole, unlike through Int).
  uint64_t Uint(uint64_t max) const;
  bool Bool() const;
  double Number() const;

  // Objects. Each fails "must be an object, got <type>" when this value is not one.
  void ExpectObject() const;
  // Fails with "unknown key" for the first member not in `allowed`.
  void OnlyKeys(std::span<const std::string_view> allowed) const;
  void OnlyKeys(std::initializer_list<std::string_view> allowed) const {
    OnlyKeys(std::span<const std::string_view>(allowed.begin(), allowed.size()));
  }
  // The member `key`: Get fails with "missing key" when it is absent, Find returns nullopt.
  JsonValue Get(std::string_view key) const;
  std::optional<JsonValue> Find(std::string_view key) const;
  // The member `key` read as above, or `fallback` when it is absent.
  std::string StringOr(std::string_view key, const std::string& fallback) const;
  int64_t IntOr(std::string_view key, int64_t fallback) const;
  bool BoolOr(std::string_view key, bool fallback) const;
  // Calls fn(key, value) for each member, in key order; null members too, whatever
  // null_is_absent.
  void ForEachMember(const std::function<void(const std::string&, const JsonValue&)>& fn) const;

  // Arrays. Each fails "must be an array, got <type>" when this value is not one.
  void ExpectArray() const;
  size_t size() const;
  JsonValue At(size_t i) const;  // REQUIRES: i < size()
  // An array of strings; an item of another type fails at its path ("bridges[1]: ...").
  std::vector<std::string> Strings() const;

 private:
  friend Status ReadJson(std::string_view, const std::string&, const JsonReadOptions&,
                         const std::function<void(const JsonValue&)>&);
  JsonValue(const nlohmann::json* json, std::string path, const JsonReadOptions* options)
      : json_(json), path_(std::move(path)), options_(options) {}
  [[noreturn]] void WrongType(const char* expected) const;

  const nlohmann::json* json_;
  std::string path_;
  const JsonReadOptions* options_;
};

// Checks `text` against options.limits, parses it and runs read(root). OK when read returns;
// otherwise InvalidArgument as described at the top. `source` names the text (a file path).
Status ReadJson(std::string_view text, const std::string& source, const JsonReadOptions& options,
                const std::function<void(const JsonValue& root)>& read);

// ReadJson for a read function that returns a T.
template <typename T, typename F>
Result<T> ReadJsonAs(std::string_view text, const std::string& source, const JsonReadOptions& options,
                     F&& read) {
  std::optional<T> out;
  Status s = ReadJson(text, source, options, [&](const JsonValue& root) { out.emplace(read(root)); });
  if (!s.ok()) return s;
  return std::move(*out);
}

}  // namespace ipo
