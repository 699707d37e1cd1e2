// Helpers for the tests of NetlinkBackend against the real kernel (ruleset_writer_test.cc,
// ruleset_reader_test.cc, netlink_packets_test.cc): a backend in a fresh network namespace, a
// ruleset shaped like the agent's, and the `nft` CLI's view of what the kernel holds (the
// library never runs `nft`; the tests use it as the reference).
//
// Thread safety: test code, one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nft/netlink_backend.h"
#include "ruleset/ruleset.h"

namespace ipo::nft::netlink_testing {

// A backend in a network namespace of its own (entered once per process; never the host's),
// with its ruleset flushed. REQUIREs root.
std::unique_ptr<NetlinkBackend> FreshBackend();

Ipv4 V4(const char* s);
Ipv6 V6(const char* s);
Rule R(std::string comment, std::vector<Expr> exprs);
Expr Accept();
Expr Drop();
Expr Ipv4Only();
Expr Ipv6Only();
Expr L4(uint8_t p);

// A ruleset shaped like the agent's: one inet filter table (an interval set, a concatenated
// set, an ifname set, base and regular chains, probe counters in filter-output for udp to port
// 9999), one ip and one ip6 nat table with DNAT maps.
Ruleset AgentLikeRuleset();
// The three tables of AgentLikeRuleset.
std::vector<TableRef> AgentLikeTables();

// `nft list ruleset` with counters zeroed, for comparing two listings.
std::string Listing();

// The kernel's bytecode of every rule and the raw bytes of every set element, as
// `nft --debug=netlink list ruleset` prints them; rule handles removed, element lines sorted
// (a hash set dumps in a random order).
std::string Bytecode();

// What the kernel holds after a write, as nft shows it.
struct Written {
  std::string listing;   // Listing()
  std::string bytecode;  // Bytecode()
};
// Replaces the tables of `rs` with `backend` (REQUIRE success) and returns what nft shows.
Written ReplaceAndShow(NetlinkBackend& backend, const Ruleset& rs);

// Flushes the namespace's ruleset and loads `rs` with nft itself (`nft -f` of
// Ruleset::ToString()): nft must accept it silently and show exactly `ours`, listing and
// bytecode (same registers, lengths, masks, flags and element bytes).
void ExpectNftWritesSame(const Ruleset& rs, const Written& ours);

}  // namespace ipo::nft::netlink_testing
