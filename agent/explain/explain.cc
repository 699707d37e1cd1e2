#include "explain/explain.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <variant>

#include "compile/compiler.h"
#include "status/rule_counters.h"

namespace ipo::explain {
namespace {

using nft::Field;
using nft::Value;

constexpr int kMaxJumps = 16;  // the agent's chains jump two deep; a loop would be a bug

// True when `addr` is inside addr0/len (same family).
bool InPrefix(const Value& addr, const Value& net, uint8_t len) {
  if (const auto* a = std::get_if<nft::Ipv4>(&addr)) {
    const auto* n = std::get_if<nft::Ipv4>(&net);
    if (n == nullptr) return false;
    uint32_t mask = len == 0 ? 0 : ~0u << (32 - len);
    return (a->addr & mask) == (n->addr & mask);
  }
  const auto* a = std::get_if<nft::Ipv6>(&addr);
  const auto* n = std::get_if<nft::Ipv6>(&net);
  if (a == nullptr || n == nullptr) return false;
  for (int bit = 0; bit < len; ++bit) {
    uint8_t m = static_cast<uint8_t>(0x80u >> (bit % 8));
    if ((a->addr[bit / 8] & m) != (n->addr[bit / 8] & m)) return false;
  }
  return true;
}

// The packet as it goes through the hooks.
struct State {
  Packet p;
  std::string oif;   // set once routed
  bool dnat = false;
  std::string hook;  // the hook being evaluated
};

// The value of `f` for the packet; nullopt when the packet has no such field (an ip field
// of an IPv6 packet).
std::optional<Value> FieldValue(const State& s, Field f) {
  bool v6 = s.p.v6();
  switch (f) {
    case Field::kMetaNfproto: return Value{nft::Proto{static_cast<uint8_t>(v6 ? 10 : 2)}};
    case Field::kMetaL4proto: return Value{nft::Proto{s.p.proto}};
    case Field::kIifname: return Value{nft::IfName{s.p.iif}};
    case Field::kOifname: return Value{nft::IfName{s.oif}};
    case Field::kIpSaddr: return v6 ? std::nullopt : std::optional<Value>(s.p.saddr);
    case Field::kIpDaddr: return v6 ? std::nullopt : std::optional<Value>(s.p.daddr);
    case Field::kIp6Saddr: return v6 ? std::optional<Value>(s.p.saddr) : std::nullopt;
    case Field::kIp6Daddr: return v6 ? std::optional<Value>(s.p.daddr) : std::nullopt;
    case Field::kThDport: return Value{nft::Port{s.p.dport}};
    case Field::kMetaProtocol: return Value{nft::Port{static_cast<uint16_t>(v6 ? 0x86dd : 0x0800)}};
  }
  return std::nullopt;
}

bool Equal(const Value& got, const Value& want) {
  if (const auto* prefix = std::get_if<nft::IfNamePrefix>(&want)) {
    const auto* name = std::get_if<nft::IfName>(&got);
    return name != nullptr && name->name.compare(0, prefix->prefix.size(), prefix->prefix) == 0;
  }
  return got == want;
}

std::optional<std::vector<Value>> Key(const State& s, const std::vector<Field>& fields) {
  std::vector<Value> key;
  for (Field f : fields) {
    auto v = FieldValue(s, f);
    if (!v) return std::nullopt;
    key.push_back(*v);
  }
  return key;
}

// The element of `set` that `key` falls in (a range of an interval set, or equal).
const nft::Element* FindElement(const nft::Set& set, const std::vector<Value>& key) {
  for (const nft::Element& e : set.elements) {
    if (e.key_end) {
      if (key.size() == 1 && e.key.size() == 1 && e.key[0].index() == key[0].index() && !(key[0] < e.key[0]) &&
          !((*e.key_end)[0] < key[0]))
        return &e;
    } else if (e.key == key) {
      return &e;
    }
  }
  return nullptr;
}

std::string Joined(const std::vector<Value>& values) {
  std::string out;
  for (const Value& v : values) out += (out.empty() ? "" : " . ") + nft::ValueToString(v);
  return out;
}

// The policy entry behind a matched rule (a JSON path into the policy): the rule's own
// origin when the compiler made it from one entry, else the entry behind the set element it
// matched: a LAN allowlist range, or a published port (filter: address . proto . port;
// nat: proto . host port : address . port).
class Origins {
 public:
  Origins(const policy::Policy& policy, const Host& host) : policy_(policy), host_(host) {}

  std::string For(const nft::Rule& rule, const nft::Element* element, const std::string& set) const {
    if (!rule.origin.empty()) return rule.origin;
    if (element == nullptr) return "";
    if (set.rfind("lan-allow", 0) == 0) {
      for (size_t i = 0; i < policy_.lan.allow.size(); ++i) {
        const policy::Range& r = policy_.lan.allow[i];
        if (element->key == std::vector<Value>{r.lo} &&
            (element->key_end ? (*element->key_end)[0] == r.hi : r.lo == r.hi))
          return "lan.allow[" + std::to_string(i) + "]";
      }
      return "";
    }
    std::optional<Value> addr;
    uint16_t port = 0, host_port = 0;
    uint8_t proto = 0;
    if (set.rfind("published-", 0) == 0 && element->key.size() == 3) {
      addr = element->key[0];
      proto = std::get<nft::Proto>(element->key[1]).num;
      port = std::get<nft::Port>(element->key[2]).num;
    } else if (set.rfind("publish-", 0) == 0 && element->key.size() == 2 && element->data.size() == 2) {
      proto = std::get<nft::Proto>(element->key[0]).num;
      host_port = std::get<nft::Port>(element->key[1]).num;
      addr = element->data[0];
      port = std::get<nft::Port>(element->data[1]).num;
    }
    if (!addr) return "";
    auto name = host_.names.find(nft::ValueToString(*addr));
    if (name == host_.names.end()) return "";
    for (size_t i = 0; i < policy_.containers.size(); ++i) {
      const policy::Container& pc = policy_.containers[i];
      if (pc.name != name->second) continue;
      for (size_t j = 0; j < pc.publish.size(); ++j) {
        const policy::Publish& pub = pc.publish[j];
        if (pub.proto == proto && pub.port == port && (host_port == 0 || pub.host_port == host_port))
          return "containers[" + std::to_string(i) + "].publish[" + std::to_string(j) + "]";
      }
    }
    return "";
  }

 private:
  const policy::Policy& policy_;
  const Host& host_;
};

enum class Outcome { kContinue, kAccept, kDrop, kDnat };

class Walker {
 public:
  Walker(const nft::Ruleset& rs, const Origins& origins, const Host& host, State& s, std::vector<Step>& steps)
      : rs_(rs), origins_(origins), host_(host), s_(s), steps_(steps) {}

  // Every base chain of `hook` in tables of the given families, by priority; stops at the
  // first drop (or, in a nat chain, a dnat). Returns the deciding outcome.
  Outcome Hook(nft::Hook hook, const std::vector<nft::Family>& families, nft::ChainType type,
               const std::string& hook_name) {
    s_.hook = hook_name;
    std::vector<std::pair<const nft::Table*, const nft::Chain*>> chains;
    for (const nft::Table& t : rs_.tables) {
      if (std::find(families.begin(), families.end(), t.family) == families.end()) continue;
      for (const nft::Chain& c : t.chains)
        if (c.base && c.base->hook == hook && c.base->type == type) chains.emplace_back(&t, &c);
    }
    std::stable_sort(chains.begin(), chains.end(),
                     [](const auto& a, const auto& b) { return a.second->base->priority < b.second->base->priority; });
    Outcome decided = Outcome::kContinue;
    for (const auto& [t, c] : chains) {
      Outcome o = Chain(*t, *c, 0);
      if (o == Outcome::kContinue && c->base->policy_drop) {
        steps_.push_back(Step{hook_name, TableName(*t), c->name, "", true, "drop", "the chain's policy", ""});
        o = Outcome::kDrop;
      }
      if (o == Outcome::kDrop) return o;
      if (o != Outcome::kContinue) decided = o;  // an accept ends this base chain only
    }
    return decided;
  }

 private:
  static std::string TableName(const nft::Table& t) { return std::string(nft::FamilyName(t.family)) + " " + t.name; }

  Outcome Chain(const nft::Table& t, const nft::Chain& c, int depth) {
    if (depth > kMaxJumps) return Outcome::kContinue;
    for (const nft::Rule& r : c.rules) {
      Step step{s_.hook, TableName(t), c.name, r.comment, false, "", "", ""};
      const nft::Element* element = nullptr;  // the last set element the rule matched
      std::string element_set;
      bool matched = true;
      Outcome out = Outcome::kContinue;
      std::string jump;
      for (const nft::Expr& e : r.exprs) {
        if (!matched) break;
        std::visit(
            [&](const auto& x) {
              using T = std::decay_t<decltype(x)>;
              if constexpr (std::is_same_v<T, nft::Cmp>) {
                auto v = FieldValue(s_, x.field);
                matched = v && (Equal(*v, x.value) != x.negate);
              } else if constexpr (std::is_same_v<T, nft::PrefixMatch>) {
                auto v = FieldValue(s_, x.field);
                matched = v && (InPrefix(*v, x.addr, x.len) != x.negate);
              } else if constexpr (std::is_same_v<T, nft::Lookup>) {
                auto key = Key(s_, x.fields);
                const nft::Set* set = t.FindSet(x.set);
                const nft::Element* found = key && set ? FindElement(*set, *key) : nullptr;
                matched = key && ((found != nullptr) != x.negate);
                if (matched && found != nullptr) {
                  element = found;
                  element_set = x.set;
                  step.detail = Joined(*key) + " in @" + x.set;
                }
              } else if constexpr (std::is_same_v<T, nft::CtState>) {
                matched = (x.mask & nft::CtState::kNew) != 0;  // the first packet of a connection
              } else if constexpr (std::is_same_v<T, nft::CtStatusDnat>) {
                matched = s_.dnat;
              } else if constexpr (std::is_same_v<T, nft::FibDaddrLocal>) {
                matched = std::find(host_.local.begin(), host_.local.end(), s_.p.daddr) != host_.local.end();
              } else if constexpr (std::is_same_v<T, nft::Verdict>) {
                if (x.kind == nft::VerdictKind::kAccept) out = Outcome::kAccept;
                if (x.kind == nft::VerdictKind::kDrop) out = Outcome::kDrop;
                if (x.kind == nft::VerdictKind::kJump) jump = x.chain;
              } else if constexpr (std::is_same_v<T, nft::DnatMap>) {
                auto key = Key(s_, x.fields);
                const nft::Set* map = t.FindSet(x.map);
                const nft::Element* found = key && map ? FindElement(*map, *key) : nullptr;
                matched = found != nullptr && found->data.size() == 2;  // a miss breaks the rule
                if (matched) {
                  element = found;
                  element_set = x.map;
                  s_.p.daddr = found->data[0];
                  s_.p.dport = std::get<nft::Port>(found->data[1]).num;
                  s_.dnat = true;
                  out = Outcome::kDnat;
                  step.detail = "dnat to " + nft::ValueToString(s_.p.daddr) + ":" + std::to_string(s_.p.dport) +
                                " (" + Joined(*key) + " in @" + x.map + ")";
                }
              } else if constexpr (std::is_same_v<T, nft::Limit>) {
                matched = true;  // a first packet, under the log rate: the bucket has a token
              } else if constexpr (std::is_same_v<T, nft::Log>) {
                step.detail = "logged to nflog group " + std::to_string(x.group) + " as \"" + x.prefix + "\"";
              } else {
                static_assert(std::is_same_v<T, nft::Counter> || std::is_same_v<T, nft::Masquerade> ||
                                  std::is_same_v<T, nft::NftraceSet>,
                              "a new expression kind needs its meaning here");
              }
            },
            e);
      }
      step.matched = matched;
      if (matched) {
        step.action = status::RuleAction(r);
        step.origin = origins_.For(r, element, element_set);
      }
      steps_.push_back(step);
      if (!matched) continue;
      if (!jump.empty()) {
        const nft::Chain* target = nullptr;
        for (const nft::Chain& cc : t.chains)
          if (cc.name == jump) target = &cc;
        if (target == nullptr) continue;
        Outcome o = Chain(t, *target, depth + 1);
        if (o != Outcome::kContinue) return o;
        continue;
      }
      if (out != Outcome::kContinue) return out;
    }
    return Outcome::kContinue;
  }

 private:
  const nft::Ruleset& rs_;
  const Origins& origins_;
  const Host& host_;
  State& s_;
  std::vector<Step>& steps_;
};

// The device a packet to `addr` leaves by: the longest matching route, "" for the uplink.
std::string RouteOf(const Host& host, const Value& addr) {
  std::string dev;
  int best = -1;
  for (const Route& r : host.routes) {
    if (r.addr.index() != addr.index() || !InPrefix(addr, r.addr, r.len) || r.len <= best) continue;
    best = r.len;
    dev = r.dev;
  }
  return dev;
}

std::string Describe(const Step& s) {
  return s.table + " " + s.chain + ": " + (s.rule.empty() ? "the chain's policy" : s.rule);
}

}  // namespace

Explanation Explain(const nft::Ruleset& ruleset, const policy::Policy& policy, const Host& host, const Packet& packet) {
  Explanation out;
  State s{packet, "", false, ""};
  Origins origins(policy, host);
  Walker walk(ruleset, origins, host, s, out.steps);
  nft::Family nat_family = packet.v6() ? nft::Family::kIp6 : nft::Family::kIp;
  walk.Hook(nft::Hook::kPrerouting, {nat_family, nft::Family::kInet}, nft::ChainType::kNat, "prerouting");

  out.to_host = std::find(host.local.begin(), host.local.end(), s.p.daddr) != host.local.end();
  Outcome decided;
  if (out.to_host) {
    decided = walk.Hook(nft::Hook::kInput, {nft::Family::kInet, nat_family}, nft::ChainType::kFilter, "input");
  } else {
    s.oif = RouteOf(host, s.p.daddr);
    if (!packet.iif.empty() && s.oif == packet.iif) {
      // Between two ports of one bridge: switched, seen by the bridge family's forward hook
      // only (the inet forward hook sees it only where br_netfilter is loaded).
      decided = walk.Hook(nft::Hook::kForward, {nft::Family::kBridge}, nft::ChainType::kFilter, "bridge forward");
    } else {
      decided = walk.Hook(nft::Hook::kForward, {nft::Family::kInet, nat_family}, nft::ChainType::kFilter, "forward");
    }
  }
  out.daddr = s.p.daddr;
  out.dport = s.p.dport;
  if (auto name = host.names.find(nft::ValueToString(s.p.daddr)); name != host.names.end()) out.container = name->second;
  const Step* decider = nullptr;
  for (auto it = out.steps.rbegin(); it != out.steps.rend(); ++it) {
    if (it->matched && it->hook != "prerouting" && (it->action == "accept" || it->action == "drop")) {
      decider = &*it;
      break;
    }
  }
  if (decided == Outcome::kDrop) {
    out.verdict = "dropped";
  } else if (decider != nullptr && decided == Outcome::kAccept) {
    out.verdict = "allowed";
  } else {
    out.verdict = "not handled";
    decider = nullptr;
  }
  if (decider != nullptr) out.reason = Describe(*decider);
  return out;
}

Result<Destination> ParseDestination(std::string_view text) {
  auto bad = [&](const std::string& what) { return Status::InvalidArgument("DST: " + what); };
  Destination d;
  std::string rest(text);
  if (size_t slash = rest.rfind('/'); slash != std::string::npos) {
    std::string p = rest.substr(slash + 1);
    if (p != "tcp" && p != "udp") return bad("protocol \"" + p + "\" is not tcp or udp");
    d.proto = p == "udp" ? 17 : 6;
    rest.resize(slash);
  }
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad("\"" + std::string(text) + "\" has no HOST:PORT");
  d.host = rest.substr(0, colon);
  if (d.host.size() > 2 && d.host.front() == '[' && d.host.back() == ']') {
    d.host = d.host.substr(1, d.host.size() - 2);
    if (!nft::ParseIpv6(d.host)) return bad("[" + d.host + "] is not an IPv6 address");
  } else if (d.host.find_first_of(":[]") != std::string::npos) {
    return bad("write an IPv6 address in brackets: [" + d.host + "]:PORT");
  }
  std::string digits = rest.substr(colon + 1);
  if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos)
    return bad("port \"" + digits + "\" is not 1-65535");
  int port = std::stoi(digits);
  if (port < 1 || port > 65535) return bad("port \"" + digits + "\" is not 1-65535");
  d.port = static_cast<uint16_t>(port);
  return d;
}

std::vector<Route> PolicyRoutes(const policy::Policy& policy, const std::string& default_bridge_v4) {
  std::vector<Route> out;
  for (const policy::Network& n : policy.networks) {
    out.push_back(Route{Value{*n.subnet_v4.v4}, n.subnet_v4.len, n.bridge});
    if (n.subnet_v6) out.push_back(Route{Value{*n.subnet_v6->v6}, n.subnet_v6->len, n.bridge});
  }
  auto [docker0, len] = compile::DefaultBridgePrefix(default_bridge_v4);
  out.push_back(Route{Value{docker0}, len, compile::kDockerDefaultBridge});
  return out;
}

}  // namespace ipo::explain
