#include "conntrack/netlink_flusher.h"

#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace ipo::conntrack {
namespace {

constexpr size_t kDeleteMessageBytes = 512;

uint16_t CtType(uint8_t msg) { return static_cast<uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | msg); }

// Iterates the attributes inside `nest` (or a message's payload from `start`, `len` bytes).
template <typename Fn>
void ForEachAttr(const void* start, size_t len, Fn fn) {
  auto remaining = static_cast<int>(len);
  for (const auto* a = static_cast<const struct nlattr*>(start); mnl_attr_ok(a, remaining); a = mnl_attr_next(a)) {
    remaining -= static_cast<int>(NLA_ALIGN(a->nla_len));
    fn(a);
  }
}
template <typename Fn>
void ForEachNested(const struct nlattr* nest, Fn fn) {
  ForEachAttr(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), fn);
}

std::string AddressText(const struct nlattr* a, bool v6) {
  size_t want = v6 ? 16 : 4;
  if (mnl_attr_get_payload_len(a) != want) return "";
  if (v6) {
    nft::Ipv6 ip;
    std::memcpy(ip.addr.data(), mnl_attr_get_payload(a), 16);
    return nft::ValueToString(ip);
  }
  uint32_t be = 0;
  std::memcpy(&be, mnl_attr_get_payload(a), 4);
  return nft::ValueToString(nft::Ipv4{ntohl(be)});
}

uint16_t Port(const struct nlattr* a) {
  if (mnl_attr_get_payload_len(a) != 2) return 0;
  return ntohs(mnl_attr_get_u16(a));
}

void ParseTuple(const struct nlattr* nest, Tuple* t) {
  ForEachNested(nest, [&](const struct nlattr* a) {
    switch (mnl_attr_get_type(a)) {
      case CTA_TUPLE_IP:
        ForEachNested(a, [&](const struct nlattr* b) {
          switch (mnl_attr_get_type(b)) {
            case CTA_IP_V4_SRC: t->src = AddressText(b, false); break;
            case CTA_IP_V4_DST: t->dst = AddressText(b, false); break;
            case CTA_IP_V6_SRC: t->src = AddressText(b, true); break;
            case CTA_IP_V6_DST: t->dst = AddressText(b, true); break;
            default: break;
          }
        });
        break;
      case CTA_TUPLE_PROTO:
        ForEachNested(a, [&](const struct nlattr* b) {
          switch (mnl_attr_get_type(b)) {
            case CTA_PROTO_NUM:
              if (mnl_attr_get_payload_len(b) == 1) t->proto = mnl_attr_get_u8(b);
              break;
            case CTA_PROTO_SRC_PORT: t->sport = Port(b); break;
            case CTA_PROTO_DST_PORT: t->dport = Port(b); break;
            default: break;
          }
        });
        break;
      default:
        break;
    }
  });
}

// One dumped entry: what Matches() needs, and the attributes that name it for a DELETE.
struct Dumped {
  uint8_t family = 0;
  Entry entry;
  const struct nlattr* orig = nullptr;
  const struct nlattr* id = nullptr;
  const struct nlattr* zone = nullptr;
};

Dumped ParseEntry(const struct nlmsghdr* nlh) {
  Dumped d;
  const auto* nfg = static_cast<const struct nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
  d.family = nfg->nfgen_family;
  size_t offset = MNL_ALIGN(sizeof(struct nfgenmsg));
  if (mnl_nlmsg_get_payload_len(nlh) < offset) return d;
  ForEachAttr(static_cast<const char*>(mnl_nlmsg_get_payload(nlh)) + offset, mnl_nlmsg_get_payload_len(nlh) - offset,
              [&](const struct nlattr* a) {
                switch (mnl_attr_get_type(a)) {
                  case CTA_TUPLE_ORIG:
                    d.orig = a;
                    ParseTuple(a, &d.entry.orig);
                    break;
                  case CTA_TUPLE_REPLY: ParseTuple(a, &d.entry.reply); break;
                  case CTA_ID: d.id = a; break;
                  case CTA_ZONE: d.zone = a; break;
                  default: break;
                }
              });
  return d;
}

void PutCopy(struct nlmsghdr* nlh, const struct nlattr* a) {
  mnl_attr_put(nlh, a->nla_type, mnl_attr_get_payload_len(a), mnl_attr_get_payload(a));
}

// IPCTNL_MSG_CT_DELETE for the dumped entry `d` (original tuple, zone, id), with an ACK.
std::vector<char> DeleteMessage(const Dumped& d) {
  std::vector<char> buf(kDeleteMessageBytes);
  struct nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = CtType(IPCTNL_MSG_CT_DELETE);
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  auto* nfg = static_cast<struct nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg)));
  nfg->nfgen_family = d.family;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  PutCopy(nlh, d.orig);
  if (d.zone != nullptr) PutCopy(nlh, d.zone);
  if (d.id != nullptr) PutCopy(nlh, d.id);
  buf.resize(nlh->nlmsg_len);
  return buf;
}

// Every orig/zone/id attribute together is far below kDeleteMessageBytes; refuse anything odd.
bool Deletable(const Dumped& d) {
  if (d.orig == nullptr) return false;
  size_t need = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)) + MNL_ALIGN(d.orig->nla_len);
  if (d.zone != nullptr) need += MNL_ALIGN(d.zone->nla_len);
  if (d.id != nullptr) need += MNL_ALIGN(d.id->nla_len);
  return need <= kDeleteMessageBytes;
}

}  // namespace

Result<std::unique_ptr<NetlinkFlusher>> NetlinkFlusher::Open() {
  auto sock = nft::MnlSocket::Open();
  if (!sock.ok()) return sock.status().WithContext("conntrack socket");
  return std::unique_ptr<NetlinkFlusher>(new NetlinkFlusher(std::move(*sock)));
}

namespace {

// Runs one dump of both families, calling `fn` for every entry.
template <typename Fn>
Status DumpAll(nft::MnlSocket& sock, uint32_t seq, Fn fn) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  struct nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = CtType(IPCTNL_MSG_CT_GET);
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<struct nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg)));
  nfg->nfgen_family = AF_UNSPEC;  // every family
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  Status st = sock.Request(nlh, true, [&](const struct nlmsghdr* m) {
    fn(ParseEntry(m));
    return MNL_CB_OK;
  });
  return st.WithContext("conntrack dump");
}

}  // namespace

Result<std::vector<Entry>> NetlinkFlusher::Dump() {
  std::vector<Entry> out;
  IPO_RETURN_IF_ERROR(DumpAll(*sock_, seq_++, [&](const Dumped& d) { out.push_back(d.entry); }));
  return out;
}

Result<FlushResult> NetlinkFlusher::Flush(const std::vector<Target>& targets) {
  FlushResult r;
  if (targets.empty()) return r;
  std::vector<std::vector<char>> deletes;
  IPO_RETURN_IF_ERROR(DumpAll(*sock_, seq_++, [&](const Dumped& d) {
    ++r.scanned;
    for (const Target& t : targets) {
      if (!Matches(d.entry, t)) continue;
      ++r.matched;
      if (Deletable(d)) deletes.push_back(DeleteMessage(d));
      break;
    }
  }));
  for (size_t first = 0; first < deletes.size(); first += kDeletesPerDatagram) {
    size_t n = std::min(kDeletesPerDatagram, deletes.size() - first);
    std::vector<iovec> iov;
    for (size_t i = first; i < first + n; ++i) {
      if (seq_ == 0) seq_ = 1;  // 0 is the "batch begin" SendBatch watches for; never used here
      reinterpret_cast<struct nlmsghdr*>(deletes[i].data())->nlmsg_seq = seq_++;
      iov.push_back(iovec{deletes[i].data(), deletes[i].size()});
    }
    auto acks = sock_->SendBatch(iov, n, 0);
    if (!acks.ok()) return acks.status().WithContext("conntrack delete");
    for (const nft::Ack& a : *acks) {
      if (a.error == 0) {
        ++r.removed;
      } else if (a.error == ENOENT) {
        ++r.vanished;
      } else {
        return Status::Internal("conntrack delete refused: " + std::string(std::strerror(a.error)) + " (errno " +
                                std::to_string(a.error) + ")");
      }
    }
  }
  return r;
}

}  // namespace ipo::conntrack
