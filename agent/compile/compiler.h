// Compiler: policy + what Docker reports -> the whole desired nftables ruleset. A pure
// function: no I/O, no clock, deterministic (equal inputs give equal rulesets, byte for byte).
//
// The ruleset has static rules and dynamic sets (see docs/ruleset.md):
//   table inet ipo_netd     filtering: forward (into container networks: every Docker
//                           bridge, matched by pattern; between bridges) and input
//                           (host ports docker-proxy publishes); sets of allowlisted LAN
//                           sources, of published container addresses and of docker-proxy
//                           ports; the LAN subnets are matched inline in the drop rules
//   table ip  ipo_netd_nat  DNAT maps for published ports, masquerade for container egress
//   table ip6 ipo_netd_nat  the same for IPv6
//   table bridge ipo_netd   frames between containers on Docker's default bridge (layer 2,
//                           never seen by the inet forward hook) are dropped
// Containers coming and going change only set/map elements, never rules.
// No drop depends on an interval-set lookup: such a set created in the same batch can miss
// for a moment at commit (docs/ruleset.md), so interval sets only ever accept.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compile/ruleset.h"
#include "policy/policy.h"

namespace ipo::compile {

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

inline constexpr const char* kFilterTable = "ipo_netd";  // inet
inline constexpr const char* kNatTable = "ipo_netd_nat";  // ip and ip6
// Docker's default bridge: not a policy network, but containers pass through it (they start
// there), so it is guarded like one.
inline constexpr const char* kDockerDefaultBridge = "docker0";
// The subnet dockerd gives docker0 unless daemon.json says otherwise ("bip").
inline constexpr const char* kDefaultBridgeSubnet = "172.17.0.0/16";
// The names dockerd gives the bridges of the networks it creates: "br-" + 12 hex digits of the
// network id. Matched by prefix, so a network nobody told the agent about is guarded.
inline constexpr const char* kDockerBridgePrefix = "br-";

// Table bridge ipo_netd, as Compile() and FailClosedBaseline() both write it: a forward
// chain that drops IPv4 frames switched between two ports of docker0 (addressed to its
// subnet `subnet_v4`, kDefaultBridgeSubnet when empty or malformed). A container sits on
// docker0 from `docker run` until the agent moves it; there it must not reach, nor be
// reached by, its neighbours. Frames on every other bridge are left alone.
nft::Table DefaultBridgeGuard(const std::string& subnet_v4);

// The input-path guard of docker-proxy's host ports, as Compile() and FailClosedBaseline()
// both write it: set "proxy-ports" (sorted `ports`), chain "to-proxy" (the host itself and
// replies accepted, then `allow`, then a counted drop commented `drop_comment`) and the base
// chain "filter-input" that jumps there for those ports.
struct ProxyGuard {
  nft::Set set;
  nft::Chain to_proxy;
  nft::Chain input;
};
ProxyGuard MakeProxyGuard(const std::vector<ProxyPort>& ports, std::vector<nft::Rule> allow,
                          const std::string& drop_comment);

// The desired ruleset. Containers the policy does not name are ignored; policy containers
// that are not running or not yet on their network get no published-port elements.
nft::Ruleset Compile(const policy::Policy& policy, const Observed& observed);

// The tables Compile() produces (what the agent owns).
std::vector<std::pair<nft::Family, std::string>> OwnedTables();

}  // namespace ipo::compile
