#include "nft/nft_trace.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <libnftnl/trace.h>


namespace ipo::nft {
namespace {

struct TraceDeleter {
  void operator()(nftnl_trace* t) const { nftnl_trace_free(t); }
};

std::string VerdictName(uint32_t v) {
  switch (static_cast<int32_t>(v)) {
    case NF_ACCEPT: return "accept";
    case NF_DROP: return "drop";
    case NFT_CONTINUE: return "continue";
    case NFT_BREAK: return "break";
    case NFT_JUMP: return "jump";
    case NFT_GOTO: return "goto";
    case NFT_RETURN: return "return";
    default: return "verdict " + std::to_string(v);
  }
}

const char* FamilyText(uint8_t f) {
  switch (f) {
    case NFPROTO_INET: return "inet";
    case NFPROTO_IPV4: return "ip";
    case NFPROTO_IPV6: return "ip6";
    case NFPROTO_BRIDGE: return "bridge";
    default: return "?";
  }
}

}  // namespace

std::string TraceEvent::ToString() const {
  std::string out = std::string(FamilyText(family)) + " " + table + " " + chain + " " + type;
  if (type == "rule") out += " " + std::to_string(handle);
  if (!verdict.empty()) out += ": " + verdict + (jump_target.empty() ? "" : " " + jump_target);
  return out;
}

std::optional<TraceEvent> ParseTrace(const struct nlmsghdr* nlh) {
  if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES || NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_TRACE)
    return std::nullopt;
  std::unique_ptr<nftnl_trace, TraceDeleter> t(nftnl_trace_alloc());
  if (!t || nftnl_trace_nlmsg_parse(nlh, t.get()) < 0) return std::nullopt;
  TraceEvent e;
  auto str = [&](uint16_t attr) -> std::string {
    if (!nftnl_trace_is_set(t.get(), attr)) return "";
    const char* s = nftnl_trace_get_str(t.get(), attr);
    return s != nullptr ? s : "";
  };
  e.id = nftnl_trace_is_set(t.get(), NFTNL_TRACE_ID) ? nftnl_trace_get_u32(t.get(), NFTNL_TRACE_ID) : 0;
  e.family = nftnl_trace_is_set(t.get(), NFTNL_TRACE_FAMILY)
                 ? static_cast<uint8_t>(nftnl_trace_get_u32(t.get(), NFTNL_TRACE_FAMILY))
                 : 0;
  e.table = str(NFTNL_TRACE_TABLE);
  e.chain = str(NFTNL_TRACE_CHAIN);
  uint32_t type = nftnl_trace_is_set(t.get(), NFTNL_TRACE_TYPE) ? nftnl_trace_get_u32(t.get(), NFTNL_TRACE_TYPE) : 0;
  e.type = type == NFT_TRACETYPE_RULE ? "rule" : type == NFT_TRACETYPE_RETURN ? "return"
         : type == NFT_TRACETYPE_POLICY ? "policy" : "other";
  if (nftnl_trace_is_set(t.get(), NFTNL_TRACE_RULE_HANDLE)) e.handle = nftnl_trace_get_u64(t.get(), NFTNL_TRACE_RULE_HANDLE);
  if (nftnl_trace_is_set(t.get(), NFTNL_TRACE_VERDICT)) e.verdict = VerdictName(nftnl_trace_get_u32(t.get(), NFTNL_TRACE_VERDICT));
  if (nftnl_trace_is_set(t.get(), NFTNL_TRACE_POLICY)) e.verdict = VerdictName(nftnl_trace_get_u32(t.get(), NFTNL_TRACE_POLICY));
  e.jump_target = str(NFTNL_TRACE_JUMP_TARGET);
  return e;
}

Result<std::unique_ptr<NftTrace>> NftTrace::Open() {
  struct mnl_socket* nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (!nl) return Status::Unavailable(std::string("netlink socket: ") + std::strerror(errno));
  std::unique_ptr<NftTrace> t(new NftTrace(nl));
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
    return Status::Unavailable(std::string("netlink bind: ") + std::strerror(errno));
  int group = NFNLGRP_NFTRACE;
  if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
    int err = errno;
    std::string msg = std::string("joining the nftables trace group: ") + std::strerror(err);
    return err == EPERM ? Status::Permission(msg) : Status::Unavailable(msg);
  }
  return t;
}

NftTrace::~NftTrace() { mnl_socket_close(nl_); }

Result<std::vector<TraceEvent>> NftTrace::Poll(std::chrono::milliseconds timeout) {
  std::vector<TraceEvent> out;
  struct pollfd pfd{mnl_socket_get_fd(nl_), POLLIN, 0};
  int wait_ms = static_cast<int>(timeout.count());
  while (true) {
    int r = poll(&pfd, 1, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::Unavailable(std::string("poll: ") + std::strerror(errno));
    if (r == 0) return out;
    ssize_t n = recv(mnl_socket_get_fd(nl_), rx_.data(), rx_.size(), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR || errno == ENOBUFS)) {
      // nothing after all, or events lost to a full buffer (the caller sees a short path)
    } else if (n < 0) {
      return Status::Unavailable(std::string("netlink recv: ") + std::strerror(errno));
    } else {
      auto len = static_cast<int>(n);
      for (const auto* nlh = reinterpret_cast<const struct nlmsghdr*>(rx_.data()); mnl_nlmsg_ok(nlh, len);
           nlh = mnl_nlmsg_next(nlh, &len)) {
        if (auto e = ParseTrace(nlh)) out.push_back(std::move(*e));
      }
    }
    wait_ms = 0;
  }
}

}  // namespace ipo::nft
