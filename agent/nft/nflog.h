// Nflog: the packets the kernel logs to an nflog group (nfnetlink_log), read with libmnl. The
// agent's drop rules have a twin `... limit rate 10/second burst 20 packets counter log prefix
// "<text>" group <N>`; NflogListener binds group N and ParseNflog turns each message into an
// NflogPacket (which rule, by its prefix, dropped which packet), for operators to read.
//
// ParseNflog and ParseNflogPayload are pure and safe on hostile input: every length in the
// message, its attributes and the IP headers is checked before it is used.
//
// Thread safety: NflogPacket is a value; the parse functions are reentrant. NflogListener is
// not thread-safe; one owner.
// REQUIRES (NflogListener): CAP_NET_ADMIN in the current network namespace.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <libmnl/libmnl.h>

#include "common/status.h"

namespace ipo::nft {

// One packet the kernel logged to an nflog group.
struct NflogPacket {
  uint8_t family = 0;        // NFPROTO_* of the nfgenmsg: the hook's family (2 ip, 10 ip6, 7 bridge,
                             // 5 netdev); an inet table's rule reports 2 or 10, never 1
  uint16_t group = 0;        // the nflog group (res_id of the nfgenmsg)
  uint8_t hook = 0;          // NF_INET_* hook number from NFULA_PACKET_HDR
  uint16_t hw_protocol = 0;  // ethertype from NFULA_PACKET_HDR, host order
  std::string prefix;        // NFULA_PREFIX up to its first NUL (or all of it when it has none)
  int64_t unix_nanos = 0;    // NFULA_TIMESTAMP when present and plausible (after 2000), else 0:
                             // the caller stamps the receive time. The kernel sends it only on
                             // the prerouting, input and forward hooks, and only when the packet
                             // carries a receive time stamp.
  uint32_t indev = 0, outdev = 0;  // NFULA_IFINDEX_INDEV / OUTDEV, 0 when absent
  std::string src, dst;      // addresses as text ("192.168.1.77", "fd00::1"), "" when the
                             // payload has no IP header (none copied, ARP, a bogus header)
  uint8_t l4proto = 0;       // IPPROTO_* (6 tcp, 17 udp, 1 icmp, 58 icmpv6), 0 unknown
  uint16_t sport = 0, dport = 0;  // host order; 0 when not tcp/udp, a later fragment, or truncated
  // "192.168.1.77:40000 -> 172.30.1.2:8080 tcp [prefix]", "[fd00::1]:53 -> [fd00::2]:40000 udp
  // [prefix]", "10.0.0.1 -> 10.0.0.2 icmp [prefix]"; without an IP header
  // "non-IP packet (ethertype 0x0806) [prefix]". The " [prefix]" is left out when it is empty.
  std::string ToString() const;
};

// Parses one netlink message; nullopt for anything that is not a well-formed NFULNL_MSG_PACKET
// (type (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET) with an NFULA_PACKET_HDR: a short message,
// an attribute that overruns the message, or a known attribute shorter than its type.
// The payload is read as an IP header (ParseNflogPayload) unless the ethertype names another
// protocol (ARP in a bridge or netdev chain, say).
// REQUIRES: `nlh` is 4-byte aligned and points to max(sizeof(nlmsghdr), nlh->nlmsg_len)
// readable bytes (as mnl_nlmsg_ok() guarantees for a message in a receive buffer).
std::optional<NflogPacket> ParseNflog(const struct nlmsghdr* nlh);

// Fills src/dst/l4proto/sport/dport of `out` from the IP header at the start of `data` (the
// payload of NFULA_PAYLOAD), IPv4 or IPv6 by the version nibble; leaves them untouched when
// `data` holds no valid IP header (IPv4 IHL below 5, shorter than the fixed header). Ports only
// from a first (or unfragmented) fragment whose TCP/UDP port fields are present; IPv6 extension
// headers (hop-by-hop, routing, fragment, destination options, AH) are skipped while they are
// wholly present, else l4proto stays 0. Bytes past the IP total (or payload) length are ignored.
void ParseNflogPayload(const uint8_t* data, size_t len, NflogPacket& out);

// How a listener configures its group; the defaults suit a rate-limited log rule.
struct NflogOptions {
  uint32_t copy_bytes = 128;  // bytes of each packet copied (from the IP header on): enough for
                              // IPv6 + TCP ports; 0 asks the kernel for its maximum (65531)
  uint32_t flush_centis = 10;  // the kernel batches messages until this timeout (1/100 s) ...
  uint32_t qthresh = 32;       // ... or until this many packets are queued
  int rcvbuf_bytes = 1 << 20;  // socket receive buffer (SO_RCVBUFFORCE); 0 keeps the default
};

class NflogListener {
 public:
  // Binds nflog group `group` in the current network namespace (NFULNL_CFG_CMD_BIND; the
  // legacy PF_BIND/PF_UNBIND are not needed, as nftables' log statement finds the logger by
  // type), then sets the copy mode and range, flush timeout and queue threshold of `opt`,
  // checking the kernel's ack to each. Errors: Status::Unavailable "nflog group 20 is bound by
  // another process" when another socket holds the group (the kernel answers EPERM; a probe
  // that needs only CAP_NET_ADMIN tells it apart from a missing capability);
  // Status::Permission "binding nflog group 20: Operation not permitted (CAP_NET_ADMIN
  // needed)" without the capability; Status::Unavailable naming the failing step otherwise.
  static Result<std::unique_ptr<NflogListener>> Open(uint16_t group, const NflogOptions& opt = {});
  // Unbinds the group (NFULNL_CFG_CMD_UNBIND) and closes the socket.
  ~NflogListener();
  NflogListener(const NflogListener&) = delete;
  NflogListener& operator=(const NflogListener&) = delete;

  uint16_t group() const { return group_; }

  // Waits up to `timeout` for messages, then takes what else is already queued, at most
  // `max_reads` datagrams in all (so a group flooded faster than it is read still returns),
  // calling on_packet for each parsed packet (a batch from the kernel may hold many messages,
  // ended by NLMSG_DONE; messages not sent by the kernel are ignored). `overrun` becomes true
  // when the kernel dropped messages because the receive buffer was full (ENOBUFS). An error
  // only when the socket fails.
  Status Poll(std::chrono::milliseconds timeout, const std::function<void(const NflogPacket&)>& on_packet,
              bool& overrun, int max_reads = 64);

 private:
  NflogListener(struct mnl_socket* nl, uint16_t group);
  // Sends one NFULNL_MSG_CONFIG for `group_` (nfgen_family `family`) with NLM_F_ACK, its
  // attributes added by `fill`, and waits for the kernel's ack: 0 or the positive errno it
  // carried; an error Status when the socket failed or no ack came within seconds.
  Result<int> Configure(uint8_t family, const std::function<void(struct nlmsghdr*)>& fill);
  struct mnl_socket* nl_;
  uint16_t group_;
  bool bound_ = false;
  uint32_t seq_;
  std::vector<char> rx_;
};

}  // namespace ipo::nft
