#include "daemon/placement.h"

#include <algorithm>
#include <set>

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

compile::Observed Observe(const policy::Policy& policy, const std::vector<docker::NetworkInfo>& networks,
                          const std::vector<docker::ContainerInfo>& containers) {
  compile::Observed o;
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
  std::set<compile::ProxyPort> ports;
  for (const docker::ContainerInfo& c : containers) {
    // docker-proxy ports stay guarded for as long as the container EXISTS: they are known
    // from `create` (before docker-proxy listens at `start`) and kept while it is stopped,
    // so a restart (restart policy, dockerd restart) never finds them unguarded.
    for (const auto* list : {&c.ports, &c.configured_ports}) {
      for (const docker::PortBinding& b : *list) {
        if (b.host_port == 0) continue;
        ports.insert(compile::ProxyPortFor(b.proto, b.host_port));
      }
    }
    const policy::Container* pc = policy.FindContainer(c.name);
    if (!pc) continue;
    compile::ObservedContainer oc{c.name, c.id, c.running, "", ""};
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
  o.proxy_ports.assign(ports.begin(), ports.end());
  return o;
}

}  // namespace ipo::daemon
