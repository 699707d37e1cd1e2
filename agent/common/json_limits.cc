#include "common/json_limits.h"

#include <fstream>

namespace ipo {

Status CheckJsonLimits(std::string_view text, const std::string& source, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes)
    return Status::InvalidArgument(source + ": " + std::to_string(text.size()) + " bytes is more than the " +
                                   std::to_string(limits.max_bytes) + " this file may have");
  size_t depth = 0;
  size_t line = 1;
  bool in_string = false;
  size_t string_start = 0;
  size_t string_line = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') ++line;
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character never ends the string
      } else if (c == '"') {
        in_string = false;
      }
      if (in_string && i - string_start > limits.max_string)
        return Status::InvalidArgument(source + ":" + std::to_string(string_line) + ": a string longer than " +
                                       std::to_string(limits.max_string) + " bytes");
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        string_start = i;
        string_line = line;
        break;
      case '[':
      case '{':
        if (++depth > limits.max_depth)
          return Status::InvalidArgument(source + ":" + std::to_string(line) + ": nesting deeper than " +
                                         std::to_string(limits.max_depth) + " levels");
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return Status::Ok();
}

bool ReadBounded(const std::string& path, const JsonLimits& limits, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(limits.max_bytes + 1, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(in.gcount()));
  return !in.bad();
}

}  // namespace ipo
