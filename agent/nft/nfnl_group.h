// NfnlGroup: a netlink socket that listens to one nfnetlink multicast group, read with a
// timeout. Shared by the listeners of the agent's tables (nft_monitor.h, NFNLGRP_NFTABLES)
// and of packet traces (nft_trace.h, NFNLGRP_NFTRACE), which differ only in what they parse.
//
// Thread safety: not thread-safe; one owner.
// REQUIRES: CAP_NET_ADMIN in the network namespace (to join a group).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <libmnl/libmnl.h>

#include "common/status.h"

namespace ipo::nft {

class NfnlGroup {
 public:
  // Opens, binds and joins `group` (an NFNLGRP_*); `what` names it in errors ("the nftables
  // notification group"). rcvbuf_bytes > 0 forces the receive buffer to that size.
  static Result<std::unique_ptr<NfnlGroup>> Open(unsigned group, const std::string& what, int rcvbuf_bytes = 0);
  ~NfnlGroup();
  NfnlGroup(const NfnlGroup&) = delete;
  NfnlGroup& operator=(const NfnlGroup&) = delete;

  // Waits up to `timeout` for messages, then takes what else is already queued, calling
  // on_message for each; `overrun` becomes true when the kernel dropped messages because the
  // buffer was full (ENOBUFS). An error only when the socket fails.
  Status Poll(std::chrono::milliseconds timeout, const std::function<void(const struct nlmsghdr*)>& on_message,
              bool& overrun);

 private:
  explicit NfnlGroup(struct mnl_socket* nl) : nl_(nl), rx_(size_t{256} * 1024) {}
  struct mnl_socket* nl_;
  std::vector<char> rx_;
};

// The name nft gives an NFPROTO_* family: "inet", "ip", "ip6", "arp", "bridge", "netdev",
// else "family<N>".
std::string NfprotoName(uint8_t family);

}  // namespace ipo::nft
