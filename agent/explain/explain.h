// Explain: what the agent's ruleset does with one packet, and why. The first packet of a new
// connection is walked through the compiled ruleset (compile/compiler.h) the way the kernel
// walks it: the nat prerouting chain of its family (DNAT), the routing decision (the host
// itself, a container bridge, or out), then the filter chains of the hook it reaches (input
// or forward), or, between two ports of one bridge, the bridge family's forward chain.
// Every rule evaluated becomes a Step; a matched rule says what it did and which policy
// entry made it (a JSON path into the policy: "containers[0].publish[0]"; the caller turns
// it into file:line).
//
// The verdict is the agent's: "dropped" (a drop rule matched), "allowed" (an accept rule of
// the agent's filter chains matched) or "not handled" (no filter rule of the agent decided:
// the packet goes on as if the agent were not there, e.g. to the host's own sshd or between
// two containers of one network). Other tables (a host firewall) are not the agent's and
// not modelled; `ipo-netctl explain --trace` asks the kernel instead.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "policy/policy.h"
#include "ruleset/ruleset.h"

namespace ipo::explain {

// The first packet of a new connection.
struct Packet {
  nft::Value saddr;   // Ipv4 or Ipv6
  nft::Value daddr;   // the same family
  uint8_t proto = 6;  // IPPROTO_TCP or IPPROTO_UDP
  uint16_t dport = 0;
  // The interface it arrives on: a container's bridge ("ipo-shared", "docker0"), or "" for
  // one that is none of them (the WAN or LAN uplink).
  std::string iif;
  bool v6() const { return std::holds_alternative<nft::Ipv6>(saddr); }
};

// A route: destinations in addr/len leave through `dev`.
struct Route {
  nft::Value addr;  // network address
  uint8_t len = 0;
  std::string dev;
};

// What the host looks like, for the routing decision and for naming things.
struct Host {
  std::vector<nft::Value> local;  // the host's own addresses (fib daddr type local)
  std::vector<Route> routes;      // container networks; anything else leaves by the uplink ("")
  std::map<std::string, std::string> names;  // address text -> container name
};

// One rule evaluated, or the policy of a base chain the packet fell off.
struct Step {
  std::string hook;    // "prerouting", "input", "forward", "bridge forward"
  std::string table;   // "ip ipo_netd_nat"
  std::string chain;
  std::string rule;    // its comment; "" for the chain's policy
  bool matched = false;
  std::string action;  // what a matched rule did: "accept", "drop", "jump <chain>", "dnat @<map>"
  std::string detail;  // "dnat to 172.30.1.2:8080", "172.30.1.2 . tcp . 8080 in @published-v4"
  std::string origin;  // the policy entry behind it: "containers[0].publish[0]"; "" built in
};

struct Explanation {
  std::string verdict;  // "allowed", "dropped", "not handled"
  std::string reason;   // the step that decided, as text ("" when not handled)
  nft::Value daddr;     // the destination after DNAT
  uint16_t dport = 0;
  bool to_host = false;     // delivered to the host's own stack (its address, after DNAT)
  std::string container;    // the container whose address it reaches ("" none known)
  std::vector<Step> steps;  // in evaluation order
};

Explanation Explain(const nft::Ruleset& ruleset, const policy::Policy& policy, const Host& host, const Packet& packet);

// The destination argument of `ipo-netctl explain`: "HOST:PORT", "[IPV6]:PORT", either with
// "/tcp" or "/udp" (default tcp). HOST is a name or an address; an IPv6 address needs the
// brackets. InvalidArgument "DST: ..." naming what is wrong.
struct Destination {
  std::string host;
  uint16_t port = 0;
  uint8_t proto = 6;
};
Result<Destination> ParseDestination(std::string_view text);

// The routes of a policy's networks (subnets -> bridges) and Docker's default bridge (its
// subnet as the compiler guards it: compile::DefaultBridgePrefix).
std::vector<Route> PolicyRoutes(const policy::Policy& policy, const std::string& default_bridge_v4);

}  // namespace ipo::explain
