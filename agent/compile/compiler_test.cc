#include "compile/compiler.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "compile/baseline.h"

using ipo::compile::Compile;
using ipo::model::Observed;

namespace {

ipo::policy::Policy LabPolicy() {
  auto p = ipo::policy::LoadPolicy(IPO_TESTDATA "/../../../rules/policy.json");
  REQUIRE(p.ok());
  return *p;
}

// The lab after the agent moved the three containers, with one extra `-p 9999:3316` (published
// by the agent for the LAN allowlist) and a stranger's `-p 192.168.1.100:5353:53/udp`.
Observed LabObserved() {
  Observed o;
  o.containers = {
      {"docker_a", "aaa", true, "172.30.1.2", "fd00:ac1e:1::2"},
      {"docker_b", "bbb", true, "172.30.1.3", "fd00:ac1e:1::3"},
      {"docker_c", "ccc", true, "172.30.2.2", "fd00:ac1e:2::2"},
      {"stranger", "sss", true, "172.17.0.5", ""},
  };
  o.proxy_ports = {{6, 9999}, {17, 5353}};
  o.docker_published = {{6, 9999, false, "", "172.30.1.3", 3316, "docker_b"},
                        {6, 9999, true, "", "fd00:ac1e:1::3", 3316, "docker_b"},
                        {17, 5353, false, "192.168.1.100", "172.17.0.5", 53, "stranger"}};
  // `docker network create shop` and one with a custom bridge name, next to the policy's.
  o.bridges = {"br-5c6b2e0f4a1d", "docker0", "ipo-isolated", "ipo-shared", "shopnet0"};
  o.default_bridge_v4 = "172.17.0.0/16";
  return o;
}

// The rules of `chain` in the inet filter table, one per line.
bool IsLogRule(const ipo::nft::Rule& r) { return !r.exprs.empty() && std::holds_alternative<ipo::nft::Log>(r.exprs.back()); }

// The rules of a chain, one per line, without the drop log's twins (their own tests below).
std::string ChainText(const ipo::nft::Ruleset& rs, const std::string& chain, ipo::nft::Family f = ipo::nft::Family::kInet) {
  std::string out;
  for (const auto& c : rs.FindTable(f, "ipo_netd")->chains)
    if (c.name == chain)
      for (const auto& r : c.rules)
        if (!IsLogRule(r)) out += r.ExprsToString() + "\n";
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("the lab policy compiles to the golden ruleset") {
  std::string got = Compile(LabPolicy(), LabObserved()).ToString();
  std::string golden_path = IPO_TESTDATA "/lab.nft";
  if (std::getenv("IPO_UPDATE_GOLDEN")) {
    std::ofstream(golden_path) << got;
  }
  std::string want = ReadFile(golden_path);
  CHECK(got == want);
}

TEST_CASE("compilation is deterministic whatever the order Docker lists containers in") {
  Observed a = LabObserved();
  Observed b = a;
  std::reverse(b.containers.begin(), b.containers.end());
  CHECK(Compile(LabPolicy(), a).ToString() == Compile(LabPolicy(), b).ToString());
}

TEST_CASE("container churn changes set elements only, never rules") {
  Observed up = LabObserved();
  up.proxy_ports = {{6, 9999}};
  up.docker_published.clear();
  Observed down = up;
  down.containers[0].running = false;   // docker_a stopped
  down.containers[2].ipv4 = "172.30.2.9";  // docker_c got a new address
  down.proxy_ports.clear();
  auto before = Compile(LabPolicy(), up);
  auto after = Compile(LabPolicy(), down);
  REQUIRE(ipo::nft::SameStructure(before, after));
  std::vector<std::string> changes;
  for (const auto& c : ipo::nft::DiffElements(before, after)) {
    changes.push_back(std::string(c.add ? "add " : "delete ") + ipo::nft::FamilyName(c.family) + " " + c.table + " " +
                      c.set + " { " + ipo::nft::ElementToString(c.element) + " }");
  }
  std::vector<std::string> want = {
      "delete inet ipo_netd published-v4 { 172.30.1.2 . tcp . 8080 }",
      "delete inet ipo_netd published-v4 { 172.30.2.2 . tcp . 80 }",
      "delete inet ipo_netd published-v6 { fd00:ac1e:1::2 . tcp . 8080 }",
      "delete inet ipo_netd proxy-ports { tcp . 9999 }",
      "delete ip ipo_netd_nat publish-any { tcp . 80 : 172.30.2.2 . 80 }",
      "delete ip ipo_netd_nat publish-any { tcp . 8080 : 172.30.1.2 . 8080 }",
      "delete ip6 ipo_netd_nat publish-any { tcp . 8080 : fd00:ac1e:1::2 . 8080 }",
      "add inet ipo_netd published-v4 { 172.30.2.9 . tcp . 80 }",
      "add ip ipo_netd_nat publish-any { tcp . 80 : 172.30.2.9 . 80 }",
  };
  CHECK(changes == want);
}

TEST_CASE("a container not yet on its policy network publishes nothing") {
  Observed o;
  o.containers = {{"docker_a", "aaa", true, "", ""}};
  auto rs = Compile(LabPolicy(), o);
  CHECK(rs.FindTable(ipo::nft::Family::kInet, "ipo_netd")->FindSet("published-v4")->elements.empty());
  CHECK(rs.FindTable(ipo::nft::Family::kIp, "ipo_netd_nat")->FindSet("publish-any")->elements.empty());
}

TEST_CASE("a port published to the LAN goes only to the allowlist map") {
  auto rs = Compile(LabPolicy(), LabObserved());
  const auto* nat = rs.FindTable(ipo::nft::Family::kIp, "ipo_netd_nat");
  REQUIRE(nat);
  REQUIRE(nat->FindSet("publish-lan")->elements.size() == 1);
  CHECK(ipo::nft::ElementToString(nat->FindSet("publish-lan")->elements[0]) == "tcp . 3316 : 172.30.1.3 . 3316");
  for (const auto& e : nat->FindSet("publish-any")->elements) CHECK(ipo::nft::ElementToString(e).find("3316") == std::string::npos);
  const auto* filter = rs.FindTable(ipo::nft::Family::kInet, "ipo_netd");
  for (const auto& e : filter->FindSet("published-v4")->elements)
    CHECK(ipo::nft::ElementToString(e).find("3316") == std::string::npos);
}

// Interval sets created in the same batch can miss for a moment at commit (Linux 6.18,
// docs/ruleset.md): a drop must never hinge on one, or a full replacement opens a hole.
TEST_CASE("no drop rule depends on an interval-set lookup") {
  auto rs = Compile(LabPolicy(), LabObserved());
  size_t drops = 0;
  for (const auto& t : rs.tables) {
    for (const auto& c : t.chains) {
      for (const auto& r : c.rules) {
        bool drop = false;
        for (const auto& e : r.exprs) {
          if (const auto* v = std::get_if<ipo::nft::Verdict>(&e)) drop = drop || v->kind == ipo::nft::VerdictKind::kDrop;
        }
        if (!drop) continue;
        ++drops;
        for (const auto& e : r.exprs) {
          const auto* l = std::get_if<ipo::nft::Lookup>(&e);
          if (!l) continue;
          INFO(t.name << " " << c.name << ": " << r.comment);
          const auto* set = t.FindSet(l->set);
          REQUIRE(set);
          CHECK_FALSE(set->interval);
        }
      }
    }
  }
  CHECK(drops >= 5);  // the LAN (v4, v6), invalid, between bridges, everything else, proxy
}

TEST_CASE("every drop rule follows its rate-limited log twin, which names it in a unique prefix") {
  auto policy = LabPolicy();
  policy.drop_log = {true, 77, 5, 9};
  auto rs = Compile(policy, LabObserved());
  size_t drops = 0;
  std::set<std::string> prefixes;
  for (const auto& t : rs.tables) {
    for (const auto& c : t.chains) {
      for (size_t i = 0; i < c.rules.size(); ++i) {
        const auto& r = c.rules[i];
        const auto* v = std::get_if<ipo::nft::Verdict>(&r.exprs.back());
        if (v == nullptr || v->kind != ipo::nft::VerdictKind::kDrop) continue;
        ++drops;
        INFO(c.name << ": " << r.comment);
        REQUIRE(i > 0);
        const auto& log = c.rules[i - 1];
        REQUIRE(IsLogRule(log));
        CHECK(log.comment == "log: " + r.comment);
        CHECK(log.origin == r.origin);
        const auto& l = std::get<ipo::nft::Log>(log.exprs.back());
        CHECK(l.group == 77);
        CHECK(l.prefix.size() <= ipo::nft::Log::kMaxLogPrefix);
        CHECK(l.prefix == "ipo " + std::string(ipo::nft::FamilyName(t.family)) + "/" + c.name + ": " + r.comment);
        CHECK(prefixes.insert(l.prefix).second);
        // The same matches, then limit, counter, log: never a verdict of its own.
        std::vector<ipo::nft::Expr> matches(r.exprs.begin(), r.exprs.end() - 2);
        std::vector<ipo::nft::Expr> twin = matches;
        twin.emplace_back(ipo::nft::Limit{5, 9});
        twin.emplace_back(ipo::nft::Counter{});
        twin.emplace_back(l);
        CHECK(ipo::nft::Rule{twin, ""}.ExprsToString() == log.ExprsToString());
      }
    }
  }
  CHECK(drops >= 6);
  CHECK(prefixes.size() == drops);

  policy.drop_log.enabled = false;
  for (const auto& t : Compile(policy, LabObserved()).tables)
    for (const auto& c : t.chains)
      for (const auto& r : c.rules) CHECK_FALSE(IsLogRule(r));
}

TEST_CASE("each LAN subnet gets its own inline drop rule; a /0 LAN is the whole family") {
  auto policy = LabPolicy();
  auto to_containers = [](const ipo::nft::Ruleset& rs) {
    std::string out;
    for (const auto& c : rs.FindTable(ipo::nft::Family::kInet, "ipo_netd")->chains)
      if (c.name == "to-containers")
        for (const auto& r : c.rules) out += r.ExprsToString() + "\n";
    return out;
  };
  std::string text = to_containers(Compile(policy, LabObserved()));
  CHECK(text.find("meta nfproto ipv4 ip saddr 192.168.1.0/24 counter drop") != std::string::npos);
  CHECK(text.find("meta nfproto ipv6 ip6 saddr fd00:192:168:1::/64 counter drop") != std::string::npos);

  policy.lan.subnets.push_back(policy.lan.subnets[0]);
  policy.lan.subnets.back().len = 0;
  policy.lan.subnets.back().v4 = ipo::nft::Ipv4{0};
  text = to_containers(Compile(policy, LabObserved()));
  CHECK(text.find("meta nfproto ipv4 counter drop") != std::string::npos);
}

TEST_CASE("docker -p bindings are DNATed for the LAN allowlist only, HostIp honoured") {
  Observed o = LabObserved();
  o.docker_published = {
      {6, 9999, false, "", "172.30.1.3", 3316, "docker_b"},               // -p 9999:3316
      {6, 9999, true, "", "fd00:ac1e:1::3", 3316, "docker_b"},            // its [::] twin
      {17, 5353, false, "192.168.1.100", "172.17.0.5", 53, "stranger"},   // -p 192.168.1.100:5353:53/udp
      {6, 7000, true, "", "", 70, "stranger"},                            // no IPv6 address: nothing
  };
  auto rs = Compile(LabPolicy(), o);
  const auto* nat4 = rs.FindTable(ipo::nft::Family::kIp, "ipo_netd_nat");
  const auto* nat6 = rs.FindTable(ipo::nft::Family::kIp6, "ipo_netd_nat");
  REQUIRE(nat4);
  REQUIRE(nat6);
  auto text = [](const ipo::nft::Set* s) {
    std::vector<std::string> out;
    for (const auto& e : s->elements) out.push_back(ipo::nft::ElementToString(e));
    return out;
  };
  CHECK(text(nat4->FindSet("docker-lan")) == std::vector<std::string>{"tcp . 9999 : 172.30.1.3 . 3316"});
  CHECK(text(nat4->FindSet("docker-lan-at")) ==
        std::vector<std::string>{"192.168.1.100 . udp . 5353 : 172.17.0.5 . 53"});
  CHECK(text(nat6->FindSet("docker-lan")) == std::vector<std::string>{"tcp . 9999 : fd00:ac1e:1::3 . 3316"});
  CHECK(nat6->FindSet("docker-lan-at")->elements.empty());
  // Nothing of it is published to everyone: the filter's published sets stay the policy's.
  const auto* filter = rs.FindTable(ipo::nft::Family::kInet, "ipo_netd");
  for (const auto& e : filter->FindSet("published-v4")->elements)
    CHECK(ipo::nft::ElementToString(e).find("9999") == std::string::npos);
  // Both docker rules come after the policy's and only for the allowlist.
  std::string nft = rs.ToString();
  auto lan = nft.find("ip saddr @lan-allow fib daddr type local counter dnat ip to meta l4proto . th dport map @docker-lan");
  auto at = nft.find("ip saddr @lan-allow counter dnat ip to ip daddr . meta l4proto . th dport map @docker-lan-at");
  auto any = nft.find("map @publish-any");
  CHECK(lan != std::string::npos);
  CHECK(at != std::string::npos);
  CHECK(any < lan);
}

TEST_CASE("docker publications change map elements only, never rules") {
  Observed a = LabObserved();
  Observed b = LabObserved();
  a.docker_published.clear();
  CHECK(ipo::nft::SameStructure(Compile(LabPolicy(), a), Compile(LabPolicy(), b)));
}

TEST_CASE("every Docker bridge is guarded by pattern, before any event names it") {
  // Nothing observed at all (boot, Docker not answering): br-* and docker0 are still guarded.
  auto rs = Compile(LabPolicy(), Observed{});
  CHECK(ChainText(rs, "filter-forward") ==
        "oifname @bridges counter jump into-bridge\n"
        "oifname \"br-*\" counter jump into-bridge\n");
  CHECK(ChainText(rs, "into-bridge") ==
        "iifname @bridges counter jump between-bridges\n"
        "iifname \"br-*\" counter jump between-bridges\n"
        "counter jump to-containers\n");
  // Within docker0 nothing is accepted: only the policy's networks talk inside themselves.
  CHECK(ChainText(rs, "between-bridges") ==
        "iifname \"ipo-shared\" oifname \"ipo-shared\" counter accept\n"
        "iifname \"ipo-isolated\" oifname \"ipo-isolated\" counter accept\n"
        "iifname . oifname @within-network counter accept\n"
        "counter drop\n");
}

TEST_CASE("inside a network Docker reports its containers talk (br_netfilter hosts); not on docker0") {
  auto rs = Compile(LabPolicy(), LabObserved());
  std::vector<std::string> within;
  for (const auto& e : rs.FindTable(ipo::nft::Family::kInet, "ipo_netd")->FindSet("within-network")->elements)
    within.push_back(ipo::nft::ElementToString(e));
  CHECK(within == std::vector<std::string>{"\"br-5c6b2e0f4a1d\" . \"br-5c6b2e0f4a1d\"",
                                           "\"ipo-isolated\" . \"ipo-isolated\"",
                                           "\"ipo-shared\" . \"ipo-shared\"", "\"shopnet0\" . \"shopnet0\""});
}

TEST_CASE("networks Docker reports are set elements: a new one changes no rule") {
  Observed before = LabObserved();
  Observed after = before;
  after.bridges.emplace_back("zz-custom");
  auto a = Compile(LabPolicy(), before);
  auto b = Compile(LabPolicy(), after);
  REQUIRE(ipo::nft::SameStructure(a, b));
  auto changes = ipo::nft::DiffElements(a, b);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].set == "bridges");
  CHECK(ipo::nft::ElementToString(changes[0].element) == "\"zz-custom\"");
  CHECK(changes[1].set == "within-network");
  CHECK(ipo::nft::ElementToString(changes[1].element) == "\"zz-custom\" . \"zz-custom\"");
  // A name that cannot be an interface is left out rather than failing the whole batch.
  after.bridges.emplace_back("a-name-of-16-chr");
  CHECK(ipo::nft::DiffElements(a, Compile(LabPolicy(), after)).size() == 2);
}

TEST_CASE("frames between containers on docker0 are dropped in the bridge table") {
  CHECK(ChainText(Compile(LabPolicy(), LabObserved()), "filter-forward", ipo::nft::Family::kBridge) ==
        "meta protocol ip ip daddr 172.17.0.0/16 counter drop\n");
  Observed o;
  o.default_bridge_v4 = "10.200.7.1/24";  // daemon.json "bip": host bits cleared
  CHECK(ChainText(Compile(LabPolicy(), o), "filter-forward", ipo::nft::Family::kBridge) ==
        "meta protocol ip ip daddr 10.200.7.0/24 counter drop\n");
  o.default_bridge_v4 = "garbage";
  CHECK(ChainText(Compile(LabPolicy(), o), "filter-forward", ipo::nft::Family::kBridge) ==
        "meta protocol ip ip daddr 172.17.0.0/16 counter drop\n");
  bool owned = false;
  for (const auto& [f, n] : ipo::compile::OwnedTables()) owned = owned || (f == ipo::nft::Family::kBridge && n == "ipo_netd");
  CHECK(owned);
}

TEST_CASE("every rule has one counter and a comment no other rule of its chain has") {
  auto check = [](const ipo::nft::Ruleset& rs) {
    size_t rules = 0;
    for (const auto& t : rs.tables) {
      for (const auto& c : t.chains) {
        std::set<std::string> comments;
        for (const auto& r : c.rules) {
          INFO(ipo::nft::FamilyName(t.family) << " " << t.name << " " << c.name << ": " << r.comment);
          CHECK(std::count_if(r.exprs.begin(), r.exprs.end(), [](const ipo::nft::Expr& e) {
                  return std::holds_alternative<ipo::nft::Counter>(e);
                }) == 1);
          CHECK(comments.insert(r.comment).second);  // counters and drops are reported by comment
          ++rules;
        }
      }
    }
    return rules;
  };
  CHECK(check(Compile(LabPolicy(), LabObserved())) >= 25);
  CHECK(check(ipo::compile::FailClosedBaseline({{6, 9999}})) >= 4);
}

TEST_CASE("rules made from one policy entry name it; the compiler's own rules name none") {
  auto rs = Compile(LabPolicy(), LabObserved());
  std::map<std::string, std::string> origins;  // comment -> origin, of the rules that have one
  size_t without = 0;
  for (const auto& t : rs.tables)
    for (const auto& c : t.chains)
      for (const auto& r : c.rules) {
        if (IsLogRule(r)) continue;  // a log twin has its drop rule's origin (tested above)
        if (r.origin.empty()) ++without;
        else origins[r.comment] = r.origin;
      }
  CHECK(origins == std::map<std::string, std::string>{
                       {"LAN sources outside the allowlist (192.168.1.0/24)", "lan.subnets[0]"},
                       {"LAN sources outside the allowlist (fd00:192:168:1::/64)", "lan.subnets[1]"},
                       {"within network ipo-shared", "networks[0]"},
                       {"within network ipo-isolated", "networks[1]"},
                       {"egress of network ipo-shared", "networks[0]"},
                       {"egress of network ipo-isolated", "networks[1]"}});
  CHECK(without >= 20);
}
