#include "status/status_report.h"

#include "model/observed_json.h"

namespace ipo::status {
namespace {

using nlohmann::json;

// ToJson(*v), or `absent` when the agent did not report it.
template <typename T>
json Or(const std::optional<T>& v, json absent) {
  return v ? ToJson(*v) : std::move(absent);
}

json ToJson(const TableSummary& t) {
  return {{"family", t.family}, {"name", t.name}, {"chains", t.chains}, {"rules", t.rules}, {"sets", t.sets}};
}

}  // namespace

json ToJson(const StatusReport& r) {
  if (!r.error.empty()) return {{"error", r.error}};
  const AgentStatus& a = r.agent;
  json containers = json::array();
  for (const ContainerView& c : a.containers) containers.push_back(ToJson(c));
  json tables = json::array();
  for (const TableSummary& t : r.tables) tables.push_back(ToJson(t));
  json counters = json::array();
  for (const RuleCounter& c : r.counters) counters.push_back(ToJson(c));
  json observed = a.observed ? model::ObservedToJson(*a.observed) : json::object();
  return {{"health", a.health},
          {"health_reason", a.health_reason},
          {"drift", !r.drift.empty()},
          {"drift_details", r.drift},
          {"generation", a.generation},
          {"policy", r.policy},
          {"containers", containers},
          {"last_event", Or(a.last_event, json::object())},
          {"docker", Or(a.docker, json::object())},
          {"ruleset", {{"tables", tables}}},
          {"counters", counters},
          {"agent",
           {{"drift_repairs", a.drift_repairs},
            {"syncs", a.syncs},
            {"events", a.events},
            {"full_resyncs", a.full_resyncs},
            {"lookups", a.lookups},
            {"last_full_resync", Or(a.last_full_resync, json())},
            {"last_apply", Or(a.last_apply, json::object())},
            {"applied_at", a.applied_at},
            {"problems", a.problems},
            {"last_repair", Or(a.last_repair, json())},
            {"tamper_notices", a.tamper_notices},
            {"protection", Or(a.protection, json::object())},
            {"state_save", Or(a.state_save, json::object())},
            {"conntrack", Or(a.conntrack, json())},
            {"observed", observed},
            {"publish_conflicts", a.publish_conflicts},
            {"repairs_by_cause", a.repairs_by_cause},
            {"event_latency", Or(a.event_latency, json())},
            {"set_elements", a.set_elements},
            {"last_sync_unix", a.last_sync_unix},
            {"via", r.via}}},
          {"boot_restore", a.boot_restore}};
}

}  // namespace ipo::status
