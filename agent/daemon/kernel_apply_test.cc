#include "daemon/kernel_apply.h"

#include "compile/compiler.h"
#include "daemon/test_fixture.h"

using namespace ipo;
using namespace ipo::daemon::testfix;

namespace {

nft::Ruleset Desired(bool running, const std::string& default_bridge_v4 = "") {
  model::Observed o;
  o.containers = {{"docker_a", "id-docker_a", running, "172.30.1.2", ""}};
  o.default_bridge_v4 = default_bridge_v4;
  return compile::Compile(LabPolicy(), o);
}

}  // namespace

TEST_CASE("element changes go as elements, structure changes and failures as whole tables") {
  testing::FakeNftBackend nft;
  nft::Ruleset up = Desired(true);
  CHECK(*daemon::ApplyRuleset(nft, nullptr, up, "first") == "full");
  CHECK(*daemon::ApplyRuleset(nft, &up, up, "again") == "");  // no batch at all
  CHECK(nft.calls == std::vector<std::string>{"replace"});
  nft::Ruleset down = Desired(false);
  CHECK(*daemon::ApplyRuleset(nft, &up, down, "die") == "elements");
  CHECK(nft.calls.back().rfind("elements ", 0) == 0);
  CHECK(nft.kernel.ToString() == down.ToString());
  nft::Ruleset bip = Desired(false, "10.200.0.0/16");
  CHECK(*daemon::ApplyRuleset(nft, &down, bip, "bridge") == "full");
  nft.fail_next = 1;  // the element batch fails: the whole tables instead
  CHECK(*daemon::ApplyRuleset(nft, &bip, Desired(true, "10.200.0.0/16"), "start") == "full");
  CHECK(nft.calls.back() == "replace");
  nft::Ruleset before = nft.kernel;
  nft.fail_next = 2;  // both fail: an error, the kernel as it was
  CHECK_FALSE(daemon::ApplyRuleset(nft, &bip, down, "die").ok());
  CHECK(nft.kernel.ToString() == before.ToString());
}

TEST_CASE("drift is read back, repaired and confirmed") {
  testing::FakeNftBackend nft;
  nft::Ruleset applied = Desired(true);
  REQUIRE(daemon::ApplyRuleset(nft, nullptr, applied, "first").ok());
  CHECK(daemon::ReadDrift(nft, applied)->empty());
  nft.kernel.tables[0].FindSet("lan-allow-v4")->elements.clear();
  auto drift = daemon::ReadDrift(nft, applied);
  REQUIRE(drift.ok());
  CHECK(*drift == std::vector<std::string>{"inet ipo_netd: set lan-allow-v4: missing element 192.168.1.1-192.168.1.30"});
  nft.fail_next = 1;
  CHECK_FALSE(daemon::RepairTables(nft, applied).ok());
  CHECK(daemon::RepairTables(nft, applied).ok());
  CHECK(daemon::ReadDrift(nft, applied)->empty());
}
