#include "nft/nft_monitor.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace ipo::nft {
namespace {

// The verb and object of an NFT_MSG_* notification, e.g. "delete table".
std::string Describe(uint16_t msg) {
  switch (msg) {
    case NFT_MSG_NEWTABLE: return "add table";
    case NFT_MSG_DELTABLE: return "delete table";
    case NFT_MSG_NEWCHAIN: return "add chain in";
    case NFT_MSG_DELCHAIN: return "delete chain in";
    case NFT_MSG_NEWRULE: return "add rule in";
    case NFT_MSG_DELRULE: return "delete rule in";
    case NFT_MSG_NEWSET: return "add set in";
    case NFT_MSG_DELSET: return "delete set in";
    case NFT_MSG_NEWSETELEM: return "add element in";
    case NFT_MSG_DELSETELEM: return "delete element in";
    default: return "change (message " + std::to_string(msg) + ") in";
  }
}

std::string FamilyText(uint8_t f) {
  switch (f) {
    case NFPROTO_INET: return "inet";
    case NFPROTO_IPV4: return "ip";
    case NFPROTO_IPV6: return "ip6";
    case NFPROTO_ARP: return "arp";
    case NFPROTO_BRIDGE: return "bridge";
    case NFPROTO_NETDEV: return "netdev";
    default: return "family" + std::to_string(f);
  }
}

}  // namespace

std::string TableChange::ToString() const {
  if (overrun) return "notifications lost (socket buffer overrun)";
  return Describe(msg) + " " + FamilyText(family) + " " + table + " (netlink port " + std::to_string(portid) + ")";
}

std::optional<TableChange> ParseNotification(const struct nlmsghdr* nlh) {
  if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES) return std::nullopt;
  auto msg = static_cast<uint16_t>(NFNL_MSG_TYPE(nlh->nlmsg_type));
  if (msg == NFT_MSG_NEWGEN) return std::nullopt;
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nfgenmsg)) return std::nullopt;
  const auto* gen = static_cast<const struct nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
  // Attribute 1 is the table name in every object message: NFTA_TABLE_NAME,
  // NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE, NFTA_SET_ELEM_LIST_TABLE, NFTA_OBJ_TABLE.
  std::optional<std::string> table;
  const auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  for (const auto* attr = static_cast<const struct nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(struct nfgenmsg)));
       mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr))); attr = mnl_attr_next(attr)) {
    if (mnl_attr_get_type(attr) == 1 && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
      table = mnl_attr_get_str(attr);
      break;
    }
  }
  if (!table) return std::nullopt;
  return TableChange{gen->nfgen_family, *table, msg, nlh->nlmsg_pid, false};
}

Result<std::unique_ptr<NftMonitor>> NftMonitor::Open() {
  struct mnl_socket* nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (!nl) return Status::Unavailable(std::string("netlink socket: ") + std::strerror(errno));
  std::unique_ptr<NftMonitor> m(new NftMonitor(nl));
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
    return Status::Unavailable(std::string("netlink bind: ") + std::strerror(errno));
  int group = NFNLGRP_NFTABLES;
  if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
    int err = errno;
    std::string msg = std::string("joining the nftables notification group: ") + std::strerror(err);
    return err == EPERM ? Status::Permission(msg) : Status::Unavailable(msg);
  }
  // Room for the notifications of a large batch; the agent's own 10k-element applies are
  // read and skipped, and an overflow only costs one extra drift check.
  int rcvbuf = 4 * 1024 * 1024;
  setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  return m;
}

NftMonitor::~NftMonitor() { mnl_socket_close(nl_); }

Result<std::vector<TableChange>> NftMonitor::Poll(std::chrono::milliseconds timeout) {
  std::vector<TableChange> out;
  struct pollfd pfd{mnl_socket_get_fd(nl_), POLLIN, 0};
  int wait_ms = static_cast<int>(timeout.count());
  while (true) {
    int r = poll(&pfd, 1, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::Unavailable(std::string("poll: ") + std::strerror(errno));
    if (r == 0) return out;
    ssize_t n = recv(mnl_socket_get_fd(nl_), rx_.data(), rx_.size(), MSG_DONTWAIT);
    if (n < 0 && errno == ENOBUFS) {
      out.push_back(TableChange{0, "", 0, 0, true});
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      // nothing after all
    } else if (n < 0) {
      return Status::Unavailable(std::string("netlink recv: ") + std::strerror(errno));
    } else {
      auto len = static_cast<int>(n);
      for (const auto* nlh = reinterpret_cast<const struct nlmsghdr*>(rx_.data()); mnl_nlmsg_ok(nlh, len);
           nlh = mnl_nlmsg_next(nlh, &len)) {
        if (auto c = ParseNotification(nlh)) out.push_back(std::move(*c));
      }
    }
    wait_ms = 0;  // drain what is already queued, then return
  }
}

}  // namespace ipo::nft
