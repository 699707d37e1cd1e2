// Wall-clock time as text, for logs, status documents and state files, and as nanoseconds
// since the epoch (Docker's event timeNano).
//
// Thread safety: thread-safe (gmtime_r).
#pragma once

#include <cstdint>
#include <string>

namespace ipo {

// UTC now as "2026-11-24T01:02:03Z".
std::string NowIso();

// CLOCK_REALTIME now, in nanoseconds since the epoch.
int64_t NowNano();

}  // namespace ipo
