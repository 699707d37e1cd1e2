// Host-held ports: which host ports a HOST process holds, so that the agent never guards
// nor publishes them for a container (`docker create -p 22:22` while sshd listens on 22 must
// not lock the operator out). A listener (hostsock/sock_diag.h) is the host's unless it is
// Docker's own docker-proxy (kDockerProxyComm: it listens for a container) or the caller
// explains it otherwise (the daemon: a running container's binding on the same address).
//
// Thread safety: pure functions.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "hostsock/sock_diag.h"
#include "model/observed.h"

namespace ipo::hostsock {

// Held port -> the owner of the first socket in `sockets` that holds it ("" when FillOwners
// did not find one). `explained` (optional) returns true for a socket that is a container's.
using HeldPorts = std::map<model::ProxyPort, std::string>;
HeldPorts HostHeld(const std::vector<HostSocket>& sockets,
                   const std::function<bool(const HostSocket&)>& explained = nullptr);

struct HeldPort {
  model::ProxyPort port;
  std::string owner;  // "" unknown
  // The holder for logs and status: its comm, else "a host process".
  std::string Holder() const { return owner.empty() ? "a host process" : owner; }
  // "tcp/22 (sshd)"
  std::string ToString() const;
};

// Removes from `ports` every port a host process holds (no caller explanation: at boot no
// container runs but through docker-proxy) and returns them, in the order of `ports`.
std::vector<HeldPort> DropHostHeld(std::vector<model::ProxyPort>& ports, const std::vector<HostSocket>& sockets);

}  // namespace ipo::hostsock
