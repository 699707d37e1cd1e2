#include "status/status_doc.h"

#include <catch2/catch.hpp>

using namespace ipo::status;
using nlohmann::json;

namespace {

// Every section filled, as a running agent reports it.
AgentStatus Full() {
  AgentStatus s;
  s.health = "degraded";
  s.health_reason = "docker unavailable: gone";
  s.generation = 12;
  s.policy = "/etc/ipo-netd/policy.json";
  s.applied_at = "2026-12-01T00:00:00Z";
  s.containers = {{"docker_a", "abc", true, {"ipo_a", "bridge"}, "172.30.1.2", "fd00::2", true, "ipo_a"},
                  {"other", "def", false, {}, "", "", false, ""}};
  s.observed = ipo::model::Observed{};
  s.observed->containers = {{"docker_a", "abc", true, "172.30.1.2", "fd00::2"}};
  s.observed->proxy_ports = {{6, 9999}};
  s.publish_conflicts = {"docker_b: tcp/22 is held by sshd"};
  s.last_event = LastEvent{"container start docker_a", 1764000000123456789};
  s.docker = DockerLink{false, "gone"};
  s.agent_drift = {"inet ipo_netd: set lan-v4: missing element 1.2.3.4"};
  s.drift_repairs = 3;
  s.last_repair = DriftRepair{"2026-12-01T00:00:01Z", "periodic drift check", 1.25, 2, "first"};
  s.tamper_notices = 4;
  s.protection = Protection{"owner+persist", true, ""};
  s.boot_restore = {{"result", "restored"}, {"generation", 11}};
  s.state_save = StateSave{false, "disk full"};
  s.reload_refused = "policy.json:3: bad";
  s.syncs = 5;
  s.events = 6;
  s.full_resyncs = 2;
  s.lookups = 40;
  s.last_full_resync = FullResync{"2026-12-01T00:05:00Z", "periodic full resync", 12.5, 1003, {"container x (abc): changed"}};
  s.last_apply = LastApply{"elements", 0.5};
  s.problems = {"network x cannot be created"};
  s.conntrack = Conntrack{true, "", 2, 7, "", ConntrackFlush{"t", "event", {"addr 1.2.3.4"}, {}, 9, 7, 1, 0.75}};
  s.repairs_by_cause = {{"notification", 2}, {"periodic", 1}};
  s.event_latency = LatencyHistogram::Default();
  s.event_latency->Observe(3.5);
  s.event_latency->Observe(20000);
  s.set_elements = {{"inet ipo_netd lan-allow-v4", 1}, {"ip ipo_netd_nat publish-any", 2}};
  s.last_sync_unix = 1764000000.25;
  return s;
}

}  // namespace

TEST_CASE("the status document round-trips, every section and member") {
  json j = ToJson(Full());
  auto back = FromJson(j.dump());
  REQUIRE(back.ok());
  CHECK(ToJson(*back) == j);
  CHECK(j["last_event"] == json{{"event", "container start docker_a"}, {"time_nano", 1764000000123456789}});
  CHECK(j["conntrack"]["last_flush"] == json::parse(R"({"at": "t", "reason": "event", "targets": ["addr 1.2.3.4"],
      "scanned": 9, "removed": 7, "vanished": 1, "ms": 0.75})"));
  CHECK(j["observed"] == json::parse(R"({"containers": [{"name": "docker_a", "id": "abc", "running": true,
      "ipv4": "172.30.1.2", "ipv6": "fd00::2"}], "proxy_ports": [{"proto": 6, "port": 9999}],
      "docker_published": [], "bridges": [], "default_bridge_v4": ""})"));
}

TEST_CASE("a failed flush carries its error instead of the counts") {
  AgentStatus s = Full();
  s.conntrack->last_flush->error = "EPERM";
  json f = ToJson(s)["conntrack"]["last_flush"];
  CHECK(f == json::parse(R"({"at": "t", "reason": "event", "targets": ["addr 1.2.3.4"], "error": "EPERM", "ms": 0.75})"));
  auto back = FromJson(ToJson(s).dump());
  REQUIRE(back.ok());
  CHECK(back->conntrack->last_flush->error == "EPERM");
}

TEST_CASE("a status without its sections (an older agent) decodes to defaults and nullopt; unknown members pass") {
  auto s = FromJson(R"({"generation": 4, "something_new": {"x": 1}, "last_repair": null})");
  REQUIRE(s.ok());
  CHECK(s->health == "down");
  CHECK(s->generation == 4);
  CHECK(s->containers.empty());
  CHECK_FALSE(s->observed);
  CHECK_FALSE(s->last_event);
  CHECK_FALSE(s->docker);
  CHECK_FALSE(s->last_repair);
  CHECK_FALSE(s->protection);
  CHECK_FALSE(s->state_save);
  CHECK_FALSE(s->last_apply);
  CHECK_FALSE(s->conntrack);
  CHECK(s->boot_restore.is_null());
  json written = ToJson(*s);
  CHECK(written["conntrack"].is_null());
  CHECK(written["docker"].is_null());
}

TEST_CASE("a status member of the wrong type is refused, naming it") {
  CHECK(FromJson("[]").status().message() == "status:1: must be an object, got array");
  CHECK(FromJson("{\n\"generation\": \"7\"}").status().message() == "status:2: generation: must be an integer, got string");
  CHECK(FromJson("{").status().message().rfind("status:1:1: invalid JSON: ", 0) == 0);
  json j = ToJson(Full());
  j["conntrack"]["last_flush"]["removed"] = -1;
  CHECK(FromJson(j.dump()).status().message() ==
        "status:1: conntrack.last_flush.removed: must be between 0 and 18446744073709551615, got -1");
  j = ToJson(Full());
  j["observed"]["containers"][0].erase("id");
  CHECK(FromJson(j.dump()).status().message() == "status:1: observed.containers[0]: missing required key \"id\"");
  j = ToJson(Full());
  j["containers"][1]["networks"] = "bridge";
  CHECK(FromJson(j.dump()).status().message() == "status:1: containers[1].networks: must be an array, got string");
}

TEST_CASE("the latency histogram counts each observation in the first bucket that holds it") {
  LatencyHistogram h = LatencyHistogram::Default();
  REQUIRE(h.counts.size() == h.bounds_ms.size() + 1);
  h.Observe(0.2);    // <= 1
  h.Observe(1);      // <= 1 (the bound is inclusive, as Prometheus' le)
  h.Observe(7);      // <= 10
  h.Observe(99999);  // beyond the last bound
  CHECK(h.counts[0] == 2);
  CHECK(h.counts[3] == 1);
  CHECK(h.counts.back() == 1);
  CHECK(h.count == 4);
  CHECK(h.sum_ms == Approx(100007.2));
}

TEST_CASE("a histogram whose counts do not match its bounds decodes as empty, not misread") {
  auto s = FromJson(R"({"event_latency": {"bounds_ms": [1, 2], "counts": [5], "sum_ms": 3, "count": 5}})");
  REQUIRE(s.ok());
  REQUIRE(s->event_latency);
  CHECK(s->event_latency->counts == std::vector<uint64_t>{0, 0, 0});
  CHECK(s->event_latency->count == 0);
}
