// The drop log's pure parts: which drop rule and policy entry a log prefix names (from the
// shipped policy compiled), the record a logged packet becomes, and the ring's paging.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "compile/compiler.h"
#include "droplog/attribute.h"
#include "droplog/drop_index.h"
#include "droplog/drop_ring.h"
#include "droplog/drop_watch.h"
#include "policy/policy.h"

namespace ipo::droplog {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

nft::Ruleset Shipped(bool log) {
  auto policy = policy::LoadPolicy(IPO_POLICY_FILE);
  REQUIRE(policy.ok());
  policy->drop_log.enabled = log;
  return compile::Compile(*policy, model::Observed{});
}

// The prefix of the log twin of the drop rule commented `drop` in `chain`.
std::string PrefixOf(const nft::Ruleset& rs, const std::string& chain, const std::string& drop) {
  for (const auto& t : rs.tables)
    for (const auto& c : t.chains)
      if (c.name == chain)
        for (const auto& r : c.rules)
          if (r.comment == "log: " + drop) return std::get<nft::Log>(r.exprs.back()).prefix;
  FAIL("no log twin of " << drop);
  return "";
}

TEST_CASE("the index maps each log prefix to its drop rule and the policy entry, with its line") {
  nft::Ruleset rs = Shipped(true);
  DropIndex index = DropIndex::Build(rs, "rules/policy.json", ReadFile(IPO_POLICY_FILE));
  REQUIRE(index.group() == std::optional<uint16_t>(20));
  CHECK(index.size() >= 6);
  std::string lan = "LAN sources outside the allowlist (192.168.1.0/24)";
  const DroppingRule* d = index.Find(PrefixOf(rs, "to-containers", lan));
  REQUIRE(d != nullptr);
  CHECK(d->family == "inet");
  CHECK(d->table == "ipo_netd");
  CHECK(d->chain == "to-containers");
  CHECK(d->rule == lan);
  CHECK(d->policy == "rules/policy.json:4 lan.subnets[0]");
  const DroppingRule* c = index.Find(PrefixOf(rs, "filter-forward", "containers on Docker's default bridge never talk to each other"));
  REQUIRE(c != nullptr);
  CHECK(c->family == "bridge");
  CHECK(c->policy.empty());  // the compiler's own rule
  CHECK(index.Find("ipo inet/to-containers: no such rule") == nullptr);

  CHECK(d->origin == "lan.subnets[0]");
  // Only other log rules make another index: set elements do not.
  nft::Ruleset more = rs;
  more.tables[0].sets[0].elements.clear();
  CHECK(index.Describes(more));
  CHECK_FALSE(index.Describes(Shipped(false)));
  for (auto& chain : more.tables[0].chains)
    for (auto& r : chain.rules)
      if (r.comment == "log: " + lan) std::get<nft::Log>(r.exprs.back()).group = 21;
  CHECK_FALSE(index.Describes(more));
  more = rs;
  for (auto& chain : more.tables[0].chains)
    for (auto& r : chain.rules)
      if (r.comment == lan) r.origin = "lan.subnets[1]";
  CHECK_FALSE(index.Describes(more));

  DropIndex off = DropIndex::Build(Shipped(false), "rules/policy.json", "");
  CHECK_FALSE(off.group().has_value());
  CHECK(off.size() == 0);
}

TEST_CASE("a logged packet becomes a record naming its rule; an unknown prefix keeps only the prefix") {
  nft::Ruleset rs = Shipped(true);
  DropIndex index = DropIndex::Build(rs, "p.json", ReadFile(IPO_POLICY_FILE));
  nft::NflogPacket p;
  p.prefix = PrefixOf(rs, "to-containers", "nothing else reaches a container");
  p.src = "192.168.1.77";
  p.dst = "172.30.1.3";
  p.l4proto = 6;
  p.sport = 40000;
  p.dport = 3316;
  p.indev = 7;
  auto names = [](uint32_t i) { return i == 7 ? std::string("lan0") : std::string("?"); };
  DropRecord r = Attribute(p, index, 42, names);
  CHECK(r.unix_nanos == 42);  // no kernel time: the agent's
  CHECK(r.src == "192.168.1.77");
  CHECK(r.dst == "172.30.1.3");
  CHECK(r.proto == "tcp");
  CHECK(r.dport == 3316);
  CHECK(r.in == "lan0");
  CHECK(r.out.empty());
  CHECK(r.chain == "to-containers");
  CHECK(r.rule == "nothing else reaches a container");
  CHECK(r.policy.empty());

  p.prefix = "someone else's rule";
  p.unix_nanos = 7;
  p.l4proto = 47;
  DropRecord u = Attribute(p, index, 42, names);
  CHECK(u.unix_nanos == 7);
  CHECK(u.proto == "proto 47");
  CHECK(u.rule.empty());
  CHECK(u.table.empty());
  CHECK(u.prefix == "someone else's rule");
}

DropRecord Rec(const std::string& src) {
  DropRecord r;
  r.src = src;
  return r;
}

TEST_CASE("the ring pages by sequence number and counts what it overwrote") {
  DropRing ring(3);
  auto empty = ring.Since(0, 10);
  CHECK(empty.records.empty());
  CHECK(empty.next == 0);
  for (int i = 1; i <= 5; ++i) ring.Push(Rec("10.0.0." + std::to_string(i)));
  CHECK(ring.total() == 5);
  auto all = ring.Since(0, 10);
  REQUIRE(all.records.size() == 3);
  CHECK(all.records[0].seq == 3);
  CHECK(all.records[0].src == "10.0.0.3");
  CHECK(all.missed == 2);
  CHECK(all.next == 5);
  auto two = ring.Since(3, 1);
  REQUIRE(two.records.size() == 1);
  CHECK(two.records[0].seq == 4);
  CHECK(two.next == 4);
  CHECK(two.missed == 0);
  auto none = ring.Since(5, 10);
  CHECK(none.records.empty());
  CHECK(none.next == 5);
  // A cursor from before a restart (past the last record) starts over.
  auto stale = ring.Since(900, 10);
  CHECK(stale.records.size() == 3);
  CHECK(stale.next == 5);
}

TEST_CASE("a record survives JSON; a malformed one is refused naming the key") {
  DropRecord r = Rec("fd00::1");
  r.seq = 9;
  r.unix_nanos = 1700000000000000000;
  r.dport = 80;
  r.rule = "x";
  auto back = DropRecordFromJson(ToJson(r));
  REQUIRE(back.ok());
  CHECK(back->src == "fd00::1");
  CHECK(back->seq == 9);
  CHECK(back->unix_nanos == 1700000000000000000);
  CHECK(back->dport == 80);
  CHECK(back->rule == "x");
  auto j = ToJson(r);
  j["dport"] = "80";
  CHECK(DropRecordFromJson(j).status().message() == "drop record: dport: not an integer");
  j.erase("rule");
  CHECK(DropRecordFromJson(j).status().message() == "drop record: rule: not a string");
  CHECK_FALSE(DropRecordFromJson(nlohmann::json::array()).ok());
}

TEST_CASE("the watch's page says nothing is bound while no ruleset logs") {
  DropRing ring(4);
  DropWatch watch(ring, {});
  auto page = watch.Page(0, 10);
  CHECK(page["group"].is_null());
  CHECK(page["listening"] == false);
  CHECK(page["records"].empty());
}

}  // namespace
}  // namespace ipo::droplog
