// MnlSocket: an owned NETLINK_NETFILTER socket (libmnl) with extended ACKs and capped ACKs
// enabled, plus the two exchanges the nft backend needs: send one batch and read one ACK per
// message, and run one dump to its end.
//
// Thread safety: not thread-safe; one owner.
// REQUIRES: CAP_NET_ADMIN in the socket's network namespace for anything but dumps.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <libmnl/libmnl.h>

#include "common/status.h"

namespace ipo::nft {

// The kernel's answer to one message of a batch.
struct Ack {
  uint32_t seq = 0;
  int error = 0;          // 0 or a positive errno
  std::string ext_msg;    // NLMSGERR_ATTR_MSG, when the kernel gave one
  int32_t ext_offset = -1;  // NLMSGERR_ATTR_OFFS: byte offset of the bad attribute, or -1
};

class MnlSocket {
 public:
  // Opens and binds the socket. Error names the failing call and errno.
  static Result<std::unique_ptr<MnlSocket>> Open();
  ~MnlSocket();
  MnlSocket(const MnlSocket&) = delete;
  MnlSocket& operator=(const MnlSocket&) = delete;

  uint32_t portid() const { return portid_; }

  // Sequence numbers for what is sent on this socket: NextSeq() for one request, seq() and
  // set_seq() around a batch, which numbers its own messages (netlink_batch.h). They start at
  // the time the socket was opened, as nft's do. A user that numbers its messages itself
  // (conntrack's flusher) may ignore them.
  uint32_t NextSeq() { return seq_++; }
  uint32_t seq() const { return seq_; }
  void set_seq(uint32_t next) { seq_ = next; }

  // Sends `iov` as one datagram (one nfnetlink batch), growing SO_SNDBUF to fit, then reads
  // ACKs until `expected` have arrived; returns them in arrival order. An error ACK for
  // `batch_begin_seq` (e.g. EPERM) ends the wait early.
  Result<std::vector<Ack>> SendBatch(const std::vector<iovec>& iov, size_t expected,
                                     uint32_t batch_begin_seq);

  // Sends one request (a dump or a get) and calls `on_message` for every reply message until
  // NLMSG_DONE (dump) or the single reply (get). on_message returns MNL_CB_OK/STOP/ERROR.
  // A kernel error comes back as a Status with the errno text; ENOENT as kNotFound.
  Status Request(const struct nlmsghdr* request, bool dump,
                 const std::function<int(const struct nlmsghdr*)>& on_message);

 private:
  explicit MnlSocket(struct mnl_socket* nl);
  Status EnsureBuffer(int option, int force_option, size_t bytes);
  // Reads and drops what is left of an abandoned dump.
  void Drain();
  struct mnl_socket* nl_;
  uint32_t portid_;
  uint32_t seq_;
  std::vector<char> rx_;
};

}  // namespace ipo::nft
