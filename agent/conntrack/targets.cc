#include "conntrack/targets.h"

#include <algorithm>
#include <set>
#include <tuple>

namespace ipo::conntrack {
namespace {

// One publication as the NAT maps hold it.
struct Publication {
  bool v6 = false;
  std::string set;  // publish-any / publish-lan / docker-lan / docker-lan-at
  uint8_t proto = 0;
  uint16_t host_port = 0;
  std::string addr;
  uint16_t port = 0;
  auto operator<=>(const Publication&) const = default;
};

std::set<Publication> Publications(const nft::Ruleset& rs) {
  std::set<Publication> out;
  for (bool v6 : {false, true}) {
    const nft::Table* t = rs.FindTable(v6 ? nft::Family::kIp6 : nft::Family::kIp, compile::kNatTable);
    if (t == nullptr) continue;
    // The policy's maps and the -p bindings the agent publishes (docker-lan-at is keyed by the
    // binding's HostIp first: daddr . proto . port).
    for (const char* name : {"publish-any", "publish-lan", "docker-lan", "docker-lan-at"}) {
      const nft::Set* s = t->FindSet(name);
      if (s == nullptr) continue;
      for (const nft::Element& e : s->elements) {
        if ((e.key.size() != 2 && e.key.size() != 3) || e.data.size() != 2) continue;
        const size_t k = e.key.size() - 2;
        const auto* proto = std::get_if<nft::Proto>(&e.key[k]);
        const auto* host_port = std::get_if<nft::Port>(&e.key[k + 1]);
        const auto* port = std::get_if<nft::Port>(&e.data[1]);
        if (proto == nullptr || host_port == nullptr || port == nullptr) continue;
        out.insert(Publication{v6, name, proto->num, host_port->num, nft::ValueToString(e.data[0]), port->num});
      }
    }
  }
  return out;
}

std::string Who(const model::ObservedContainer& c) { return c.name + " (id " + c.id.substr(0, 12) + ")"; }

// Why `addr` of `c` (running before) has no owner now.
std::string WhyLost(const model::ObservedContainer& c, const std::string& addr, bool v6,
                    const model::Observed& after) {
  std::string head = addr + " no longer belongs to " + Who(c) + ": ";
  for (const auto& o : after.containers) {
    if (o.id != c.id && o.running && CanonicalAddress(v6 ? o.ipv6 : o.ipv4) == addr)
      return head + "now held by " + Who(o);
  }
  for (const auto& o : after.containers) {
    if (o.id != c.id) continue;
    if (!o.running) return head + "stopped";
    std::string now = CanonicalAddress(v6 ? o.ipv6 : o.ipv4);
    return head + (now.empty() ? "left its network" : "moved to " + now);
  }
  for (const auto& o : after.containers) {
    if (o.name == c.name) return head + "recreated as id " + o.id.substr(0, 12);
  }
  return head + "gone";
}

}  // namespace

std::string CanonicalAddress(const std::string& text) {
  if (auto a = nft::ParseIpv4(text)) return nft::ValueToString(*a);
  if (auto a = nft::ParseIpv6(text)) return nft::ValueToString(*a);
  return "";
}

std::vector<Target> LostTargets(const model::Observed& before, const nft::Ruleset* before_rules,
                                const model::Observed& after, const nft::Ruleset& after_rules) {
  std::vector<Target> out;
  std::set<std::string> lost_addrs;
  for (const auto& c : before.containers) {
    if (!c.running) continue;
    for (bool v6 : {false, true}) {
      std::string addr = CanonicalAddress(v6 ? c.ipv6 : c.ipv4);
      if (addr.empty()) continue;
      bool kept = std::any_of(after.containers.begin(), after.containers.end(), [&](const auto& o) {
        return o.id == c.id && o.running && CanonicalAddress(v6 ? o.ipv6 : o.ipv4) == addr;
      });
      if (kept || !lost_addrs.insert(addr).second) continue;
      out.push_back(Target{Target::Kind::kAddress, addr, 0, 0, 0, WhyLost(c, addr, v6, after)});
    }
  }
  if (before_rules != nullptr) {
    std::set<Publication> now = Publications(after_rules);
    for (const Publication& p : Publications(*before_rules)) {
      if (now.count(p) || lost_addrs.count(p.addr)) continue;
      Target t{Target::Kind::kPublication, p.addr, p.proto, p.port, p.host_port, ""};
      t.why = "publication " + nft::ValueToString(nft::Proto{p.proto}) + " " + std::to_string(p.host_port) + " -> " +
              (p.v6 ? "[" + p.addr + "]" : p.addr) + ":" + std::to_string(p.port) + " (" + p.set + ") revoked";
      out.push_back(std::move(t));
    }
  }
  std::sort(out.begin(), out.end(), [](const Target& a, const Target& b) {
    return std::tie(a.kind, a.addr, a.proto, a.port, a.host_port, a.why) <
           std::tie(b.kind, b.addr, b.proto, b.port, b.host_port, b.why);
  });
  // The same publication in publish-any and publish-lan (a move between them): one target.
  out.erase(std::unique(out.begin(), out.end(),
                        [](const Target& a, const Target& b) {
                          return a.kind == b.kind && a.addr == b.addr && a.proto == b.proto && a.port == b.port &&
                                 a.host_port == b.host_port;
                        }),
            out.end());
  return out;
}

bool Matches(const Entry& e, const Target& t) {
  if (t.kind == Target::Kind::kAddress) {
    return e.orig.src == t.addr || e.orig.dst == t.addr || e.reply.src == t.addr;
  }
  return e.orig.proto == t.proto && e.reply.src == t.addr && e.reply.sport == t.port &&
         e.orig.dport == t.host_port && e.orig.dst != t.addr;
}

std::string EntryToString(const Entry& e) {
  auto end = [](const std::string& a, uint16_t port) {
    return (a.find(':') != std::string::npos ? "[" + a + "]" : a) + ":" + std::to_string(port);
  };
  return nft::ValueToString(nft::Proto{e.orig.proto}) + " " + end(e.orig.src, e.orig.sport) + " -> " +
         end(e.orig.dst, e.orig.dport) + " (reply " + end(e.reply.src, e.reply.sport) + " -> " +
         end(e.reply.dst, e.reply.dport) + ")";
}

}  // namespace ipo::conntrack
