// ReconcileLoop: the daemon's main loop around the Reconciler. It drains the WorkQueue
// (daemon/event_pump.h) and decides when to sync:
//   coalescing  every item already queued joins one turn, which syncs at most once (a burst
//               of Docker events is one sync) and repairs at most once after foreign changes
//               to the tables (kTamper; the first change of the turn names the repair);
//   full or not a turn with only Docker events syncs incrementally (Reconciler::Update: one
//               look-up per subject, the events in their order); a (re)connect, a resync
//               request, a retry and the periodic full resync re-list the host (Sync);
//   retry       a failed sync (Docker went away mid-way) is retried after a backoff, 0.5 s
//               doubling to 5 s, until one succeeds, not left until the next event;
//   drift timer every drift interval: retry a failed state save, sync again (from the model)
//               if a host service started or stopped on a container's -p port, and check (and
//               repair) drift;
//   resync timer every resync interval (minutes): a full re-list, to catch what events missed;
//   service manager  "READY=1" after the first successful sync, "WATCHDOG=1" after every
//               turn when the watchdog is on, "STOPPING=1" when a kStop item ends Run.
// Between turns it sleeps until the next item or the next deadline (drift check, retry).
//
// Everything outside the reconciler is injected (Options): the clock, the intervals, the
// policy loader used by kReload, the service manager's notify, and a hook run after each turn
// (the daemon publishes its D-Bus state there), so tests drive it turn by turn on fakes.
//
// Thread safety: Run/RunOnce on one thread (the reconciler's); the queue is thread-safe.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>

#include "common/status.h"
#include "daemon/event_pump.h"
#include "daemon/reconciler.h"
#include "policy/policy.h"

namespace ipo::daemon {

class ReconcileLoop {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::chrono::milliseconds drift_interval = std::chrono::seconds(10);
    std::chrono::milliseconds resync_interval = std::chrono::minutes(5);
    // Re-list the host for every batch of events, as the agent did before the model
    // (bench/agent/scale compares both; an operator may turn it on while diagnosing).
    bool full_sync_per_event = false;
    std::chrono::milliseconds retry_first = std::chrono::milliseconds(500);  // backoff after a failed sync
    std::chrono::milliseconds retry_max = std::chrono::seconds(5);
    std::function<Clock::time_point()> now = [] { return Clock::now(); };
    // kReload: reads and validates the policy file again.
    std::function<Result<policy::Policy>()> load_policy;
    // The service manager's notify (sd_notify in the daemon): "READY=1\nSTATUS=...",
    // "WATCHDOG=1", "STOPPING=1". Unset: nothing is sent.
    std::function<void(const std::string&)> notify;
    bool watchdog = false;  // send WATCHDOG=1 after every turn
    // Runs after every turn that did not stop the loop.
    std::function<void()> after_turn;
  };

  // The first drift check is due one drift interval after construction, the first periodic
  // full resync one resync interval after it (any full sync before moves it on).
  ReconcileLoop(Reconciler& reconciler, WorkQueue& queue, Options options);

  // Runs turns until a kStop item arrives, then sends STOPPING=1.
  void Run();
  // One turn: waits for an item or the next deadline, handles every item queued, syncs at
  // most once, runs the drift check when due. False when a kStop item ended the loop (the
  // items queued with it are handled, but nothing is synced).
  bool RunOnce();

  // When the loop wakes at the latest without an item: the next drift check, retry or resync.
  Clock::time_point next_wake() const { return std::min({next_drift_check_, retry_at_, next_resync_}); }
  // Whether a failed sync waits for its retry.
  bool retry_pending() const { return retry_at_ != Clock::time_point::max(); }
  bool ready() const { return ready_; }

 private:
  // What one turn's items ask for.
  struct Batch;
  // Handles one item; false for kStop.
  bool Handle(const WorkItem& item, Batch& batch);
  void SyncFor(const Batch& batch);
  void DriftCheck();
  void Notify(const std::string& state) const;

  Reconciler& reconciler_;
  WorkQueue& queue_;
  Options opt_;
  bool ready_ = false;
  Clock::time_point retry_at_ = Clock::time_point::max();
  std::chrono::milliseconds retry_backoff_;
  Clock::time_point next_drift_check_;
  Clock::time_point next_resync_;
};

}  // namespace ipo::daemon
