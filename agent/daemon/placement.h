// Placement: which Docker networks must exist and which containers must be connected to or
// disconnected from which network, so that every container the policy names sits on its
// policy network and nowhere else. A pure function of the policy and what Docker reports;
// the Reconciler carries the plan out.
//
// Containers the policy does not name are left alone. Containers in network mode "host"
// or "none" cannot be moved: that is reported as a problem.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "compile/compiler.h"
#include "docker/docker_api.h"
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

PlacementPlan PlanPlacement(const policy::Policy& policy, const std::vector<docker::NetworkInfo>& networks,
                            const std::vector<docker::ContainerInfo>& containers);

// What the compiler needs from Docker's view: policy containers' addresses on their policy
// network, and the docker-proxy host ports of every existing container (running or not).
compile::Observed Observe(const policy::Policy& policy, const std::vector<docker::ContainerInfo>& containers);

}  // namespace ipo::daemon
