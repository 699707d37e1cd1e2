#include "droplog/attribute.h"

namespace ipo::droplog {

std::string ProtoName(uint8_t l4proto) {
  switch (l4proto) {
    case 0: return "";
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 58: return "icmpv6";
    default: return "proto " + std::to_string(l4proto);
  }
}

DropRecord Attribute(const nft::NflogPacket& p, const DropIndex& index, int64_t now_nanos, const IfNameOf& ifname) {
  DropRecord r;
  r.unix_nanos = p.unix_nanos != 0 ? p.unix_nanos : now_nanos;
  r.src = p.src;
  r.dst = p.dst;
  r.proto = ProtoName(p.l4proto);
  r.sport = p.sport;
  r.dport = p.dport;
  if (p.indev != 0 && ifname) r.in = ifname(p.indev);
  if (p.outdev != 0 && ifname) r.out = ifname(p.outdev);
  r.prefix = p.prefix;
  if (const DroppingRule* d = index.Find(p.prefix)) {
    r.family = d->family;
    r.table = d->table;
    r.chain = d->chain;
    r.rule = d->rule;
    r.policy = d->policy;
  }
  return r;
}

}  // namespace ipo::droplog
