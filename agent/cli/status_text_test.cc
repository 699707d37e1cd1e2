#include "cli/status_text.h"

#include <catch2/catch.hpp>

using namespace ipo::status;

namespace {

// A running agent that reports every section.
StatusReport Full() {
  StatusReport r;
  r.policy = "/etc/ipo-netd/policy.json";
  r.via = "socket";
  r.tables = {{"ip", "ipo_netd_nat", 2, 5, {}}, {"inet", "ipo_netd", 3, 9, {{"lan-v4", {"10.0.0.0/8"}}, {"bridges", {}}}}};
  AgentStatus& a = r.agent;
  a.health = "ok";
  a.generation = 12;
  a.last_event = LastEvent{"container start docker_c", 0};
  a.containers = {{"docker_a", "a", true, {"ipo_a"}, "172.30.1.2", "", true, "ipo_a"},
                  {"docker_c", "c", false, {}, "", "", true, "ipo_b"},
                  {"stranger", "s", true, {"bridge", "other"}, "172.17.0.4", "", false, ""}};
  a.observed = ipo::model::Observed{};
  a.observed->docker_published = {{6, 9999, false, "", "172.30.1.3", 3316, "docker_b"},
                                  {17, 5353, true, "", "fd00::2", 53, "docker_a"},
                                  {6, 80, false, "10.0.0.1", "172.30.1.2", 8080, "docker_a"}};
  a.publish_conflicts = {"docker_b: tcp/22 is held by sshd"};
  a.docker = DockerLink{true, "API 1.45"};
  a.drift_repairs = 3;
  a.last_repair = DriftRepair{"2026-12-01T00:00:01Z", "periodic drift check", 1.2345678, 2, "first"};
  a.tamper_notices = 4;
  a.protection = Protection{"owner+persist", true, ""};
  a.boot_restore = {{"result", "restored"}, {"detail", "from state"}, {"at", "2026-12-01T00:00:00Z"}};
  a.conntrack = Conntrack{true, "", 2, 7, "x", ConntrackFlush{"t", "event", {"addr"}, std::string("EPERM"), 0, 0, 0, 0.75}};
  return r;
}

}  // namespace

// The expected texts are what FormatStatus printed for the same documents before the report
// was typed (2df0bcc).
TEST_CASE("the status text of an agent that reports every section") {
  CHECK(ipo::cli::FormatStatus(Full()) == R"(agent     ok
policy    /etc/ipo-netd/policy.json, generation 12
docker    connected (API 1.45)
event     container start docker_c
boot      restored: from state (at 2026-12-01T00:00:00Z)
tables    claim owner+persist; repair on notification on
repairs   3 (foreign changes seen: 4); last 2026-12-01T00:00:01Z after "periodic drift check", 2 difference(s) repaired in 1.23457 ms
conntrack 7 flow(s) removed in 2 flush(es); last t after "event": FAILED: EPERM
ruleset   in force, no drift
  ip ipo_netd_nat     2 chains, 5 rules; sets:
  inet ipo_netd       3 chains, 9 rules; sets: bridges=0 lan-v4=1

CONTAINER     RUNNING  NETWORKS        IPV4          IPV6              POLICY
docker_a      yes      ipo_a           172.30.1.2    -                 ipo_a
docker_c      no       -               -             -                 ipo_b
stranger      yes      bridge,other    172.17.0.4    -                 not in policy (left alone)

docker -p bindings the agent publishes (LAN allowlist only):
  docker_b: tcp *:9999 -> 172.30.1.3:3316
  docker_a: udp [::]:5353 -> fd00::2:53
  docker_a: tcp 10.0.0.1:80 -> 172.30.1.2:8080

not published:
  - docker_b: tcp/22 is held by sshd
)");
}

TEST_CASE("the status text leaves out what the agent did not report, and says why it is degraded") {
  StatusReport r = Full();
  r.agent.health = "degraded";
  r.agent.health_reason = "x";
  r.agent.conntrack = Conntrack{false, "no CAP_NET_ADMIN", 1, 7, "", ConntrackFlush{"t", "event", {"addr"}, {}, 9, 7, 1, 12.5}};
  r.agent.last_event = LastEvent{"", 0};
  r.agent.docker = DockerLink{false, ""};
  r.agent.protection = std::nullopt;
  r.agent.last_repair = std::nullopt;
  // Only the lines above the tables differ from Full()'s.
  const std::string full = ipo::cli::FormatStatus(Full());
  CHECK(ipo::cli::FormatStatus(r) == R"(agent     degraded (x)
policy    /etc/ipo-netd/policy.json, generation 12
docker    not connected
event     )" "\n" R"(boot      restored: from state (at 2026-12-01T00:00:00Z)
repairs   3 (foreign changes seen: 4)
conntrack OFF (no CAP_NET_ADMIN); 7 flow(s) removed in 1 flush(es); last t after "event": 7 removed in 12.5 ms
)" + full.substr(full.find("ruleset   ")));
  r.error = "policy.json:3: bad";
  CHECK(ipo::cli::FormatStatus(r) == "error: policy.json:3: bad\n");
}

TEST_CASE("status --counters adds every rule's packets and bytes under its table and chain") {
  StatusReport r = Full();
  r.counters = {{"inet", "ipo_netd", "to-containers", "replies", "accept", 10, 1000},
                {"inet", "ipo_netd", "to-containers", "nothing else reaches a container", "drop", 3, 180},
                {"ip", "ipo_netd_nat", "nat-prerouting", "ports published to everyone", "dnat @publish-any", 1, 60}};
  std::string plain = ipo::cli::FormatStatus(r);
  CHECK(plain.find("counters") == std::string::npos);
  std::string text = ipo::cli::FormatStatus(r, true);
  CHECK(text.find(R"(
counters (read from the kernel now; they restart from 0 when the tables are replaced):
  PACKETS     BYTES         ACTION                RULE
inet ipo_netd to-containers:
  10          1000          accept                replies
  3           180           drop                  nothing else reaches a container
ip ipo_netd_nat nat-prerouting:
  1           60            dnat @publish-any     ports published to everyone
)") != std::string::npos);
}
