// NetlinkBackend's writes against the real kernel: what it writes is what nft writes for the
// same ruleset text (listing and bytecode), check_only, rejected batches, idempotence, element
// updates and table deletion. Run by CTest under `unshare --net`, so the kernel state is a fresh
// namespace's; the test refuses to run in the init namespace.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "compile/compiler.h"
#include "nft/netlink_backend.h"
#include "nft/netlink_testing.h"
#include "testing/netns_shell.h"

namespace ipo::nft {
namespace {

using namespace netlink_testing;  // NOLINT(google-build-using-namespace)
using ipo::testing::Sh;

TEST_CASE("ReplaceTables writes what nft writes for the same ruleset text") {
  auto backend = FreshBackend();
  Ruleset rs = AgentLikeRuleset();
  Written ours = ReplaceAndShow(*backend, rs);

  // Spot checks of the kernel's view (nft decodes our bytecode back to text).
  const std::string lan_drop =
      "iifname \"ipo-lan\" ip saddr != @lan-allow-v4 counter packets 0 bytes 0 drop comment \"" +
      rs.tables[0].chains[1].rules[2].Tag() + "\"";
  const std::vector<std::string> spot_checks{
      "elements = { 10.0.0.5, 192.168.1.1-192.168.1.30 }",
      "type ipv4_addr . inet_proto . inet_service",
      "172.30.1.2 . tcp . 80",
      "172.30.1.3 . udp . 53",
      "type ifname\n\t\telements = { \"ipo-shared\" }",
      "comment \"lan sources allowed in\"",
      lan_drop,
      "ip daddr . meta l4proto . th dport @published-v4 counter",
      "ct state established,related accept",
      "ct status dnat accept",
      "fib daddr type local accept",
      "ip saddr 172.30.1.0/24 oifname != \"ipo-br\" ip daddr != 10.16.0.0/12 drop",
      "ip6 daddr fd00::/8 tcp dport 22 drop",
      "type filter hook forward priority filter; policy accept;",
      "type inet_proto . inet_service : ipv4_addr . inet_service",
      "tcp . 8080 : 127.0.0.1 . 9090",
      "fib daddr type local dnat ip to meta l4proto . th dport map @dnat-v4",
      "type inet_proto . inet_service : ipv6_addr . inet_service",
      "dnat ip6 to meta l4proto . th dport map @dnat-v6",
      "ip saddr 172.30.0.0/16 oifname != \"ipo-br\" masquerade",
      "jump published",
  };
  for (const std::string& want : spot_checks) CHECK_THAT(ours.listing, Catch::Contains(want));

  // The whole listing equals the one nft produces from Ruleset::ToString() itself, and the
  // kernel holds the very same bytecode and element bytes: same registers, lengths, masks,
  // flags and nft's leading interval end element.
  ExpectNftWritesSame(rs, ours);
  CHECK_THAT(ours.bytecode, Catch::Contains("\telement 00000000  : 1 [end]"));  // nft's leading end
  // The kernel reports the NAT flags it derived from the registers (nft sends none).
  CHECK_THAT(ours.bytecode, Catch::Contains("[ nat dnat ip addr_min reg 1 addr_max reg 1 "
                                            "proto_min reg 9 proto_max reg 9 flags 0x3 ]"));
  CHECK_THAT(ours.bytecode, Catch::Contains("[ nat dnat ip6 addr_min reg 1 addr_max reg 1 "
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

  auto got = backend->ReadTables(AgentLikeTables());
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
  REQUIRE(backend->DeleteTables(AgentLikeTables()).ok());
  CHECK(Sh("nft list ruleset") == "");
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
  Written ours = ReplaceAndShow(*b, rs);
  CHECK_THAT(ours.listing, Catch::Contains("oifname \"br-*\" drop"));
  CHECK_THAT(ours.listing, Catch::Contains("iifname != \"br-*\" accept"));
  CHECK_THAT(ours.listing, Catch::Contains("table bridge ipo_netd"));
  CHECK_THAT(ours.listing, Catch::Contains("ip daddr 172.17.0.0/16 counter packets 0 bytes 0 drop"));
  // Three bytes, no NUL: "br-" and nothing after it.
  CHECK_THAT(ours.bytecode, Catch::Contains("[ cmp eq reg 1 0x002d7262 ]"));
  CHECK_THAT(ours.bytecode, Catch::Contains("[ meta load protocol => reg 1 ]"));
  ExpectNftWritesSame(rs, ours);

  // A prefix is not a set element, nor longer than an interface name.
  Ruleset bad{{filter}};
  bad.tables[0].chains[0].rules.push_back(R("too long", {Cmp{Field::kOifname, false, IfNamePrefix{"0123456789abcdef"}}, Drop()}));
  Status st = b->ReplaceTables(bad, true);
  CHECK_THAT(st.message(), Catch::Contains("an interface name prefix needs iifname/oifname and 1 to 15 bytes"));
}

TEST_CASE("a rate-limited nflog rule is written as nft writes it, and a bad prefix is refused") {
  auto b = FreshBackend();
  Table filter;
  filter.family = Family::kInet;
  filter.name = "ipo_netd";
  filter.chains = {Chain{"filter-forward", BaseChainSpec{ChainType::kFilter, Hook::kForward, 0, false},
                         {R("log: the drop", {Cmp{Field::kOifname, false, IfNamePrefix{"br-"}}, Limit{10, 20},
                                              Counter{}, Log{"ipo inet/filter-forward: the drop", 20}}),
                          R("the drop", {Cmp{Field::kOifname, false, IfNamePrefix{"br-"}}, Counter{}, Drop()})}}};
  Ruleset rs{{filter}};
  Written ours = ReplaceAndShow(*b, rs);
  CHECK_THAT(ours.listing,
             Catch::Contains("limit rate 10/second burst 20 packets counter packets 0 bytes 0 log prefix "
                             "\"ipo inet/filter-forward: the drop\" group 20"));
  ExpectNftWritesSame(rs, ours);

  Ruleset bad = rs;
  bad.tables[0].chains[0].rules[0].exprs.back() = Log{std::string(128, 'x'), 20};
  CHECK_THAT(b->ReplaceTables(bad, true).message(), Catch::Contains("a log prefix is at most 127 bytes"));
  bad.tables[0].chains[0].rules[0].exprs.back() = Log{"say \"hi\"", 20};
  CHECK_THAT(b->ReplaceTables(bad, true).message(), Catch::Contains("without '\"'"));
  bad.tables[0].chains[0].rules[0].exprs[1] = Limit{0, 20};
  CHECK_THAT(b->ReplaceTables(bad, true).message(), Catch::Contains("a limit needs a rate and a burst"));
}

}  // namespace
}  // namespace ipo::nft
