// NetlinkBatch: one nfnetlink transaction being built (NFNL_MSG_BATCH_BEGIN, messages,
// NFNL_MSG_BATCH_END) in a libnftnl batch, with a description of the object every message
// touches, so that the kernel's error for sequence number N names "add rule inet ipo_netd
// filter-forward #3 (…)" instead of a number.
//
// Every message carries NLM_F_ACK and every ACK is read back. Commit(check_only=true) leaves
// out BATCH_END: the kernel validates every message, then aborts the transaction.
//
// Thread safety: not thread-safe; one owner.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "nft/mnl_socket.h"
#include "nft/nftnl_handles.h"

namespace ipo::nft {

class NetlinkBatch {
 public:
  // `first_seq`: the sequence number of BATCH_BEGIN; messages follow it.
  explicit NetlinkBatch(uint32_t first_seq);

  // Appends one message: its header (type is an NFT_MSG_*, flags get NLM_F_REQUEST|NLM_F_ACK
  // added) and the payload written by `build` into it.
  void Add(uint16_t msg_type, uint16_t family, uint16_t flags, std::string description,
           const std::function<void(struct nlmsghdr*)>& build);

  size_t message_count() const { return descriptions_.size(); }
  size_t byte_count() const;
  // The sequence number the next batch should start at.
  uint32_t next_seq() const { return next_seq_ + 1; }

  // Ends the batch (unless check_only), sends it and reads every ACK. On failure the Status
  // names the first failing message: `<verb> <object>: <strerror> (errno N)[: <extack>]`,
  // plus how many other messages failed.
  Status Send(MnlSocket& sock, bool check_only);

 private:
  BatchPtr batch_;
  uint32_t begin_seq_;
  uint32_t next_seq_;
  std::vector<std::string> descriptions_;  // [seq - begin_seq_ - 1]
};

}  // namespace ipo::nft
