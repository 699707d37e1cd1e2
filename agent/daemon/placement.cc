#include "daemon/placement.h"

#include <algorithm>
#include <set>

#include "hostsock/host_held.h"

namespace ipo::daemon {

docker::NetworkSpec SpecFor(const policy::Network& n) {
  docker::NetworkSpec s;
  s.name = n.name;
  s.bridge_name = n.bridge;
  s.subnet_v4 = n.subnet_v4.ToString();
  s.subnet_v6 = n.subnet_v6 ? n.subnet_v6->ToString() : "";
  s.icc = true;
  s.labels = {{"com.ipo.netd.managed", "true"}};
  return s;
}

std::map<std::string, std::string> RefusedNetworks(const policy::Policy& policy,
                                                   const std::vector<docker::NetworkInfo>& networks) {
  std::map<std::string, std::string> out;
  for (const policy::Network& n : policy.networks) {
    auto it = std::find_if(networks.begin(), networks.end(), [&](const auto& d) { return d.name == n.name; });
    if (it == networks.end()) continue;
    std::vector<std::string> differs;
    if (it->driver != "bridge") differs.push_back("driver " + it->driver + ", the policy needs bridge");
    if (it->bridge_name != n.bridge) {
      differs.push_back("bridge " + (it->bridge_name.empty() ? std::string("(none)") : it->bridge_name) +
                        ", the policy says " + n.bridge);
    }
    std::vector<std::string> want{n.subnet_v4.ToString()};
    if (n.subnet_v6) want.push_back(n.subnet_v6->ToString());
    if (std::any_of(want.begin(), want.end(), [&](const std::string& w) {
          return std::find(it->subnets.begin(), it->subnets.end(), w) == it->subnets.end();
        })) {
      std::string has, says;
      for (const std::string& s : it->subnets) has += (has.empty() ? "" : " and ") + s;
      for (const std::string& w : want) says += (says.empty() ? "" : " and ") + w;
      differs.push_back("subnet " + (has.empty() ? std::string("(none)") : has) + ", the policy says " + says);
    }
    if (differs.empty()) continue;
    std::string text = "network " + n.name + " is refused: it exists with ";
    for (size_t i = 0; i < differs.size(); ++i) text += (i ? "; " : "") + differs[i];
    text += "; no container is connected to it (remove the network or change the policy)";
    out.emplace(n.name, std::move(text));
  }
  return out;
}

PlacementPlan PlanPlacement(const policy::Policy& policy, const std::vector<docker::NetworkInfo>& networks,
                            const std::vector<docker::ContainerInfo>& containers) {
  PlacementPlan plan;
  std::map<std::string, std::string> refused = RefusedNetworks(policy, networks);
  for (const policy::Network& n : policy.networks) {
    auto it = std::find_if(networks.begin(), networks.end(), [&](const auto& d) { return d.name == n.name; });
    if (it == networks.end()) plan.create.push_back(SpecFor(n));
  }
  for (const auto& [name, why] : refused) plan.problems.push_back(why);
  for (const docker::ContainerInfo& c : containers) {
    const policy::Container* pc = policy.FindContainer(c.name);
    if (!pc) continue;
    if (refused.count(pc->network)) {  // never connected to it; taken off it and docker0
      for (const docker::Endpoint& e : c.endpoints) {
        if (e.network != "host" && e.network != "none") plan.disconnect.emplace_back(e.network, c.name);
      }
      continue;
    }
    // --network container:X: no network stack of its own. Docker refuses to connect it once
    // it runs but records a connect made while it is only created, which then never takes
    // effect: never try, in either state.
    if (c.network_mode.rfind("container:", 0) == 0) {
      plan.problems.push_back("container " + c.name + " cannot be connected to " + pc->network + ": it runs with --network " +
                              c.network_mode.substr(0, 22) + " (another container's network stack); left unpublished");
      continue;
    }
    bool attached = false;
    for (const docker::Endpoint& e : c.endpoints) {
      if (e.network == "host" || e.network == "none") {
        plan.problems.push_back("container " + c.name + " runs in network mode " + e.network + " and cannot be moved");
        attached = true;  // nothing to connect
        continue;
      }
      if (e.network == pc->network) attached = true;
    }
    if (!attached) plan.connect.emplace_back(pc->network, c.name);
    for (const docker::Endpoint& e : c.endpoints) {
      if (e.network != pc->network && e.network != "host" && e.network != "none")
        plan.disconnect.emplace_back(e.network, c.name);
    }
  }
  return plan;
}

namespace {

bool IsV6(const std::string& host_ip) { return host_ip.find(':') != std::string::npos; }
bool IsWildcard(const std::string& host_ip) { return host_ip.empty() || host_ip == "0.0.0.0" || host_ip == "::"; }

// Whether a running container's binding explains a host socket: a binding on a wildcard
// explains a wildcard socket of either family (docker-proxy binds tcp4 or tcp6 as Docker
// asks); a specific address only the same address.
bool ExplainedByContainer(const std::vector<docker::ContainerInfo>& containers, const hostsock::HostSocket& s) {
  for (const docker::ContainerInfo& c : containers) {
    if (!c.running) continue;
    for (const docker::PortBinding& b : c.ports) {
      if (b.host_port != s.port || model::ProxyPortFor(b.proto, b.host_port).proto != s.proto) continue;
      if (IsWildcard(b.host_ip) ? IsWildcard(s.addr) : b.host_ip == s.addr) return true;
    }
  }
  return false;
}

// The address of `c` a publication of family v6 targets ("" when none).
std::string TargetOf(const docker::ContainerInfo& c, const policy::Container* pc, bool v6) {
  for (const docker::Endpoint& e : c.endpoints) {
    if (pc && e.network != pc->network) continue;
    if (e.network == "host" || e.network == "none") continue;
    const std::string& a = v6 ? e.ipv6 : e.ipv4;
    if (!a.empty()) return a;
    if (pc) return "";
  }
  return "";
}

}  // namespace

model::Observed Observe(const policy::Policy& policy, const std::vector<docker::NetworkInfo>& networks,
                          const std::vector<docker::ContainerInfo>& containers,
                          const std::vector<hostsock::HostSocket>& host_sockets, std::vector<std::string>* conflicts) {
  model::Observed o;
  std::set<std::string> bridges;
  for (const docker::NetworkInfo& n : networks) {
    if (n.driver != "bridge" || n.bridge_name.empty()) continue;
    bridges.insert(n.bridge_name);
    if (n.bridge_name == compile::kDockerDefaultBridge) {
      for (const std::string& s : n.subnets)
        if (s.find(':') == std::string::npos) o.default_bridge_v4 = s;
    }
  }
  o.bridges.assign(bridges.begin(), bridges.end());
  std::map<std::string, std::string> refused = RefusedNetworks(policy, networks);
  std::set<model::ProxyPort> ports;
  std::set<std::string> why;
  const hostsock::HeldPorts held =
      hostsock::HostHeld(host_sockets, [&](const hostsock::HostSocket& s) { return ExplainedByContainer(containers, s); });
  std::set<model::ProxyPort> by_policy;
  for (const policy::Container& pc : policy.containers)
    for (const policy::Publish& p : pc.publish) by_policy.insert(model::ProxyPort{p.proto, p.host_port});
  for (const docker::ContainerInfo& c : containers) {
    // docker-proxy ports stay guarded for as long as the container EXISTS: they are known
    // from `create` (before docker-proxy listens at `start`) and kept while it is stopped,
    // so a restart (restart policy, dockerd restart) never finds them unguarded. Not a port a
    // host process holds: guarding it would cut the host's own service off.
    for (const auto* list : {&c.ports, &c.configured_ports}) {
      for (const docker::PortBinding& b : *list) {
        if (b.host_port == 0) continue;
        model::ProxyPort pp = model::ProxyPortFor(b.proto, b.host_port);
        if (held.count(pp)) {
          why.insert("container " + c.name + ": -p " + std::to_string(b.host_port) + "/" + model::ProtoName(pp.proto) +
                     ": a host process listens on host port " + std::to_string(b.host_port) +
                     "; neither published nor guarded");
          continue;
        }
        ports.insert(pp);
      }
    }
    const policy::Container* pc = policy.FindContainer(c.name);
    if (c.running && policy.docker_publish == policy::DockerPublish::kLan) {
      for (const docker::PortBinding& b : c.ports) {
        if (b.host_port == 0) continue;
        model::ProxyPort pp = model::ProxyPortFor(b.proto, b.host_port);
        if (held.count(pp)) continue;  // reported above
        if (by_policy.count(pp)) {
          why.insert("container " + c.name + ": -p " + std::to_string(b.host_port) + "/" + model::ProtoName(pp.proto) +
                     ": the policy publishes host port " + std::to_string(b.host_port) +
                     " itself; the policy's publication wins");
          continue;
        }
        bool v6 = IsV6(b.host_ip);
        std::string target = TargetOf(c, pc, v6);
        if (target.empty()) continue;  // not on a network (yet), or no address of the family
        if (pc && refused.count(pc->network)) continue;  // never publish into a refused network
        o.docker_published.push_back(model::DockerPublication{
            pp.proto, b.host_port, v6, IsWildcard(b.host_ip) ? "" : b.host_ip, target, b.container_port, c.name});
      }
    }
    if (!pc) continue;
    model::ObservedContainer oc{c.name, c.id, c.running, "", ""};
    for (const docker::Endpoint& e : c.endpoints) {
      if (e.network == pc->network && !refused.count(pc->network)) {
        oc.ipv4 = e.ipv4;
        oc.ipv6 = e.ipv6;
      }
    }
    o.containers.push_back(oc);
  }
  std::sort(o.containers.begin(), o.containers.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  std::sort(o.docker_published.begin(), o.docker_published.end());
  o.docker_published.erase(std::unique(o.docker_published.begin(), o.docker_published.end()),
                           o.docker_published.end());
  o.proxy_ports.assign(ports.begin(), ports.end());
  if (conflicts) conflicts->insert(conflicts->end(), why.begin(), why.end());
  return o;
}

}  // namespace ipo::daemon
