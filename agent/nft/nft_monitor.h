// NftMonitor: the kernel's nftables change notifications (netlink group NFNLGRP_NFTABLES),
// reduced to "who changed which table". The agent uses it to notice within milliseconds when
// someone else edits, flushes or deletes its tables (`nft flush ruleset`, a reload of
// nftables.service, a stray script) and repair them, instead of waiting for the next
// periodic drift check.
//
// Every notification names the table it concerns (attribute 1 of every nf_tables object
// message) and carries, as nlmsg_pid, the netlink port id of the socket whose batch caused
// it, so the agent tells its own changes (its backend's port id) from foreign ones.
// When the kernel drops notifications because the socket buffer overflowed (ENOBUFS), Poll
// reports one change with `overrun` set: the caller must assume anything may have changed.
//
// Thread safety: not thread-safe; one owner (the daemon's monitor thread).
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

struct TableChange {
  uint8_t family = 0;      // NFPROTO_* of the table (1 inet, 2 ip, 10 ip6, ...)
  std::string table;       // "" for NEWGEN and overruns
  uint16_t msg = 0;        // NFT_MSG_* (NEWTABLE, DELRULE, NEWSETELEM, ...)
  uint32_t portid = 0;     // netlink port id of the socket that made the change (0: kernel)
  bool overrun = false;    // notifications were lost
  std::string ToString() const;  // "delete table inet ipo_netd (port 4242)"
};

// Parses one nfnetlink message; nullopt for messages that are not nf_tables object
// notifications naming a table (e.g. NEWGEN).
std::optional<TableChange> ParseNotification(const struct nlmsghdr* nlh);

class NftMonitor {
 public:
  static Result<std::unique_ptr<NftMonitor>> Open();
  NftMonitor(const NftMonitor&) = delete;
  NftMonitor& operator=(const NftMonitor&) = delete;

  // Waits up to `timeout` for notifications and returns all that arrived (empty on timeout).
  Result<std::vector<TableChange>> Poll(std::chrono::milliseconds timeout);

 private:
  explicit NftMonitor(std::unique_ptr<NfnlGroup> group) : group_(std::move(group)) {}
  std::unique_ptr<NfnlGroup> group_;
};

}  // namespace ipo::nft
