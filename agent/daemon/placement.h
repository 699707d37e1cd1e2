// Placement: which Docker networks must exist and which containers must be connected to or
// disconnected from which network, so that every container the policy names sits on its
// policy network and nowhere else. A pure function of the policy and what Docker reports;
// the Reconciler carries the plan out.
//
// Containers the policy does not name are left alone. Containers in network mode "host",
// "none" or "container:X" cannot be moved: that is reported as a problem (no connect is
// tried for "container:X": Docker would record one made while the container is only
// created, and it would never take effect).
//
// A policy network that already exists with another bridge name, driver or subnet is
// refused: the rules guard the policy's bridge name and subnet, not what that network has.
// No container is connected to it (one on it is disconnected), its containers get no
// published ports, the problem says what differs, and the rest of the policy still applies.
//
// Thread safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compile/compiler.h"
#include "docker/docker_api.h"
#include "hostsock/sock_diag.h"
#include "policy/policy.h"

namespace ipo::daemon {

struct PlacementPlan {
  std::vector<docker::NetworkSpec> create;                         // networks to create
  std::vector<std::pair<std::string, std::string>> connect;        // (network, container)
  std::vector<std::pair<std::string, std::string>> disconnect;     // (network, container)
  std::vector<std::string> problems;                               // for logs and status
  bool empty() const { return create.empty() && connect.empty() && disconnect.empty(); }
};

// The Docker network the agent creates for a policy network.
docker::NetworkSpec SpecFor(const policy::Network& n);

// Policy networks that exist in Docker but not as the policy describes them: name -> the
// problem text, e.g. "network ipo-shared is refused: it exists with bridge br-5c6b2e0f4a1d,
// the policy says ipo-shared; subnet 10.99.0.0/24, the policy says 172.30.1.0/24; no container
// is connected to it (remove the network or change the policy)".
std::map<std::string, std::string> RefusedNetworks(const policy::Policy& policy,
                                                   const std::vector<docker::NetworkInfo>& networks);

PlacementPlan PlanPlacement(const policy::Policy& policy, const std::vector<docker::NetworkInfo>& networks,
                            const std::vector<docker::ContainerInfo>& containers);

// What the compiler needs from Docker's view: policy containers' addresses on their policy
// network (none on a refused one), the bridge of every bridge-driver network and docker0's
// subnet, the docker-proxy host ports of every existing container (running or not), and the
// `-p` bindings of running containers that the agent publishes itself for the LAN allowlist
// (none with policy "docker_publish": "none"; model::DockerPublication; target: the policy network's address for a policy container,
// else the first endpoint with an address of the binding's family).
// A port a HOST process holds (`host_sockets`: a TCP listener or unconnected UDP socket that
// is not Docker's own docker-proxy and not explained by a running container's binding on the
// same address) is never guarded
// nor published: a container asking for it (`docker create -p 22:22`) cannot lock the
// operator out. A binding the policy's own publications also claim (same proto and host port)
// is not published: the policy wins. Both are appended to `conflicts` (one sentence each,
// naming container and port) when it is given.
model::Observed Observe(const policy::Policy& policy, const std::vector<docker::NetworkInfo>& networks,
                          const std::vector<docker::ContainerInfo>& containers,
                          const std::vector<hostsock::HostSocket>& host_sockets = {},
                          std::vector<std::string>* conflicts = nullptr);

}  // namespace ipo::daemon
