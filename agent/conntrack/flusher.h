// Flusher: removes the tracked flows (conntrack entries, IPv4 and IPv6) that belong to
// targets that lost their owner (conntrack/targets.h). An interface because the reconciler's
// tests need a fake (testing/fake_conntrack.h); the real one is NetlinkFlusher.
//
// Thread safety: one caller at a time (the reconcile thread).
#pragma once

#include <cstddef>
#include <vector>

#include "common/status.h"
#include "conntrack/targets.h"

namespace ipo::conntrack {

struct FlushResult {
  size_t scanned = 0;   // entries the dump returned
  size_t matched = 0;   // entries that belonged to a target
  size_t removed = 0;   // of those, deleted by us
  size_t vanished = 0;  // of those, already gone when we deleted them (expired, closed)
};

class Flusher {
 public:
  virtual ~Flusher() = default;
  // Removes every flow that Matches() one of `targets`. An empty list does nothing.
  virtual Result<FlushResult> Flush(const std::vector<Target>& targets) = 0;
};

}  // namespace ipo::conntrack
