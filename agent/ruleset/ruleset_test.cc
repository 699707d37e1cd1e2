#include "ruleset/ruleset.h"

#include <catch2/catch.hpp>

using namespace ipo::nft;

TEST_CASE("values print the way nft writes them") {
  CHECK(ValueToString(*ParseIpv4("192.168.1.30")) == "192.168.1.30");
  CHECK(ValueToString(*ParseIpv6("fd00:192:168:1:0:0:0:1e")) == "fd00:192:168:1::1e");
  CHECK(ValueToString(Proto{6}) == "tcp");
  CHECK(ValueToString(Proto{17}) == "udp");
  CHECK(ValueToString(Port{8080}) == "8080");
  CHECK(ValueToString(IfName{"ipo-shared"}) == "\"ipo-shared\"");
  CHECK_FALSE(ParseIpv4("192.168.1.256").has_value());
  CHECK_FALSE(ParseIpv6("fd00::1::2").has_value());
}

TEST_CASE("expressions print as nft syntax") {
  CHECK(ExprToString(Cmp{Field::kMetaNfproto, false, Proto{10}}) == "meta nfproto ipv6");
  CHECK(ExprToString(Cmp{Field::kOifname, true, IfName{"br0"}}) == "oifname != \"br0\"");
  CHECK(ExprToString(PrefixMatch{Field::kIpSaddr, false, *ParseIpv4("172.30.1.0"), 24}) == "ip saddr 172.30.1.0/24");
  CHECK(ExprToString(Lookup{{Field::kIpDaddr, Field::kMetaL4proto, Field::kThDport}, true, "s"}) ==
        "ip daddr . meta l4proto . th dport != @s");
  CHECK(ExprToString(CtState{CtState::kEstablished | CtState::kRelated}) == "ct state established,related");
  CHECK(ExprToString(DnatMap{Family::kIp6, {Field::kMetaL4proto, Field::kThDport}, "m"}) ==
        "dnat ip6 to meta l4proto . th dport map @m");
  CHECK(ExprToString(Verdict{VerdictKind::kJump, "x"}) == "jump x");
}

TEST_CASE("a rule's tag changes when its expressions change") {
  Rule a{{Counter{}, Verdict{VerdictKind::kDrop, ""}}, "why"};
  Rule b{{Verdict{VerdictKind::kDrop, ""}}, "why"};
  CHECK(a.Tag().rfind("why #", 0) == 0);
  CHECK(a.Tag().size() == std::string("why #").size() + 8);
  CHECK(a.Tag() != b.Tag());
}

TEST_CASE("ranges and maps print as nft elements") {
  Element range{{*ParseIpv4("192.168.1.1")}, std::vector<Value>{*ParseIpv4("192.168.1.30")}, {}};
  CHECK(ElementToString(range) == "192.168.1.1-192.168.1.30");
  Element map{{Proto{6}, Port{80}}, {}, {*ParseIpv4("172.30.2.2"), Port{80}}};
  CHECK(ElementToString(map) == "tcp . 80 : 172.30.2.2 . 80");
}

TEST_CASE("structure differs when a rule or a set definition differs, not when elements do") {
  Ruleset a;
  Table t;
  t.name = "t";
  t.sets.push_back(Set{"s", {Type::kIpv4Addr}, {}, false, {}, ""});
  t.chains.push_back(Chain{"c", std::nullopt, {Rule{{Verdict{}}, "r"}}});
  a.tables.push_back(t);
  Ruleset b = a;
  b.tables[0].sets[0].elements.push_back(Element{{*ParseIpv4("1.2.3.4")}, {}, {}});
  CHECK(SameStructure(a, b));
  auto changes = DiffElements(a, b);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].add);
  Ruleset c = a;
  c.tables[0].chains[0].rules[0].exprs.push_back(Counter{});
  CHECK_FALSE(SameStructure(a, c));
  Ruleset d = a;
  d.tables[0].sets[0].interval = true;
  CHECK_FALSE(SameStructure(a, d));
}
