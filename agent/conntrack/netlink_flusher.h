// NetlinkFlusher: the Flusher over ctnetlink (NETLINK_NETFILTER, subsystem CTNETLINK) through
// the agent's own libmnl socket (nft/mnl_socket.h): no other library. One Flush() is one dump
// of the whole table (both families), filtered here, then one DELETE per matching entry,
// sent in a few datagrams (up to kDeletesPerDatagram messages each) with one ACK each. A
// DELETE names the entry by its original tuple, zone and id, so a newer flow that reused
// the tuple in between is never removed.
//
// Thread safety: not thread-safe; one owner.
// REQUIRES: CAP_NET_ADMIN in the network namespace the socket was opened in (the agent's);
// the kernel's nf_conntrack_netlink (autoloaded on first use where modules are loadable).
#pragma once

#include <memory>
#include <vector>

#include "conntrack/flusher.h"
#include "nft/mnl_socket.h"

namespace ipo::conntrack {

class NetlinkFlusher final : public Flusher {
 public:
  static constexpr size_t kDeletesPerDatagram = 256;

  // Opens the socket in the caller's network namespace.
  static Result<std::unique_ptr<NetlinkFlusher>> Open();

  Result<FlushResult> Flush(const std::vector<Target>& targets) override;
  // Every tracked flow (both families), for tests and diagnostics.
  Result<std::vector<Entry>> Dump();

 private:
  explicit NetlinkFlusher(std::unique_ptr<nft::MnlSocket> sock) : sock_(std::move(sock)) {}
  std::unique_ptr<nft::MnlSocket> sock_;
  uint32_t seq_ = 1;
};

}  // namespace ipo::conntrack
