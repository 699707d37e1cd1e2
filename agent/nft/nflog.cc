// Nflog: parsing of nfnetlink_log packet messages, and the listener that binds a group. See
// nflog.h for the contract.
#include "nft/nflog.h"

#include <arpa/inet.h>
#include <endian.h>
#include <linux/if_ether.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace ipo::nft {
namespace {

constexpr uint16_t kPacketType = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
constexpr uint16_t kConfigType = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
// Where the attributes of an nfnetlink message start: header, then the padded nfgenmsg.
constexpr size_t kAttrsOffset = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg));
// A kernel batch is at most 128 KiB (nfnetlink_log's skb limit); one message at most ~64 KiB.
constexpr size_t kRxBufferSize = size_t{128} * 1024 + 4096;
constexpr int kAckTimeoutMs = 5000;
// An out-of-range NFPROTO_* for the permission probe: PF_UNBIND of it is a no-op that still
// needs CAP_NET_ADMIN (nfnetlink checks it before any command; nf_log_unbind_pf ignores
// families >= NFPROTO_NUMPROTO).
constexpr uint8_t kNoFamily = 0xff;
// NFULA_TIMESTAMP values before 2000-01-01 or after 2100-01-01 are not wall-clock times (a
// monotonic delivery time, say); the caller stamps the receive time instead.
constexpr uint64_t kMinPlausibleSeconds = 946684800;
constexpr uint64_t kMaxPlausibleSeconds = 4102444800;

uint16_t Be16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return ntohs(v);
}

uint32_t Be32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return ntohl(v);
}

uint64_t Be64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return be64toh(v);
}

std::string AddressText(int af, const uint8_t* addr) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  if (inet_ntop(af, addr, buf.data(), buf.size()) == nullptr) return "";
  return buf.data();
}

// Ports of a TCP or UDP header at `l4` (`len` bytes of it present); none when shorter than
// the two port fields.
void ParsePorts(const uint8_t* l4, size_t len, NflogPacket& out) {
  if (out.l4proto != IPPROTO_TCP && out.l4proto != IPPROTO_UDP) return;
  if (len < 4) return;
  out.sport = Be16(l4);
  out.dport = Be16(l4 + 2);
}

void ParseIpv4(const uint8_t* data, size_t len, NflogPacket& out) {
  constexpr size_t kFixed = 20;
  if (len < kFixed) return;
  const size_t ihl = size_t{data[0] & 0x0fU} * 4;
  if (ihl < kFixed) return;  // not a valid header: nothing in it can be trusted
  out.src = AddressText(AF_INET, data + 12);
  out.dst = AddressText(AF_INET, data + 16);
  out.l4proto = data[9];
  out.sport = out.dport = 0;
  const size_t total = Be16(data + 2);
  // 0: a big (GSO) packet whose total does not fit 16 bits; then the copy is all we know.
  if (total != 0 && total < ihl) return;
  if (total != 0 && total < len) len = total;
  if ((Be16(data + 6) & 0x1fffU) != 0) return;  // a later fragment: no L4 header
  if (len < ihl) return;                        // options cut off by the copy range
  ParsePorts(data + ihl, len - ihl, out);
}

void ParseIpv6(const uint8_t* data, size_t len, NflogPacket& out) {
  constexpr size_t kFixed = 40;
  if (len < kFixed) return;
  out.src = AddressText(AF_INET6, data + 8);
  out.dst = AddressText(AF_INET6, data + 24);
  out.l4proto = 0;
  out.sport = out.dport = 0;
  const size_t payload = Be16(data + 4);
  if (payload != 0 && kFixed + payload < len) len = kFixed + payload;
  uint8_t next = data[6];
  size_t off = kFixed;
  // Each extension header takes at least 8 bytes, so the walk ends within len / 8 steps.
  while (true) {
    const size_t left = len - off;
    switch (next) {
      case IPPROTO_HOPOPTS:
      case IPPROTO_ROUTING:
      case IPPROTO_DSTOPTS:
      case IPPROTO_AH: {
        if (left < 8) return;
        const size_t hlen = next == IPPROTO_AH ? (size_t{data[off + 1]} + 2) * 4 : (size_t{data[off + 1]} + 1) * 8;
        if (left < hlen) return;
        next = data[off];
        off += hlen;
        break;
      }
      case IPPROTO_FRAGMENT: {
        if (left < 8) return;
        const bool later = (Be16(data + off + 2) & 0xfff8U) != 0;
        next = data[off];
        off += 8;
        if (later) {  // a later fragment: no L4 header, but the fragment header names it
          out.l4proto = next;
          return;
        }
        break;
      }
      default:
        out.l4proto = next;
        ParsePorts(data + off, len - off, out);
        return;
    }
  }
}

std::string ProtoName(uint8_t proto) {
  switch (proto) {
    case IPPROTO_ICMP: return "icmp";
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_ICMPV6: return "icmpv6";
    case IPPROTO_SCTP: return "sctp";
    case IPPROTO_GRE: return "gre";
    case IPPROTO_ESP: return "esp";
    default: return "proto " + std::to_string(proto);
  }
}

// Reads one datagram into `rx` without waiting; returns its length, 0 when it was not from the
// kernel (a local process may unicast to our port id) or did not fit, -1 with errno set.
ssize_t RecvFromKernel(int fd, std::vector<char>& rx) {
  struct sockaddr_nl from {};
  struct iovec iov {rx.data(), rx.size()};
  struct msghdr msg {};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof(from);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
  if (n < 0) return -1;
  if (from.nl_pid != 0 || (msg.msg_flags & MSG_TRUNC) != 0) return 0;
  return n;
}

}  // namespace

std::string NflogPacket::ToString() const {
  std::string out;
  if (src.empty()) {
    std::array<char, 8> hex{};
    std::snprintf(hex.data(), hex.size(), "%04x", hw_protocol);
    out = std::string("non-IP packet (ethertype 0x") + hex.data() + ")";
  } else {
    const bool v6 = src.find(':') != std::string::npos;
    const bool ports = sport != 0 || dport != 0;
    auto end = [&](const std::string& addr, uint16_t port) {
      if (!ports) return addr;
      return (v6 ? "[" + addr + "]" : addr) + ":" + std::to_string(port);
    };
    out = end(src, sport) + " -> " + end(dst, dport);
    if (l4proto != 0) out += " " + ProtoName(l4proto);
  }
  if (!prefix.empty()) out += " [" + prefix + "]";
  return out;
}

void ParseNflogPayload(const uint8_t* data, size_t len, NflogPacket& out) {
  if (data == nullptr || len == 0) return;
  switch (data[0] >> 4) {
    case 4: ParseIpv4(data, len, out); break;
    case 6: ParseIpv6(data, len, out); break;
    default: break;
  }
}

std::optional<NflogPacket> ParseNflog(const struct nlmsghdr* nlh) {
  if (nlh == nullptr || nlh->nlmsg_type != kPacketType) return std::nullopt;
  const size_t len = nlh->nlmsg_len;
  if (len < kAttrsOffset) return std::nullopt;
  const auto* base = reinterpret_cast<const uint8_t*>(nlh);
  struct nfgenmsg gen {};
  std::memcpy(&gen, base + MNL_NLMSG_HDRLEN, sizeof gen);
  NflogPacket p;
  p.family = gen.nfgen_family;
  p.group = ntohs(gen.res_id);
  bool have_hdr = false;
  const uint8_t* payload = nullptr;
  size_t payload_len = 0;
  // Offsets, not pointers (nor mnl_attr_for_each): the last attribute's padding may run past
  // the message's end, and so past the buffer.
  size_t off = kAttrsOffset;
  while (off < len) {
    if (len - off < MNL_ATTR_HDRLEN) return std::nullopt;
    struct nlattr attr {};
    std::memcpy(&attr, base + off, sizeof attr);
    if (attr.nla_len < MNL_ATTR_HDRLEN || attr.nla_len > len - off) return std::nullopt;
    const uint8_t* v = base + off + MNL_ATTR_HDRLEN;
    const size_t vlen = attr.nla_len - MNL_ATTR_HDRLEN;
    switch (attr.nla_type & NLA_TYPE_MASK) {
      case NFULA_PACKET_HDR:
        if (vlen < sizeof(struct nfulnl_msg_packet_hdr)) return std::nullopt;
        p.hw_protocol = Be16(v);
        p.hook = v[2];
        have_hdr = true;
        break;
      case NFULA_PREFIX: {
        const void* nul = std::memchr(v, 0, vlen);
        const size_t n = nul == nullptr ? vlen : static_cast<size_t>(static_cast<const uint8_t*>(nul) - v);
        p.prefix.assign(reinterpret_cast<const char*>(v), n);
        break;
      }
      case NFULA_TIMESTAMP: {
        if (vlen < sizeof(struct nfulnl_msg_packet_timestamp)) return std::nullopt;
        const uint64_t sec = Be64(v);
        const uint64_t usec = Be64(v + 8);
        p.unix_nanos = sec >= kMinPlausibleSeconds && sec < kMaxPlausibleSeconds && usec < 1000000
                           ? static_cast<int64_t>(sec * 1000000000 + usec * 1000)
                           : 0;
        break;
      }
      case NFULA_IFINDEX_INDEV:
        if (vlen < sizeof(uint32_t)) return std::nullopt;
        p.indev = Be32(v);
        break;
      case NFULA_IFINDEX_OUTDEV:
        if (vlen < sizeof(uint32_t)) return std::nullopt;
        p.outdev = Be32(v);
        break;
      case NFULA_PAYLOAD:
        payload = v;
        payload_len = vlen;
        break;
      default:
        break;
    }
    off += MNL_ALIGN(size_t{attr.nla_len});
  }
  if (!have_hdr) return std::nullopt;
  // Another ethertype (ARP in a bridge or netdev chain) is not an IP header, whatever its
  // first nibble says.
  if (p.hw_protocol == 0 || p.hw_protocol == ETH_P_IP || p.hw_protocol == ETH_P_IPV6)
    ParseNflogPayload(payload, payload_len, p);
  return p;
}

NflogListener::NflogListener(struct mnl_socket* nl, uint16_t group)
    : nl_(nl), group_(group), seq_(static_cast<uint32_t>(time(nullptr))), rx_(kRxBufferSize) {}

NflogListener::~NflogListener() {
  if (bound_) {
    // Best effort and unacknowledged: closing the socket destroys the instance anyway.
    alignas(struct nlmsghdr) std::array<char, 256> buf{};
    struct nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = kConfigType;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    nlh->nlmsg_seq = ++seq_;
    auto* gen = static_cast<struct nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg)));
    gen->nfgen_family = AF_UNSPEC;
    gen->version = NFNETLINK_V0;
    gen->res_id = htons(group_);
    struct nfulnl_msg_config_cmd cmd {NFULNL_CFG_CMD_UNBIND};
    mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof cmd, &cmd);
    (void)mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len);
  }
  mnl_socket_close(nl_);
}

Result<int> NflogListener::Configure(uint8_t family, const std::function<void(struct nlmsghdr*)>& fill) {
  alignas(struct nlmsghdr) std::array<char, 256> buf{};
  struct nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = kConfigType;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  const uint32_t seq = ++seq_;
  nlh->nlmsg_seq = seq;
  auto* gen = static_cast<struct nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg)));
  gen->nfgen_family = family;
  gen->version = NFNETLINK_V0;
  gen->res_id = htons(group_);
  fill(nlh);
  if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0)
    return Status::Unavailable(std::string("netlink send: ") + std::strerror(errno));

  // Log messages may arrive before the ack once the group is bound; they are dropped here.
  const int fd = mnl_socket_get_fd(nl_);
  struct pollfd pfd {fd, POLLIN, 0};
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(kAckTimeoutMs);
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    int r = poll(&pfd, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::Unavailable(std::string("poll: ") + std::strerror(errno));
    if (r == 0) break;
    ssize_t n = RecvFromKernel(fd, rx_);
    if (n < 0 && (errno == EAGAIN || errno == EINTR || errno == ENOBUFS)) continue;
    if (n < 0) return Status::Unavailable(std::string("netlink recv: ") + std::strerror(errno));
    auto rest = static_cast<int>(n);
    for (const auto* m = reinterpret_cast<const struct nlmsghdr*>(rx_.data()); mnl_nlmsg_ok(m, rest);
         m = mnl_nlmsg_next(m, &rest)) {
      if (m->nlmsg_type != NLMSG_ERROR || m->nlmsg_seq != seq) continue;
      if (mnl_nlmsg_get_payload_len(m) < sizeof(struct nlmsgerr)) continue;
      struct nlmsgerr err {};
      std::memcpy(&err, mnl_nlmsg_get_payload(m), sizeof err);
      return -err.error;
    }
  }
  return Status::Unavailable("no answer from the kernel within " + std::to_string(kAckTimeoutMs / 1000) + " s");
}

Result<std::unique_ptr<NflogListener>> NflogListener::Open(uint16_t group, const NflogOptions& opt) {
  const std::string name = "nflog group " + std::to_string(group);
  struct mnl_socket* nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (nl == nullptr) return Status::Unavailable(name + ": netlink socket: " + std::strerror(errno));
  // Owned from here on, so every early return closes it (and unbinds once bound).
  std::unique_ptr<NflogListener> l(new NflogListener(nl, group));
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
    return Status::Unavailable(name + ": netlink bind: " + std::strerror(errno));
  if (opt.rcvbuf_bytes > 0) {
    const int fd = mnl_socket_get_fd(nl);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &opt.rcvbuf_bytes, sizeof opt.rcvbuf_bytes) < 0)
      (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &opt.rcvbuf_bytes, sizeof opt.rcvbuf_bytes);  // capped
  }

  auto bind = l->Configure(AF_UNSPEC, [](struct nlmsghdr* nlh) {
    struct nfulnl_msg_config_cmd cmd {NFULNL_CFG_CMD_BIND};
    mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof cmd, &cmd);
  });
  if (!bind.ok()) return bind.status().WithContext("binding " + name);
  if (*bind == EPERM) {
    // The kernel answers EPERM both without CAP_NET_ADMIN and when another socket holds the
    // group; a command that needs only the capability tells them apart.
    auto probe = l->Configure(kNoFamily, [](struct nlmsghdr* nlh) {
      struct nfulnl_msg_config_cmd cmd {NFULNL_CFG_CMD_PF_UNBIND};
      mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof cmd, &cmd);
    });
    if (probe.ok() && *probe == 0) return Status::Unavailable(name + " is bound by another process");
    return Status::Permission("binding " + name + ": " + std::strerror(EPERM) + " (CAP_NET_ADMIN needed)");
  }
  if (*bind == EBUSY || *bind == EEXIST) return Status::Unavailable(name + " is bound by another process");
  if (*bind != 0) return Status::Unavailable("binding " + name + ": " + std::strerror(*bind));
  l->bound_ = true;

  auto config = l->Configure(AF_UNSPEC, [&opt](struct nlmsghdr* nlh) {
    struct nfulnl_msg_config_mode mode {};
    mode.copy_range = htonl(opt.copy_bytes);
    mode.copy_mode = NFULNL_COPY_PACKET;
    mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof mode, &mode);
    mnl_attr_put_u32(nlh, NFULA_CFG_TIMEOUT, htonl(opt.flush_centis));
    mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(opt.qthresh));
  });
  if (!config.ok()) return config.status().WithContext("configuring " + name);
  if (*config != 0) return Status::Unavailable("configuring " + name + ": " + std::strerror(*config));
  return l;
}

Status NflogListener::Poll(std::chrono::milliseconds timeout,
                           const std::function<void(const NflogPacket&)>& on_packet, bool& overrun,
                           int max_reads) {
  const int fd = mnl_socket_get_fd(nl_);
  struct pollfd pfd {fd, POLLIN, 0};
  int wait_ms = static_cast<int>(timeout.count());
  for (int reads = 0; reads < max_reads; ++reads) {
    int r = poll(&pfd, 1, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::Unavailable(std::string("poll: ") + std::strerror(errno));
    if (r == 0) return Status::Ok();
    ssize_t n = RecvFromKernel(fd, rx_);
    if (n < 0 && errno == ENOBUFS) {
      overrun = true;
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      // nothing after all
    } else if (n < 0) {
      return Status::Unavailable("nflog group " + std::to_string(group_) + ": netlink recv: " + std::strerror(errno));
    } else {
      // One message per packet; a batch of several ends with NLMSG_DONE (older kernels also set
      // NLM_F_MULTI on each). Anything that does not parse is skipped.
      auto left = static_cast<int>(n);
      for (const auto* m = reinterpret_cast<const struct nlmsghdr*>(rx_.data()); mnl_nlmsg_ok(m, left);
           m = mnl_nlmsg_next(m, &left)) {
        if (m->nlmsg_type == NLMSG_DONE) break;
        if (auto p = ParseNflog(m)) on_packet(*p);
      }
    }
    wait_ms = 0;  // drain what is already queued, then return
  }
  return Status::Ok();
}

}  // namespace ipo::nft
