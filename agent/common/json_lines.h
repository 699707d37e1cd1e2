// JsonLines: where each value of a JSON text starts, by path, so error messages about a
// parsed document can name the line ("policy.json:14: networks[1].bridge: ...").
//
// Paths use the form the messages use: "networks[1].bridge", "lan.allow[0]", "" for the root;
// a key that is not made of letters, digits, '_' and '-' is quoted: Ports["80/tcp"].
// The index is built by a small scanner that only tracks structure; it assumes the text has
// already been parsed successfully by nlohmann::json.
//
// Thread safety: immutable after construction.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace ipo {

class JsonLines {
 public:
  explicit JsonLines(std::string_view text) : JsonLines(text, nullptr) {}
  // An index that stops where `path` starts: enough for LineOf(path), at a cost in proportion
  // to how far into the text that is (an error message needs one line, not the whole index).
  JsonLines(std::string_view text, const std::string& stop_at) : JsonLines(text, &stop_at) {}
  // The 1-based line where the value at `path` (or, for a key, the key itself) starts;
  // the line of the closest enclosing path that is known when `path` is not.
  int LineOf(const std::string& path) const;

 private:
  JsonLines(std::string_view text, const std::string* stop_at);
  std::map<std::string, int> lines_;
};

// The path of member `key` of the value at `parent`: "a.key", "key" at the root, a["k.x"].
std::string JsonMemberPath(const std::string& parent, const std::string& key);
// The path of item `index` of the array at `parent`: "a[3]".
std::string JsonItemPath(const std::string& parent, size_t index);

// "<source>:<line>: <path>: <what>" (path omitted when empty).
std::string JsonError(const std::string& source, const JsonLines& lines, const std::string& path,
                      const std::string& what);

}  // namespace ipo
