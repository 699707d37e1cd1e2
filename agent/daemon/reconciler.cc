#include "daemon/reconciler.h"

#include <spdlog/spdlog.h>

#include <ctime>
#include <set>
#include <tuple>

#include "common/clock_text.h"
#include "compile/drift.h"
#include "daemon/event_pump.h"
#include "daemon/placement.h"

namespace ipo::daemon {
namespace {

using Clock = std::chrono::steady_clock;

std::string Describe(const nft::ElementChange& c) {
  return std::string(c.add ? "+" : "-") + " " + nft::FamilyName(c.family) + " " + c.table + " @" + c.set + " { " +
         nft::ElementToString(c.element) + " }";
}

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
  if (host_socket_source_) {
    ReadHostSockets();
    hostsock::FillOwners(host_sockets_);
    std::erase_if(observed.proxy_ports, [&](const model::ProxyPort& p) {
      for (const hostsock::HostSocket& s : host_sockets_) {
        if (s.proto == p.proto && s.port == p.port && s.owner != hostsock::kDockerProxyComm) {
          spdlog::warn("restore: host port {}/{} is held by {} (not a container's): not guarded", p.port,
                       p.proto == 17 ? "udp" : "tcp", s.owner.empty() ? "a host process" : s.owner);
          return true;
        }
      }
      return false;
    });
  }
  Status st = Apply(compile::Compile(policy_, observed), observed, "restore at start");
  Publish();
  return st;
}

Status Reconciler::Place() {
  auto networks = docker_.ListNetworks();
  if (!networks.ok()) return networks.status();
  auto containers = docker_.ListContainers();
  if (!containers.ok()) return containers.status();
  ReadHostSockets();
  // Guard new docker-proxy ports BEFORE the slow network moves below (seconds): `docker run
  // -p` starts docker-proxy milliseconds after `create`, and the ports are known from then.
  // The -p bindings of containers that need no move are published here too.
  if (applied_) {
    model::Observed now = Observe(policy_, *networks, *containers, host_sockets_);
    KeepReleasedPorts(now);
    if (now.proxy_ports != state_.observed.proxy_ports || now.docker_published != state_.observed.docker_published ||
        now.bridges != state_.observed.bridges) {
      Status guarded = Apply(compile::Compile(policy_, now), now, "guard docker-proxy ports and new bridges before placement");
      if (!guarded.ok()) return guarded;
    }
  }
  PlacementPlan plan = PlanPlacement(policy_, *networks, *containers);
  problems_ = plan.problems;
  for (const auto& p : plan.problems) spdlog::warn("placement: {}", p);
  for (const auto& c : *containers) {
    if (!policy_.FindContainer(c.name) &&
        std::none_of(containers_.begin(), containers_.end(), [&](const auto& k) { return k.id == c.id; }))
      spdlog::info("container {} is not named by the policy: left alone", c.name);
  }
  // One network or container Docker refuses (a name taken by something else, a container
  // sharing another's network stack with --network container:X) must not stall the host:
  // it is left where it is, unpublished (the compiler publishes only addresses on policy
  // networks), reported in status as a problem (health "degraded"), and the rest of the
  // sync (other placements, removals, publications) still applies.
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
  }
  for (const auto& [net, name] : plan.disconnect) {
    spdlog::info("disconnecting {} from {}: not its policy network", name, net);
    Status st = docker_.DisconnectNetwork(net, name);
    if (!st.ok()) spdlog::warn("disconnect {} from {}: {}", name, net, st.message());
  }
  if (!plan.empty()) {
    networks = docker_.ListNetworks();
    if (!networks.ok()) return networks.status();
    containers = docker_.ListContainers();
    if (!containers.ok()) return containers.status();
  }
  networks_ = std::move(*networks);
  containers_ = std::move(*containers);
  return Status::Ok();
}

void Reconciler::ReadHostSockets() {
  if (!host_socket_source_) return;
  auto sockets = host_socket_source_();
  if (!sockets.ok()) {
    spdlog::warn("reading the host's listening sockets: {}; keeping the last list", sockets.status().message());
    return;
  }
  host_sockets_ = std::move(*sockets);
}

bool Reconciler::HostSocketsChanged() {
  if (!host_socket_source_) return false;
  auto now = host_socket_source_();
  if (!now.ok()) return false;
  std::set<model::ProxyPort> bound;
  for (const docker::ContainerInfo& c : containers_)
    for (const auto* list : {&c.ports, &c.configured_ports})
      for (const docker::PortBinding& b : *list) bound.insert(model::ProxyPortFor(b.proto, b.host_port));
  auto relevant = [&](const std::vector<hostsock::HostSocket>& sockets) {
    std::vector<hostsock::HostSocket> out;
    for (const hostsock::HostSocket& s : sockets)
      if (bound.count(model::ProxyPort{s.proto, s.port})) out.push_back(s);
    return out;
  };
  return relevant(*now) != relevant(host_sockets_);
}

void Reconciler::NoteProblem(const std::string& problem) {
  spdlog::warn("placement: {}", problem);
  problems_.push_back(problem);
}

void Reconciler::KeepReleasedPorts(model::Observed& o) {
  constexpr auto kPortGrace = std::chrono::seconds(120);
  auto now = Clock::now();
  auto& ports = o.proxy_ports;
  for (const model::ProxyPort& p : state_.observed.proxy_ports)
    if (std::find(ports.begin(), ports.end(), p) == ports.end()) released_ports_.emplace(p, now);
  // A released port a host process now holds is the host's: never kept guarded.
  for (const hostsock::HostSocket& s : host_sockets_) released_ports_.erase(model::ProxyPort{s.proto, s.port});
  for (const model::ProxyPort& p : ports) released_ports_.erase(p);
  for (auto it = released_ports_.begin(); it != released_ports_.end();) {
    if (now - it->second >= kPortGrace) {
      it = released_ports_.erase(it);
    } else {
      ports.push_back(it->first);
      ++it;
    }
  }
  std::sort(ports.begin(), ports.end());
}

Status Reconciler::Sync(const std::string& reason) {
  ++syncs_;
  Status st = Place();
  if (!st.ok()) {
    last_error_ = st.message();
    spdlog::warn("sync ({}): docker: {}; keeping the ruleset in force", reason, st.message());
    Publish();
    return st;
  }
  std::vector<std::string> conflicts;
  model::Observed observed = Observe(policy_, networks_, containers_, host_sockets_, &conflicts);
  for (const auto& c : conflicts)
    if (std::find(publish_conflicts_.begin(), publish_conflicts_.end(), c) == publish_conflicts_.end())
      spdlog::warn("publication: {}", c);
  publish_conflicts_ = std::move(conflicts);
  KeepReleasedPorts(observed);
  st = Apply(compile::Compile(policy_, observed), observed, reason);
  Publish();
  return st;
}

Status Reconciler::Apply(const nft::Ruleset& desired, const model::Observed& observed, const std::string& reason) {
  auto start = Clock::now();
  std::string kind;
  Status st;
  // Computed before state_/applied_ move on; flushed only once the new ruleset is in force.
  const std::vector<conntrack::Target> lost =
      conntrack::LostTargets(state_.observed, applied_ ? &*applied_ : nullptr, observed, desired);
  if (applied_ && nft::SameStructure(*applied_, desired)) {
    auto changes = nft::DiffElements(*applied_, desired);
    if (changes.empty()) {
      state_.observed = observed;
      FlushLost(lost, reason);
      return Status::Ok();
    }
    st = nft_.UpdateElements(changes);
    kind = "elements";
    if (st.ok()) {
      for (const auto& c : changes) spdlog::info("ruleset ({}): {}", reason, Describe(c));
    } else {
      spdlog::warn("element update failed ({}); replacing the tables instead", st.message());
    }
  }
  if (kind.empty() || !st.ok()) {
    kind = "full";
    st = nft_.ReplaceTables(desired, false);
    if (!st.ok()) {
      last_error_ = st.message();
      spdlog::error("applying the ruleset ({}) failed, the kernel keeps the previous one: {}", reason, st.message());
      return st;
    }
    spdlog::info("ruleset ({}): replaced tables inet/ip/ip6 {} in one batch", reason, compile::kFilterTable);
  }
  last_apply_ms_ = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  last_apply_kind_ = kind;
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
  if (lost.empty()) return;
  nlohmann::json why = nlohmann::json::array();
  for (const auto& t : lost) why.push_back(t.why);
  if (conntrack_ == nullptr) {
    spdlog::warn("conntrack ({}): {} target(s) lost their owner but flows cannot be removed ({}): {}", reason,
                 lost.size(), conntrack_off_.empty() ? "no flusher" : conntrack_off_, why.dump());
    return;
  }
  auto start = Clock::now();
  auto r = conntrack_->Flush(lost);
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  ++conntrack_flushes_;
  if (!r.ok()) {
    conntrack_error_ = r.status().message();
    last_flush_ = status::ConntrackFlush{NowIso(), reason, why.get<std::vector<std::string>>(), conntrack_error_, 0, 0,
                                         0, ms};
    spdlog::error("conntrack ({}): removing the flows of {} target(s) failed: {}; they may still reach the next "
                  "holder: {}", reason, lost.size(), conntrack_error_, why.dump());
    return;
  }
  conntrack_error_.clear();
  conntrack_removed_ += r->removed;
  last_flush_ = status::ConntrackFlush{NowIso(), reason, why.get<std::vector<std::string>>(), std::nullopt,
                                       r->scanned, r->removed, r->vanished, ms};
  spdlog::info("conntrack ({}): removed {} flow(s) ({} already gone) of {} tracked in {:.2f} ms; {} target(s) lost "
               "their owner: {}", reason, r->removed, r->vanished, r->scanned, ms, lost.size(), why.dump());
}

Result<std::vector<std::string>> Reconciler::CheckDrift(bool repair, const std::string& trigger,
                                                     Clock::time_point noticed) {
  if (!applied_) return std::vector<std::string>{};
  if (noticed == Clock::time_point{}) noticed = Clock::now();
  auto kernel = nft_.ReadTables(compile::OwnedTables());
  if (!kernel.ok()) return kernel.status();
  drift_ = compile::FindDrift(*applied_, *kernel);
  if (drift_.empty() || !repair) {
    Publish();
    return drift_;
  }
  for (const auto& d : drift_) spdlog::warn("drift: {}", d);
  std::vector<std::string> found = drift_;
  if (drift_observer_) drift_observer_(found);
  Status st = nft_.ReplaceTables(*applied_, false);
  if (st.ok()) {
    auto again = nft_.ReadTables(compile::OwnedTables());  // confirm the repair holds
    if (!again.ok()) {
      st = again.status();
    } else if (auto left = compile::FindDrift(*applied_, *again); !left.empty()) {
      st = Status::Internal("repair did not hold: " + left.front());
    }
  }
  if (!st.ok()) {
    last_error_ = "drift repair failed: " + st.message();
    spdlog::error("{} ({})", last_error_, trigger);
    Publish();
    return st;
  }
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - noticed).count();
  ++drift_repairs_;
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
  for (const auto& c : containers_) {
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
  s.events = events_;
  s.last_apply = status::LastApply{last_apply_kind_, last_apply_ms_};
  s.problems = problems_;
  s.conntrack = status::Conntrack{conntrack_ != nullptr, conntrack_off_,    conntrack_flushes_,
                                  conntrack_removed_,    conntrack_error_, last_flush_};
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
