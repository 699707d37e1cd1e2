// NftMonitor and table claiming against the real kernel, in a private network namespace.
#include "nft/nft_monitor.h"

#include <linux/netfilter/nf_tables.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "nft/netlink_backend.h"
#include "testing/netns_shell.h"

namespace ipo::nft {
namespace {

using namespace std::chrono_literals;
using testing::EnterOwnNetns;
using testing::Sh;

Ruleset SmallRuleset() {
  Table t;
  t.family = Family::kInet;
  t.name = "ipo_netd";
  t.sets = {Set{"ports", {Type::kInetService}, {}, false, {Element{{Port{80}}, std::nullopt, {}}}, ""}};
  t.chains = {Chain{"filter-forward", BaseChainSpec{ChainType::kFilter, Hook::kForward, 0, false},
                    {Rule{{Lookup{{Field::kThDport}, false, "ports"}, Counter{}}, "counted"}}}};
  Ruleset rs;
  rs.tables.push_back(t);
  return rs;
}

// All notifications for a while after an action.
std::vector<TableChange> Collect(NftMonitor& m) {
  std::vector<TableChange> all;
  for (int i = 0; i < 5; ++i) {
    auto got = m.Poll(50ms);
    REQUIRE(got.ok());
    all.insert(all.end(), got->begin(), got->end());
  }
  return all;
}

void Fresh() {
  REQUIRE(geteuid() == 0);
  REQUIRE(EnterOwnNetns());
  Sh("nft flush ruleset");
}

}  // namespace

TEST_CASE("monitor: the agent's own batches carry its port id, a foreign delete another") {
  Fresh();
  auto mon = NftMonitor::Open();
  REQUIRE(mon.ok());
  auto backend = NetlinkBackend::Create();
  REQUIRE(backend.ok());
  REQUIRE((*backend)->ReplaceTables(SmallRuleset(), false).ok());
  auto own = Collect(**mon);
  REQUIRE_FALSE(own.empty());
  for (const auto& c : own) {
    CHECK(c.portid == (*backend)->portid());
    CHECK(c.table == "ipo_netd");
    CHECK(c.family == 1);
  }
  CHECK(std::any_of(own.begin(), own.end(), [](const auto& c) { return c.msg == NFT_MSG_NEWRULE; }));

  Sh("nft delete table inet ipo_netd");
  auto foreign = Collect(**mon);
  REQUIRE_FALSE(foreign.empty());
  bool saw_delete = false;
  for (const auto& c : foreign) {
    CHECK(c.portid != (*backend)->portid());
    if (c.msg == NFT_MSG_DELTABLE && c.table == "ipo_netd") {
      saw_delete = true;
      CHECK_THAT(c.ToString(), Catch::StartsWith("delete table inet ipo_netd (netlink port "));
    }
  }
  CHECK(saw_delete);

  // Changes to other tables are reported with their own names (the agent ignores them).
  Sh("nft add table ip someone_else");
  auto other = Collect(**mon);
  REQUIRE(other.size() == 1);
  CHECK(other[0].table == "someone_else");
  CHECK(other[0].family == 2);
}

TEST_CASE("claim: owned persistent tables survive `nft flush ruleset` and their owner's exit") {
  Fresh();
  if (!NetlinkBackend::KernelCanClaim()) {
    WARN("kernel older than 6.9: no persistent owned tables, nothing to test");
    return;
  }
  {
    auto owner = NetlinkBackend::Create(/*claim_tables=*/true);
    REQUIRE(owner.ok());
    REQUIRE((*owner)->ReplaceTables(SmallRuleset(), false).ok());
    std::string listing = Sh("nft list table inet ipo_netd");
    // (nft 1.0.6 prints "owner" but has no name for the persist flag.)
    CHECK_THAT(listing, Catch::Contains("flags owner"));

    Sh("nft flush ruleset");
    CHECK_THAT(Sh("nft list table inet ipo_netd"), Catch::Contains("counted"));
    int rc = 0;
    std::string refused = Sh("nft delete table inet ipo_netd", &rc);
    CHECK(rc != 0);
    CHECK_THAT(refused, Catch::Contains("Operation not permitted"));
    // The owner itself may still replace them.
    REQUIRE((*owner)->ReplaceTables(SmallRuleset(), false).ok());
    // And a check from another socket validates a renamed copy instead of failing.
    auto other = NetlinkBackend::Create();
    REQUIRE(other.ok());
    CHECK((*other)->ReplaceTables(SmallRuleset(), /*check_only=*/true).ok());
    CHECK_FALSE((*other)->ReplaceTables(SmallRuleset(), false).ok());
  }
  // The owner is gone: the tables stay in force, orphaned (persist, no owner) ...
  std::string orphaned = Sh("nft list table inet ipo_netd");
  CHECK_THAT(orphaned, Catch::Contains("counted"));
  CHECK_THAT(orphaned, !Catch::Contains("owner"));
  // ... and the next agent claims them again in one batch.
  auto next = NetlinkBackend::Create(true);
  REQUIRE(next.ok());
  REQUIRE((*next)->ReplaceTables(SmallRuleset(), false).ok());
  CHECK_THAT(Sh("nft list table inet ipo_netd"), Catch::Contains("flags owner"));
}

TEST_CASE("claim off: plain tables replace orphaned persistent ones") {
  Fresh();
  if (!NetlinkBackend::KernelCanClaim()) {
    WARN("kernel older than 6.9: nothing to test");
    return;
  }
  {
    auto owner = NetlinkBackend::Create(true);
    REQUIRE(owner.ok());
    REQUIRE((*owner)->ReplaceTables(SmallRuleset(), false).ok());
  }
  auto plain = NetlinkBackend::Create(false);
  REQUIRE(plain.ok());
  REQUIRE((*plain)->ReplaceTables(SmallRuleset(), false).ok());
  std::string listing = Sh("nft list table inet ipo_netd");
  CHECK_THAT(listing, Catch::Contains("counted"));
  REQUIRE((*plain)->DeleteTables({{Family::kInet, "ipo_netd"}}).ok());
  // A plain table goes with `nft flush ruleset` (a persistent one would not).
  REQUIRE((*plain)->ReplaceTables(SmallRuleset(), false).ok());
  Sh("nft flush ruleset");
  CHECK(Sh("nft list ruleset").empty());
}

}  // namespace ipo::nft
