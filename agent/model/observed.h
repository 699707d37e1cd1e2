// Observed: what the agent saw of the host, reduced to what the compiler needs: the
// policy's containers and their addresses, the host ports Docker reserves for `docker run -p`,
// the bindings the agent publishes itself, and Docker's bridges. Produced by the daemon's
// placement (daemon/placement.h Observe) and by the boot restore, consumed by the compiler
// (compile/compiler.h), saved in the state file (state/state_store.h) and shown in status.
//
// Plain values: no I/O, no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ipo::model {

// A container as Docker reports it, reduced to what the compiler needs.
struct ObservedContainer {
  std::string name;
  std::string id;
  bool running = false;
  // The addresses on the container's POLICY network ("" when it is not attached there yet).
  std::string ipv4;
  std::string ipv6;
};

// A host port that docker-proxy listens on (from `docker run -p`), for any container.
struct ProxyPort {
  uint8_t proto = 6;
  uint16_t port = 0;
  auto operator<=>(const ProxyPort&) const = default;
};

// The ProxyPort of a Docker port binding's protocol ("tcp", "udp", "sctp") and host port.
ProxyPort ProxyPortFor(const std::string& proto, uint16_t host_port);
// The reverse: the name of a protocol number, "udp" (17), "sctp" (132), else "tcp".
const char* ProtoName(uint8_t proto);
// Adds `more` to `ports`, which stays sorted and without duplicates.
void MergeProxyPorts(std::vector<ProxyPort>& ports, const std::vector<ProxyPort>& more);

// A `docker run -p` binding of a running container that the agent publishes itself (Docker
// only reserves the host port, with ipo-netd-proxy): DNAT for the LAN allowlist only.
struct DockerPublication {
  uint8_t proto = 6;
  uint16_t host_port = 0;
  bool v6 = false;
  std::string host_ip;    // "" any local address of the family; else only this destination
  std::string target;     // the container's address (same family)
  uint16_t port = 0;      // the container's port
  std::string container;  // its name, for status and logs
  auto operator<=>(const DockerPublication&) const = default;
};

struct Observed {
  std::vector<ObservedContainer> containers;
  std::vector<ProxyPort> proxy_ports;
  // Sorted; already without the ports the policy publishes or a host process holds
  // (daemon/placement.h Observe decides).
  std::vector<DockerPublication> docker_published;
  // The bridge interface of every bridge-driver network Docker reports (custom
  // com.docker.network.bridge.name ones included), sorted: elements of set "bridges". The
  // default names (docker0, br-<id>) are guarded by pattern before Docker reports them.
  std::vector<std::string> bridges;
  // The IPv4 subnet of Docker's default bridge (docker0) as Docker reports it; "" when not
  // known, then Docker's default kDefaultBridgeSubnet is guarded.
  std::string default_bridge_v4;
};

}  // namespace ipo::model
