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
#include <utility>
#include <vector>

#include "model/observed.h"
#include "ruleset/ruleset.h"
#include "policy/policy.h"

namespace ipo::compile {

// The compiler's input from the host (agent/model/observed.h), named here as the compiler's
// own vocabulary.
using model::DockerPublication;
using model::Observed;
using model::ObservedContainer;
using model::ProxyPort;

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

// Docker's default bridge subnet as the guard above matches it: `subnet_v4` ("a.b.c.d/len",
// host bits cleared), kDefaultBridgeSubnet when empty or malformed.
std::pair<nft::Ipv4, uint8_t> DefaultBridgePrefix(const std::string& subnet_v4);

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

// The tables Compile() produces (what the agent owns), as the backend reads them back.
std::vector<nft::TableRef> OwnedTables();

}  // namespace ipo::compile
