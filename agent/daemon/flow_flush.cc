#include "daemon/flow_flush.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "common/clock_text.h"

namespace ipo::daemon {

std::optional<FlowFlush> FlushLostFlows(conntrack::Flusher* flusher, const std::vector<conntrack::Target>& lost,
                                        const std::string& reason, const std::string& off) {
  if (lost.empty()) return std::nullopt;
  std::vector<std::string> targets;
  targets.reserve(lost.size());
  for (const auto& t : lost) targets.push_back(t.why);
  const std::string why = nlohmann::json(targets).dump();  // for the log lines
  if (flusher == nullptr) {
    spdlog::warn("conntrack ({}): {} target(s) lost their owner but flows cannot be removed ({}): {}", reason,
                 lost.size(), off.empty() ? "no flusher" : off, why);
    return std::nullopt;
  }
  auto start = std::chrono::steady_clock::now();
  auto r = flusher->Flush(lost);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  FlowFlush out;
  if (!r.ok()) {
    out.error = r.status().message();
    out.record = status::ConntrackFlush{NowIso(), reason, targets, out.error, 0, 0, 0, ms};
    spdlog::error("conntrack ({}): removing the flows of {} target(s) failed: {}; they may still reach the next "
                  "holder: {}", reason, lost.size(), out.error, why);
    return out;
  }
  out.removed = r->removed;
  out.record = status::ConntrackFlush{NowIso(), reason, std::move(targets), std::nullopt, r->scanned, r->removed,
                                      r->vanished, ms};
  spdlog::info("conntrack ({}): removed {} flow(s) ({} already gone) of {} tracked in {:.2f} ms; {} target(s) lost "
               "their owner: {}", reason, r->removed, r->vanished, r->scanned, ms, lost.size(), why);
  return out;
}

}  // namespace ipo::daemon
