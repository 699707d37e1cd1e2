#include "docker/json_fields.h"

#include "common/json_limits.h"

namespace ipo::docker::internal {
namespace {

const Json& EmptyObject() {
  static const Json kEmpty = Json::object();
  return kEmpty;
}

const Json& EmptyArray() {
  static const Json kEmpty = Json::array();
  return kEmpty;
}

// Throws "field <path>: expected <expected>, got <type>" ("top level: ..." for path "").
[[noreturn]] void WrongType(std::string_view path, const char* expected, const Json& got) {
  std::string where = path.empty() ? "top level" : "field " + std::string(path);
  throw DecodeError(where + ": expected " + expected + ", got " + got.type_name());
}

// obj[key], or nullptr when absent or null.
const Json* Find(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

Json ParseJson(std::string_view text) {
  // Docker's objects nest a few levels (NetworkSettings.Networks.<name>.IPAMConfig); the
  // linear pre-check keeps the parser off deep or huge bodies (common/json_limits.h), which
  // cost it super-linear time in the sanitizer build (32,000 levels: 0.3 s for 6 decoders).
  constexpr JsonLimits kDockerLimits{/*max_bytes=*/64 << 20, /*max_depth=*/32, /*max_string=*/1 << 20};
  if (Status s = CheckJsonLimits(text, "body", kDockerLimits); !s.ok()) throw DecodeError(s.message());
  constexpr size_t kExcerpt = 60;
  auto excerpt = [&] {
    std::string head(text.substr(0, kExcerpt));
    return text.size() > kExcerpt ? head + "..." : head;
  };
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    throw DecodeError("invalid JSON at byte " + std::to_string(e.byte) + " in '" + excerpt() + "'");
  } catch (const Json::out_of_range&) {
    // nlohmann throws out_of_range 406, not parse_error, for a number beyond a double (1e400).
    throw DecodeError("invalid JSON: a number out of range in '" + excerpt() + "'");
  }
}

std::string FieldPath(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return std::string(parent) + "." + std::string(key);
}

std::string String(const Json& obj, std::string_view path, const char* key) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return "";
  if (!v->is_string()) WrongType(FieldPath(path, key), "a string", *v);
  return v->get<std::string>();
}

int64_t Int(const Json& obj, std::string_view path, const char* key, int64_t fallback) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return fallback;
  if (!v->is_number_integer()) WrongType(FieldPath(path, key), "an integer", *v);
  return v->get<int64_t>();
}

bool Bool(const Json& obj, std::string_view path, const char* key) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return false;
  if (!v->is_boolean()) WrongType(FieldPath(path, key), "a boolean", *v);
  return v->get<bool>();
}

const Json& Object(const Json& obj, std::string_view path, const char* key) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return EmptyObject();
  if (!v->is_object()) WrongType(FieldPath(path, key), "an object", *v);
  return *v;
}

const Json& Array(const Json& obj, std::string_view path, const char* key) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return EmptyArray();
  if (!v->is_array()) WrongType(FieldPath(path, key), "an array", *v);
  return *v;
}

void ExpectObject(const Json& value, std::string_view path) {
  if (!value.is_object()) WrongType(path, "an object", value);
}

void ExpectArray(const Json& value, std::string_view path) {
  if (!value.is_array()) WrongType(path, "an array", value);
}

}  // namespace ipo::docker::internal
