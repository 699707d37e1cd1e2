// NetlinkBackend's read-back against the real kernel: ReadTables returns what was written, and
// drift is found on what a rule does, not only on its comment (the kernel's expressions are
// compared with the ones written, or expected, under the same tag). Run by CTest under
// `unshare --net`, in a fresh network namespace.
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "compile/compiler.h"
#include "compile/drift.h"
#include "nft/netlink_backend.h"
#include "nft/netlink_testing.h"
#include "testing/netns_shell.h"

namespace ipo::nft {
namespace {

using namespace netlink_testing;  // NOLINT(google-build-using-namespace)
using ipo::testing::Sh;

// The shipped policy (rules/policy.json) compiled for `seen`.
Ruleset CompileShippedPolicy(const model::Observed& seen) {
  auto policy = policy::LoadPolicy(IPO_POLICY_FILE);
  REQUIRE(policy.ok());
  return compile::Compile(*policy, seen);
}

// The differences between `rs` and the agent's tables as `backend` reads them back.
std::vector<std::string> DriftNow(NetlinkBackend& backend, const Ruleset& rs) {
  auto kernel = backend.ReadTables(compile::OwnedTables());
  REQUIRE(kernel.ok());
  return compile::FindDrift(rs, *kernel);
}

void ExpectNoDrift(NetlinkBackend& backend, const Ruleset& rs) {
  auto drift = DriftNow(backend, rs);
  for (const auto& d : drift) UNSCOPED_INFO(d);
  CHECK(drift.empty());
}

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

TEST_CASE("ReadTables returns sets, elements, chains and rule comments") {
  auto backend = FreshBackend();
  Ruleset rs = AgentLikeRuleset();
  REQUIRE(backend->ReplaceTables(rs, false).ok());
  auto got = backend->ReadTables(AgentLikeTables());
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

TEST_CASE("drift is found on what a rule does, not only on its comment") {
  auto b = FreshBackend();
  model::Observed seen;
  seen.containers = {{"docker_a", "a", true, "172.30.1.2", "fd00:ac1e:1::2"},
                     {"docker_c", "c", true, "172.30.2.2", "fd00:ac1e:2::2"}};
  seen.proxy_ports = {{6, 9999}};
  Ruleset rs = CompileShippedPolicy(seen);
  REQUIRE(b->ReplaceTables(rs, false).ok());
  // Every kind of rule the compiler makes reads back as it was written: no false drift.
  ExpectNoDrift(*b, rs);

  // An edit that keeps the comment: the LAN drop rule becomes an accept, tag and all.
  auto [handle, tag] = RuleHandle("to-containers", "comment \"LAN sources outside the allowlist");
  Sh("nft replace rule inet ipo_netd to-containers handle " + handle + " meta nfproto ipv4 accept comment '\"" +
     tag + "\"'");
  REQUIRE(Sh("nft list chain inet ipo_netd to-containers").find("ipv4 accept comment \"" + tag + "\"") !=
          std::string::npos);
  auto drift = DriftNow(*b, rs);
  REQUIRE(drift.size() == 1);
  CHECK(drift[0].find("inet ipo_netd: chain to-containers: rule 7 is \"" + tag + " [content differs: [ meta load nfproto") ==
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
  ExpectNoDrift(*b, rs);
}

TEST_CASE("drift on the br-* pattern or on the docker0 bridge rule is found on content") {
  auto b = FreshBackend();
  model::Observed seen;
  seen.bridges = {"br-5c6b2e0f4a1d", "shopnet0"};
  Ruleset rs = CompileShippedPolicy(seen);
  REQUIRE(b->ReplaceTables(rs, false).ok());
  auto kernel = b->ReadTables(compile::OwnedTables());
  REQUIRE(kernel.ok());
  CHECK(kernel->FindTable(Family::kBridge, "ipo_netd") != nullptr);
  ExpectNoDrift(*b, rs);

  // "br-*" becomes "bx-*" under the same comment: every new Docker network would be open.
  auto [handle, tag] = RuleHandle("filter-forward", "into a network Docker created");
  Sh("nft replace rule inet ipo_netd filter-forward handle " + handle + " oifname '\"bx-*\"' jump into-bridge comment '\"" +
     tag + "\"'");
  // The docker0 guard becomes a counter only.
  auto [bhandle, btag] = RuleHandle("filter-forward", "default bridge", "bridge ipo_netd");
  std::string quoted = std::regex_replace(btag, std::regex("'"), "'\\''");  // "Docker's" in a sh '' string
  Sh("nft replace rule bridge ipo_netd filter-forward handle " + bhandle + " meta protocol ip ip daddr 172.17.0.0/16 counter comment '\"" +
     quoted + "\"'");
  auto drift = DriftNow(*b, rs);
  REQUIRE(drift.size() == 2);
  INFO(drift[0]);
  CHECK(drift[0].find("inet ipo_netd: chain filter-forward: rule 2 is \"" + tag + " [content differs: [ meta load oifname => reg 1  ] [ cmp eq reg 1 0x002d7862  ]") == 0);
  CHECK(drift[1].find("bridge ipo_netd: chain filter-forward: rule 1 is \"" + btag + " [content differs:") == 0);
  REQUIRE(b->ReplaceTables(rs, false).ok());
  ExpectNoDrift(*b, rs);
}

}  // namespace ipo::nft
