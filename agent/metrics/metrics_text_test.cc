#include "metrics/metrics_text.h"

#include <catch2/catch.hpp>
#include <sstream>

using ipo::metrics::EscapeLabelValue;
using ipo::metrics::MetricsText;
using ipo::status::AgentStatus;
using ipo::status::LatencyHistogram;

namespace {

AgentStatus Running() {
  AgentStatus s;
  s.health = "ok";
  s.generation = 7;
  s.containers = {{"docker_a", "a", true, {"ipo-shared"}, "172.30.1.3", "", true, "ipo-shared"},
                  {"busy-1", "b", true, {"bridge"}, "172.17.0.2", "", false, ""},
                  {"old", "c", false, {}, "", "", false, ""}};
  s.docker = ipo::status::DockerLink{true, "API 1.41"};
  s.repairs_by_cause = {{"notification", 2}};
  s.tamper_notices = 3;
  s.events = 40;
  s.syncs = 12;
  s.full_resyncs = 1;
  s.lookups = 55;
  s.state_save = ipo::status::StateSave{true, ""};
  s.set_elements = {{"inet ipo_netd lan-allow-v4", 1}, {"ip ipo_netd_nat publish-any", 2}};
  s.last_sync_unix = 1764000000.5;
  s.event_latency = LatencyHistogram::Default();
  s.event_latency->Observe(3);
  s.event_latency->Observe(4);
  s.event_latency->Observe(30);
  s.boot_restore = {{"result", "restored"}, {"generation", 6}};
  return s;
}

bool HasLine(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l == line) return true;
  return false;
}

}  // namespace

TEST_CASE("metrics: gauges and counters of a running agent") {
  std::string t = MetricsText(Running());
  CHECK(HasLine(t, "ipo_netd_healthy 1"));
  CHECK(HasLine(t, "ipo_netd_policy_generation 7"));
  CHECK(HasLine(t, "ipo_netd_drift 0"));
  CHECK(HasLine(t, "ipo_netd_repairs_total{cause=\"notification\"} 2"));
  CHECK(HasLine(t, "ipo_netd_repairs_total{cause=\"periodic\"} 0"));  // every cause, from 0
  CHECK(HasLine(t, "ipo_netd_tamper_notices_total 3"));
  CHECK(HasLine(t, "ipo_netd_docker_events_total 40"));
  CHECK(HasLine(t, "ipo_netd_docker_connected 1"));
  CHECK(HasLine(t, "ipo_netd_containers{managed=\"true\"} 1"));
  CHECK(HasLine(t, "ipo_netd_containers{managed=\"false\"} 2"));
  CHECK(HasLine(t, "ipo_netd_containers_running 2"));
  CHECK(HasLine(t, "ipo_netd_set_elements{family=\"inet\",table=\"ipo_netd\",set=\"lan-allow-v4\"} 1"));
  CHECK(HasLine(t, "ipo_netd_set_elements{family=\"ip\",table=\"ipo_netd_nat\",set=\"publish-any\"} 2"));
  CHECK(HasLine(t, "ipo_netd_last_sync_timestamp_seconds 1764000000.5"));
  CHECK(HasLine(t, "ipo_netd_boot_restore{result=\"restored\"} 1"));
  CHECK(HasLine(t, "# TYPE ipo_netd_docker_events_total counter"));
}

TEST_CASE("metrics: the latency histogram is cumulative, in seconds, and ends with +Inf = count") {
  std::string t = MetricsText(Running());
  CHECK(HasLine(t, "# TYPE ipo_netd_event_to_rules_seconds histogram"));
  CHECK(HasLine(t, "ipo_netd_event_to_rules_seconds_bucket{le=\"0.001\"} 0"));
  CHECK(HasLine(t, "ipo_netd_event_to_rules_seconds_bucket{le=\"0.005\"} 2"));
  CHECK(HasLine(t, "ipo_netd_event_to_rules_seconds_bucket{le=\"0.025\"} 2"));
  CHECK(HasLine(t, "ipo_netd_event_to_rules_seconds_bucket{le=\"0.05\"} 3"));
  CHECK(HasLine(t, "ipo_netd_event_to_rules_seconds_bucket{le=\"10\"} 3"));
  CHECK(HasLine(t, "ipo_netd_event_to_rules_seconds_bucket{le=\"+Inf\"} 3"));
  CHECK(HasLine(t, "ipo_netd_event_to_rules_seconds_sum 0.037"));
  CHECK(HasLine(t, "ipo_netd_event_to_rules_seconds_count 3"));
}

TEST_CASE("metrics: drift and degraded health; what was never measured is left out") {
  AgentStatus s;
  s.agent_drift = {"inet ipo_netd: set lan-allow-v4: missing element 192.168.1.1-192.168.1.30"};
  std::string t = MetricsText(s);
  CHECK(HasLine(t, "ipo_netd_healthy 0"));
  CHECK(HasLine(t, "ipo_netd_drift 1"));
  CHECK(t.find("ipo_netd_docker_connected") == std::string::npos);
  CHECK(t.find("ipo_netd_last_sync_timestamp_seconds") == std::string::npos);
  CHECK(t.find("ipo_netd_boot_restore") == std::string::npos);
  CHECK(t.find("ipo_netd_event_to_rules_seconds") == std::string::npos);
  CHECK(HasLine(t, "ipo_netd_docker_events_total 0"));
}

TEST_CASE("metrics: label values are escaped") {
  CHECK(EscapeLabelValue("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
  AgentStatus s;
  s.boot_restore = {{"result", "odd\"value\n"}};
  CHECK(HasLine(MetricsText(s), "ipo_netd_boot_restore{result=\"odd\\\"value\\n\"} 1"));
}

TEST_CASE("metrics: every rule's packets and bytes; drops by rule; a rule the agent did not write is left out") {
  AgentStatus s = Running();
  s.counters = {{"inet", "ipo_netd", "to-containers", "nothing else reaches a container", "drop", 42, 2520},
                {"inet", "ipo_netd", "to-containers", "replies", "accept", 9, 900},
                {"inet", "ipo_netd", "to-containers", "added by hand", "?", 1, 60},
                {"inet", "ipo_netd", "to-containers", "replies", "accept", 1, 1}};  // never twice
  std::string t = MetricsText(s);
  CHECK(HasLine(t, "# TYPE ipo_netd_rule_packets_total counter"));
  CHECK(HasLine(t, "ipo_netd_rule_packets_total{family=\"inet\",table=\"ipo_netd\",chain=\"to-containers\","
                   "rule=\"nothing else reaches a container\",action=\"drop\"} 42"));
  CHECK(HasLine(t, "ipo_netd_rule_bytes_total{family=\"inet\",table=\"ipo_netd\",chain=\"to-containers\","
                   "rule=\"replies\",action=\"accept\"} 900"));
  CHECK(t.find("added by hand") == std::string::npos);
  size_t replies = 0;
  for (size_t at = t.find("rule=\"replies\""); at != std::string::npos; at = t.find("rule=\"replies\"", at + 1)) ++replies;
  CHECK(replies == 2);  // one packets and one bytes series
  CHECK(MetricsText(Running()).find("ipo_netd_rule_packets_total") == std::string::npos);  // none read yet
}
