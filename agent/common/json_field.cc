#include "common/json_field.h"

namespace ipo {
namespace {

[[noreturn]] void Expected(std::string_view path, const char* what, const nlohmann::json& found) {
  std::string where = path.empty() ? "top level" : std::string(path);
  throw JsonFieldError(where + ": expected " + what + ", found " + found.type_name());
}

}  // namespace

std::string JsonPath(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}

std::string JsonIndex(std::string_view path, size_t i) { return std::string(path) + "[" + std::to_string(i) + "]"; }

const nlohmann::json* FindMember(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

void ExpectJsonObject(const nlohmann::json& v, std::string_view path) {
  if (!v.is_object()) Expected(path, "an object", v);
}

void ExpectJsonArray(const nlohmann::json& v, std::string_view path) {
  if (!v.is_array()) Expected(path, "an array", v);
}

namespace json_field_internal {

bool AsBool(const nlohmann::json& v, std::string_view path) {
  if (!v.is_boolean()) Expected(path, "a boolean", v);
  return v.get<bool>();
}

std::string AsString(const nlohmann::json& v, std::string_view path) {
  if (!v.is_string()) Expected(path, "a string", v);
  return v.get<std::string>();
}

uint64_t AsUnsigned(const nlohmann::json& v, std::string_view path, uint64_t max) {
  bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= max : v.is_number_integer() && v.get<int64_t>() >= 0 &&
                                                                        static_cast<uint64_t>(v.get<int64_t>()) <= max;
  if (!fits) Expected(path, ("an integer from 0 to " + std::to_string(max)).c_str(), v);
  return v.is_number_unsigned() ? v.get<uint64_t>() : static_cast<uint64_t>(v.get<int64_t>());
}

int64_t AsInt(const nlohmann::json& v, std::string_view path) {
  bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t{std::numeric_limits<int64_t>::max()}
                                     : v.is_number_integer();
  if (!fits) Expected(path, "a 64-bit signed integer", v);
  return v.get<int64_t>();
}

double AsDouble(const nlohmann::json& v, std::string_view path) {
  if (!v.is_number()) Expected(path, "a number", v);
  return v.get<double>();
}

std::vector<std::string> AsStrings(const nlohmann::json& v, std::string_view path) {
  ExpectJsonArray(v, path);
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) out.push_back(AsString(v[i], JsonIndex(path, i)));
  return out;
}

}  // namespace json_field_internal
}  // namespace ipo
