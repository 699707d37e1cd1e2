#include "nft/nfnl_group.h"

#include <linux/netfilter.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace ipo::nft {

Result<std::unique_ptr<NfnlGroup>> NfnlGroup::Open(unsigned group, const std::string& what, int rcvbuf_bytes) {
  struct mnl_socket* nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (!nl) return Status::Unavailable(std::string("netlink socket: ") + std::strerror(errno));
  std::unique_ptr<NfnlGroup> g(new NfnlGroup(nl));
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
    return Status::Unavailable(std::string("netlink bind: ") + std::strerror(errno));
  if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
    int err = errno;
    std::string msg = "joining " + what + ": " + std::strerror(err);
    return err == EPERM ? Status::Permission(msg) : Status::Unavailable(msg);
  }
  if (rcvbuf_bytes > 0) setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf_bytes, sizeof rcvbuf_bytes);
  return g;
}

NfnlGroup::~NfnlGroup() { mnl_socket_close(nl_); }

Status NfnlGroup::Poll(std::chrono::milliseconds timeout,
                       const std::function<void(const struct nlmsghdr*)>& on_message, bool& overrun) {
  struct pollfd pfd{mnl_socket_get_fd(nl_), POLLIN, 0};
  int wait_ms = static_cast<int>(timeout.count());
  while (true) {
    int r = poll(&pfd, 1, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::Unavailable(std::string("poll: ") + std::strerror(errno));
    if (r == 0) return Status::Ok();
    ssize_t n = recv(mnl_socket_get_fd(nl_), rx_.data(), rx_.size(), MSG_DONTWAIT);
    if (n < 0 && errno == ENOBUFS) {
      overrun = true;
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      // nothing after all
    } else if (n < 0) {
      return Status::Unavailable(std::string("netlink recv: ") + std::strerror(errno));
    } else {
      auto len = static_cast<int>(n);
      for (const auto* nlh = reinterpret_cast<const struct nlmsghdr*>(rx_.data()); mnl_nlmsg_ok(nlh, len);
           nlh = mnl_nlmsg_next(nlh, &len)) {
        on_message(nlh);
      }
    }
    wait_ms = 0;  // drain what is already queued, then return
  }
}

std::string NfprotoName(uint8_t family) {
  switch (family) {
    case NFPROTO_INET: return "inet";
    case NFPROTO_IPV4: return "ip";
    case NFPROTO_IPV6: return "ip6";
    case NFPROTO_ARP: return "arp";
    case NFPROTO_BRIDGE: return "bridge";
    case NFPROTO_NETDEV: return "netdev";
    default: return "family" + std::to_string(family);
  }
}

}  // namespace ipo::nft
