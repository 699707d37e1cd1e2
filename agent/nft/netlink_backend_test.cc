// Tests of NetlinkBackend against the real kernel. Run by CTest under `unshare --net`, so the
// kernel state is a fresh namespace's; the test refuses to run in the init namespace. The
// `nft` CLI (not used by the library) checks what the kernel holds.
#include "nft/netlink_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <memory>
#include <regex>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "compile/compiler.h"
#include "compile/drift.h"
#include "testing/netns_shell.h"

namespace ipo::nft {
namespace {

// ---- helpers ---------------------------------------------------------------------------

using testing::EnterOwnNetns;
using testing::Sh;

std::unique_ptr<NetlinkBackend> FreshBackend() {
  REQUIRE(geteuid() == 0);
  REQUIRE(EnterOwnNetns());  // never touch the host's ruleset
  Sh("nft flush ruleset");
  auto b = NetlinkBackend::Create();
  REQUIRE(b.ok());
  return std::move(*b);
}

Ipv4 V4(const char* s) { return *ParseIpv4(s); }
Ipv6 V6(const char* s) { return *ParseIpv6(s); }
Rule R(std::string comment, std::vector<Expr> exprs) { return Rule{std::move(exprs), std::move(comment)}; }
Expr Accept() { return Verdict{VerdictKind::kAccept, ""}; }
Expr Drop() { return Verdict{VerdictKind::kDrop, ""}; }
Expr Ipv4Only() { return Cmp{Field::kMetaNfproto, false, Proto{2}}; }
Expr Ipv6Only() { return Cmp{Field::kMetaNfproto, false, Proto{10}}; }
Expr L4(uint8_t p) { return Cmp{Field::kMetaL4proto, false, Proto{p}}; }

// A ruleset shaped like the agent's: one inet filter table, one ip and one ip6 nat table.
Ruleset AgentLikeRuleset() {
  Table filter;
  filter.family = Family::kInet;
  filter.name = "ipo_netd";
  filter.sets = {
      Set{"lan-allow-v4", {Type::kIpv4Addr}, {}, true,
          {Element{{V4("10.0.0.5")}, std::nullopt, {}},
           Element{{V4("192.168.1.1")}, {{V4("192.168.1.30")}}, {}}},
          "lan sources allowed in"},
      Set{"published-v4", {Type::kIpv4Addr, Type::kInetProto, Type::kInetService}, {}, false,
          {Element{{V4("172.30.1.2"), Proto{6}, Port{80}}, std::nullopt, {}},
           Element{{V4("172.30.1.3"), Proto{17}, Port{53}}, std::nullopt, {}}},
          ""},
      Set{"shared-if", {Type::kIfName}, {}, false,
          {Element{{IfName{"ipo-shared"}}, std::nullopt, {}}}, ""},
  };
  Chain published{"published", std::nullopt,
                  {R("published services", {Ipv4Only(),
                                            Lookup{{Field::kIpDaddr, Field::kMetaL4proto,
                                                    Field::kThDport},
                                                   false, "published-v4"},
                                            Counter{}, Accept()}),
                   R("back to the caller", {Verdict{VerdictKind::kReturn, ""}})}};
  Chain forward{"filter-forward", BaseChainSpec{ChainType::kFilter, Hook::kForward, 0, false},
                {R("replies", {CtState{CtState::kEstablished | CtState::kRelated}, Accept()}),
                 R("drop invalid", {CtState{CtState::kInvalid}, Drop()}),
                 R("drop lan sources outside the allowlist",
                   {Cmp{Field::kIifname, false, IfName{"ipo-lan"}}, Ipv4Only(),
                    Lookup{{Field::kIpSaddr}, true, "lan-allow-v4"}, Counter{}, Drop()}),
                 R("shared bridge", {Lookup{{Field::kIifname}, false, "shared-if"},
                                     Verdict{VerdictKind::kJump, "published"}}),
                 R("dnat-ed", {CtStatusDnat{}, Accept()}),
                 R("to the host", {FibDaddrLocal{}, Accept()}),
                 R("isolate", {Ipv4Only(), PrefixMatch{Field::kIpSaddr, false, V4("172.30.1.0"), 24},
                               Cmp{Field::kOifname, true, IfName{"ipo-br"}},
                               PrefixMatch{Field::kIpDaddr, true, V4("10.16.0.0"), 12}, Drop()}),
                 R("no ssh to v6 ula", {Ipv6Only(),
                                        PrefixMatch{Field::kIp6Daddr, false, V6("fd00::"), 8},
                                        L4(6), Cmp{Field::kThDport, false, Port{22}}, Drop()})}};
  // Packet-level probes: udp to port 9999 counted by allowlist membership.
  Chain output{"filter-output", BaseChainSpec{ChainType::kFilter, Hook::kOutput, 0, false},
               {R("probe inside", {Ipv4Only(), L4(17), Cmp{Field::kThDport, false, Port{9999}},
                                   Lookup{{Field::kIpDaddr}, false, "lan-allow-v4"}, Counter{}}),
                R("probe outside", {Ipv4Only(), L4(17), Cmp{Field::kThDport, false, Port{9999}},
                                    Lookup{{Field::kIpDaddr}, true, "lan-allow-v4"}, Counter{}})}};
  filter.chains = {published, forward, output};

  std::vector<Field> proto_port{Field::kMetaL4proto, Field::kThDport};
  Table nat4;
  nat4.family = Family::kIp;
  nat4.name = "ipo_netd";
  nat4.sets = {Set{"dnat-v4", {Type::kInetProto, Type::kInetService},
                   {Type::kIpv4Addr, Type::kInetService}, false,
                   {Element{{Proto{6}, Port{8080}}, std::nullopt, {V4("127.0.0.1"), Port{9090}}},
                    Element{{Proto{17}, Port{5353}}, std::nullopt, {V4("172.30.1.3"), Port{53}}}},
                   ""}};
  nat4.chains = {
      Chain{"nat-prerouting", BaseChainSpec{ChainType::kNat, Hook::kPrerouting, -100, false},
            {R("published ports", {FibDaddrLocal{}, DnatMap{Family::kIp, proto_port, "dnat-v4"}})}},
      Chain{"nat-output", BaseChainSpec{ChainType::kNat, Hook::kOutput, -100, false},
            {R("published ports from the host",
               {FibDaddrLocal{}, DnatMap{Family::kIp, proto_port, "dnat-v4"}})}},
      Chain{"nat-postrouting", BaseChainSpec{ChainType::kNat, Hook::kPostrouting, 100, false},
            {R("egress", {PrefixMatch{Field::kIpSaddr, false, V4("172.30.0.0"), 16},
                          Cmp{Field::kOifname, true, IfName{"ipo-br"}}, Masquerade{}})}}};

  Table nat6 = nat4;
  nat6.family = Family::kIp6;
  nat6.sets = {Set{"dnat-v6", {Type::kInetProto, Type::kInetService},
                   {Type::kIpv6Addr, Type::kInetService}, false,
                   {Element{{Proto{6}, Port{8080}}, std::nullopt, {V6("::1"), Port{9090}}}}, ""}};
  nat6.chains = {
      Chain{"nat-prerouting", BaseChainSpec{ChainType::kNat, Hook::kPrerouting, -100, false},
            {R("published ports", {FibDaddrLocal{}, DnatMap{Family::kIp6, proto_port, "dnat-v6"}})}},
      Chain{"nat-output", BaseChainSpec{ChainType::kNat, Hook::kOutput, -100, false},
            {R("published ports from the host",
               {FibDaddrLocal{}, DnatMap{Family::kIp6, proto_port, "dnat-v6"}})}}};
  return Ruleset{{filter, nat4, nat6}};
}

const std::vector<TableRef> kAllTables{
    {Family::kInet, "ipo_netd"}, {Family::kIp, "ipo_netd"}, {Family::kIp6, "ipo_netd"}};

// `nft list ruleset` with counters zeroed, for comparing two listings.
std::string Listing() {
  return std::regex_replace(Sh("nft list ruleset"),
                            std::regex("packets [0-9]+ bytes [0-9]+"), "packets 0 bytes 0");
}

// The kernel's bytecode of every rule and the raw bytes of every set element, as
// `nft --debug=netlink list ruleset` prints them; rule handles removed, element lines sorted
// (a hash set dumps in a random order).
std::string Bytecode() {
  std::string out = Sh("nft --debug=netlink list ruleset 2>/dev/null");
  std::istringstream in(out);
  std::string line, code;
  std::vector<std::string> elements;
  static const std::regex kRuleHeader("^((inet|ip|ip6|bridge) \\S+ \\S+)( [0-9]+)+$");
  while (std::getline(in, line)) {
    if (line.rfind("table ", 0) == 0) break;  // the listing itself starts here
    if (line.rfind("\telement ", 0) == 0) {
      elements.push_back(line);
      continue;
    }
    code += std::regex_replace(line, kRuleHeader, "$1") + "\n";
  }
  std::sort(elements.begin(), elements.end());
  for (const std::string& e : elements) code += e + "\n";
  return code;
}

// Flushes the namespace's ruleset and loads `rs` with nft itself (`nft -f` of
// Ruleset::ToString()): nft must accept it silently and list exactly `listing`.
void ExpectNftLoadsSame(const Ruleset& rs, const std::string& listing) {
  Sh("nft flush ruleset");
  char path[] = "/tmp/ipo-nft-test-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  std::string script = rs.ToString();
  REQUIRE(write(fd, script.data(), script.size()) == static_cast<ssize_t>(script.size()));
  close(fd);
  int rc = 0;
  std::string out = Sh(std::string("nft -f ") + path, &rc);
  unlink(path);
  INFO(script);
  REQUIRE(out.empty());
  REQUIRE(rc == 0);
  CHECK(Listing() == listing);
}

// ---- tests -----------------------------------------------------------------------------

TEST_CASE("ReplaceTables writes what nft writes for the same ruleset text") {
  auto backend = FreshBackend();
  Ruleset rs = AgentLikeRuleset();
  REQUIRE(backend->ReplaceTables(rs, false).ToString() == "OK");
  std::string ours = Listing();
  std::string our_code = Bytecode();

  // Spot checks of the kernel's view (nft decodes our bytecode back to text).
  CHECK_THAT(ours, Catch::Contains("elements = { 10.0.0.5, 192.168.1.1-192.168.1.30 }"));
  CHECK_THAT(ours, Catch::Contains("type ipv4_addr . inet_proto . inet_service"));
  CHECK_THAT(ours, Catch::Contains("172.30.1.2 . tcp . 80"));
  CHECK_THAT(ours, Catch::Contains("172.30.1.3 . udp . 53"));
  CHECK_THAT(ours, Catch::Contains("type ifname\n\t\telements = { \"ipo-shared\" }"));
  CHECK_THAT(ours, Catch::Contains("comment \"lan sources allowed in\""));
  CHECK_THAT(ours, Catch::Contains(
      "iifname \"ipo-lan\" ip saddr != @lan-allow-v4 counter packets 0 bytes 0 drop comment \"" +
      rs.tables[0].chains[1].rules[2].Tag() + "\""));
  CHECK_THAT(ours, Catch::Contains("ip daddr . meta l4proto . th dport @published-v4 counter"));
  CHECK_THAT(ours, Catch::Contains("ct state established,related accept"));
  CHECK_THAT(ours, Catch::Contains("ct status dnat accept"));
  CHECK_THAT(ours, Catch::Contains("fib daddr type local accept"));
  CHECK_THAT(ours, Catch::Contains("ip saddr 172.30.1.0/24 oifname != \"ipo-br\" ip daddr != 10.16.0.0/12 drop"));
  CHECK_THAT(ours, Catch::Contains("ip6 daddr fd00::/8 tcp dport 22 drop"));
  CHECK_THAT(ours, Catch::Contains("type filter hook forward priority filter; policy accept;"));
  CHECK_THAT(ours, Catch::Contains("type inet_proto . inet_service : ipv4_addr . inet_service"));
  CHECK_THAT(ours, Catch::Contains("tcp . 8080 : 127.0.0.1 . 9090"));
  CHECK_THAT(ours, Catch::Contains("fib daddr type local dnat ip to meta l4proto . th dport map @dnat-v4"));
  CHECK_THAT(ours, Catch::Contains("type inet_proto . inet_service : ipv6_addr . inet_service"));
  CHECK_THAT(ours, Catch::Contains("dnat ip6 to meta l4proto . th dport map @dnat-v6"));
  CHECK_THAT(ours, Catch::Contains("ip saddr 172.30.0.0/16 oifname != \"ipo-br\" masquerade"));
  CHECK_THAT(ours, Catch::Contains("jump published"));

  // The whole listing equals the one nft produces from Ruleset::ToString() itself.
  ExpectNftLoadsSame(rs, ours);
  // And the kernel holds the very same bytecode and element bytes: same registers, lengths,
  // masks, flags and nft's leading interval end element.
  CHECK(Bytecode() == our_code);
  CHECK_THAT(our_code, Catch::Contains("\telement 00000000  : 1 [end]"));  // nft's leading end
  // The kernel reports the NAT flags it derived from the registers (nft sends none).
  CHECK_THAT(our_code, Catch::Contains("[ nat dnat ip addr_min reg 1 addr_max reg 1 "
                                       "proto_min reg 9 proto_max reg 9 flags 0x3 ]"));
  CHECK_THAT(our_code, Catch::Contains("[ nat dnat ip6 addr_min reg 1 addr_max reg 1 "
                                       "proto_min reg 2 proto_max reg 2 flags 0x3 ]"));
}

TEST_CASE("check_only validates and leaves nothing behind") {
  auto backend = FreshBackend();
  REQUIRE(backend->ReplaceTables(AgentLikeRuleset(), true).ok());
  CHECK(Sh("nft list ruleset") == "");

  Ruleset bad = AgentLikeRuleset();
  bad.tables[0].chains[1].rules.push_back(
      R("to nowhere", {Verdict{VerdictKind::kJump, "missing"}}));
  Status st = backend->ReplaceTables(bad, true);
  CHECK_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::StartsWith(
      "kernel rejected \"add rule inet ipo_netd filter-forward #9 (to nowhere)\": "
      "No such file or directory (errno 2)"));
  CHECK(Sh("nft list ruleset") == "");
}

TEST_CASE("a rejected batch names the object and leaves the previous tables intact") {
  auto backend = FreshBackend();
  REQUIRE(backend->ReplaceTables(AgentLikeRuleset(), false).ok());
  std::string before = Listing();

  Ruleset bad = AgentLikeRuleset();
  bad.tables[0].sets[0].elements.clear();  // would change the table if it went through
  bad.tables[0].chains[1].rules.push_back(
      R("to nowhere", {Verdict{VerdictKind::kJump, "missing"}}));
  Status st = backend->ReplaceTables(bad, false);
  CHECK(st.code() == Status::Code::kInvalidArgument);
  CHECK_THAT(st.message(), Catch::StartsWith(
      "kernel rejected \"add rule inet ipo_netd filter-forward #9 (to nowhere)\": "
      "No such file or directory (errno 2)"));
  CHECK(Listing() == before);

  // Errors found before sending name the expression too.
  Ruleset unknown_set = AgentLikeRuleset();
  unknown_set.tables[0].chains[1].rules[2].exprs[2] = Lookup{{Field::kIpSaddr}, false, "nope"};
  CHECK(backend->ReplaceTables(unknown_set, false).message() ==
        "add rule inet ipo_netd filter-forward #3 (drop lan sources outside the allowlist): "
        "ip saddr @nope: no set @nope in the table");
  Ruleset wrong_type = AgentLikeRuleset();
  wrong_type.tables[0].chains[1].rules[2].exprs[2] = Lookup{{Field::kIp6Saddr}, false, "lan-allow-v4"};
  CHECK(backend->ReplaceTables(wrong_type, false).message() ==
        "add rule inet ipo_netd filter-forward #3 (drop lan sources outside the allowlist): "
        "ip6 saddr @lan-allow-v4: field ip6 saddr does not match key type ipv4_addr");
  CHECK(Listing() == before);
}

TEST_CASE("re-applying the same ruleset is idempotent") {
  auto backend = FreshBackend();
  REQUIRE(backend->ReplaceTables(AgentLikeRuleset(), false).ok());
  std::string first = Listing();
  REQUIRE(backend->ReplaceTables(AgentLikeRuleset(), false).ok());
  REQUIRE(backend->ReplaceTables(AgentLikeRuleset(), false).ok());
  CHECK(Listing() == first);
}

TEST_CASE("ReadTables returns sets, elements, chains and rule comments") {
  auto backend = FreshBackend();
  Ruleset rs = AgentLikeRuleset();
  REQUIRE(backend->ReplaceTables(rs, false).ok());
  auto got = backend->ReadTables(kAllTables);
  REQUIRE(got.ok());
  REQUIRE(got->tables.size() == 3);
  for (size_t t = 0; t < rs.tables.size(); ++t) {
    const Table& want = rs.tables[t];
    const Table& have = got->tables[t];
    INFO("table " << FamilyName(want.family) << " " << want.name);
    CHECK(have.family == want.family);
    CHECK(have.name == want.name);
    REQUIRE(have.sets.size() == want.sets.size());
    for (size_t s = 0; s < want.sets.size(); ++s) {
      INFO("set " << want.sets[s].name);
      CHECK(have.sets[s].name == want.sets[s].name);
      CHECK(have.sets[s].key == want.sets[s].key);
      CHECK(have.sets[s].data == want.sets[s].data);
      CHECK(have.sets[s].interval == want.sets[s].interval);
      CHECK(have.sets[s].comment == want.sets[s].comment);
      CHECK(have.sets[s].elements == want.sets[s].elements);
    }
    REQUIRE(have.chains.size() == want.chains.size());
    for (size_t c = 0; c < want.chains.size(); ++c) {
      const Chain& wc = want.chains[c];
      const Chain& hc = have.chains[c];
      INFO("chain " << wc.name);
      CHECK(hc.name == wc.name);
      REQUIRE(hc.base.has_value() == wc.base.has_value());
      if (wc.base) {
        CHECK(hc.base->type == wc.base->type);
        CHECK(hc.base->hook == wc.base->hook);
        CHECK(hc.base->priority == wc.base->priority);
        CHECK(hc.base->policy_drop == wc.base->policy_drop);
      }
      REQUIRE(hc.rules.size() == wc.rules.size());
      for (size_t r = 0; r < wc.rules.size(); ++r) {
        CHECK(hc.rules[r].comment == wc.rules[r].Tag());
        CHECK(hc.rules[r].exprs.empty());
      }
    }
  }
  // Absent tables are left out, not an error.
  auto none = backend->ReadTables({{Family::kIp, "not-there"}});
  REQUIRE(none.ok());
  CHECK(none->tables.empty());
}

TEST_CASE("UpdateElements adds and deletes elements, ranges included, in one batch") {
  auto backend = FreshBackend();
  REQUIRE(backend->ReplaceTables(AgentLikeRuleset(), false).ok());
  std::vector<ElementChange> changes{
      {Family::kInet, "ipo_netd", "lan-allow-v4", false, Element{{V4("10.0.0.5")}, std::nullopt, {}}},
      {Family::kInet, "ipo_netd", "lan-allow-v4", true,
       Element{{V4("10.1.0.0")}, {{V4("10.1.0.255")}}, {}}},
      {Family::kInet, "ipo_netd", "lan-allow-v4", true, Element{{V4("10.2.0.7")}, std::nullopt, {}}},
      {Family::kIp, "ipo_netd", "dnat-v4", false,
       Element{{Proto{17}, Port{5353}}, std::nullopt, {V4("172.30.1.3"), Port{53}}}},
      {Family::kIp, "ipo_netd", "dnat-v4", true,
       Element{{Proto{6}, Port{8443}}, std::nullopt, {V4("172.30.1.4"), Port{443}}}},
      {Family::kInet, "ipo_netd", "shared-if", true, Element{{IfName{"eth1"}}, std::nullopt, {}}},
  };
  REQUIRE(backend->UpdateElements(changes).ToString() == "OK");
  CHECK_THAT(Sh("nft list set inet ipo_netd lan-allow-v4"),
             Catch::Contains("elements = { 10.1.0.0/24, 10.2.0.7,\n\t\t\t     192.168.1.1-192.168.1.30 }"));
  CHECK_THAT(Sh("nft list map ip ipo_netd dnat-v4"),
             Catch::Contains("elements = { tcp . 8080 : 127.0.0.1 . 9090,\n\t\t\t     tcp . 8443 : 172.30.1.4 . 443 }"));

  auto got = backend->ReadTables(kAllTables);
  REQUIRE(got.ok());
  const Set* lan = got->tables[0].FindSet("lan-allow-v4");
  REQUIRE(lan != nullptr);
  CHECK(lan->elements == std::vector<Element>{
                             Element{{V4("10.1.0.0")}, {{V4("10.1.0.255")}}, {}},
                             Element{{V4("10.2.0.7")}, std::nullopt, {}},
                             Element{{V4("192.168.1.1")}, {{V4("192.168.1.30")}}, {}}});

  // Deleting the range again restores the interval set.
  REQUIRE(backend->UpdateElements({{Family::kInet, "ipo_netd", "lan-allow-v4", false,
                                    Element{{V4("10.1.0.0")}, {{V4("10.1.0.255")}}, {}}}})
              .ok());
  CHECK_THAT(Sh("nft list set inet ipo_netd lan-allow-v4"),
             Catch::Contains("elements = { 10.2.0.7, 192.168.1.1-192.168.1.30 }"));

  // A failing change names itself and changes nothing.
  std::string before = Listing();
  Status st = backend->UpdateElements(
      {{Family::kInet, "ipo_netd", "shared-if", true, Element{{IfName{"eth9"}}, std::nullopt, {}}},
       {Family::kInet, "ipo_netd", "lan-allow-v4", false, Element{{V4("10.9.9.9")}, std::nullopt, {}}}});
  CHECK_THAT(st.message(), Catch::StartsWith(
      "kernel rejected \"delete element inet ipo_netd lan-allow-v4 { 10.9.9.9 }\": "
      "No such file or directory (errno 2)"));
  CHECK(Listing() == before);
  CHECK(backend->UpdateElements({{Family::kInet, "ipo_netd", "gone", true, Element{}}}).message() ==
        "set inet ipo_netd gone does not exist in the kernel");

  // A backend that did not write the tables reads the set definition from the kernel.
  auto other = NetlinkBackend::Create();
  REQUIRE(other.ok());
  REQUIRE((*other)->UpdateElements({{Family::kInet, "ipo_netd", "lan-allow-v4", true,
                                     Element{{V4("10.3.0.1")}, {{V4("10.3.0.2")}}, {}}}})
              .ok());
  CHECK_THAT(Sh("nft list set inet ipo_netd lan-allow-v4"),
             Catch::Contains("elements = { 10.2.0.7, 10.3.0.1-10.3.0.2,"));
}

TEST_CASE("DeleteTables removes the named tables and ignores absent ones") {
  auto backend = FreshBackend();
  REQUIRE(backend->ReplaceTables(AgentLikeRuleset(), false).ok());
  REQUIRE(backend->DeleteTables({{Family::kIp, "ipo_netd"}, {Family::kIp6, "absent"}}).ok());
  std::string left = Sh("nft list tables");
  CHECK(left == "table inet ipo_netd\ntable ip6 ipo_netd\n");
  REQUIRE(backend->DeleteTables(kAllTables).ok());
  CHECK(Sh("nft list ruleset") == "");
}

// ---- packet level ----------------------------------------------------------------------

uint64_t CounterOf(const std::string& listing, const std::string& comment) {
  std::smatch m;
  std::regex re("counter packets ([0-9]+) bytes [0-9]+ comment \"" + comment + " #");
  if (!std::regex_search(listing, m, re)) return UINT64_MAX;
  return std::stoull(m[1].str());
}

void SendUdp(const char* addr) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(9999);
  inet_pton(AF_INET, addr, &sa.sin_addr);
  CHECK(sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 1);
  close(fd);
}

TEST_CASE("packets: the interval set matches exactly its ranges") {
  auto backend = FreshBackend();
  // All traffic leaves through a veth pair of this namespace (it goes nowhere else).
  REQUIRE(Sh("ip link set lo up && ip link add ipo-nftt0 type veth peer name ipo-nftt1 && "
             "ip link set ipo-nftt0 up && ip link set ipo-nftt1 up && "
             "ip addr add 198.18.0.1/24 dev ipo-nftt0 && ip route add default dev ipo-nftt0") == "");
  REQUIRE(backend->ReplaceTables(AgentLikeRuleset(), false).ok());
  const char* inside[] = {"192.168.1.1", "192.168.1.17", "192.168.1.30", "10.0.0.5"};
  const char* outside[] = {"1.2.3.4", "10.0.0.4", "10.0.0.6", "192.168.1.0", "192.168.1.31",
                           "172.16.0.9", "255.255.255.254"};
  for (const char* a : inside) SendUdp(a);
  for (const char* a : outside) SendUdp(a);
  std::string listing = Sh("nft list chain inet ipo_netd filter-output");
  CHECK(CounterOf(listing, "probe inside") == 4);
  CHECK(CounterOf(listing, "probe outside") == 7);
  Sh("ip link del ipo-nftt0");
}

// Connects to 8080 on `family`'s loopback; the nat-output DNAT map sends it to 9090.
bool DnatReachesListener(int family) {
  int srv = socket(family, SOCK_STREAM, 0);
  int cli = socket(family, SOCK_STREAM, 0);
  sockaddr_storage ss{};
  socklen_t len;
  auto set_port = [&](uint16_t port) {
    if (family == AF_INET) {
      auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
      sa->sin_family = AF_INET;
      sa->sin_port = htons(port);
      sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof(sockaddr_in);
    } else {
      auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
      sa->sin6_family = AF_INET6;
      sa->sin6_port = htons(port);
      sa->sin6_addr = in6addr_loopback;
      len = sizeof(sockaddr_in6);
    }
  };
  set_port(9090);
  int one = 1;
  setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  bool ok = bind(srv, reinterpret_cast<sockaddr*>(&ss), len) == 0 && listen(srv, 1) == 0;
  set_port(8080);
  ok = ok && connect(cli, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  close(cli);
  close(srv);
  return ok;
}

TEST_CASE("packets: the DNAT maps rewrite ip and ip6 destinations") {
  auto backend = FreshBackend();
  REQUIRE(Sh("ip link set lo up") == "");
  CHECK_FALSE(DnatReachesListener(AF_INET));  // nothing listens on 8080 itself
  REQUIRE(backend->ReplaceTables(AgentLikeRuleset(), false).ok());
  CHECK(DnatReachesListener(AF_INET));
  CHECK(DnatReachesListener(AF_INET6));
}

}  // namespace
}  // namespace ipo::nft

namespace ipo::nft {
namespace {

// The handle and the comment of the first rule of CHAIN whose comment contains WHAT.
std::pair<std::string, std::string> RuleHandle(const std::string& chain, const std::string& what,
                                               const std::string& table = "inet ipo_netd") {
  std::istringstream lines(Sh("nft -a list chain " + table + " " + chain));
  std::string line;
  std::smatch m;
  static const std::regex kRule(R"rx(comment "([^"]*)" # handle ([0-9]+))rx");
  while (std::getline(lines, line)) {
    if (line.find(what) != std::string::npos && std::regex_search(line, m, kRule)) return {m[2], m[1]};
  }
  FAIL("no rule '" << what << "' in chain " << chain);
  return {};
}

}  // namespace

TEST_CASE("drift is found on what a rule does, not only on its comment") {
  auto b = FreshBackend();
  auto policy = policy::LoadPolicy(IPO_POLICY_FILE);
  REQUIRE(policy.ok());
  model::Observed seen;
  seen.containers = {{"docker_a", "a", true, "172.30.1.2", "fd00:ac1e:1::2"},
                     {"docker_c", "c", true, "172.30.2.2", "fd00:ac1e:2::2"}};
  seen.proxy_ports = {{6, 9999}};
  Ruleset rs = compile::Compile(*policy, seen);
  REQUIRE(b->ReplaceTables(rs, false).ok());
  // Every kind of rule the compiler makes reads back as it was written: no false drift.
  auto kernel = b->ReadTables(compile::OwnedTables());
  REQUIRE(kernel.ok());
  for (const auto& d : compile::FindDrift(rs, *kernel)) UNSCOPED_INFO(d);
  CHECK(compile::FindDrift(rs, *kernel).empty());

  // An edit that keeps the comment: the LAN drop rule becomes an accept, tag and all.
  auto [handle, tag] = RuleHandle("to-containers", "LAN sources outside the allowlist");
  Sh("nft replace rule inet ipo_netd to-containers handle " + handle + " meta nfproto ipv4 accept comment '\"" +
     tag + "\"'");
  REQUIRE(Sh("nft list chain inet ipo_netd to-containers").find("ipv4 accept comment \"" + tag + "\"") !=
          std::string::npos);
  kernel = b->ReadTables(compile::OwnedTables());
  REQUIRE(kernel.ok());
  auto drift = compile::FindDrift(rs, *kernel);
  REQUIRE(drift.size() == 1);
  CHECK(drift[0].find("inet ipo_netd: chain to-containers: rule 5 is \"" + tag + " [content differs: [ meta load nfproto") ==
        0);

  // A reader that did not write the rules (ipo-netctl status) finds it once told what to expect.
  auto reader = NetlinkBackend::Create();
  REQUIRE(reader.ok());
  (*reader)->ExpectContent(rs);
  auto seen_by_reader = (*reader)->ReadTables(compile::OwnedTables());
  REQUIRE(seen_by_reader.ok());
  CHECK(compile::FindDrift(rs, *seen_by_reader).size() == 1);

  // The repair (a full replace) puts the real rule back.
  REQUIRE(b->ReplaceTables(rs, false).ok());
  kernel = b->ReadTables(compile::OwnedTables());
  REQUIRE(kernel.ok());
  CHECK(compile::FindDrift(rs, *kernel).empty());
}

TEST_CASE("an interface name prefix and the bridge table are written as nft writes them") {
  auto b = FreshBackend();
  Table filter;
  filter.family = Family::kInet;
  filter.name = "ipo_netd";
  filter.chains = {Chain{"filter-forward", BaseChainSpec{ChainType::kFilter, Hook::kForward, 0, false},
                         {R("docker bridges", {Cmp{Field::kOifname, false, IfNamePrefix{"br-"}}, Drop()}),
                          R("not docker bridges", {Cmp{Field::kIifname, true, IfNamePrefix{"br-"}}, Accept()})}}};
  Table bridge = compile::DefaultBridgeGuard("172.17.0.0/16");
  Ruleset rs{{filter, bridge}};
  REQUIRE(b->ReplaceTables(rs, false).ToString() == "OK");
  std::string ours = Listing();
  std::string our_code = Bytecode();
  CHECK_THAT(ours, Catch::Contains("oifname \"br-*\" drop"));
  CHECK_THAT(ours, Catch::Contains("iifname != \"br-*\" accept"));
  CHECK_THAT(ours, Catch::Contains("table bridge ipo_netd"));
  CHECK_THAT(ours, Catch::Contains("ip daddr 172.17.0.0/16 counter packets 0 bytes 0 drop"));
  // Three bytes, no NUL: "br-" and nothing after it.
  CHECK_THAT(our_code, Catch::Contains("[ cmp eq reg 1 0x002d7262 ]"));
  CHECK_THAT(our_code, Catch::Contains("[ meta load protocol => reg 1 ]"));

  ExpectNftLoadsSame(rs, ours);
  CHECK(Bytecode() == our_code);

  // A prefix is not a set element, nor longer than an interface name.
  Ruleset bad{{filter}};
  bad.tables[0].chains[0].rules.push_back(R("too long", {Cmp{Field::kOifname, false, IfNamePrefix{"0123456789abcdef"}}, Drop()}));
  Status st = b->ReplaceTables(bad, true);
  CHECK_THAT(st.message(), Catch::Contains("an interface name prefix needs iifname/oifname and 1 to 15 bytes"));
}

TEST_CASE("drift on the br-* pattern or on the docker0 bridge rule is found on content") {
  auto b = FreshBackend();
  auto policy = policy::LoadPolicy(IPO_POLICY_FILE);
  REQUIRE(policy.ok());
  model::Observed seen;
  seen.bridges = {"br-5c6b2e0f4a1d", "shopnet0"};
  Ruleset rs = compile::Compile(*policy, seen);
  REQUIRE(b->ReplaceTables(rs, false).ok());
  auto kernel = b->ReadTables(compile::OwnedTables());
  REQUIRE(kernel.ok());
  for (const auto& d : compile::FindDrift(rs, *kernel)) UNSCOPED_INFO(d);
  CHECK(compile::FindDrift(rs, *kernel).empty());
  CHECK(kernel->FindTable(Family::kBridge, "ipo_netd") != nullptr);

  // "br-*" becomes "bx-*" under the same comment: every new Docker network would be open.
  auto [handle, tag] = RuleHandle("filter-forward", "into a network Docker created");
  Sh("nft replace rule inet ipo_netd filter-forward handle " + handle + " oifname '\"bx-*\"' jump into-bridge comment '\"" +
     tag + "\"'");
  // The docker0 guard becomes a counter only.
  auto [bhandle, btag] = RuleHandle("filter-forward", "default bridge", "bridge ipo_netd");
  std::string quoted = std::regex_replace(btag, std::regex("'"), "'\\''");  // "Docker's" in a sh '' string
  Sh("nft replace rule bridge ipo_netd filter-forward handle " + bhandle + " meta protocol ip ip daddr 172.17.0.0/16 counter comment '\"" +
     quoted + "\"'");
  kernel = b->ReadTables(compile::OwnedTables());
  REQUIRE(kernel.ok());
  auto drift = compile::FindDrift(rs, *kernel);
  REQUIRE(drift.size() == 2);
  INFO(drift[0]);
  CHECK(drift[0].find("inet ipo_netd: chain filter-forward: rule 2 is \"" + tag + " [content differs: [ meta load oifname => reg 1  ] [ cmp eq reg 1 0x002d7862  ]") == 0);
  CHECK(drift[1].find("bridge ipo_netd: chain filter-forward: rule 1 is \"" + btag + " [content differs:") == 0);
  REQUIRE(b->ReplaceTables(rs, false).ok());
  kernel = b->ReadTables(compile::OwnedTables());
  REQUIRE(kernel.ok());
  CHECK(compile::FindDrift(rs, *kernel).empty());
}

}  // namespace ipo::nft
