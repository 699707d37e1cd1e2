#include "status/rule_counters.h"

#include <catch2/catch.hpp>

namespace {

using ipo::nft::Counter;
using ipo::nft::Rule;
using ipo::nft::Verdict;
using ipo::nft::VerdictKind;
using ipo::status::RuleCounter;

ipo::nft::Ruleset Applied() {
  ipo::nft::Table t;
  t.family = ipo::nft::Family::kInet;
  t.name = "ipo_netd";
  ipo::nft::Chain c{"to-containers", std::nullopt, {}};
  c.rules.push_back(Rule{{Counter{}, Verdict{VerdictKind::kAccept, ""}}, "replies"});
  c.rules.push_back(Rule{{Counter{}, Verdict{VerdictKind::kDrop, ""}}, "nothing else reaches a container"});
  c.rules.push_back(Rule{{Counter{}, Verdict{VerdictKind::kJump, "x"}}, "somewhere else"});
  t.chains.push_back(c);
  ipo::nft::Ruleset rs;
  rs.tables.push_back(t);
  return rs;
}

// `applied` as ReadTables returns it: tags and counts, no expressions.
ipo::nft::Ruleset ReadBack(const ipo::nft::Ruleset& applied, std::vector<uint64_t> packets) {
  ipo::nft::Ruleset rs = applied;
  size_t i = 0;
  for (auto& t : rs.tables)
    for (auto& c : t.chains)
      for (auto& r : c.rules) {
        uint64_t p = i < packets.size() ? packets[i++] : 0;
        r = Rule{{}, r.Tag(), ipo::nft::Counts{p, p * 100}};
      }
  return rs;
}

}  // namespace

TEST_CASE("every counted kernel rule becomes a row named by the rule's comment and action") {
  auto rows = ipo::status::RuleCounters(Applied(), ReadBack(Applied(), {7, 3, 0}));
  CHECK(rows == std::vector<RuleCounter>{
                    {"inet", "ipo_netd", "to-containers", "replies", "accept", 7, 700},
                    {"inet", "ipo_netd", "to-containers", "nothing else reaches a container", "drop", 3, 300},
                    {"inet", "ipo_netd", "to-containers", "somewhere else", "jump x", 0, 0}});
}

TEST_CASE("a kernel rule the agent did not write as it is shows with action ?") {
  auto kernel = ReadBack(Applied(), {1, 2, 3});
  auto& rules = kernel.tables[0].chains[0].rules;
  rules[1].comment += " [content differs: [ immediate reg 0 accept ]]";  // the drop became an accept
  rules.push_back(Rule{{}, "added by hand", ipo::nft::Counts{5, 50}});
  rules.push_back(Rule{{}, "no counter"});  // not counted: no row
  auto rows = ipo::status::RuleCounters(Applied(), kernel);
  REQUIRE(rows.size() == 4);
  CHECK(rows[1].action == "?");
  CHECK(rows[1].rule.find("[content differs:") != std::string::npos);
  CHECK(rows[3] == RuleCounter{"inet", "ipo_netd", "to-containers", "added by hand", "?", 5, 50});
}

TEST_CASE("the action of each kind of rule") {
  using ipo::status::RuleAction;
  CHECK(RuleAction(Rule{{Counter{}}, ""}) == "continue");
  CHECK(RuleAction(Rule{{Counter{}, ipo::nft::Masquerade{}}, ""}) == "masquerade");
  CHECK(RuleAction(Rule{{Counter{}, ipo::nft::DnatMap{ipo::nft::Family::kIp, {}, "publish-any"}}, ""}) ==
        "dnat @publish-any");
  CHECK(RuleAction(Rule{{Verdict{VerdictKind::kReturn, ""}}, ""}) == "return");
}

TEST_CASE("counters survive the status document's JSON") {
  ipo::status::AgentStatus s;
  s.counters = ipo::status::RuleCounters(Applied(), ReadBack(Applied(), {7, 3, 0}));
  s.counters_read_unix = 1765000000.5;
  auto back = ipo::status::FromJson(ipo::status::ToJson(s).dump());
  REQUIRE(back.ok());
  CHECK(back->counters == s.counters);
  CHECK(back->counters_read_unix == 1765000000.5);
}
