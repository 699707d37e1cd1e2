#include "nft/mnl_socket.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace ipo::nft {
namespace {

constexpr size_t kRxBufferSize = size_t{256} * 1024;
constexpr int kAckTimeoutSeconds = 10;

std::string ErrnoText(int err) {
  return std::string(std::strerror(err)) + " (errno " + std::to_string(err) + ")";
}

Status SysError(const std::string& call, int err) {
  Status::Code code = err == EPERM || err == EACCES ? Status::Code::kPermission
                                                    : Status::Code::kUnavailable;
  std::string msg = "netlink " + call + " failed: " + ErrnoText(err);
  return code == Status::Code::kPermission ? Status::Permission(msg) : Status::Unavailable(msg);
}

// Parses the NLMSG_ERROR message `nlh` into an Ack, extended-ACK attributes included.
Ack ParseAck(const struct nlmsghdr* nlh) {
  Ack ack;
  const auto* err = static_cast<const struct nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  ack.seq = err->msg.nlmsg_seq;
  ack.error = -err->error;
  if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) == 0) return ack;
  size_t offset = sizeof(*err);
  if ((nlh->nlmsg_flags & NLM_F_CAPPED) == 0) offset += err->msg.nlmsg_len - sizeof(err->msg);
  const char* payload = static_cast<const char*>(mnl_nlmsg_get_payload(nlh));
  size_t payload_len = mnl_nlmsg_get_payload_len(nlh);
  if (offset >= payload_len) return ack;
  const char* p = payload + offset;
  auto remaining = static_cast<int>(payload_len - offset);
  for (auto* attr = reinterpret_cast<const struct nlattr*>(p);
       mnl_attr_ok(attr, remaining); attr = mnl_attr_next(attr)) {
    remaining -= static_cast<int>(mnl_attr_get_len(attr));
    if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
        mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
      ack.ext_msg = mnl_attr_get_str(attr);
    } else if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_OFFS &&
               mnl_attr_validate(attr, MNL_TYPE_U32) == 0) {
      ack.ext_offset = static_cast<int32_t>(mnl_attr_get_u32(attr));
    }
  }
  return ack;
}

struct AckCollector {
  std::vector<Ack>* acks;
};

int OnError(const struct nlmsghdr* nlh, void* data) {
  static_cast<AckCollector*>(data)->acks->push_back(ParseAck(nlh));
  return MNL_CB_OK;
}

int OnNoop(const struct nlmsghdr*, void*) { return MNL_CB_OK; }

}  // namespace

MnlSocket::MnlSocket(struct mnl_socket* nl)
    : nl_(nl), portid_(mnl_socket_get_portid(nl)), seq_(static_cast<uint32_t>(time(nullptr))) {
  rx_.resize(kRxBufferSize);
}

MnlSocket::~MnlSocket() { mnl_socket_close(nl_); }

Result<std::unique_ptr<MnlSocket>> MnlSocket::Open() {
  struct mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == nullptr) return SysError("socket(NETLINK_NETFILTER)", errno);
  // Owned from here on, so every early return closes it.
  std::unique_ptr<MnlSocket> sock(new MnlSocket(nl));
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) return SysError("bind", errno);
  sock->portid_ = mnl_socket_get_portid(nl);
  int on = 1;
  // Best effort: old kernels lack them, and errors are still reported without.
  (void)mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &on, sizeof(on));
  (void)mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &on, sizeof(on));
  struct timeval tv {kAckTimeoutSeconds, 0};
  if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
    return SysError("setsockopt(SO_RCVTIMEO)", errno);
  }
  return sock;
}

Status MnlSocket::EnsureBuffer(int option, int force_option, size_t bytes) {
  int fd = mnl_socket_get_fd(nl_);
  int current = 0;
  socklen_t len = sizeof(current);
  if (getsockopt(fd, SOL_SOCKET, option, &current, &len) == 0 &&
      static_cast<size_t>(current) >= bytes) {
    return Status::Ok();
  }
  int want = static_cast<int>(bytes);
  if (setsockopt(fd, SOL_SOCKET, force_option, &want, sizeof(want)) == 0) return Status::Ok();
  if (setsockopt(fd, SOL_SOCKET, option, &want, sizeof(want)) == 0) return Status::Ok();
  return SysError("setsockopt(socket buffer " + std::to_string(bytes) + " bytes)", errno);
}

Result<std::vector<Ack>> MnlSocket::SendBatch(const std::vector<iovec>& iov, size_t expected,
                                              uint32_t batch_begin_seq) {
  size_t total = 0;
  for (const iovec& v : iov) total += v.iov_len;
  // The whole batch must fit in one skb; the kernel caps a datagram at the send buffer.
  IPO_RETURN_IF_ERROR(EnsureBuffer(SO_SNDBUF, SO_SNDBUFFORCE, total + 4096));
  // Room for every ACK at once (each is a few dozen bytes, more with an extack message).
  IPO_RETURN_IF_ERROR(EnsureBuffer(SO_RCVBUF, SO_RCVBUFFORCE, expected * 512 + 65536));

  struct sockaddr_nl snl {};
  snl.nl_family = AF_NETLINK;
  struct msghdr msg {};
  msg.msg_name = &snl;
  msg.msg_namelen = sizeof(snl);
  msg.msg_iov = const_cast<iovec*>(iov.data());
  msg.msg_iovlen = iov.size();
  ssize_t sent = sendmsg(mnl_socket_get_fd(nl_), &msg, 0);
  if (sent < 0) return SysError("sendmsg of a " + std::to_string(total) + "-byte batch", errno);

  std::vector<Ack> acks;
  AckCollector collector{&acks};
  mnl_cb_t ctl[NLMSG_MIN_TYPE] = {};
  ctl[NLMSG_NOOP] = OnNoop;
  ctl[NLMSG_ERROR] = OnError;
  while (acks.size() < expected) {
    ssize_t n = mnl_socket_recvfrom(nl_, rx_.data(), rx_.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return Status::Unavailable("no answer from the kernel for " +
                                   std::to_string(expected - acks.size()) + " of " +
                                   std::to_string(expected) + " batch messages");
      }
      return SysError("recv of batch acknowledgements", errno);
    }
    // seq 0: acks carry the sequence number of their own message, checked by the caller.
    if (mnl_cb_run2(rx_.data(), static_cast<size_t>(n), 0, portid_, nullptr, &collector, ctl,
                    NLMSG_MIN_TYPE) < 0) {
      return SysError("parse of batch acknowledgements", errno);
    }
    for (const Ack& a : acks) {
      if (a.seq == batch_begin_seq && a.error != 0) return acks;
    }
  }
  return acks;
}

void MnlSocket::Drain() {
  // Each recv lets the kernel produce the next part of a dump; stop when it has no more.
  int fd = mnl_socket_get_fd(nl_);
  while (true) {
    ssize_t got = recv(fd, rx_.data(), rx_.size(), MSG_DONTWAIT);
    if (got <= 0) return;
    int len = static_cast<int>(got);
    for (auto* nlh = reinterpret_cast<const struct nlmsghdr*>(rx_.data()); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR) return;
    }
  }
}

Status MnlSocket::Request(const struct nlmsghdr* request, bool dump,
                          const std::function<int(const struct nlmsghdr*)>& on_message) {
  if (mnl_socket_sendto(nl_, request, request->nlmsg_len) < 0) return SysError("sendto", errno);
  struct Ctx {
    const std::function<int(const struct nlmsghdr*)>* fn;
  } ctx{&on_message};
  auto cb = [](const struct nlmsghdr* nlh, void* data) -> int {
    return (*static_cast<Ctx*>(data)->fn)(nlh);
  };
  while (true) {
    ssize_t n = mnl_socket_recvfrom(nl_, rx_.data(), rx_.size());
    if (n < 0) return SysError("recv", errno);
    int ret = mnl_cb_run(rx_.data(), static_cast<size_t>(n), request->nlmsg_seq, portid_, cb, &ctx);
    if (ret < 0) {
      int err = errno;
      if (dump) Drain();  // the rest of the dump must not answer the next request
      if (err == ENOENT) return Status::NotFound("kernel: " + ErrnoText(err));
      return Status::Internal("kernel answered a request with " + ErrnoText(err));
    }
    if (ret == MNL_CB_STOP || !dump) return Status::Ok();
  }
}

}  // namespace ipo::nft
