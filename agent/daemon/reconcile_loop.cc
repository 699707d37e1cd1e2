#include "daemon/reconcile_loop.h"

#include <spdlog/spdlog.h>

#include "common/clock_text.h"

namespace ipo::daemon {

using namespace std::chrono_literals;

struct ReconcileLoop::Batch {
  bool sync = false;
  bool full = false;                  // re-list the host (else look up what `events` name)
  std::vector<docker::Event> events;  // the relevant ones, in order
  std::string reason;
  std::string tamper;  // the first foreign change of this batch
  Clock::time_point tamper_noticed{};
  int64_t first_event_nano = 0;  // the oldest event of this batch
  Clock::time_point began{};     // when the turn took its first item (the agent's own share starts)
  int64_t last_event_nano = 0;   // the event named in `reason`
};

ReconcileLoop::ReconcileLoop(Reconciler& reconciler, WorkQueue& queue, Options options)
    : reconciler_(reconciler), queue_(queue), opt_(std::move(options)), retry_backoff_(opt_.retry_first) {
  next_drift_check_ = opt_.now() + opt_.drift_interval;
  next_resync_ = opt_.now() + opt_.resync_interval;
}

void ReconcileLoop::Run() {
  while (RunOnce()) {
  }
  spdlog::info("stopping; the ruleset stays in force");
  Notify("STOPPING=1");
}

bool ReconcileLoop::RunOnce() {
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_wake() - opt_.now());
  auto item = queue_.Pop(std::max(wait, 0ms));
  Batch batch;
  batch.began = opt_.now();
  bool running = true;
  while (item) {
    if (!Handle(*item, batch)) running = false;
    item = queue_.TryPop();  // coalesce everything already queued into one sync
  }
  if (!running) return false;
  if (!batch.tamper.empty()) {
    auto drift = reconciler_.CheckDrift(/*repair=*/true, batch.tamper, batch.tamper_noticed);
    if (!drift.ok()) spdlog::error("repairing after a foreign change: {}", drift.status().message());
  }
  if (!batch.sync && opt_.now() >= retry_at_) {
    batch.sync = batch.full = true;
    batch.reason = "retry after a failed sync";
  }
  if (!batch.full && opt_.now() >= next_resync_) {
    batch.sync = batch.full = true;
    batch.reason = batch.reason.empty() ? "periodic full resync" : batch.reason + "; periodic full resync";
  }
  if (batch.sync && opt_.full_sync_per_event) batch.full = true;
  if (batch.sync) SyncFor(batch);
  if (opt_.now() >= next_drift_check_) DriftCheck();
  if (opt_.after_turn) opt_.after_turn();
  if (opt_.watchdog) Notify("WATCHDOG=1");
  return true;
}

bool ReconcileLoop::Handle(const WorkItem& item, Batch& batch) {
  switch (item.kind) {
    case WorkItem::Kind::kEvent:
      reconciler_.NoteEvent(item.event);
      if (Relevant(item.event)) {
        batch.sync = true;
        batch.events.push_back(item.event);
        if (!batch.first_event_nano) batch.first_event_nano = item.event.time_nano;
        batch.last_event_nano = item.event.time_nano;
        batch.reason = "event " + item.event.action + " " + EventSubject(item.event);
      }
      break;
    case WorkItem::Kind::kConnected:
      reconciler_.SetDocker(true, "connected, API " + item.detail);
      batch.sync = batch.full = true;
      batch.reason = "docker connected";
      break;
    case WorkItem::Kind::kDisconnected:
      reconciler_.SetDocker(false, item.detail);
      break;
    case WorkItem::Kind::kResync:
      batch.sync = batch.full = true;
      batch.reason = "resync requested";
      break;
    case WorkItem::Kind::kReload: {
      auto fresh = opt_.load_policy ? opt_.load_policy() : Result<policy::Policy>(Status::NotFound("no policy loader"));
      if (!fresh.ok()) {
        spdlog::error("policy reload refused, keeping the policy in force: {}", fresh.status().message());
        reconciler_.NoteReloadRefused(fresh.status().message());
      } else {
        Status st = reconciler_.ReplacePolicy(*fresh);
        if (!st.ok()) spdlog::error("policy reload: {}", st.message());
      }
      break;
    }
    case WorkItem::Kind::kTamper:
      reconciler_.NoteTampering();
      if (batch.tamper.empty()) {
        batch.tamper = item.detail;
        batch.tamper_noticed = item.at;
      }
      break;
    case WorkItem::Kind::kMonitorLost:
      reconciler_.NoteMonitorLost(item.detail);
      break;
    case WorkItem::Kind::kStop:
      return false;
  }
  return true;
}

void ReconcileLoop::SyncFor(const Batch& batch) {
  Status st = batch.full ? reconciler_.Sync(batch.reason) : reconciler_.Update(batch.events, batch.reason);
  if (batch.full) next_resync_ = opt_.now() + opt_.resync_interval;
  if (st.ok()) {
    retry_at_ = Clock::time_point::max();
    retry_backoff_ = opt_.retry_first;
  } else {
    retry_at_ = opt_.now() + retry_backoff_;
    retry_backoff_ = std::min(retry_backoff_ * 2, opt_.retry_max);
  }
  if (st.ok() && !ready_) {
    ready_ = true;
    Notify("READY=1\nSTATUS=in sync with Docker; ruleset in force");
  }
  if (st.ok() && batch.first_event_nano) {
    int64_t now = NowNano();
    const double agent_ms = std::chrono::duration<double, std::milli>(opt_.now() - batch.began).count();
    reconciler_.NoteLatency(double(now - batch.last_event_nano) / 1e6);
    spdlog::info("event-to-ruleset latency {:.2f} ms ({}; oldest event of the batch {:.2f} ms; in the agent {:.2f} ms)",
                 double(now - batch.last_event_nano) / 1e6, batch.reason, double(now - batch.first_event_nano) / 1e6,
                 agent_ms);
  }
}

void ReconcileLoop::DriftCheck() {
  reconciler_.RetrySave();
  // A host service that started or stopped on a container's -p port: decide again.
  if (reconciler_.HostSocketsChanged()) {
    Status st = reconciler_.Update({}, "host sockets on a -p port changed");
    if (!st.ok()) spdlog::warn("sync after a host socket change: {}", st.message());
  }
  auto drift = reconciler_.CheckDrift(/*repair=*/true);
  if (!drift.ok()) spdlog::warn("drift check: {}", drift.status().message());
  next_drift_check_ = opt_.now() + opt_.drift_interval;
}

void ReconcileLoop::Notify(const std::string& state) const {
  if (opt_.notify) opt_.notify(state);
}

}  // namespace ipo::daemon
