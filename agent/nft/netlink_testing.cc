#include "nft/netlink_testing.h"

#include <unistd.h>

#include <algorithm>
#include <regex>
#include <sstream>

#include <catch2/catch.hpp>

#include "testing/netns_shell.h"

namespace ipo::nft::netlink_testing {

using ipo::testing::EnterOwnNetns;
using ipo::testing::Sh;

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

std::vector<TableRef> AgentLikeTables() {
  return {{Family::kInet, "ipo_netd"}, {Family::kIp, "ipo_netd"}, {Family::kIp6, "ipo_netd"}};
}

std::string Listing() {
  return std::regex_replace(Sh("nft list ruleset"),
                            std::regex("packets [0-9]+ bytes [0-9]+"), "packets 0 bytes 0");
}

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

Written ReplaceAndShow(NetlinkBackend& backend, const Ruleset& rs) {
  REQUIRE(backend.ReplaceTables(rs, false).ToString() == "OK");
  return {Listing(), Bytecode()};
}

void ExpectNftWritesSame(const Ruleset& rs, const Written& ours) {
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
  CHECK(Listing() == ours.listing);
  CHECK(Bytecode() == ours.bytecode);
}

}  // namespace ipo::nft::netlink_testing
