#include "daemon/reconciler.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/clock_text.h"
#include "common/release_memory.h"
#include "daemon/event_pump.h"
#include "daemon/flow_flush.h"
#include "daemon/kernel_apply.h"
#include "daemon/placement.h"
#include "hostsock/host_held.h"
#include "status/rule_counters.h"

namespace ipo::daemon {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

Reconciler::Reconciler(policy::Policy policy, docker::DockerApi& docker, nft::NftBackend& nft,
                       state::StateStore& store, conntrack::Flusher* conntrack)
    : policy_(std::move(policy)), docker_(docker), nft_(nft), store_(store), conntrack_(conntrack) {
  Publish();
}

Status Reconciler::Restore(const std::vector<model::ProxyPort>& docker_ports) {
  auto saved = store_.Load();
  if (saved.ok()) {
    state_ = *saved;
    spdlog::info("restoring generation {} from {} ({} containers)", state_.generation, store_.path(),
                 state_.observed.containers.size());
  } else if (saved.status().code() == Status::Code::kNotFound) {
    spdlog::info("no saved state in {}: applying the static rules only", store_.path());
  } else {
    spdlog::warn("ignoring unreadable state: {}", saved.status().message());
  }
  state_.policy_path = policy_.source;
  model::Observed observed = state_.observed;
  model::MergeProxyPorts(observed.proxy_ports, docker_ports);
  // Docker's files list the ports of every container, also of one that was only created with
  // a port a host service holds (`docker create -p 22:22`): guarding those would lock the
  // operator out until the first sync, or for as long as Docker is down. Any listener there
  // that is not Docker's docker-proxy is the host's.
  if (host_sockets_.has_source()) {
    host_sockets_.Read();
    hostsock::FillOwners(host_sockets_.last());
    for (const hostsock::HeldPort& h : hostsock::DropHostHeld(observed.proxy_ports, host_sockets_.last()))
      spdlog::warn("restore: host port {}/{} is held by {} (not a container's): not guarded", h.port.port,
                   model::ProtoName(h.port.proto), h.Holder());
  }
  Status st = Apply(compile::Compile(policy_, observed), observed, "restore at start");
  Publish();
  return st;
}

Status Reconciler::RefreshModel(const std::vector<docker::Event>* events, const std::string& reason) {
  std::string why = reason;
  if (events && model_.primed()) {
    auto changes = model_.Update(docker_, *events);
    if (changes.ok()) {
      lookups_ += changes->lookups;
      NoteAdded(changes->added);
      return Status::Ok();
    }
    spdlog::warn("{}: look-up failed ({}); re-listing the host", reason, changes.status().message());
    why = reason + "; a look-up failed: " + changes.status().message();
  } else if (events) {
    why = reason + "; no full list yet";
  }
  auto start = Clock::now();
  auto changes = model_.Resync(docker_);
  ReleaseFreedMemory();  // a full list of a large host parses megabytes of JSON for a moment
  if (!changes.ok()) return changes.status();
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  ++full_resyncs_;
  lookups_ += changes->lookups;
  NoteAdded(changes->added);
  // The first list fills an empty model: nothing to correct. Later, a correction means the
  // events missed something (or Docker was away): worth a warning on a periodic resync.
  std::vector<std::string> corrected = full_resyncs_ == 1 ? std::vector<std::string>{} : changes->corrected;
  if (!corrected.empty()) {
    spdlog::warn("full resync ({}) corrected {} difference(s) in the model of the host, first: {}", why,
                 corrected.size(), corrected.front());
  } else {
    spdlog::debug("full resync ({}): {} containers in {:.1f} ms, nothing to correct", why,
                  model_.containers().size(), ms);
  }
  last_full_resync_ = status::FullResync{NowIso(), why, ms, model_.containers().size(), std::move(corrected)};
  return Status::Ok();
}

void Reconciler::NoteAdded(const std::vector<std::string>& names) const {
  for (const std::string& name : names)
    if (!policy_.FindContainer(name)) spdlog::info("container {} is not named by the policy: left alone", name);
}

Status Reconciler::Place() {
  const std::vector<docker::NetworkInfo>& networks = model_.networks();
  const std::vector<docker::ContainerInfo>& containers = model_.containers();
  host_sockets_.Read();
  // Guard new docker-proxy ports BEFORE the slow network moves below (seconds): `docker run
  // -p` starts docker-proxy milliseconds after `create`, and the ports are known from then.
  // The -p bindings of containers that need no move are published here too.
  if (applied_) {
    model::Observed now = Observe(policy_, networks, containers, host_sockets_.last());
    released_ports_.Keep(now.proxy_ports, state_.observed.proxy_ports, host_sockets_.last(), Clock::now());
    if (now.proxy_ports != state_.observed.proxy_ports || now.docker_published != state_.observed.docker_published ||
        now.bridges != state_.observed.bridges) {
      Status guarded = Apply(compile::Compile(policy_, now), now, "guard docker-proxy ports and new bridges before placement");
      if (!guarded.ok()) return guarded;
    }
  }
  PlacementPlan plan = PlanPlacement(policy_, networks, containers);
  problems_ = plan.problems;
  for (const auto& p : plan.problems) spdlog::warn("placement: {}", p);
  // One network or container Docker refuses (a name taken by something else, a container
  // sharing another's network stack with --network container:X) must not stall the host:
  // it is left where it is, unpublished (the compiler publishes only addresses on policy
  // networks), reported in status as a problem (health "degraded"), and the rest of the
  // sync (other placements, removals, publications) still applies.
  std::vector<std::string> moved;
  for (const auto& spec : plan.create) {
    spdlog::info("creating network {} (bridge {}, {} {})", spec.name, spec.bridge_name, spec.subnet_v4, spec.subnet_v6);
    Status st = docker_.CreateNetwork(spec);
    if (!st.ok()) NoteProblem("network " + spec.name + " cannot be created: " + st.message());
  }
  for (const auto& [net, name] : plan.connect) {
    spdlog::info("connecting {} to {}: the policy places it there", name, net);
    Status st = docker_.ConnectNetwork(net, name);
    if (!st.ok()) NoteProblem("container " + name + " cannot be connected to " + net + ": " + st.message() +
                              "; left unpublished");
    moved.push_back(name);
  }
  for (const auto& [net, name] : plan.disconnect) {
    spdlog::info("disconnecting {} from {}: not its policy network", name, net);
    Status st = docker_.DisconnectNetwork(net, name);
    if (!st.ok()) spdlog::warn("disconnect {} from {}: {}", name, net, st.message());
    moved.push_back(name);
  }
  if (plan.empty()) return Status::Ok();
  auto changes = model_.Refresh(docker_, moved, !plan.create.empty());
  if (!changes.ok()) return changes.status();
  lookups_ += changes->lookups;
  return Status::Ok();
}

bool Reconciler::HostSocketsChanged() { return host_sockets_.Changed(model_.containers()); }

void Reconciler::NoteProblem(const std::string& problem) {
  spdlog::warn("placement: {}", problem);
  problems_.push_back(problem);
}

Status Reconciler::Sync(const std::string& reason) { return Reconcile(nullptr, reason); }

Status Reconciler::Update(const std::vector<docker::Event>& events, const std::string& reason) {
  return Reconcile(&events, reason);
}

Status Reconciler::Reconcile(const std::vector<docker::Event>* events, const std::string& reason) {
  ++syncs_;
  Status st = RefreshModel(events, reason);
  if (st.ok()) st = Place();
  if (!st.ok()) {
    last_error_ = st.message();
    spdlog::warn("sync ({}): docker: {}; keeping the ruleset in force", reason, st.message());
    Publish();
    return st;
  }
  std::vector<std::string> conflicts;
  model::Observed observed = Observe(policy_, model_.networks(), model_.containers(), host_sockets_.last(), &conflicts);
  for (const auto& c : conflicts)
    if (std::find(publish_conflicts_.begin(), publish_conflicts_.end(), c) == publish_conflicts_.end())
      spdlog::warn("publication: {}", c);
  publish_conflicts_ = std::move(conflicts);
  released_ports_.Keep(observed.proxy_ports, state_.observed.proxy_ports, host_sockets_.last(), Clock::now());
  st = Apply(compile::Compile(policy_, observed), observed, reason);
  // A sync that went through clears the error of an earlier one (Docker timed out, a batch
  // failed), also when the kernel already had this ruleset and nothing was applied.
  if (st.ok()) {
    last_error_.clear();
    last_sync_unix_ = double(NowNano()) / 1e9;
  }
  Publish();
  return st;
}

Status Reconciler::Apply(const nft::Ruleset& desired, const model::Observed& observed, const std::string& reason) {
  auto start = Clock::now();
  // Computed before state_/applied_ move on; flushed only once the new ruleset is in force.
  const std::vector<conntrack::Target> lost =
      conntrack::LostTargets(state_.observed, applied_ ? &*applied_ : nullptr, observed, desired);
  auto kind = ApplyRuleset(nft_, applied_ ? &*applied_ : nullptr, desired, reason);
  if (!kind.ok()) {
    last_error_ = kind.status().message();
    return kind.status();
  }
  if (kind->empty()) {  // the kernel has it already
    state_.observed = observed;
    FlushLost(lost, reason);
    return Status::Ok();
  }
  last_apply_ms_ = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  last_apply_kind_ = *kind;
  last_error_.clear();
  applied_ = desired;
  state_.generation++;
  state_.applied_at = NowIso();
  state_.observed = observed;
  state_.policy_path = policy_.source;
  Status saved = store_.Save(state_);
  if (!saved.ok()) {
    // The ruleset is in force; only the copy for the next boot is stale. Retried at the
    // next apply and at every drift check (RetrySave); the previous file stays intact
    // (StateStore never tears it).
    if (state_error_ != saved.message()) spdlog::error("saving state: {}", saved.message());
    state_error_ = saved.message();
  } else if (!state_error_.empty()) {
    spdlog::info("state saved again to {}", store_.path());
    state_error_.clear();
  }
  FlushLost(lost, reason);
  return Status::Ok();
}

void Reconciler::FlushLost(const std::vector<conntrack::Target>& lost, const std::string& reason) {
  std::optional<FlowFlush> flush = FlushLostFlows(conntrack_, lost, reason, conntrack_off_);
  if (!flush) return;
  ++conntrack_flushes_;
  conntrack_error_ = flush->error;
  conntrack_removed_ += flush->removed;
  last_flush_ = std::move(flush->record);
}

Result<std::vector<std::string>> Reconciler::CheckDrift(bool repair, const std::string& trigger,
                                                     Clock::time_point noticed) {
  if (!applied_) return std::vector<std::string>{};
  if (noticed == Clock::time_point{}) noticed = Clock::now();
  nft::Ruleset read;
  auto kernel = ReadDrift(nft_, *applied_, &read);
  if (!kernel.ok()) return kernel.status();
  drift_ = std::move(*kernel);
  counters_ = status::RuleCounters(*applied_, read);
  counters_read_unix_ = double(NowNano()) / 1e9;
  if (drift_.empty() || !repair) {
    Publish();
    return drift_;
  }
  for (const auto& d : drift_) spdlog::warn("drift: {}", d);
  std::vector<std::string> found = drift_;
  if (drift_observer_) drift_observer_(found);
  Status st = RepairTables(nft_, *applied_);
  if (!st.ok()) {
    last_error_ = "drift repair failed: " + st.message();
    spdlog::error("{} ({})", last_error_, trigger);
    Publish();
    return st;
  }
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - noticed).count();
  ++drift_repairs_;
  ++repairs_by_cause_[trigger == kPeriodicDriftCheck ? "periodic" : "notification"];
  last_repair_ = status::DriftRepair{NowIso(), trigger, ms, found.size(), found.front()};
  spdlog::info("repaired {} difference(s) in {:.2f} ms, confirmed by read-back (generation {}; {})", found.size(),
               ms, state_.generation, trigger);
  drift_.clear();
  Publish();
  return found;
}

void Reconciler::SetProtection(std::string claim, bool monitor) {
  claim_ = std::move(claim);
  monitor_ = monitor;
  Publish();
}

void Reconciler::NoteMonitorLost(const std::string& why) {
  monitor_ = false;
  monitor_error_ = why;
  Publish();
}

void Reconciler::SetConntrackOff(const std::string& why) {
  conntrack_off_ = why;
  Publish();
}

void Reconciler::SetBootRestore(nlohmann::json record) {
  boot_restore_ = std::move(record);
  Publish();
}

void Reconciler::NoteLatency(double ms) {
  event_latency_.Observe(ms);
  // Into the snapshot alone: a whole Publish costs O(containers), once per batch is enough.
  std::lock_guard<std::mutex> lock(mu_);
  snapshot_.event_latency = event_latency_;
}

void Reconciler::NoteEvent(const docker::Event& e) {
  ++events_;
  state_.last_event_nano = e.time_nano;
  state_.last_event = e.type + " " + e.action + " " + EventSubject(e);
  spdlog::debug("docker event: {}", state_.last_event);
}

void Reconciler::SetDocker(bool connected, const std::string& detail) {
  if (connected != docker_connected_ || detail != docker_detail_) {
    if (connected) spdlog::info("docker: {}", detail);
    else spdlog::warn("docker unavailable: {}; keeping the last ruleset", detail);
  }
  docker_connected_ = connected;
  docker_detail_ = detail;
  Publish();
}

void Reconciler::NoteReloadRefused(const std::string& why) {
  reload_refused_ = why;
  Publish();
}

void Reconciler::RetrySave() {
  if (state_error_.empty()) return;
  Status saved = store_.Save(state_);
  if (saved.ok()) {
    spdlog::info("state saved again to {} (generation {})", store_.path(), state_.generation);
    state_error_.clear();
  } else {
    state_error_ = saved.message();
  }
  Publish();
}

Status Reconciler::ReplacePolicy(policy::Policy p) {
  reload_refused_.clear();
  policy_ = std::move(p);
  spdlog::info("policy reloaded from {}", policy_.source);
  if (!docker_connected_) {
    return Apply(compile::Compile(policy_, state_.observed), state_.observed, "policy reload");
  }
  return Sync("policy reload");
}

void Reconciler::Publish() {
  status::AgentStatus s;
  for (const auto& c : model_.containers()) {
    const policy::Container* pc = policy_.FindContainer(c.name);
    status::ContainerView& v = s.containers.emplace_back();
    v.name = c.name;
    v.id = c.id;
    v.running = c.running;
    for (const auto& e : c.endpoints) {
      v.networks.push_back(e.network);
      // A policy container shows its address on its policy network; another its first one.
      bool shown = pc ? e.network == pc->network : v.ipv4.empty();
      if (shown) {
        v.ipv4 = e.ipv4;
        v.ipv6 = e.ipv6;
      }
    }
    v.managed = pc != nullptr;
    v.policy_network = pc ? pc->network : "";
  }
  std::tie(s.health, s.health_reason) = Health();
  s.generation = state_.generation;
  s.policy = policy_.source;
  s.applied_at = state_.applied_at;
  s.observed = state_.observed;
  s.publish_conflicts = publish_conflicts_;
  s.last_event = status::LastEvent{state_.last_event, state_.last_event_nano};
  s.docker = status::DockerLink{docker_connected_, docker_detail_};
  s.agent_drift = drift_;
  s.drift_repairs = drift_repairs_;
  s.last_repair = last_repair_;
  s.tamper_notices = tamper_notices_;
  s.protection = status::Protection{claim_, monitor_, monitor_error_};
  s.boot_restore = boot_restore_;
  s.state_save = status::StateSave{state_error_.empty(), state_error_};
  s.reload_refused = reload_refused_;
  s.syncs = syncs_;
  s.full_resyncs = full_resyncs_;
  s.lookups = lookups_;
  s.last_full_resync = last_full_resync_;
  s.events = events_;
  s.last_apply = status::LastApply{last_apply_kind_, last_apply_ms_};
  s.problems = problems_;
  s.conntrack = status::Conntrack{conntrack_ != nullptr, conntrack_off_,    conntrack_flushes_,
                                  conntrack_removed_,    conntrack_error_, last_flush_};
  s.repairs_by_cause = repairs_by_cause_;
  s.event_latency = event_latency_;
  if (applied_) {
    for (const nft::Table& t : applied_->tables)
      for (const nft::Set& set : t.sets)
        s.set_elements[std::string(nft::FamilyName(t.family)) + " " + t.name + " " + set.name] = set.elements.size();
  }
  s.last_sync_unix = last_sync_unix_;
  s.counters = counters_;
  s.counters_read_unix = counters_read_unix_;
  std::lock_guard<std::mutex> lock(mu_);
  snapshot_ = std::move(s);
}

std::pair<std::string, std::string> Reconciler::Health() const {
  if (!applied_) return {"degraded", "no ruleset applied yet"};
  if (!docker_connected_) return {"degraded", "docker unavailable: " + docker_detail_};
  if (!last_error_.empty()) return {"degraded", last_error_};
  if (!problems_.empty()) return {"degraded", problems_.front()};
  if (!reload_refused_.empty())
    return {"degraded", "policy reload refused, the previous policy stays in force: " + reload_refused_};
  if (!state_error_.empty())
    return {"degraded",
            "state not saved (the ruleset is in force; the next boot would restore an older one): " + state_error_};
  if (!conntrack_error_.empty())
    return {"degraded",
            "conntrack flush failed (established flows to a lost target may still pass): " + conntrack_error_};
  if (!conntrack_off_.empty())
    return {"degraded", "conntrack flows are not removed when a target loses its owner: " + conntrack_off_};
  if (!monitor_error_.empty()) {
    return {"degraded", "nftables notifications lost (" + monitor_error_ +
                            "): foreign changes are repaired at the periodic drift check only"};
  }
  return {"ok", ""};
}

status::AgentStatus Reconciler::StatusDoc() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

nlohmann::json Reconciler::StatusJson() const { return status::ToJson(StatusDoc()); }

}  // namespace ipo::daemon
