#include "compile/compiler.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

namespace ipo::compile {
namespace {

using nft::Chain;
using nft::Element;
using nft::Expr;
using nft::Field;
using nft::Rule;
using nft::Set;
using nft::Table;
using nft::Type;
using nft::Value;
using nft::Verdict;
using nft::VerdictKind;

constexpr uint8_t kNfprotoIpv4 = 2;
constexpr uint8_t kNfprotoIpv6 = 10;

Expr Accept() { return Verdict{VerdictKind::kAccept, ""}; }
Expr Drop() { return Verdict{VerdictKind::kDrop, ""}; }
Expr Jump(const std::string& chain) { return Verdict{VerdictKind::kJump, chain}; }
Expr Nfproto(uint8_t p) { return nft::Cmp{Field::kMetaNfproto, false, nft::Proto{p}}; }
Expr In(std::vector<Field> fields, const std::string& set) {
  return nft::Lookup{std::move(fields), false, set};
}

bool IsStatement(const Expr& e) {
  return std::holds_alternative<Verdict>(e) || std::holds_alternative<nft::DnatMap>(e) ||
         std::holds_alternative<nft::Masquerade>(e);
}

// A rule with a counter just before its statement (at the end when it has none): every rule
// the agent writes is counted (`ipo-netctl status --counters`, the metrics' drops by rule).
Rule MakeRule(std::vector<Expr> exprs, std::string comment) {
  auto at = !exprs.empty() && IsStatement(exprs.back()) ? exprs.end() - 1 : exprs.end();
  exprs.insert(at, nft::Counter{});
  return Rule{std::move(exprs), std::move(comment), std::nullopt};
}

Element RangeElement(const policy::Range& r) {
  Element e;
  e.key = {r.lo};
  if (r.lo != r.hi) e.key_end = std::vector<Value>{r.hi};
  return e;
}

// `meta nfproto ipvX ip[6] saddr <subnet> counter drop`: a LAN source outside the allowlist.
// `rule`, made from the policy entry at JSON path `origin`.
Rule From(std::string origin, Rule rule) {
  rule.origin = std::move(origin);
  return rule;
}

std::string Indexed(const char* list, size_t i) { return std::string(list) + "[" + std::to_string(i) + "]"; }

Rule LanDrop(const policy::Prefix& p) {
  std::vector<Expr> exprs{Nfproto(p.is_v4() ? kNfprotoIpv4 : kNfprotoIpv6)};
  if (p.len > 0) {  // a /0 "LAN" is every source of the family
    exprs.push_back(nft::PrefixMatch{p.is_v4() ? Field::kIpSaddr : Field::kIp6Saddr, false,
                                     p.is_v4() ? Value{*p.v4} : Value{*p.v6}, p.len});
  }
  exprs.push_back(Drop());
  return MakeRule(std::move(exprs), "LAN sources outside the allowlist (" + p.ToString() + ")");
}

// "a.b.c.d/len" with len 1..32, host bits cleared. nullopt when malformed.
std::optional<std::pair<nft::Ipv4, uint8_t>> ParseV4Prefix(const std::string& text) {
  size_t slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto addr = nft::ParseIpv4(text.substr(0, slash));
  std::string len_text = text.substr(slash + 1);
  if (!addr || len_text.empty() || len_text.size() > 2 ||
      !std::all_of(len_text.begin(), len_text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  int len = std::stoi(len_text);
  if (len < 1 || len > 32) return std::nullopt;
  addr->addr &= len == 32 ? 0xffffffffu : ~(0xffffffffu >> len);
  return std::pair{*addr, static_cast<uint8_t>(len)};
}

void Sort(Set& s) {
  std::sort(s.elements.begin(), s.elements.end());
  s.elements.erase(std::unique(s.elements.begin(), s.elements.end()), s.elements.end());
}

template <typename T>
std::optional<Value> OptValue(const std::optional<T>& v) {
  if (!v) return std::nullopt;
  return Value{*v};
}

// One published port of one running policy container, with its address on its network.
struct Live {
  const policy::Publish* publish;
  Value addr;  // Ipv4 or Ipv6
};

// Addresses and published ports of running policy containers, per family.
std::vector<Live> LivePublished(const policy::Policy& policy, const Observed& observed, bool v6) {
  std::vector<Live> out;
  for (const ObservedContainer& oc : observed.containers) {
    const policy::Container* pc = policy.FindContainer(oc.name);
    if (!pc || !oc.running) continue;
    std::optional<Value> addr;
    if (!v6) {
      if (auto a = nft::ParseIpv4(oc.ipv4)) addr = *a;
    } else {
      if (auto a = nft::ParseIpv6(oc.ipv6)) addr = *a;
    }
    if (!addr) continue;
    for (const policy::Publish& p : pc->publish) out.push_back(Live{&p, *addr});
  }
  return out;
}

Table FilterTable(const policy::Policy& policy, const Observed& observed) {
  Table t;
  t.family = nft::Family::kInet;
  t.name = kFilterTable;

  Set bridges{"bridges", {Type::kIfName}, {}, false, {},
              "bridges of the policy's networks, Docker's default one and every bridge network Docker reports"};
  for (const policy::Network& n : policy.networks) bridges.elements.push_back(Element{{nft::IfName{n.bridge}}, {}, {}});
  // A container starts on docker0 and sits there until the agent moves it (seconds under
  // load): guarded like the others from the first boot on (an ifname matches before the
  // interface exists).
  bridges.elements.push_back(Element{{nft::IfName{kDockerDefaultBridge}}, {}, {}});
  // Networks created by anyone (compose, `docker network create -o
  // com.docker.network.bridge.name=...`): elements, so a new one changes no rule. Those with
  // Docker's default names match the br-* rules below before their event arrives.
  // Within one of those networks traffic is layer 2 and never seen here, unless br_netfilter
  // hands bridged frames to this hook (bridge-nf-call-iptables=1, loaded by something else:
  // dockerd loads it only with iptables on): then it arrives as iifname == oifname == the
  // bridge and must pass like Docker's own icc. Not docker0 (see between-bridges).
  Set within{"within-network", {Type::kIfName, Type::kIfName}, {}, false, {},
             "bridge . bridge of every network Docker reports: its containers talk among themselves"};
  for (const std::string& b : observed.bridges) {
    if (b.empty() || b.size() >= 16) continue;
    bridges.elements.push_back(Element{{nft::IfName{b}}, {}, {}});
    if (b != kDockerDefaultBridge) within.elements.push_back(Element{{nft::IfName{b}, nft::IfName{b}}, {}, {}});
  }
  Set allow4{"lan-allow-v4", {Type::kIpv4Addr}, {}, true, {}, "LAN sources allowed to reach every container"};
  Set allow6{"lan-allow-v6", {Type::kIpv6Addr}, {}, true, {}, "LAN sources allowed to reach every container"};
  for (const policy::Range& r : policy.lan.allow) (r.is_v4() ? allow4 : allow6).elements.push_back(RangeElement(r));

  Set pub4{"published-v4", {Type::kIpv4Addr, Type::kInetProto, Type::kInetService}, {}, false, {},
           "container address . proto . port published to everyone"};
  Set pub6{"published-v6", {Type::kIpv6Addr, Type::kInetProto, Type::kInetService}, {}, false, {},
           "container address . proto . port published to everyone"};
  for (bool v6 : {false, true}) {
    for (const Live& l : LivePublished(policy, observed, v6)) {
      if (l.publish->from != policy::From::kAny) continue;
      (v6 ? pub6 : pub4).elements.push_back(
          Element{{l.addr, nft::Proto{l.publish->proto}, nft::Port{l.publish->port}}, {}, {}});
    }
  }
  ProxyGuard guard = MakeProxyGuard(
      observed.proxy_ports,
      {MakeRule({Nfproto(kNfprotoIpv4), In({Field::kIpSaddr}, "lan-allow-v4"), Accept()}, "the LAN allowlist (IPv4)"),
       MakeRule({Nfproto(kNfprotoIpv6), In({Field::kIp6Saddr}, "lan-allow-v6"), Accept()},
                "the LAN allowlist (IPv6)")},
      "docker-proxy ports are for the LAN allowlist only");
  for (Set* s : {&bridges, &within, &allow4, &allow6, &pub4, &pub6, &guard.set}) {
    Sort(*s);
    t.sets.push_back(std::move(*s));
  }

  Chain between{"between-bridges", std::nullopt, {}};
  for (size_t i = 0; i < policy.networks.size(); ++i) {
    const policy::Network& n = policy.networks[i];
    between.rules.push_back(From(Indexed("networks", i),
                                 MakeRule({nft::Cmp{Field::kIifname, false, nft::IfName{n.bridge}},
                                           nft::Cmp{Field::kOifname, false, nft::IfName{n.bridge}}, Accept()},
                                          "within network " + n.name)));
  }
  between.rules.push_back(MakeRule({In({Field::kIifname, Field::kOifname}, "within-network"), Accept()},
                                   "within a network Docker reports"));
  // Nothing "within Docker's default network": containers there are unplaced or not the
  // policy's, and never talk to each other (the bridge table drops it on layer 2).
  between.rules.push_back(MakeRule({Drop()}, "containers on different networks never talk"));

  Chain to_containers{"to-containers", std::nullopt, {}};
  auto& tc = to_containers.rules;
  tc.push_back(MakeRule({nft::CtState{nft::CtState::kEstablished | nft::CtState::kRelated}, Accept()}, "replies"));
  tc.push_back(MakeRule({nft::CtState{nft::CtState::kInvalid}, Drop()}, "invalid"));
  tc.push_back(MakeRule({Nfproto(kNfprotoIpv4), In({Field::kIpSaddr}, "lan-allow-v4"), Accept()},
                        "the LAN allowlist reaches every container (IPv4)"));
  tc.push_back(MakeRule({Nfproto(kNfprotoIpv6), In({Field::kIp6Saddr}, "lan-allow-v6"), Accept()},
                        "the LAN allowlist reaches every container (IPv6)"));
  // The LAN's drop rules match the subnets inline, not through an interval set: an interval
  // set created in the same batch (every full replacement) matches nothing for a moment at
  // commit on Linux 6.18 (measured, see docs/ruleset.md), and a drop that misses opens the
  // published ports to the LAN. The allowlists' interval sets only ever accept, so a miss
  // there fails closed; hash sets (bridges, published, proxy-ports) showed no such window.
  for (size_t i = 0; i < policy.lan.subnets.size(); ++i)
    tc.push_back(From(Indexed("lan.subnets", i), LanDrop(policy.lan.subnets[i])));
  tc.push_back(MakeRule({Nfproto(kNfprotoIpv4), nft::CtStatusDnat{},
                         In({Field::kIpDaddr, Field::kMetaL4proto, Field::kThDport}, "published-v4"), Accept()},
                        "published ports (IPv4)"));
  tc.push_back(MakeRule({Nfproto(kNfprotoIpv6), nft::CtStatusDnat{},
                         In({Field::kIp6Daddr, Field::kMetaL4proto, Field::kThDport}, "published-v6"), Accept()},
                        "published ports (IPv6)"));
  tc.push_back(MakeRule({Drop()}, "nothing else reaches a container"));

  // Into a container network: a bridge of set "bridges" or any "br-*" (static: no event
  // needed), from another container network or from anywhere else.
  nft::IfNamePrefix docker_bridges{kDockerBridgePrefix};
  Chain into{"into-bridge", std::nullopt, {}};
  into.rules.push_back(
      MakeRule({In({Field::kIifname}, "bridges"), Jump("between-bridges")}, "container to container"));
  into.rules.push_back(MakeRule({nft::Cmp{Field::kIifname, false, docker_bridges}, Jump("between-bridges")},
                                "container to container, from a network Docker created"));
  into.rules.push_back(MakeRule({Jump("to-containers")}, "into containers"));

  Chain forward{"filter-forward", nft::BaseChainSpec{nft::ChainType::kFilter, nft::Hook::kForward, 0, false}, {}};
  forward.rules.push_back(MakeRule({In({Field::kOifname}, "bridges"), Jump("into-bridge")}, "into a container network"));
  forward.rules.push_back(MakeRule({nft::Cmp{Field::kOifname, false, docker_bridges}, Jump("into-bridge")},
                                   "into a network Docker created"));

  t.chains = {std::move(between), std::move(to_containers), std::move(into), std::move(guard.to_proxy),
              std::move(forward), std::move(guard.input)};
  return t;
}

Table NatTable(const policy::Policy& policy, const Observed& observed, bool v6) {
  Table t;
  t.family = v6 ? nft::Family::kIp6 : nft::Family::kIp;
  t.name = kNatTable;
  Type addr_type = v6 ? Type::kIpv6Addr : Type::kIpv4Addr;
  Field saddr = v6 ? Field::kIp6Saddr : Field::kIpSaddr;

  Set allow{"lan-allow", {addr_type}, {}, true, {}, "LAN sources allowed to reach every container"};
  for (const policy::Range& r : policy.lan.allow)
    if (r.is_v4() != v6) allow.elements.push_back(RangeElement(r));
  Set any{"publish-any", {Type::kInetProto, Type::kInetService}, {addr_type, Type::kInetService}, false, {},
          "host port -> container address . port, for everyone"};
  Set lan{"publish-lan", {Type::kInetProto, Type::kInetService}, {addr_type, Type::kInetService}, false, {},
          "host port -> container address . port, for the LAN allowlist"};
  for (const Live& l : LivePublished(policy, observed, v6)) {
    Element e{{nft::Proto{l.publish->proto}, nft::Port{l.publish->host_port}}, {}, {l.addr, nft::Port{l.publish->port}}};
    (l.publish->from == policy::From::kAny ? any : lan).elements.push_back(std::move(e));
  }
  Set docker{"docker-lan", {Type::kInetProto, Type::kInetService}, {addr_type, Type::kInetService}, false, {},
             "docker run -p on every local address -> container address . port, for the LAN allowlist"};
  Set docker_at{"docker-lan-at", {addr_type, Type::kInetProto, Type::kInetService}, {addr_type, Type::kInetService},
                false, {}, "docker run -p on one host address -> container address . port, for the LAN allowlist"};
  for (const DockerPublication& d : observed.docker_published) {
    if (d.v6 != v6) continue;
    auto target = v6 ? OptValue(nft::ParseIpv6(d.target)) : OptValue(nft::ParseIpv4(d.target));
    if (!target) continue;
    std::vector<Value> data{*target, nft::Port{d.port}};
    if (d.host_ip.empty()) {
      docker.elements.push_back(Element{{nft::Proto{d.proto}, nft::Port{d.host_port}}, {}, data});
      continue;
    }
    auto host = v6 ? OptValue(nft::ParseIpv6(d.host_ip)) : OptValue(nft::ParseIpv4(d.host_ip));
    if (host) docker_at.elements.push_back(Element{{*host, nft::Proto{d.proto}, nft::Port{d.host_port}}, {}, data});
  }
  for (Set* s : {&allow, &any, &lan, &docker, &docker_at}) {
    Sort(*s);
    t.sets.push_back(std::move(*s));
  }

  nft::Family fam = v6 ? nft::Family::kIp6 : nft::Family::kIp;
  std::vector<Field> port_key{Field::kMetaL4proto, Field::kThDport};
  Chain pre{"nat-prerouting", nft::BaseChainSpec{nft::ChainType::kNat, nft::Hook::kPrerouting, -100, false}, {}};
  pre.rules.push_back(MakeRule({In({saddr}, "lan-allow"), nft::FibDaddrLocal{}, nft::DnatMap{fam, port_key, "publish-lan"}},
                               "ports published to the LAN allowlist"));
  pre.rules.push_back(MakeRule({nft::FibDaddrLocal{}, nft::DnatMap{fam, port_key, "publish-any"}},
                               "ports published to everyone"));
  // After the policy's own: a policy publication always wins (Observe also drops the
  // conflicting docker bindings and reports them).
  pre.rules.push_back(MakeRule({In({saddr}, "lan-allow"), nft::FibDaddrLocal{}, nft::DnatMap{fam, port_key, "docker-lan"}},
                               "docker run -p bindings, for the LAN allowlist"));
  pre.rules.push_back(MakeRule({In({saddr}, "lan-allow"),
                                nft::DnatMap{fam, {v6 ? Field::kIp6Daddr : Field::kIpDaddr, Field::kMetaL4proto,
                                                   Field::kThDport},
                                             "docker-lan-at"}},
                               "docker run -p bindings on one host address, for the LAN allowlist"));

  Chain post{"nat-postrouting", nft::BaseChainSpec{nft::ChainType::kNat, nft::Hook::kPostrouting, 100, false}, {}};
  for (size_t i = 0; i < policy.networks.size(); ++i) {
    const policy::Network& n = policy.networks[i];
    const policy::Prefix* subnet = v6 ? (n.subnet_v6 ? &*n.subnet_v6 : nullptr) : &n.subnet_v4;
    if (!subnet) continue;
    Value addr = v6 ? Value{*subnet->v6} : Value{*subnet->v4};
    post.rules.push_back(From(Indexed("networks", i),
                              MakeRule({nft::PrefixMatch{saddr, false, addr, subnet->len},
                                        nft::Cmp{Field::kOifname, true, nft::IfName{n.bridge}}, nft::Masquerade{}},
                                       "egress of network " + n.name)));
  }
  t.chains = {std::move(pre), std::move(post)};
  return t;
}

// "ipo <family>/<chain>: <comment>", cut to what nflog carries: the name `ipo-netctl drops`
// finds the drop rule by (unique in a ruleset: comments are unique per chain).
std::string LogPrefix(const Table& t, const Chain& c, const std::string& comment) {
  std::string p = std::string("ipo ") + nft::FamilyName(t.family) + "/" + c.name + ": " + comment;
  p.erase(std::remove(p.begin(), p.end(), '"'), p.end());
  if (p.size() > nft::Log::kMaxLogPrefix) p.resize(nft::Log::kMaxLogPrefix);
  return p;
}

// Before every drop rule of `t`, its twin: the same matches, then `limit`, a counter and
// `log` to the policy's nflog group. The twin has no verdict, so the drop rule after it still
// drops every packet; only the log is rate-limited. It carries the drop rule's origin.
void LogDrops(Table& t, const policy::DropLog& dl) {
  for (Chain& c : t.chains) {
    std::vector<Rule> rules;
    rules.reserve(c.rules.size() * 2);
    for (Rule& r : c.rules) {
      const auto* v = r.exprs.empty() ? nullptr : std::get_if<Verdict>(&r.exprs.back());
      if (v != nullptr && v->kind == VerdictKind::kDrop) {
        std::vector<Expr> exprs;
        for (const Expr& e : r.exprs)
          if (!std::holds_alternative<nft::Counter>(e) && !IsStatement(e)) exprs.push_back(e);
        exprs.emplace_back(nft::Limit{dl.per_second, dl.burst});
        exprs.emplace_back(nft::Counter{});
        exprs.emplace_back(nft::Log{LogPrefix(t, c, r.comment), dl.group});
        rules.push_back(From(r.origin, Rule{std::move(exprs), "log: " + r.comment, std::nullopt}));
      }
      rules.push_back(std::move(r));
    }
    c.rules = std::move(rules);
  }
}

}  // namespace

ProxyGuard MakeProxyGuard(const std::vector<ProxyPort>& ports, std::vector<nft::Rule> allow,
                          const std::string& drop_comment) {
  ProxyGuard g{Set{"proxy-ports", {Type::kInetProto, Type::kInetService}, {}, false, {},
                   "host ports docker-proxy listens on (docker run -p)"},
               Chain{"to-proxy", std::nullopt, {}},
               Chain{"filter-input", nft::BaseChainSpec{nft::ChainType::kFilter, nft::Hook::kInput, 0, false}, {}}};
  for (const ProxyPort& p : ports) g.set.elements.push_back(Element{{nft::Proto{p.proto}, nft::Port{p.port}}, {}, {}});
  Sort(g.set);
  auto& tp = g.to_proxy.rules;
  tp.push_back(MakeRule({nft::Cmp{Field::kIifname, false, nft::IfName{"lo"}}, Accept()}, "the host itself"));
  tp.push_back(MakeRule({nft::CtState{nft::CtState::kEstablished | nft::CtState::kRelated}, Accept()}, "replies"));
  for (Rule& r : allow) tp.push_back(std::move(r));
  tp.push_back(MakeRule({Drop()}, drop_comment));
  g.input.rules.push_back(MakeRule({In({Field::kMetaL4proto, Field::kThDport}, "proxy-ports"), Jump("to-proxy")},
                                   "ports docker-proxy publishes"));
  return g;
}

std::pair<nft::Ipv4, uint8_t> DefaultBridgePrefix(const std::string& subnet_v4) {
  auto prefix = ParseV4Prefix(subnet_v4);
  if (!prefix) prefix = ParseV4Prefix(kDefaultBridgeSubnet);
  return *prefix;
}

nft::Table DefaultBridgeGuard(const std::string& subnet_v4) {
  auto prefix = DefaultBridgePrefix(subnet_v4);
  nft::Table t;
  t.family = nft::Family::kBridge;
  t.name = kFilterTable;
  // Frames switched between two ports of a bridge pass this hook and no inet one. Which
  // bridge would be `meta ibrname`, which needs nft_meta_bridge (CONFIG_NFT_BRIDGE_META, not
  // built into every kernel); an IPv4 destination in docker0's subnet is docker0's on every
  // kernel with nf_tables_bridge (no other bridge carries that subnet).
  Chain forward{"filter-forward", nft::BaseChainSpec{nft::ChainType::kFilter, nft::Hook::kForward, 0, false}, {}};
  forward.rules.push_back(MakeRule({nft::Cmp{Field::kMetaProtocol, false, nft::Port{0x0800}},
                                    nft::PrefixMatch{Field::kIpDaddr, false, prefix.first, prefix.second}, Drop()},
                                   "containers on Docker's default bridge never talk to each other"));
  t.chains.push_back(std::move(forward));
  return t;
}

nft::Ruleset Compile(const policy::Policy& policy, const Observed& observed) {
  nft::Ruleset rs;
  rs.tables.push_back(FilterTable(policy, observed));
  rs.tables.push_back(NatTable(policy, observed, false));
  rs.tables.push_back(NatTable(policy, observed, true));
  rs.tables.push_back(DefaultBridgeGuard(observed.default_bridge_v4));
  if (policy.drop_log.enabled)
    for (Table& t : rs.tables) LogDrops(t, policy.drop_log);
  return rs;
}

std::vector<nft::TableRef> OwnedTables() {
  return {{nft::Family::kInet, kFilterTable},
          {nft::Family::kIp, kNatTable},
          {nft::Family::kIp6, kNatTable},
          {nft::Family::kBridge, kFilterTable}};
}

}  // namespace ipo::compile
