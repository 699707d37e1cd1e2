// Tamper watch: the kernel's nftables notifications (nft/nft_monitor.h) as work for the
// reconcile loop. Every change to one of the agent's tables (compile::OwnedTables) that
// another netlink socket made, and every overrun (notifications were lost: anything may have
// changed), is queued as a kTamper item naming it, with the time it was noticed. The agent's
// own changes (its backend's netlink port id) and other tables are ignored. When polling
// fails, a kMonitorLost item says why and the watch ends: the periodic drift check remains.
//
// Thread safety: runs on its own thread; the queue is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "common/status.h"
#include "daemon/event_pump.h"
#include "nft/nft_monitor.h"

namespace ipo::daemon {

// Waits up to the timeout given for notifications (NftMonitor::Poll in the daemon).
using PollTableChanges = std::function<Result<std::vector<nft::TableChange>>(std::chrono::milliseconds)>;

// Polls (200 ms at a time) until `stopping` or a failed poll.
void WatchTables(const PollTableChanges& poll, uint32_t own_portid, WorkQueue& queue,
                 const std::atomic<bool>& stopping);

}  // namespace ipo::daemon
