// JsonLimits: a linear pre-check of a JSON text against size, nesting and string-length
// bounds, run before the text reaches a parser. The parsers behind it (nlohmann::json, the
// path index in json_lines.h) are correct on any input but not bounded in time or stack:
// a 150,000-level nesting costs JsonLines quadratic time, and a 100,000-character value made
// std::regex recurse once per character. With this check first, every document the agent
// reads is refused or parsed in time linear in its size, whatever the input.
//
// The scan only tracks strings, escapes and brackets; it does not validate JSON (the parser
// does that next). A refusal names the source and the 1-based line where the bound was
// crossed: "policy.json:7: nesting deeper than 64 levels".
//
// Thread safety: pure function.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace ipo {

struct JsonLimits {
  size_t max_bytes = 1 << 20;  // the whole text
  size_t max_depth = 64;       // nested arrays/objects
  size_t max_string = 4096;    // one string (key or value), in bytes as written
};

// OK when `text` is within `limits`; InvalidArgument naming `source` and the line otherwise.
Status CheckJsonLimits(std::string_view text, const std::string& source, const JsonLimits& limits);

// Reads at most limits.max_bytes + 1 bytes of the file `path` into `out`, so an oversized (or
// endless, e.g. /dev/zero) file is refused by CheckJsonLimits without being read whole.
// False when the file cannot be opened or read.
bool ReadBounded(const std::string& path, const JsonLimits& limits, std::string& out);

}  // namespace ipo
