// Pad: one cell of ipo-netctl's column output (status, drops): WIDTH characters, the text then
// spaces; a text of WIDTH characters or more is kept whole and followed by one space (the rest
// of the row shifts rather than two cells running together).
#pragma once

#include <string>

namespace ipo::cli {

inline std::string Pad(std::string s, size_t width) {
  s.append(s.size() < width ? width - s.size() : 1, ' ');
  return s;
}

}  // namespace ipo::cli
