// `ipo-netctl drops` text: the header says whether the group is read, each record is one line
// with the rule and the policy entry.
#include <catch2/catch.hpp>

#include "cli/drops_cmd.h"
#include "droplog/drop_ring.h"

namespace ipo::cli {
namespace {

TEST_CASE("drops: a record is one line naming the rule and the policy entry") {
  droplog::DropRecord r;
  r.seq = 3;
  r.unix_nanos = int64_t{1796672401} * 1000000000 + 123000000;
  r.src = "192.168.1.77";
  r.sport = 40000;
  r.dst = "fd00:ac1e:1::2";
  r.dport = 8080;
  r.proto = "tcp";
  r.in = "lan0";
  r.family = "inet";
  r.table = "ipo_netd";
  r.chain = "to-containers";
  r.rule = "LAN sources outside the allowlist (192.168.1.0/24)";
  r.policy = "rules/policy.json:4 lan.subnets[0]";
  nlohmann::json page = {{"group", 20},      {"listening", true}, {"error", ""},     {"next", 3},
                         {"missed", 2},      {"logged_total", 9}, {"overruns", 0},  {"journal_suppressed", 0},
                         {"records", {droplog::ToJson(r)}}};
  CHECK(FormatDropsHeader(page) ==
        "drop log: nflog group 20, read by the agent; 9 logged since the agent started, 2 older ones overwritten\n");
  std::string line = FormatDropRecords(page);
  CHECK_THAT(line, Catch::StartsWith("2026-12-07T"));
  CHECK_THAT(line, Catch::Contains(".123Z"));
  CHECK_THAT(line, Catch::Contains("192.168.1.77:40000"));
  CHECK_THAT(line, Catch::Contains("[fd00:ac1e:1::2]:8080"));
  CHECK_THAT(line, Catch::Contains("lan0>-"));
  CHECK_THAT(line, Catch::EndsWith("inet ipo_netd to-containers: LAN sources outside the allowlist (192.168.1.0/24)"
                                   "  [policy rules/policy.json:4 lan.subnets[0]]\n"));

  r.rule.clear();
  r.prefix = "not ours";
  page["records"] = nlohmann::json::array({droplog::ToJson(r)});
  CHECK_THAT(FormatDropRecords(page), Catch::Contains("(log prefix \"not ours\")"));
}

TEST_CASE("drops: the header says when the group is not read, and why") {
  CHECK_THAT(FormatDropsHeader({{"group", nullptr}}), Catch::Contains("drop log: off"));
  nlohmann::json page = {{"group", 20}, {"listening", false}, {"error", "nflog group 20 is bound by another process"},
                         {"logged_total", 0}, {"records", nlohmann::json::array()}};
  CHECK(FormatDropsHeader(page) ==
        "drop log: nflog group 20, NOT read: nflog group 20 is bound by another process; 0 logged since the agent "
        "started\n");
  page["listening"] = true;
  page["overruns"] = 6;
  page["throttled_seconds"] = 9;
  CHECK_THAT(FormatDropsHeader(page), Catch::EndsWith(", 6 buffer overruns, 9 s throttled (more than the agent reads a "
                                                      "second was sent to the group)\n"));
}

}  // namespace
}  // namespace ipo::cli
