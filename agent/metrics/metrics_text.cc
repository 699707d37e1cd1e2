#include "metrics/metrics_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

namespace ipo::metrics {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Appends one family: its HELP and TYPE lines, then its samples.
class Writer {
 public:
  void Family(const std::string& name, const std::string& type, const std::string& help) {
    out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void Sample(const std::string& name, const Labels& labels, double value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += "{";
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i) out_ += ",";
        out_ += labels[i].first + "=\"" + EscapeLabelValue(labels[i].second) + "\"";
      }
      out_ += "}";
    }
    out_ += " " + Number(value) + "\n";
  }
  void One(const std::string& name, const std::string& type, const std::string& help, double value) {
    Family(name, type, help);
    Sample(name, {}, value);
  }
  std::string Take() { return std::move(out_); }

  static std::string Number(double v) {
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (std::isnan(v)) return "NaN";
    if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(int64_t(v));
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back the same
    return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
  }

 private:
  std::string out_;
};

}  // namespace

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// ipo_netd_rule_packets_total and _bytes_total, one series per rule the agent wrote. A rule
// it did not write as the kernel has it (action "?", drift being repaired) is left out: its
// comment is anybody's, and a label set that came twice would make node_exporter drop the
// whole file.
void RuleCounterFamilies(const std::vector<status::RuleCounter>& counters, Writer& w) {
  struct Family {
    const char* name;
    const char* help;
    uint64_t status::RuleCounter::*value;
  };
  for (const Family& f :
       {Family{"ipo_netd_rule_packets_total",
               "Packets counted by each rule of the agent's tables (drops by rule: action=\"drop\"); "
               "restart from 0 when the tables are replaced.",
               &status::RuleCounter::packets},
        Family{"ipo_netd_rule_bytes_total", "Bytes counted by each rule of the agent's tables.",
               &status::RuleCounter::bytes}}) {
    w.Family(f.name, "counter", f.help);
    std::set<std::string> seen;
    for (const status::RuleCounter& c : counters) {
      if (c.action == "?" || !seen.insert(c.family + '\n' + c.table + '\n' + c.chain + '\n' + c.rule).second) continue;
      w.Sample(f.name,
               {{"family", c.family}, {"table", c.table}, {"chain", c.chain}, {"rule", c.rule}, {"action", c.action}},
               double(c.*f.value));
    }
  }
}

std::string MetricsText(const status::AgentStatus& s) {
  Writer w;
  w.One("ipo_netd_healthy", "gauge", "1 when the agent reports health ok, 0 when degraded or down.",
        s.health == "ok" ? 1 : 0);
  w.One("ipo_netd_policy_generation", "gauge", "Generation of the ruleset in force (bumped by every apply).",
        double(s.generation));
  w.One("ipo_netd_drift", "gauge",
        "1 when the agent's last check found the kernel's tables differing from the ruleset it applied.",
        s.agent_drift.empty() ? 0 : 1);
  w.Family("ipo_netd_repairs_total", "counter", "Repairs of the agent's tables, by what noticed the change.");
  std::map<std::string, uint64_t> causes = {{"notification", 0}, {"periodic", 0}};
  for (const auto& [cause, n] : s.repairs_by_cause) causes[cause] = n;
  for (const auto& [cause, n] : causes) w.Sample("ipo_netd_repairs_total", {{"cause", cause}}, double(n));
  w.One("ipo_netd_tamper_notices_total", "counter",
        "Foreign changes to the agent's tables seen by the nftables monitor.", double(s.tamper_notices));
  w.One("ipo_netd_docker_events_total", "counter", "Docker events received.", double(s.events));
  w.One("ipo_netd_syncs_total", "counter", "Syncs with Docker (full lists and event batches).", double(s.syncs));
  w.One("ipo_netd_full_resyncs_total", "counter", "Full re-lists of the host's containers.",
        double(s.full_resyncs));
  w.One("ipo_netd_docker_lookups_total", "counter", "Docker API requests made to keep the model of the host current.",
        double(s.lookups));
  if (s.docker) {
    w.One("ipo_netd_docker_connected", "gauge", "1 when Docker's API answers.", s.docker->connected ? 1 : 0);
  }
  if (s.last_sync_unix > 0) {
    w.One("ipo_netd_last_sync_timestamp_seconds", "gauge", "When a sync with Docker last went through.",
          s.last_sync_unix);
  }
  if (s.state_save) {
    w.One("ipo_netd_state_saved", "gauge", "1 when the last save of the state for the next boot succeeded.",
          s.state_save->ok ? 1 : 0);
  }
  if (s.conntrack) {
    w.One("ipo_netd_conntrack_flows_removed_total", "counter",
          "Conntrack flows removed because their target lost its owner.", double(s.conntrack->removed));
  }
  uint64_t managed = 0, running = 0;
  for (const status::ContainerView& c : s.containers) {
    managed += c.managed;
    running += c.running;
  }
  w.Family("ipo_netd_containers", "gauge", "Containers Docker reports, by whether the policy names them.");
  w.Sample("ipo_netd_containers", {{"managed", "true"}}, double(managed));
  w.Sample("ipo_netd_containers", {{"managed", "false"}}, double(s.containers.size() - managed));
  w.One("ipo_netd_containers_running", "gauge", "Running containers Docker reports.", double(running));
  if (!s.set_elements.empty()) {
    w.Family("ipo_netd_set_elements", "gauge", "Elements of each set and map of the ruleset in force.");
    for (const auto& [key, n] : s.set_elements) {
      // "family table set"
      size_t a = key.find(' '), b = key.find(' ', a == std::string::npos ? a : a + 1);
      if (a == std::string::npos || b == std::string::npos) continue;
      w.Sample("ipo_netd_set_elements",
               {{"family", key.substr(0, a)}, {"table", key.substr(a + 1, b - a - 1)}, {"set", key.substr(b + 1)}},
               double(n));
    }
  }
  if (s.event_latency && s.event_latency->counts.size() == s.event_latency->bounds_ms.size() + 1) {
    const status::LatencyHistogram& h = *s.event_latency;
    const std::string name = "ipo_netd_event_to_rules_seconds";
    w.Family(name, "histogram", "From a Docker event to the agent's rules for it live in the kernel.");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.bounds_ms.size(); ++i) {
      cumulative += h.counts[i];
      w.Sample(name + "_bucket", {{"le", Writer::Number(h.bounds_ms[i] / 1000)}}, double(cumulative));
    }
    w.Sample(name + "_bucket", {{"le", "+Inf"}}, double(h.count));
    w.Sample(name + "_sum", {}, h.sum_ms / 1000);
    w.Sample(name + "_count", {}, double(h.count));
  }
  if (!s.counters.empty()) RuleCounterFamilies(s.counters, w);
  if (s.boot_restore.is_object() && s.boot_restore.contains("result") && s.boot_restore["result"].is_string()) {
    w.Family("ipo_netd_boot_restore", "gauge",
             "The boot restore's outcome this boot (restored, static, fail-closed, failed, held): 1 for it.");
    w.Sample("ipo_netd_boot_restore", {{"result", s.boot_restore["result"].get<std::string>()}}, 1);
  }
  return w.Take();
}

}  // namespace ipo::metrics
