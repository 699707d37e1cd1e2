#include "status/status_report.h"

#include <catch2/catch.hpp>

using ipo::status::StatusReport;
using ipo::status::ToJson;
using nlohmann::json;

TEST_CASE("the report of a bad input is its error alone") {
  StatusReport r;
  r.error = "policy.json:3: bad";
  r.agent.generation = 5;
  CHECK(ToJson(r) == json{{"error", "policy.json:3: bad"}});
}

TEST_CASE("the report with the agent down: what the state file holds, the sections the agent owns empty") {
  StatusReport r;
  r.agent.health_reason = "the agent does not answer";
  r.agent.generation = 41;
  r.agent.applied_at = "2026-11-24T00:00:00Z";
  r.agent.last_event = ipo::status::LastEvent{"container start docker_c", 0};
  r.agent.containers = {{"docker_a", "a", true, {"ipo_a"}, "172.30.1.2", "", true, "ipo_a"}};
  r.agent.boot_restore = {{"result", "none"}, {"detail", "no record"}};
  r.via = "state-file";
  r.policy = "/etc/ipo-netd/policy.json";
  r.drift = {"inet ipo_netd: missing table"};
  r.tables = {{"ip", "ipo_netd", 2, 5, {}}, {"inet", "ipo_netd", 3, 9, {{"lan-v4", {"10.0.0.0/8"}}}}};
  // The layout the CLI wrote before the report was typed (2df0bcc), member for member, plus the
  // model's full_resyncs, lookups and last_full_resync (issue 18) and the metrics' sources
  // repairs_by_cause, event_latency, set_elements, last_sync_unix (issue 16).
  CHECK(ToJson(r).dump() ==
        R"({"agent":{"applied_at":"2026-11-24T00:00:00Z","conntrack":null,"drift_repairs":0,"event_latency":null,)"
        R"("events":0,"full_resyncs":0,"last_apply":{},"last_full_resync":null,"last_repair":null,"last_sync_unix":0.0,)"
        R"("lookups":0,"observed":{},"problems":[],"protection":{},"publish_conflicts":[],"repairs_by_cause":{},)"
        R"("set_elements":{},"state_save":{},"syncs":0,"tamper_notices":0,"via":"state-file"},)"
        R"("boot_restore":{"detail":"no record","result":"none"},"containers":[{"id":"a","ipv4":"172.30.1.2",)"
        R"("ipv6":"","managed":true,"name":"docker_a","networks":["ipo_a"],"policy_network":"ipo_a",)"
        R"("running":true}],"counters":[],"docker":{},"drift":true,"drift_details":["inet ipo_netd: missing table"],)"
        R"("generation":41,"health":"down","health_reason":"the agent does not answer",)"
        R"("last_event":{"event":"container start docker_c","time_nano":0},"policy":"/etc/ipo-netd/policy.json",)"
        R"("ruleset":{"tables":[{"chains":2,"family":"ip","name":"ipo_netd","rules":5,"sets":{}},)"
        R"({"chains":3,"family":"inet","name":"ipo_netd","rules":9,"sets":{"lan-v4":["10.0.0.0/8"]}}]}})");
}

TEST_CASE("the report carries the agent's sections as the agent wrote them") {
  ipo::status::AgentStatus a;
  a.health = "ok";
  a.docker = ipo::status::DockerLink{true, "API 1.45"};
  a.protection = ipo::status::Protection{"owner+persist", true, ""};
  a.conntrack = ipo::status::Conntrack{true, "", 1, 2, "", std::nullopt};
  a.observed = ipo::model::Observed{};
  a.repairs_by_cause = {{"notification", 1}};
  a.event_latency = ipo::status::LatencyHistogram::Default();
  a.event_latency->Observe(2);
  a.set_elements = {{"inet ipo_netd lan-allow-v4", 1}};
  a.last_sync_unix = 1764000000;
  StatusReport r{"", a, "socket", "p.json", {}, {}, {{"inet", "ipo_netd", "c", "why", "drop", 3, 180}}};
  json j = ToJson(r);
  json agent = ToJson(a);
  CHECK(j["drift"] == false);
  CHECK(j["docker"] == agent["docker"]);
  CHECK(j["agent"]["protection"] == agent["protection"]);
  CHECK(j["agent"]["conntrack"] == agent["conntrack"]);
  CHECK(j["agent"]["observed"] == agent["observed"]);
  CHECK(j["agent"]["via"] == "socket");
  CHECK(j["agent"]["repairs_by_cause"] == agent["repairs_by_cause"]);
  CHECK(j["agent"]["event_latency"] == agent["event_latency"]);
  CHECK(j["agent"]["set_elements"] == agent["set_elements"]);
  CHECK(j["agent"]["last_sync_unix"] == agent["last_sync_unix"]);
  CHECK(j["last_event"] == json::object());
  CHECK(j["counters"] == json::array({ToJson(r.counters[0])}));
  CHECK(j["counters"][0]["packets"] == 3);
}
