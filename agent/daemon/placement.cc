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

PlacementPlan PlanPlacement(const policy::Policy& policy, const std::vector<docker::NetworkInfo>& networks,
                            const std::vector<docker::ContainerInfo>& containers) {
  PlacementPlan plan;
  for (const policy::Network& n : policy.networks) {
    auto it = std::find_if(networks.begin(), networks.end(), [&](const auto& d) { return d.name == n.name; });
    if (it == networks.end()) {
      plan.create.push_back(SpecFor(n));
      continue;
    }
    if (it->bridge_name != n.bridge)
      plan.problems.push_back("network " + n.name + " exists with bridge " + it->bridge_name + ", policy says " + n.bridge);
    std::string want4 = n.subnet_v4.ToString();
    if (std::find(it->subnets.begin(), it->subnets.end(), want4) == it->subnets.end())
      plan.problems.push_back("network " + n.name + " exists without subnet " + want4);
  }
  for (const docker::ContainerInfo& c : containers) {
    const policy::Container* pc = policy.FindContainer(c.name);
    if (!pc) continue;
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

compile::Observed Observe(const policy::Policy& policy, const std::vector<docker::ContainerInfo>& containers) {
  compile::Observed o;
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
      if (e.network == pc->network) {
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
