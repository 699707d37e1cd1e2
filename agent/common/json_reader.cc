#include "common/json_reader.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/json_lines.h"

namespace ipo {
namespace {

using nlohmann::json;

// Thrown by JsonValue when a read fails; caught by ReadJson only. `at` is the path whose line
// the message gives; `plain` and `quoted` are the message in each JsonPathStyle.
struct JsonFault {
  std::string at;
  std::string plain;   // after "<source>:<line>: <at>: "
  std::string quoted;  // after "<source>:<line>: "
};

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

// "line:column" (both 1-based) of the byte before offset `byte` (nlohmann's 1-based offset of
// the character at fault).
std::string Position(std::string_view text, size_t byte) {
  size_t line = 1;
  size_t col = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col > 1 ? col - 1 : 1);
}

// The message of a parse_error without nlohmann's prefix: "[json.exception.parse_error.101]
// parse error at line 3, column 5: syntax error ..." -> "syntax error ...".
std::string ParseReason(const std::string& what) {
  size_t colon = what.find(": ", what.find("column"));
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

}  // namespace

std::string JsonValue::type_name() const { return json_->type_name(); }
bool JsonValue::is_null() const { return json_->is_null(); }
bool JsonValue::is_string() const { return json_->is_string(); }
bool JsonValue::is_object() const { return json_->is_object(); }
bool JsonValue::is_integer() const { return json_->is_number_integer(); }
bool JsonValue::is_array() const { return json_->is_array(); }
bool JsonValue::empty() const { return (json_->is_array() || json_->is_object()) && json_->empty(); }
std::string JsonValue::Dump() const { return json_->dump(); }

void JsonValue::Fail(const std::string& what) const {
  throw JsonFault{path_, what, path_.empty() ? what : "key " + Quoted(path_) + " " + what};
}

void JsonValue::WrongType(const char* expected) const {
  Fail(std::string("must be ") + expected + ", got " + type_name());
}

std::string JsonValue::String() const {
  if (!json_->is_string()) WrongType("a string");
  return json_->get<std::string>();
}

std::string JsonValue::NonEmptyString() const {
  std::string s = String();
  if (s.empty()) Fail("must not be empty");
  return s;
}

int64_t JsonValue::Int() const {
  if (!json_->is_number_integer()) WrongType("an integer");
  return json_->get<int64_t>();
}

int64_t JsonValue::Int(int64_t min, int64_t max) const {
  int64_t n = Int();
  if (n < min || n > max) {
    Fail("must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + std::to_string(n));
  }
  return n;
}

uint64_t JsonValue::Uint(uint64_t max) const {
  // nlohmann stores a non-negative integer as unsigned, a negative one as signed.
  if (!json_->is_number_integer()) WrongType("an integer");
  if (!json_->is_number_unsigned() || json_->get<uint64_t>() > max) {
    Fail("must be between 0 and " + std::to_string(max) + ", got " + Dump());
  }
  return json_->get<uint64_t>();
}

bool JsonValue::Bool() const {
  if (!json_->is_boolean()) WrongType("true or false");
  return json_->get<bool>();
}

double JsonValue::Number() const {
  if (!json_->is_number()) WrongType("a number");
  return json_->get<double>();
}

void JsonValue::ExpectObject() const {
  if (!json_->is_object()) WrongType("an object");
}

void JsonValue::OnlyKeys(std::span<const std::string_view> allowed) const {
  ExpectObject();
  std::vector<std::string_view> sorted(allowed.begin(), allowed.end());
  std::sort(sorted.begin(), sorted.end());
  for (auto it = json_->begin(); it != json_->end(); ++it) {
    if (std::find(sorted.begin(), sorted.end(), it.key()) != sorted.end()) continue;
    std::string list;
    for (std::string_view a : sorted) list += (list.empty() ? "" : ", ") + std::string(a);
    const std::string member = JsonMemberPath(path_, it.key());
    throw JsonFault{member, "unknown key (expected one of: " + list + ")",
                    "unknown key " + Quoted(member) + " (expected one of: " + list + ")"};
  }
}

std::optional<JsonValue> JsonValue::Find(std::string_view key) const {
  ExpectObject();
  auto it = json_->find(std::string(key));
  if (it == json_->end() || (options_->null_is_absent && it->is_null())) return std::nullopt;
  return JsonValue(&*it, JsonMemberPath(path_, std::string(key)), options_);
}

JsonValue JsonValue::Get(std::string_view key) const {
  std::optional<JsonValue> v = Find(key);
  if (!v) {
    const std::string k(key);
    throw JsonFault{path_, "missing required key " + Quoted(k), "missing key " + Quoted(JsonMemberPath(path_, k))};
  }
  return *std::move(v);
}

std::string JsonValue::StringOr(std::string_view key, const std::string& fallback) const {
  std::optional<JsonValue> v = Find(key);
  return v ? v->String() : fallback;
}

int64_t JsonValue::IntOr(std::string_view key, int64_t fallback) const {
  std::optional<JsonValue> v = Find(key);
  return v ? v->Int() : fallback;
}

bool JsonValue::BoolOr(std::string_view key, bool fallback) const {
  std::optional<JsonValue> v = Find(key);
  return v ? v->Bool() : fallback;
}

void JsonValue::ForEachMember(const std::function<void(const std::string&, const JsonValue&)>& fn) const {
  ExpectObject();
  for (auto it = json_->begin(); it != json_->end(); ++it) {
    fn(it.key(), JsonValue(&*it, JsonMemberPath(path_, it.key()), options_));
  }
}

void JsonValue::ExpectArray() const {
  if (!json_->is_array()) WrongType("an array");
}

size_t JsonValue::size() const {
  ExpectArray();
  return json_->size();
}

JsonValue JsonValue::At(size_t i) const {
  ExpectArray();
  return JsonValue(&(*json_)[i], JsonItemPath(path_, i), options_);
}

std::vector<std::string> JsonValue::Strings() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < size(); ++i) out.push_back(At(i).String());
  return out;
}

Status ReadJson(std::string_view text, const std::string& source, const JsonReadOptions& options,
                const std::function<void(const JsonValue& root)>& read) {
  // Bounded before anything else looks at the text (json_limits.h).
  IPO_RETURN_IF_ERROR(CheckJsonLimits(text, source, options.limits));
  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    return Status::InvalidArgument(source + ":" + Position(text, e.byte) + ": invalid JSON: " + ParseReason(e.what()));
  } catch (const json::out_of_range&) {
    // nlohmann throws out_of_range 406, not parse_error, for a number beyond a double (1e400).
    return Status::InvalidArgument(source + ": invalid JSON: a number is out of range");
  }
  try {
    read(JsonValue(&root, "", &options));
  } catch (const JsonFault& f) {
    JsonLines lines(text, f.at);  // only on failure, and only up to where f.at starts
    if (options.style == JsonPathStyle::kPath) return Status::InvalidArgument(JsonError(source, lines, f.at, f.plain));
    return Status::InvalidArgument(source + ":" + std::to_string(lines.LineOf(f.at)) + ": " + f.quoted);
  }
  return Status::Ok();
}

}  // namespace ipo
