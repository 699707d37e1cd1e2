// Reconciler: turns what Docker reports into the enforced ruleset. What Docker has is kept in
// a HostModel (daemon/host_model.h): Sync() re-lists the host (start, reconnect, periodic,
// any doubt); Update() looks up only what a batch of events names, so an event costs the
// same on a host with 3 containers or 1,000. Either then places the
// policy's containers on their networks (a placement Docker refuses is skipped, logged and
// shown as a problem; it never stops the rest), observes their addresses, compiles the whole
// desired ruleset (compile/compiler.h) and applies it in ONE netlink batch: only set/map
// elements when the structure is unchanged (the usual case for container churn), the whole
// tables otherwise. What was applied is saved (state/state_store.h) before Sync returns.
//
// A failed apply leaves the kernel as it was (batches are atomic) and the next Sync or
// drift check tries again with a full replace.
//
// Conntrack follows the ruleset: after each apply that commits (and after a sync whose
// ruleset is unchanged), the flows of every target that lost its owner (a container address
// no longer held by the same container id, a revoked publication; conntrack/targets.h) are
// removed through the Flusher, so an established flow never reaches the next holder of an
// address nor outlives its publication. Counted in status "conntrack".
//
// Thread safety: Restore/Sync/CheckDrift/NoteEvent/SetDocker/ReplacePolicy from one thread
// (the daemon's reconcile loop); StatusDoc()/StatusJson() from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "compile/compiler.h"
#include "conntrack/flusher.h"
#include "daemon/host_model.h"
#include "daemon/host_sockets.h"
#include "daemon/released_ports.h"
#include "docker/docker_api.h"
#include "hostsock/sock_diag.h"
#include "nft/nft_backend.h"
#include "policy/policy.h"
#include "state/state_store.h"
#include "status/status_doc.h"

namespace ipo::daemon {

class Reconciler {
 public:
  // `conntrack` may be null: no flows are removed (tests; the daemon says why with
  // SetConntrackOff, which makes health "degraded").
  Reconciler(policy::Policy policy, docker::DockerApi& docker, nft::NftBackend& nft, state::StateStore& store,
             conntrack::Flusher* conntrack = nullptr);

  // At start: applies the ruleset compiled from the saved state (the last containers seen),
  // or the static rules alone when there is none, so protection holds before Docker answers.
  // `docker_ports` (from Docker's files, restore::DockerPorts) are guarded too: containers
  // created while the agent was not running are in no saved state.
  Status Restore(const std::vector<model::ProxyPort>& docker_ports = {});
  // Full sync with Docker: re-lists the host, then places, compiles and applies; `reason`
  // goes to the log and to status "last_full_resync" ("docker connected", "periodic full
  // resync"), with what the list corrected in the model.
  Status Sync(const std::string& reason);
  // Incremental sync for a batch of relevant Docker events (in order): one look-up per
  // subject (HostModel::Update), then the same placement, compile and apply. Falls back to
  // a full Sync when the model has no full list yet or a look-up fails (the reason says so).
  // `reason` goes to the log ("event start docker_a").
  Status Update(const std::vector<docker::Event>& events, const std::string& reason);
  // Reads the owned tables back and compares them with what was applied. With repair,
  // re-applies the whole ruleset when they differ and reads it back again to confirm (an
  // error if the repair did not hold). `trigger` says what prompted the check ("periodic
  // drift check", "delete table inet ipo_netd (netlink port 4242)") and `noticed` when it
  // was noticed: a repair is counted and recorded (status "last_repair") with the time from
  // `noticed` to the confirmed read-back. Returns the differences found.
  static constexpr const char* kPeriodicDriftCheck = "periodic drift check";
  Result<std::vector<std::string>> CheckDrift(bool repair, const std::string& trigger = kPeriodicDriftCheck,
                                              std::chrono::steady_clock::time_point noticed = {});
  // Called with the differences as soon as drift is found, before the repair (the D-Bus
  // Drift signal). Runs on the reconcile thread; must not block.
  void SetDriftObserver(std::function<void(const std::vector<std::string>&)> observer) {
    drift_observer_ = std::move(observer);
  }
  // Counts a foreign change to the owned tables seen in the kernel's notifications.
  void NoteTampering() { ++tamper_notices_; }
  // Facts for the status document that the reconciler does not own: how the tables are
  // protected ("owner+persist", or why not) and this boot's restore record.
  void SetProtection(std::string claim, bool monitor);
  void SetBootRestore(nlohmann::json record);
  // Records why there is no conntrack flusher (status "conntrack.detail"; health degraded).
  void SetConntrackOff(const std::string& why);
  // The notification monitor stopped (its socket failed): status says monitor false, and
  // health is degraded with `why`, never "monitor on" for a thread that is gone.
  void NoteMonitorLost(const std::string& why);
  // Where each Sync reads the host's own sockets (hostsock::ListHostSockets in the daemon, a
  // fake in tests); none set: no host socket is known, every -p port is guarded and
  // published. A failed read keeps the last list (and logs).
  using HostSocketSource = HostSockets::Source;
  void SetHostSocketSource(HostSocketSource source) { host_sockets_.SetSource(std::move(source)); }
  // True when the host's sockets on a port some container binds (-p) differ from the last
  // Sync's: a host service started or stopped there, and the next Sync must decide again
  // (called at every drift check; no event comes from Docker for it).
  bool HostSocketsChanged();
  // Records how long a batch of Docker events took from the event to the rules live (status
  // "event_latency", the metrics' histogram).
  void NoteLatency(double ms);
  // Records a Docker event (for status and for since= replay after a restart).
  void NoteEvent(const docker::Event& e);
  // Records whether Docker's API answers.
  void SetDocker(bool connected, const std::string& detail);
  // Swaps in a new policy (after SIGHUP) and syncs. The caller has validated it.
  Status ReplacePolicy(policy::Policy p);
  // Records that a reload was refused (the policy in force stays): health says so until the
  // next successful reload.
  void NoteReloadRefused(const std::string& why);
  // Saves the state again if the last save failed (disk full, read-only); no-op otherwise.
  void RetrySave();

  int64_t last_event_nano() const { return state_.last_event_nano; }
  const std::optional<nft::Ruleset>& applied() const { return applied_; }
  // The status document served to `ipo-netctl status` (docs/status.md, status/status_doc.h),
  // as of the last Publish; StatusJson() is its JSON (status::ToJson).
  status::AgentStatus StatusDoc() const;
  nlohmann::json StatusJson() const;

 private:
  Status Apply(const nft::Ruleset& desired, const model::Observed& observed, const std::string& reason);
  // Sync and Update: `events` null for a full list.
  Status Reconcile(const std::vector<docker::Event>* events, const std::string& reason);
  // Brings the model up to date: by look-ups for `events`, else (or when they fail) a full list.
  Status RefreshModel(const std::vector<docker::Event>* events, const std::string& reason);
  // Logs the containers new to the model that the policy does not name.
  void NoteAdded(const std::vector<std::string>& names) const;
  Status Place();
  void Publish();  // refreshes the status snapshot; REQUIRES: reconcile thread
  // "ok" with "", or "degraded" with the first reason in order of importance.
  std::pair<std::string, std::string> Health() const;
  // Records a placement Docker refused (status "problems", health "degraded"); the sync goes on.
  void NoteProblem(const std::string& problem);
  // Removes the flows of `lost` (after the batch that put the new ruleset in force).
  void FlushLost(const std::vector<conntrack::Target>& lost, const std::string& reason);

  policy::Policy policy_;
  docker::DockerApi& docker_;
  nft::NftBackend& nft_;
  state::StateStore& store_;
  conntrack::Flusher* conntrack_;
  std::string conntrack_off_;  // why the daemon has no flusher ("" when it has one, and in tests)
  std::string conntrack_error_;  // why the last flush failed ("" when it worked)
  uint64_t conntrack_flushes_ = 0;
  uint64_t conntrack_removed_ = 0;
  std::optional<status::ConntrackFlush> last_flush_;  // none until the first flush
  state::AgentState state_;
  std::optional<nft::Ruleset> applied_;
  HostModel model_;  // what Docker has, as last seen
  uint64_t full_resyncs_ = 0;
  uint64_t lookups_ = 0;  // Docker requests made to keep the model current
  std::optional<status::FullResync> last_full_resync_;  // none until the first full list
  std::vector<std::string> problems_;
  HostSockets host_sockets_;
  std::vector<std::string> publish_conflicts_;      // from the last Observe (status)
  std::vector<std::string> drift_;
  uint64_t drift_repairs_ = 0;
  std::map<std::string, uint64_t> repairs_by_cause_;
  status::LatencyHistogram event_latency_ = status::LatencyHistogram::Default();
  double last_sync_unix_ = 0;
  std::vector<status::RuleCounter> counters_;  // from the last drift check's read
  double counters_read_unix_ = 0;
  uint64_t tamper_notices_ = 0;
  std::function<void(const std::vector<std::string>&)> drift_observer_;
  std::optional<status::DriftRepair> last_repair_;  // none until the first repair
  std::string claim_ = "off";
  bool monitor_ = false;
  std::string monitor_error_;  // why the monitor stopped ("" while it runs or was never on)
  nlohmann::json boot_restore_;
  std::string state_error_;  // why the last save failed ("" when it worked)
  std::string reload_refused_;  // why the last reload was refused ("" when it worked)
  ReleasedPorts released_ports_;  // kept guarded for a grace period after their container
  uint64_t syncs_ = 0;
  uint64_t events_ = 0;
  double last_apply_ms_ = 0;
  std::string last_apply_kind_;
  bool docker_connected_ = false;
  std::string docker_detail_ = "not connected yet";
  std::string last_error_;

  mutable std::mutex mu_;
  status::AgentStatus snapshot_;
};

}  // namespace ipo::daemon
