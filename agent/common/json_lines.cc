#include "common/json_lines.h"

#include <vector>

namespace ipo {
namespace {

struct Frame {
  bool is_array = false;
  std::string path;
  int index = 0;         // next array index
  std::string pending;   // object: the last key read
};

std::string Child(const Frame& f) {
  if (f.is_array) return JsonItemPath(f.path, static_cast<size_t>(f.index));
  return JsonMemberPath(f.path, f.pending);
}

bool PlainKey(const std::string& key) {
  if (key.empty()) return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string JsonMemberPath(const std::string& parent, const std::string& key) {
  if (!PlainKey(key)) return parent + "[\"" + key + "\"]";
  return parent.empty() ? key : parent + "." + key;
}

std::string JsonItemPath(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

JsonLines::JsonLines(std::string_view text, const std::string* stop_at) {
  std::vector<Frame> stack;
  int line = 1;
  bool expect_key = false;
  bool done = false;  // stop_at has been indexed
  lines_[""] = 1;
  auto record = [&](const std::string& p) {
    if (!lines_.count(p)) lines_[p] = line;
    done = stop_at != nullptr && p == *stop_at;
  };
  auto on_value_start = [&]() -> std::string {
    if (stack.empty()) return "";
    std::string p = Child(stack.back());
    record(p);
    return p;
  };
  if (stop_at != nullptr && stop_at->empty()) return;
  for (size_t i = 0; i < text.size() && !done; ++i) {
    char c = text[i];
    if (c == '\n') {
      ++line;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == ':') continue;
    if (c == ',') {
      if (!stack.empty()) {
        if (stack.back().is_array) ++stack.back().index;
        else expect_key = true;
      }
      continue;
    }
    if (c == '{' || c == '[') {
      std::string p = on_value_start();
      stack.push_back(Frame{c == '[', p, 0, ""});
      expect_key = (c == '{');
      continue;
    }
    if (c == '}' || c == ']') {
      if (!stack.empty()) stack.pop_back();
      expect_key = false;
      continue;
    }
    if (c == '"') {
      std::string s;
      size_t j = i + 1;
      for (; j < text.size() && text[j] != '"'; ++j) {
        if (text[j] == '\\' && j + 1 < text.size()) ++j;
        s += text[j];
      }
      if (expect_key && !stack.empty() && !stack.back().is_array) {
        stack.back().pending = s;
        std::string p = Child(stack.back());
        lines_[p] = line;
        done = stop_at != nullptr && p == *stop_at;
        expect_key = false;
      } else {
        on_value_start();
      }
      i = j;
      continue;
    }
    // number or literal
    on_value_start();
    while (i + 1 < text.size() && text[i + 1] != ',' && text[i + 1] != '}' && text[i + 1] != ']' &&
           text[i + 1] != '\n')
      ++i;
  }
}

int JsonLines::LineOf(const std::string& path) const {
  std::string p = path;
  while (true) {
    auto it = lines_.find(p);
    if (it != lines_.end()) return it->second;
    size_t cut = p.find_last_of(".[");
    if (cut == std::string::npos) return 1;
    p = p.substr(0, cut);
  }
}

std::string JsonError(const std::string& source, const JsonLines& lines, const std::string& path,
                      const std::string& what) {
  std::string out = source + ":" + std::to_string(lines.LineOf(path)) + ": ";
  if (!path.empty()) out += path + ": ";
  return out + what;
}

}  // namespace ipo
