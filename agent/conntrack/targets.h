// Conntrack targets: which flows lose their right to exist when the ruleset changes. A pure
// function compares what was observed and applied before a batch with what the batch puts in
// force, and names every target that lost its owner:
//   - a container address no longer held by the same (running) container id: the container
//     stopped, was removed, was recreated (same name, new id) or moved, and the address may
//     be handed to another container at any moment;
//   - a publication (host proto.port -> container addr.port, a publish-any/publish-lan map
//     element, or a -p binding in docker-lan/docker-lan-at) that the new ruleset no longer has: the policy revoked it or narrowed it.
// Established flows to such a target would otherwise keep passing the filter's "ct state
// established,related accept" and reach whoever holds the address now.
// Matches() says whether one tracked flow belongs to a target; conntrack/flusher.h removes
// the flows that match.
//
// Thread safety: pure functions and values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compile/compiler.h"
#include "ruleset/ruleset.h"

namespace ipo::conntrack {

// One direction of a tracked flow, addresses as canonical text ("172.30.1.2", "fd00::2").
struct Tuple {
  std::string src;
  std::string dst;
  uint8_t proto = 0;  // IPPROTO_*
  uint16_t sport = 0;  // 0 for protocols without ports
  uint16_t dport = 0;
  bool operator==(const Tuple&) const = default;
};

// A tracked flow as the kernel reports it: the original direction (as the first packet
// came) and the reply direction (after NAT: the DNAT target is the reply's source).
struct Entry {
  Tuple orig;
  Tuple reply;
  bool operator==(const Entry&) const = default;
};

struct Target {
  enum class Kind { kAddress, kPublication };
  Kind kind = Kind::kAddress;
  std::string addr;        // canonical text
  uint8_t proto = 0;       // kPublication: IPPROTO_*
  uint16_t port = 0;       // kPublication: the container's port
  uint16_t host_port = 0;  // kPublication: the host's port the DNAT listens on
  std::string why;         // a sentence for the log and status
  bool operator==(const Target&) const = default;
};

// The canonical text of an IPv4/IPv6 address ("" when `text` is none).
std::string CanonicalAddress(const std::string& text);

// The targets that lost their owner between (`before`, `before_rules`) and (`after`,
// `after_rules`). `before_rules` is null before the first apply (no publication can be
// revoked then). A container that keeps its id, its running state and its address keeps
// its flows, whatever else changes. Sorted by kind, address, port; no duplicates; a
// publication whose address is itself a lost address is not listed twice.
std::vector<Target> LostTargets(const model::Observed& before, const nft::Ruleset* before_rules,
                                const model::Observed& after, const nft::Ruleset& after_rules);

// Whether flow `e` belongs to target `t`:
//   kAddress: the address is the original source (the container's own outgoing flows), the
//             original destination (reached directly, e.g. from the LAN allowlist) or the
//             reply source (reached through a DNAT).
//   kPublication: the flow was DNATed (original destination is not the container) from the
//             host's proto.host_port to addr.port; the same container reached directly keeps
//             its flows.
bool Matches(const Entry& e, const Target& t);

// "tcp 10.0.0.1:40000 -> 10.0.0.9:8080 (reply 172.30.1.2:8080 -> 10.0.0.1:40000)".
std::string EntryToString(const Entry& e);

}  // namespace ipo::conntrack
