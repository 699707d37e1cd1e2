// Wall-clock time as text, for logs, status documents and state files.
//
// Thread safety: thread-safe (gmtime_r).
#pragma once

#include <string>

namespace ipo {

// UTC now as "2026-11-24T01:02:03Z".
std::string NowIso();

}  // namespace ipo
