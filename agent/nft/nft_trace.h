// NftTrace: the kernel's packet trace events (netlink group NFNLGRP_NFTRACE), one per rule,
// chain return or base-chain policy a traced packet meets. A packet is traced from the rule
// that sets `meta nftrace set 1` on it (ruleset.h NftraceSet) to its verdict; every event of
// one packet carries the same trace id. `ipo-netctl explain --trace` reads them to print the
// path the kernel really took beside the model's.
//
// Thread safety: not thread-safe; one owner.
// REQUIRES: CAP_NET_ADMIN in the network namespace (to join the group).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <libmnl/libmnl.h>

#include "common/status.h"
#include "nft/nfnl_group.h"

namespace ipo::nft {

struct TraceEvent {
  uint32_t id = 0;          // the packet's trace id
  uint8_t family = 0;       // NFPROTO_* of the table
  std::string table;
  std::string chain;
  std::string type;         // "rule", "return", "policy"
  uint64_t handle = 0;      // the rule's handle (type "rule")
  std::string verdict;      // "accept", "drop", "continue", "jump", "goto", "return", "" none
  std::string jump_target;  // the chain of a jump or goto
  std::string ToString() const;  // "inet ipo_netd to-containers rule 12: drop"
};

// Parses one nfnetlink message; nullopt for one that is not an NFT_MSG_TRACE.
std::optional<TraceEvent> ParseTrace(const struct nlmsghdr* nlh);

class NftTrace {
 public:
  static Result<std::unique_ptr<NftTrace>> Open();
  // Waits up to `timeout` for trace events and returns all that arrived (empty on timeout;
  // events lost to a full buffer only make a path shorter).
  Result<std::vector<TraceEvent>> Poll(std::chrono::milliseconds timeout);

 private:
  explicit NftTrace(std::unique_ptr<NfnlGroup> group) : group_(std::move(group)) {}
  std::unique_ptr<NfnlGroup> group_;
};

}  // namespace ipo::nft
