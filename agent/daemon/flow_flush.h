// Flow flush: conntrack follows the ruleset. After the batch that put a new ruleset in force
// (or a sync whose ruleset is unchanged), the tracked flows of every target that lost its
// owner (conntrack/targets.h) are removed through the Flusher, so an established flow never
// reaches the next holder of an address nor outlives its publication. Logged here; the
// reconciler counts the outcome for status ("conntrack").
//
// Thread safety: as the Flusher given.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "conntrack/flusher.h"
#include "status/status_doc.h"

namespace ipo::daemon {

struct FlowFlush {
  std::string error;      // why the flush failed ("" when it worked)
  uint64_t removed = 0;   // flows removed
  status::ConntrackFlush record;  // status "conntrack.last_flush"
};

// Removes the flows of `lost` (`reason`: what the sync was for). Nothing when `lost` is
// empty, nor without a flusher (null `flusher`: logged with `off`, why there is none).
std::optional<FlowFlush> FlushLostFlows(conntrack::Flusher* flusher, const std::vector<conntrack::Target>& lost,
                                        const std::string& reason, const std::string& off);

}  // namespace ipo::daemon
