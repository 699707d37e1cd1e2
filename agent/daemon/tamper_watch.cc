#include "daemon/tamper_watch.h"

#include <spdlog/spdlog.h>

#include <set>
#include <string>
#include <utility>

#include "compile/compiler.h"

namespace ipo::daemon {

void WatchTables(const PollTableChanges& poll, uint32_t own_portid, WorkQueue& queue,
                 const std::atomic<bool>& stopping) {
  std::set<std::pair<uint8_t, std::string>> owned;
  for (const auto& [family, name] : compile::OwnedTables()) owned.emplace(static_cast<uint8_t>(family), name);
  while (!stopping) {
    auto changes = poll(std::chrono::milliseconds(200));
    if (!changes.ok()) {
      spdlog::error("nftables monitor: {}; relying on the periodic drift check", changes.status().message());
      queue.Push({WorkItem::Kind::kMonitorLost, {}, changes.status().message()});
      return;
    }
    for (const auto& c : *changes) {
      if (!c.overrun && (c.portid == own_portid || owned.count({c.family, c.table}) == 0)) continue;
      spdlog::warn("foreign change to the agent's tables: {}", c.ToString());
      queue.Push({WorkItem::Kind::kTamper, {}, c.ToString(), std::chrono::steady_clock::now()});
    }
  }
}

}  // namespace ipo::daemon
