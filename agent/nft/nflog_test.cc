// Nflog: ParseNflog on hand-built NFULNL_MSG_PACKET messages (good ones, and truncated, bogus
// or foreign ones, which must be refused without reading out of bounds); and, tagged [kernel],
// NflogListener against the real kernel in a fresh network namespace (CTest runs the binary
// under `unshare --net`): `log ... group 33` rules, a UDP datagram over IPv4 and IPv6, and a
// second bind of the same group.
//
// Without root, run the pure cases alone: nflog_test '~[kernel]'.
#include "nft/nflog.h"

#include <arpa/inet.h>
#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "testing/netns_shell.h"

namespace ipo::nft {
namespace {

using namespace std::chrono_literals;
using testing::EnterOwnNetns;
using testing::Sh;

constexpr uint16_t kPacketType = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;

// A netlink message built with libmnl in an aligned buffer, as the kernel would send it.
class Msg {
 public:
  explicit Msg(uint16_t type = kPacketType, uint8_t family = NFPROTO_IPV4, uint16_t group = 20) {
    nlh_ = mnl_nlmsg_put_header(buf_.data());
    nlh_->nlmsg_type = type;
    auto* gen = static_cast<struct nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(struct nfgenmsg)));
    gen->nfgen_family = family;
    gen->version = NFNETLINK_V0;
    gen->res_id = htons(group);
  }
  Msg(const Msg&) = delete;
  Msg& operator=(const Msg&) = delete;

  Msg& Hdr(uint16_t ethertype, uint8_t hook) {
    struct nfulnl_msg_packet_hdr h {};
    h.hw_protocol = htons(ethertype);
    h.hook = hook;
    mnl_attr_put(nlh_, NFULA_PACKET_HDR, sizeof h, &h);
    return *this;
  }
  Msg& Prefix(const std::string& text) {  // with its NUL, as the kernel sends it
    mnl_attr_put_strz(nlh_, NFULA_PREFIX, text.c_str());
    return *this;
  }
  Msg& Raw(uint16_t type, const std::vector<uint8_t>& bytes) {
    mnl_attr_put(nlh_, type, bytes.size(), bytes.data());
    return *this;
  }
  Msg& U32(uint16_t type, uint32_t host_value) {
    mnl_attr_put_u32(nlh_, type, htonl(host_value));
    return *this;
  }
  Msg& Timestamp(uint64_t sec, uint64_t usec) {
    struct nfulnl_msg_packet_timestamp ts {};
    ts.sec = htobe64(sec);
    ts.usec = htobe64(usec);
    mnl_attr_put(nlh_, NFULA_TIMESTAMP, sizeof ts, &ts);
    return *this;
  }
  Msg& Payload(const std::vector<uint8_t>& ip) { return Raw(NFULA_PAYLOAD, ip); }

  struct nlmsghdr* nlh() { return nlh_; }
  std::optional<NflogPacket> Parse() const { return ParseNflog(nlh_); }

 private:
  alignas(struct nlmsghdr) std::array<char, 4096> buf_{};
  struct nlmsghdr* nlh_;
};

void Put16(std::vector<uint8_t>& b, size_t at, uint16_t host) {
  b[at] = static_cast<uint8_t>(host >> 8);
  b[at + 1] = static_cast<uint8_t>(host & 0xff);
}

void PutAddr(std::vector<uint8_t>& b, size_t at, int af, const char* text) {
  std::array<uint8_t, 16> a{};
  REQUIRE(inet_pton(af, text, a.data()) == 1);
  std::memcpy(b.data() + at, a.data(), af == AF_INET ? 4 : 16);
}

// A TCP (20 bytes) or UDP (8 bytes) header with these ports; other protocols get 8 bytes.
std::vector<uint8_t> L4(uint8_t proto, uint16_t sport, uint16_t dport) {
  std::vector<uint8_t> b(proto == IPPROTO_TCP ? 20 : 8);
  if (proto == IPPROTO_ICMP) {
    b[0] = 8;  // echo request
    return b;
  }
  Put16(b, 0, sport);
  Put16(b, 2, dport);
  return b;
}

// An IPv4 header (IHL `ihl`, options zero) followed by `l4`; `frag` is the flags/offset field.
std::vector<uint8_t> Ipv4(const char* src, const char* dst, uint8_t proto, const std::vector<uint8_t>& l4,
                          uint8_t ihl = 5, uint16_t frag = 0) {
  size_t hlen = std::max<size_t>(ihl, 5) * 4;
  std::vector<uint8_t> b(hlen, 0);
  b[0] = static_cast<uint8_t>(0x40 | ihl);
  Put16(b, 2, static_cast<uint16_t>(hlen + l4.size()));
  Put16(b, 6, frag);
  b[8] = 64;
  b[9] = proto;
  PutAddr(b, 12, AF_INET, src);
  PutAddr(b, 16, AF_INET, dst);
  b.insert(b.end(), l4.begin(), l4.end());
  return b;
}

// An IPv6 header, then the extension headers `ext` (already chained, the first named by
// `first`), then `l4`.
std::vector<uint8_t> Ipv6(const char* src, const char* dst, uint8_t first, const std::vector<uint8_t>& ext,
                          const std::vector<uint8_t>& l4) {
  std::vector<uint8_t> b(40, 0);
  b[0] = 0x60;
  Put16(b, 4, static_cast<uint16_t>(ext.size() + l4.size()));
  b[6] = first;
  b[7] = 64;
  PutAddr(b, 8, AF_INET6, src);
  PutAddr(b, 24, AF_INET6, dst);
  b.insert(b.end(), ext.begin(), ext.end());
  b.insert(b.end(), l4.begin(), l4.end());
  return b;
}

}  // namespace

TEST_CASE("nflog: an IPv4 TCP packet gives its addresses, ports, prefix, devices and time") {
  Msg m(kPacketType, NFPROTO_IPV4, 20);
  m.Hdr(ETH_P_IP, NF_INET_FORWARD)
      .Prefix("ipo drop lan")
      .U32(NFULA_IFINDEX_INDEV, 3)
      .U32(NFULA_IFINDEX_OUTDEV, 7)
      .Timestamp(1767225600, 250000)
      .Payload(Ipv4("192.168.1.77", "172.30.1.2", IPPROTO_TCP, L4(IPPROTO_TCP, 40000, 8080)));
  auto p = m.Parse();
  REQUIRE(p);
  CHECK(p->family == NFPROTO_IPV4);
  CHECK(p->group == 20);
  CHECK(p->hook == NF_INET_FORWARD);
  CHECK(p->hw_protocol == ETH_P_IP);
  CHECK(p->prefix == "ipo drop lan");
  CHECK(p->indev == 3);
  CHECK(p->outdev == 7);
  CHECK(p->unix_nanos == 1767225600250000000);
  CHECK(p->src == "192.168.1.77");
  CHECK(p->dst == "172.30.1.2");
  CHECK(p->l4proto == IPPROTO_TCP);
  CHECK(p->sport == 40000);
  CHECK(p->dport == 8080);
  CHECK(p->ToString() == "192.168.1.77:40000 -> 172.30.1.2:8080 tcp [ipo drop lan]");
}

TEST_CASE("nflog: an IPv6 UDP packet is read past its extension headers") {
  // Hop-by-hop (8 bytes) -> destination options (16 bytes) -> UDP.
  std::vector<uint8_t> ext(24, 0);
  ext[0] = IPPROTO_DSTOPTS;
  ext[1] = 0;
  ext[8] = IPPROTO_UDP;
  ext[9] = 1;
  Msg m(kPacketType, NFPROTO_IPV6, 20);
  m.Hdr(ETH_P_IPV6, NF_INET_LOCAL_IN)
      .Prefix("ipo drop v6")
      .Payload(Ipv6("fd00::1", "fd00::2", IPPROTO_HOPOPTS, ext, L4(IPPROTO_UDP, 5353, 53)));
  auto p = m.Parse();
  REQUIRE(p);
  CHECK(p->family == NFPROTO_IPV6);
  CHECK(p->src == "fd00::1");
  CHECK(p->dst == "fd00::2");
  CHECK(p->l4proto == IPPROTO_UDP);
  CHECK(p->sport == 5353);
  CHECK(p->dport == 53);
  CHECK(p->unix_nanos == 0);  // no NFULA_TIMESTAMP: the caller stamps the receive time
  CHECK(p->ToString() == "[fd00::1]:5353 -> [fd00::2]:53 udp [ipo drop v6]");
}

TEST_CASE("nflog: an ICMP packet has no ports") {
  Msg m;
  m.Hdr(ETH_P_IP, NF_INET_LOCAL_IN)
      .Prefix("p")
      .Payload(Ipv4("10.0.0.1", "10.0.0.2", IPPROTO_ICMP, L4(IPPROTO_ICMP, 0, 0)));
  auto p = m.Parse();
  REQUIRE(p);
  CHECK(p->l4proto == IPPROTO_ICMP);
  CHECK(p->sport == 0);
  CHECK(p->dport == 0);
  CHECK(p->ToString() == "10.0.0.1 -> 10.0.0.2 icmp [p]");
}

TEST_CASE("nflog: a payload cut short keeps what it holds") {
  auto full = Ipv4("192.168.1.77", "172.30.1.2", IPPROTO_TCP, L4(IPPROTO_TCP, 40000, 8080));
  SECTION("cut inside the TCP ports: addresses and protocol, no ports") {
    Msg m;
    m.Hdr(ETH_P_IP, NF_INET_FORWARD).Payload({full.begin(), full.begin() + 22});
    auto p = m.Parse();
    REQUIRE(p);
    CHECK(p->src == "192.168.1.77");
    CHECK(p->l4proto == IPPROTO_TCP);
    CHECK(p->sport == 0);
    CHECK(p->dport == 0);
    CHECK(p->ToString() == "192.168.1.77 -> 172.30.1.2 tcp");
  }
  SECTION("cut inside the IPv4 header: no addresses") {
    Msg m;
    m.Hdr(ETH_P_IP, NF_INET_FORWARD).Payload({full.begin(), full.begin() + 19});
    auto p = m.Parse();
    REQUIRE(p);
    CHECK(p->src.empty());
    CHECK(p->l4proto == 0);
    CHECK(p->ToString() == "non-IP packet (ethertype 0x0800)");
  }
  SECTION("cut inside an IPv6 extension header: protocol unknown") {
    std::vector<uint8_t> ext(16, 0);
    ext[0] = IPPROTO_TCP;
    ext[1] = 1;
    auto v6 = Ipv6("fd00::1", "fd00::2", IPPROTO_ROUTING, ext, L4(IPPROTO_TCP, 1, 2));
    Msg m(kPacketType, NFPROTO_IPV6);
    m.Hdr(ETH_P_IPV6, NF_INET_FORWARD).Payload({v6.begin(), v6.begin() + 50});
    auto p = m.Parse();
    REQUIRE(p);
    CHECK(p->src == "fd00::1");
    CHECK(p->l4proto == 0);
    CHECK(p->dport == 0);
  }
  SECTION("bytes past the IPv4 total length are not the packet's") {
    auto hdr_only = Ipv4("10.0.0.1", "10.0.0.2", IPPROTO_UDP, {});
    hdr_only.resize(28, 0xab);  // trailing padding that looks like ports
    Msg m;
    m.Hdr(ETH_P_IP, NF_INET_FORWARD).Payload(hdr_only);
    auto p = m.Parse();
    REQUIRE(p);
    CHECK(p->l4proto == IPPROTO_UDP);
    CHECK(p->sport == 0);
  }
}

TEST_CASE("nflog: an IPv4 header with a bogus IHL is not trusted") {
  auto pkt = Ipv4("10.0.0.1", "10.0.0.2", IPPROTO_UDP, L4(IPPROTO_UDP, 1000, 2000));
  SECTION("IHL below 5: no IP header at all") {
    pkt[0] = 0x44;
    NflogPacket p;
    ParseNflogPayload(pkt.data(), pkt.size(), p);
    CHECK(p.src.empty());
    CHECK(p.l4proto == 0);
    CHECK(p.dport == 0);
  }
  SECTION("IHL past the copied bytes: addresses, no ports") {
    pkt[0] = 0x4f;  // 60 bytes of header claimed, 28 present
    NflogPacket p;
    ParseNflogPayload(pkt.data(), pkt.size(), p);
    CHECK(p.src == "10.0.0.1");
    CHECK(p.l4proto == IPPROTO_UDP);
    CHECK(p.dport == 0);
  }
  SECTION("total length below the IHL: no ports") {
    Put16(pkt, 2, 12);
    NflogPacket p;
    ParseNflogPayload(pkt.data(), pkt.size(), p);
    CHECK(p.src == "10.0.0.1");
    CHECK(p.dport == 0);
  }
  SECTION("IPv4 options are skipped") {
    auto opt = Ipv4("10.0.0.1", "10.0.0.2", IPPROTO_UDP, L4(IPPROTO_UDP, 1000, 2000), 6);
    NflogPacket p;
    ParseNflogPayload(opt.data(), opt.size(), p);
    CHECK(p.sport == 1000);
    CHECK(p.dport == 2000);
  }
}

TEST_CASE("nflog: a later fragment has no ports") {
  SECTION("IPv4, offset 8 bytes") {
    auto pkt = Ipv4("10.0.0.1", "10.0.0.2", IPPROTO_UDP, L4(IPPROTO_UDP, 1000, 2000), 5, 1);
    NflogPacket p;
    ParseNflogPayload(pkt.data(), pkt.size(), p);
    CHECK(p.l4proto == IPPROTO_UDP);
    CHECK(p.dport == 0);
  }
  SECTION("IPv4 first fragment (more fragments, offset 0) has them") {
    auto pkt = Ipv4("10.0.0.1", "10.0.0.2", IPPROTO_UDP, L4(IPPROTO_UDP, 1000, 2000), 5, 0x2000);
    NflogPacket p;
    ParseNflogPayload(pkt.data(), pkt.size(), p);
    CHECK(p.dport == 2000);
  }
  SECTION("IPv6 fragment header with offset 8 bytes") {
    std::vector<uint8_t> frag(8, 0);
    frag[0] = IPPROTO_UDP;
    frag[3] = 0x08;  // offset 1 (in 8-byte units, upper 13 bits)
    auto pkt = Ipv6("fd00::1", "fd00::2", IPPROTO_FRAGMENT, frag, L4(IPPROTO_UDP, 1000, 2000));
    NflogPacket p;
    ParseNflogPayload(pkt.data(), pkt.size(), p);
    CHECK(p.l4proto == IPPROTO_UDP);
    CHECK(p.dport == 0);
  }
  SECTION("IPv6 first fragment has them") {
    std::vector<uint8_t> frag(8, 0);
    frag[0] = IPPROTO_UDP;
    frag[3] = 0x01;  // more fragments, offset 0
    auto pkt = Ipv6("fd00::1", "fd00::2", IPPROTO_FRAGMENT, frag, L4(IPPROTO_UDP, 1000, 2000));
    NflogPacket p;
    ParseNflogPayload(pkt.data(), pkt.size(), p);
    CHECK(p.dport == 2000);
  }
}

TEST_CASE("nflog: a short or overrunning message is refused") {
  SECTION("shorter than header and nfgenmsg") {
    Msg m;
    m.nlh()->nlmsg_len = MNL_NLMSG_HDRLEN + 2;
    CHECK_FALSE(m.Parse());
  }
  SECTION("an attribute longer than the message") {
    Msg m;
    m.Hdr(ETH_P_IP, NF_INET_LOCAL_IN).Prefix("abc");
    m.nlh()->nlmsg_len -= 4;  // cuts into the prefix attribute
    CHECK_FALSE(m.Parse());
  }
  SECTION("an attribute length below its own header") {
    Msg m;
    m.Hdr(ETH_P_IP, NF_INET_LOCAL_IN).Raw(NFULA_MARK, {1, 2, 3, 4});
    auto* attr = reinterpret_cast<struct nlattr*>(reinterpret_cast<char*>(m.nlh()) + m.nlh()->nlmsg_len - 8);
    attr->nla_len = 2;
    CHECK_FALSE(m.Parse());
  }
  SECTION("a packet header shorter than its struct") {
    Msg m;
    m.Raw(NFULA_PACKET_HDR, {0x08, 0x00});
    CHECK_FALSE(m.Parse());
  }
  SECTION("an interface index shorter than 4 bytes") {
    Msg m;
    m.Hdr(ETH_P_IP, NF_INET_LOCAL_IN).Raw(NFULA_IFINDEX_INDEV, {1, 2});
    CHECK_FALSE(m.Parse());
  }
  SECTION("no packet header") {
    Msg m;
    m.Prefix("abc");
    CHECK_FALSE(m.Parse());
  }
  SECTION("the bare minimum (header, nfgenmsg, packet header) is a packet") {
    Msg m;
    m.Hdr(0, NF_INET_LOCAL_IN);
    auto p = m.Parse();
    REQUIRE(p);
    CHECK(p->src.empty());
    CHECK(p->ToString() == "non-IP packet (ethertype 0x0000)");
  }
}

TEST_CASE("nflog: a message of another type is not a packet") {
  SECTION("an nflog config message") {
    Msg m((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG);
    m.Hdr(ETH_P_IP, 0);
    CHECK_FALSE(m.Parse());
  }
  SECTION("an nftables message") {
    Msg m((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_TRACE);
    m.Hdr(ETH_P_IP, 0);
    CHECK_FALSE(m.Parse());
  }
  SECTION("NLMSG_DONE") {
    Msg m(NLMSG_DONE);
    CHECK_FALSE(m.Parse());
  }
}

TEST_CASE("nflog: a prefix without its NUL is taken whole, one with an inner NUL up to it") {
  Msg whole;
  whole.Hdr(ETH_P_IP, 0).Raw(NFULA_PREFIX, {'d', 'r', 'o', 'p', 'x'});
  auto p = whole.Parse();
  REQUIRE(p);
  CHECK(p->prefix == "dropx");
  Msg inner;
  inner.Hdr(ETH_P_IP, 0).Raw(NFULA_PREFIX, {'a', 0, 'b', 0});
  p = inner.Parse();
  REQUIRE(p);
  CHECK(p->prefix == "a");
}

TEST_CASE("nflog: a timestamp that is no wall-clock time is left to the caller") {
  Msg m;
  m.Hdr(ETH_P_IP, NF_INET_PRE_ROUTING).Timestamp(12345, 6);  // seconds since boot, say
  auto p = m.Parse();
  REQUIRE(p);
  CHECK(p->unix_nanos == 0);
}

TEST_CASE("nflog: an ARP payload in a bridge chain has no addresses, whatever its first nibble") {
  std::vector<uint8_t> arp(28, 0);
  arp[0] = 0x45;  // would read as IPv4 with IHL 5
  Msg m(kPacketType, NFPROTO_BRIDGE);
  m.Hdr(ETH_P_ARP, NF_INET_FORWARD).Prefix("ipo arp").Payload(arp);
  auto p = m.Parse();
  REQUIRE(p);
  CHECK(p->family == NFPROTO_BRIDGE);
  CHECK(p->src.empty());
  CHECK(p->ToString() == "non-IP packet (ethertype 0x0806) [ipo arp]");
}

TEST_CASE("nflog: a payload that is not IP leaves the packet untouched") {
  NflogPacket p;
  p.src = "kept";
  const std::array<uint8_t, 40> other{0x50};
  ParseNflogPayload(other.data(), other.size(), p);
  ParseNflogPayload(nullptr, 0, p);
  CHECK(p.src == "kept");
}

// ---- Against the kernel, in a fresh network namespace ----

namespace {

// Runs a shell command that must succeed silently; its output is shown when it does not.
void Run(const std::string& cmd) {
  const std::string out = Sh(cmd);
  INFO(cmd + "\n" + out);
  REQUIRE(out.empty());
}

void FreshNetns() {
  REQUIRE(geteuid() == 0);
  REQUIRE(EnterOwnNetns());  // never the host's ruleset or nflog groups
  Run("ip link set lo up && nft flush ruleset");
}

// Sends one UDP datagram from `src` (port 0: any) to `dst`:9999; returns the source port.
uint16_t SendUdp(int af, const char* dst) {
  int fd = socket(af, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  struct sockaddr_storage ss {};
  socklen_t len = 0;
  if (af == AF_INET) {
    auto* sa = reinterpret_cast<struct sockaddr_in*>(&ss);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(9999);
    REQUIRE(inet_pton(AF_INET, dst, &sa->sin_addr) == 1);
    len = sizeof(*sa);
  } else {
    auto* sa = reinterpret_cast<struct sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(9999);
    REQUIRE(inet_pton(AF_INET6, dst, &sa->sin6_addr) == 1);
    len = sizeof(*sa);
  }
  REQUIRE(sendto(fd, "x", 1, 0, reinterpret_cast<struct sockaddr*>(&ss), len) == 1);
  struct sockaddr_storage local {};
  socklen_t local_len = sizeof(local);
  REQUIRE(getsockname(fd, reinterpret_cast<struct sockaddr*>(&local), &local_len) == 0);
  close(fd);
  return af == AF_INET ? ntohs(reinterpret_cast<struct sockaddr_in*>(&local)->sin_port)
                       : ntohs(reinterpret_cast<struct sockaddr_in6*>(&local)->sin6_port);
}

}  // namespace

TEST_CASE("nflog kernel: a log rule's packets reach the bound group, IPv4 and IPv6", "[kernel]") {
  FreshNetns();
  // nft 1.0.6 wants a `;` after a chain's closing brace on one line.
  Run("echo '"
      "table inet t { chain c { type filter hook output priority 0; udp dport 9999 log prefix \"ipo test\" group 33; }; }\n"
      "table ip6 t6 { chain c { type filter hook output priority 0; udp dport 9999 log prefix \"ipo test6\" group 33; }; }"
      "' | nft -f -");
  REQUIRE(Sh("nft list ruleset | grep -c 'log prefix'") == "2\n");
  auto l = NflogListener::Open(33);
  REQUIRE(l.ok());
  CHECK((*l)->group() == 33);
  const uint16_t sport4 = SendUdp(AF_INET, "127.0.0.1");
  const uint16_t sport6 = SendUdp(AF_INET6, "::1");
  std::vector<NflogPacket> got;
  bool overrun = false;
  for (int i = 0; i < 20 && got.size() < 3; ++i) {
    REQUIRE((*l)->Poll(100ms, [&](const NflogPacket& p) { got.push_back(p); }, overrun).ok());
  }
  std::string text;
  for (const auto& p : got) text += p.ToString() + " family " + std::to_string(p.family) + "\n";
  INFO(text);
  CHECK_FALSE(overrun);
  // The IPv4 datagram meets the inet rule; the IPv6 one the inet rule and the ip6 rule.
  REQUIRE(got.size() == 3);
  const uint32_t lo = if_nametoindex("lo");
  int v4 = 0, v6_inet = 0, v6_ip6 = 0;
  for (const auto& p : got) {
    CHECK(p.group == 33);
    CHECK(p.hook == NF_INET_LOCAL_OUT);
    CHECK(p.outdev == lo);
    CHECK(p.indev == 0);
    CHECK(p.unix_nanos == 0);  // the kernel stamps only prerouting, input and forward
    CHECK(p.l4proto == IPPROTO_UDP);
    CHECK(p.dport == 9999);
    if (p.family == NFPROTO_IPV4) {
      ++v4;
      CHECK(p.prefix == "ipo test");
      CHECK(p.hw_protocol == ETH_P_IP);
      CHECK(p.src == "127.0.0.1");
      CHECK(p.dst == "127.0.0.1");
      CHECK(p.sport == sport4);
      CHECK(p.ToString() == "127.0.0.1:" + std::to_string(sport4) + " -> 127.0.0.1:9999 udp [ipo test]");
    } else {
      REQUIRE(p.family == NFPROTO_IPV6);  // an inet table's rule reports the packet's family
      CHECK(p.hw_protocol == ETH_P_IPV6);
      CHECK(p.src == "::1");
      CHECK(p.dst == "::1");
      CHECK(p.sport == sport6);
      if (p.prefix == "ipo test") ++v6_inet;
      if (p.prefix == "ipo test6") ++v6_ip6;
    }
  }
  CHECK(v4 == 1);
  CHECK(v6_inet == 1);
  CHECK(v6_ip6 == 1);
  Run("nft flush ruleset");
}

TEST_CASE("nflog kernel: a second bind of a group is refused by name until the first unbinds", "[kernel]") {
  FreshNetns();
  {
    auto first = NflogListener::Open(33);
    REQUIRE(first.ok());
    // The kernel answers EPERM (another socket's port id holds the instance), not EBUSY.
    auto second = NflogListener::Open(33);
    REQUIRE_FALSE(second.ok());
    CHECK(second.status().code() == Status::Code::kUnavailable);
    CHECK(second.status().message() == "nflog group 33 is bound by another process");
    auto other_group = NflogListener::Open(34);
    CHECK(other_group.ok());
  }  // the first listener unbinds group 33
  auto again = NflogListener::Open(33);
  CHECK(again.ok());
}

TEST_CASE("nflog kernel: without CAP_NET_ADMIN binding is a permission error", "[kernel]") {
  FreshNetns();
  auto held = NflogListener::Open(33);  // held too, so only the capability can tell them apart
  REQUIRE(held.ok());
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    struct __user_cap_header_struct hdr {_LINUX_CAPABILITY_VERSION_3, 0};
    std::array<struct __user_cap_data_struct, 2> caps{};
    if (syscall(SYS_capget, &hdr, caps.data()) != 0) _exit(10);
    caps[0].effective &= ~(1U << CAP_NET_ADMIN);
    if (syscall(SYS_capset, &hdr, caps.data()) != 0) _exit(11);
    for (uint16_t group : {uint16_t{33}, uint16_t{35}}) {
      auto l = NflogListener::Open(group);
      if (l.ok()) _exit(12);
      if (l.status().code() != Status::Code::kPermission) _exit(13);
      if (l.status().message() !=
          "binding nflog group " + std::to_string(group) + ": Operation not permitted (CAP_NET_ADMIN needed)")
        _exit(14);
    }
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

}  // namespace ipo::nft
