#include "compile/drift.h"

#include <catch2/catch.hpp>

#include "compile/compiler.h"

using namespace ipo;

namespace {

// What the kernel gives back for `rs`: rules carry only their comment (the tag).
nft::Ruleset AsReadBack(nft::Ruleset rs) {
  for (auto& t : rs.tables)
    for (auto& c : t.chains)
      for (auto& r : c.rules) r = nft::Rule{{}, r.Tag()};
  return rs;
}

nft::Ruleset Sample() {
  auto p = policy::LoadPolicy(IPO_TESTDATA "/../../../rules/policy.json");
  REQUIRE(p.ok());
  model::Observed o;
  o.containers = {{"docker_a", "a", true, "172.30.1.2", ""}};
  return compile::Compile(*p, o);
}

}  // namespace

TEST_CASE("no drift when the kernel holds what was applied") {
  CHECK(compile::FindDrift(Sample(), AsReadBack(Sample())).empty());
}

TEST_CASE("drift names the table, chain, rule and element at fault") {
  nft::Ruleset kernel = AsReadBack(Sample());
  auto& filter = kernel.tables[0];
  filter.chains[1].rules.erase(filter.chains[1].rules.begin() + 3);  // to-containers lost a rule
  filter.FindSet("published-v4")->elements.clear();
  filter.FindSet("lan-allow-v4")->elements.push_back(nft::Element{{*nft::ParseIpv4("192.168.1.50")}, {}, {}});
  kernel.tables.erase(kernel.tables.begin() + 2);  // ip6 nat table deleted
  auto drift = compile::FindDrift(Sample(), kernel);
  REQUIRE(drift.size() >= 4);
  CHECK(drift[0] == "inet ipo_netd: set lan-allow-v4: unexpected element 192.168.1.50");
  CHECK(drift[1] == "inet ipo_netd: set published-v4: missing element 172.30.1.2 . tcp . 8080");
  CHECK(drift[2] == "inet ipo_netd: chain to-containers: rule 4 is \"the LAN allowlist reaches every container (IPv6) #9f39f746\", expected \"the LAN allowlist reaches every container (IPv4) #2f937694\"");
  CHECK(drift.back() == "ip6 ipo_netd_nat: table missing");
}

TEST_CASE("a changed base chain policy is drift") {
  nft::Ruleset kernel = AsReadBack(Sample());
  for (auto& c : kernel.tables[0].chains)
    if (c.name == "filter-forward") c.base->policy_drop = true;
  auto drift = compile::FindDrift(Sample(), kernel);
  REQUIRE(drift.size() == 1);
  CHECK(drift[0] == "inet ipo_netd: chain filter-forward: is filter hook forward priority 0 policy drop, "
                    "expected filter hook forward priority 0 policy accept");
}

TEST_CASE("a deleted bridge table (the docker0 guard) is drift") {
  nft::Ruleset kernel = AsReadBack(Sample());
  REQUIRE(kernel.tables.back().family == nft::Family::kBridge);
  kernel.tables.pop_back();
  auto drift = compile::FindDrift(Sample(), kernel);
  REQUIRE(drift.size() == 1);
  CHECK(drift[0] == "bridge ipo_netd: table missing");
}
