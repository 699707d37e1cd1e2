// Attribute: a packet the kernel logged (nft/nflog.h) becomes a DropRecord naming the drop
// rule and policy entry its prefix points at (drop_index.h). Pure, so it is tested without a
// kernel; the interface names come from a resolver the caller passes (if_indextoname).
//
// Thread safety: pure function.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "droplog/drop_index.h"
#include "droplog/drop_ring.h"
#include "nft/nflog.h"

namespace ipo::droplog {

using IfNameOf = std::function<std::string(uint32_t ifindex)>;

// `now_nanos` stamps a packet the kernel sent without a time. A prefix the index does not
// know (a log rule of a ruleset applied since, or someone else's rule on the same group)
// leaves family..policy empty; the prefix is always kept.
DropRecord Attribute(const nft::NflogPacket& p, const DropIndex& index, int64_t now_nanos, const IfNameOf& ifname);

// "tcp", "udp", "icmp", "icmpv6", "proto <n>"; "" for 0.
std::string ProtoName(uint8_t l4proto);

}  // namespace ipo::droplog
