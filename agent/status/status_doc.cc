#include "status/status_doc.h"

#include "common/json_reader.h"
#include "model/observed_json.h"

#include <cstdint>
#include <optional>
#include <string_view>

namespace ipo::status {
namespace {

using nlohmann::json;

template <typename T>
json OrNull(const std::optional<T>& v) {
  return v ? ToJson(*v) : json();
}

// The object j[key] decoded by `read`; nullopt when absent or null.
template <typename T, typename F>
std::optional<T> Section(const JsonValue& j, std::string_view key, F&& read) {
  std::optional<JsonValue> v = j.Find(key);
  if (!v) return std::nullopt;
  v->ExpectObject();
  return read(*v);
}

uint64_t CountOr(const JsonValue& j, std::string_view key) {
  std::optional<JsonValue> v = j.Find(key);
  return v ? v->Uint(UINT64_MAX) : 0;
}

double NumberOr(const JsonValue& j, std::string_view key) {
  std::optional<JsonValue> v = j.Find(key);
  return v ? v->Number() : 0;
}

std::vector<std::string> StringsOr(const JsonValue& j, std::string_view key) {
  std::optional<JsonValue> v = j.Find(key);
  return v ? v->Strings() : std::vector<std::string>{};
}

ContainerView ContainerFrom(const JsonValue& c) {
  c.ExpectObject();
  return {c.StringOr("name", ""),         c.StringOr("id", ""),   c.BoolOr("running", false),
          StringsOr(c, "networks"),       c.StringOr("ipv4", ""), c.StringOr("ipv6", ""),
          c.BoolOr("managed", false),     c.StringOr("policy_network", "")};
}

ConntrackFlush FlushFrom(const JsonValue& f) {
  ConntrackFlush out;
  out.at = f.StringOr("at", "");
  out.reason = f.StringOr("reason", "");
  out.targets = StringsOr(f, "targets");
  if (std::optional<JsonValue> error = f.Find("error")) out.error = error->String();
  out.scanned = CountOr(f, "scanned");
  out.removed = CountOr(f, "removed");
  out.vanished = CountOr(f, "vanished");
  out.ms = NumberOr(f, "ms");
  return out;
}

Conntrack ConntrackFrom(const JsonValue& c) {
  return {c.BoolOr("enabled", false),   c.StringOr("detail", ""),
          CountOr(c, "flushes"),        CountOr(c, "removed"),
          c.StringOr("error", ""),      Section<ConntrackFlush>(c, "last_flush", FlushFrom)};
}

std::map<std::string, uint64_t> CountsOr(const JsonValue& j, std::string_view key) {
  std::map<std::string, uint64_t> out;
  if (std::optional<JsonValue> v = j.Find(key)) {
    v->ExpectObject();
    v->ForEachMember([&](const std::string& k, const JsonValue& n) { out[k] = n.Uint(UINT64_MAX); });
  }
  return out;
}

std::vector<double> NumbersOr(const JsonValue& j, std::string_view key) {
  std::vector<double> out;
  if (std::optional<JsonValue> v = j.Find(key)) {
    v->ExpectArray();
    for (size_t i = 0; i < v->size(); ++i) out.push_back(v->At(i).Number());
  }
  return out;
}

LatencyHistogram HistogramFrom(const JsonValue& h) {
  LatencyHistogram out;
  out.bounds_ms = NumbersOr(h, "bounds_ms");
  if (std::optional<JsonValue> v = h.Find("counts")) {
    v->ExpectArray();
    for (size_t i = 0; i < v->size(); ++i) out.counts.push_back(v->At(i).Uint(UINT64_MAX));
  }
  out.sum_ms = NumberOr(h, "sum_ms");
  out.count = CountOr(h, "count");
  // One count per bound plus the overflow bucket, or the document is not one we wrote.
  if (out.counts.size() != out.bounds_ms.size() + 1) {
    out.counts.assign(out.bounds_ms.size() + 1, 0);
    out.count = 0;
    out.sum_ms = 0;
  }
  return out;
}

RuleCounter CounterFrom(const JsonValue& c) {
  c.ExpectObject();
  return RuleCounter{c.StringOr("family", ""), c.StringOr("table", ""), c.StringOr("chain", ""),
                     c.StringOr("rule", ""),   c.StringOr("action", ""), CountOr(c, "packets"),
                     CountOr(c, "bytes")};
}

AgentStatus Decode(const JsonValue& j) {
  j.ExpectObject();
  AgentStatus s;
  s.health = j.StringOr("health", s.health);
  s.health_reason = j.StringOr("health_reason", "");
  s.generation = CountOr(j, "generation");
  s.policy = j.StringOr("policy", "");
  s.applied_at = j.StringOr("applied_at", "");
  if (std::optional<JsonValue> containers = j.Find("containers")) {
    for (size_t i = 0; i < containers->size(); ++i) s.containers.push_back(ContainerFrom(containers->At(i)));
  }
  s.observed = Section<model::Observed>(j, "observed", model::ReadObserved);
  s.publish_conflicts = StringsOr(j, "publish_conflicts");
  s.last_event = Section<LastEvent>(j, "last_event", [](const JsonValue& e) {
    return LastEvent{e.StringOr("event", ""), e.IntOr("time_nano", 0)};
  });
  s.docker = Section<DockerLink>(j, "docker", [](const JsonValue& d) {
    return DockerLink{d.BoolOr("connected", false), d.StringOr("detail", "")};
  });
  s.agent_drift = StringsOr(j, "agent_drift");
  s.drift_repairs = CountOr(j, "drift_repairs");
  s.last_repair = Section<DriftRepair>(j, "last_repair", [](const JsonValue& r) {
    return DriftRepair{r.StringOr("at", ""), r.StringOr("trigger", ""), NumberOr(r, "ms"),
                       CountOr(r, "differences"), r.StringOr("first_difference", "")};
  });
  s.tamper_notices = CountOr(j, "tamper_notices");
  s.protection = Section<Protection>(j, "protection", [](const JsonValue& p) {
    return Protection{p.StringOr("claim", ""), p.BoolOr("monitor", false), p.StringOr("monitor_error", "")};
  });
  // Kept as written (restore/boot_restore.h owns its form); read once per CLI call.
  if (std::optional<JsonValue> boot = j.Find("boot_restore")) s.boot_restore = json::parse(boot->Dump());
  s.state_save = Section<StateSave>(j, "state_save", [](const JsonValue& v) {
    return StateSave{v.BoolOr("ok", true), v.StringOr("error", "")};
  });
  s.reload_refused = j.StringOr("reload_refused", "");
  s.syncs = CountOr(j, "syncs");
  s.events = CountOr(j, "events");
  s.full_resyncs = CountOr(j, "full_resyncs");
  s.lookups = CountOr(j, "lookups");
  s.last_full_resync = Section<FullResync>(j, "last_full_resync", [](const JsonValue& r) {
    return FullResync{r.StringOr("at", ""), r.StringOr("reason", ""), NumberOr(r, "ms"), CountOr(r, "containers"),
                      StringsOr(r, "corrected")};
  });
  s.last_apply = Section<LastApply>(j, "last_apply", [](const JsonValue& a) {
    return LastApply{a.StringOr("kind", ""), NumberOr(a, "ms")};
  });
  s.problems = StringsOr(j, "problems");
  s.conntrack = Section<Conntrack>(j, "conntrack", ConntrackFrom);
  s.repairs_by_cause = CountsOr(j, "repairs_by_cause");
  s.event_latency = Section<LatencyHistogram>(j, "event_latency", HistogramFrom);
  s.set_elements = CountsOr(j, "set_elements");
  s.last_sync_unix = NumberOr(j, "last_sync_unix");
  if (std::optional<JsonValue> counters = j.Find("counters")) {
    for (size_t i = 0; i < counters->size(); ++i) s.counters.push_back(CounterFrom(counters->At(i)));
  }
  s.counters_read_unix = NumberOr(j, "counters_read_unix");
  return s;
}

}  // namespace

json ToJson(const ContainerView& c) {
  return {{"name", c.name}, {"id", c.id}, {"running", c.running}, {"networks", c.networks},
          {"ipv4", c.ipv4}, {"ipv6", c.ipv6}, {"managed", c.managed}, {"policy_network", c.policy_network}};
}

json ToJson(const RuleCounter& c) {
  return {{"family", c.family}, {"table", c.table},   {"chain", c.chain},     {"rule", c.rule},
          {"action", c.action}, {"packets", c.packets}, {"bytes", c.bytes}};
}

json ToJson(const LastEvent& e) { return {{"event", e.event}, {"time_nano", e.time_nano}}; }

json ToJson(const DockerLink& d) { return {{"connected", d.connected}, {"detail", d.detail}}; }

json ToJson(const DriftRepair& r) {
  return {{"at", r.at}, {"trigger", r.trigger}, {"ms", r.ms}, {"differences", r.differences},
          {"first_difference", r.first_difference}};
}

json ToJson(const Protection& p) {
  return {{"claim", p.claim}, {"monitor", p.monitor}, {"monitor_error", p.monitor_error}};
}

json ToJson(const StateSave& s) { return {{"ok", s.ok}, {"error", s.error}}; }

json ToJson(const FullResync& r) {
  return {{"at", r.at}, {"reason", r.reason}, {"ms", r.ms}, {"containers", r.containers}, {"corrected", r.corrected}};
}

json ToJson(const LastApply& a) { return {{"kind", a.kind}, {"ms", a.ms}}; }

json ToJson(const ConntrackFlush& f) {
  json j = {{"at", f.at}, {"reason", f.reason}, {"targets", f.targets}, {"ms", f.ms}};
  if (f.error) {
    j["error"] = *f.error;
  } else {
    j["scanned"] = f.scanned;
    j["removed"] = f.removed;
    j["vanished"] = f.vanished;
  }
  return j;
}

json ToJson(const Conntrack& c) {
  return {{"enabled", c.enabled}, {"detail", c.detail}, {"flushes", c.flushes}, {"removed", c.removed},
          {"error", c.error}, {"last_flush", OrNull(c.last_flush)}};
}

LatencyHistogram LatencyHistogram::Default() {
  LatencyHistogram h;
  h.bounds_ms = {1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000};
  h.counts.assign(h.bounds_ms.size() + 1, 0);
  return h;
}

void LatencyHistogram::Observe(double ms) {
  if (counts.size() != bounds_ms.size() + 1) counts.assign(bounds_ms.size() + 1, 0);
  size_t i = 0;
  while (i < bounds_ms.size() && ms > bounds_ms[i]) ++i;
  ++counts[i];
  sum_ms += ms;
  ++count;
}

json ToJson(const LatencyHistogram& h) {
  return {{"bounds_ms", h.bounds_ms}, {"counts", h.counts}, {"sum_ms", h.sum_ms}, {"count", h.count}};
}

json ToJson(const AgentStatus& s) {
  json containers = json::array();
  for (const ContainerView& c : s.containers) containers.push_back(ToJson(c));
  json counters = json::array();
  for (const RuleCounter& c : s.counters) counters.push_back(ToJson(c));
  return {{"health", s.health},
          {"health_reason", s.health_reason},
          {"generation", s.generation},
          {"policy", s.policy},
          {"applied_at", s.applied_at},
          {"containers", containers},
          {"observed", s.observed ? model::ObservedToJson(*s.observed) : json()},
          {"publish_conflicts", s.publish_conflicts},
          {"last_event", OrNull(s.last_event)},
          {"docker", OrNull(s.docker)},
          {"agent_drift", s.agent_drift},
          {"drift_repairs", s.drift_repairs},
          {"last_repair", OrNull(s.last_repair)},
          {"tamper_notices", s.tamper_notices},
          {"protection", OrNull(s.protection)},
          {"boot_restore", s.boot_restore},
          {"state_save", OrNull(s.state_save)},
          {"reload_refused", s.reload_refused},
          {"syncs", s.syncs},
          {"events", s.events},
          {"full_resyncs", s.full_resyncs},
          {"lookups", s.lookups},
          {"last_full_resync", OrNull(s.last_full_resync)},
          {"last_apply", OrNull(s.last_apply)},
          {"problems", s.problems},
          {"conntrack", OrNull(s.conntrack)},
          {"repairs_by_cause", s.repairs_by_cause},
          {"event_latency", OrNull(s.event_latency)},
          {"set_elements", s.set_elements},
          {"last_sync_unix", s.last_sync_unix},
          {"counters", counters},
          {"counters_read_unix", s.counters_read_unix}};
}

Result<AgentStatus> FromJson(std::string_view text) {
  // The agent's own document: bounded like the state file, but with room for long messages.
  JsonReadOptions options;
  options.limits = JsonLimits{/*max_bytes=*/64 << 20, /*max_depth=*/64, /*max_string=*/1 << 20};
  options.null_is_absent = true;
  return ReadJsonAs<AgentStatus>(text, "status", options, Decode);
}

}  // namespace ipo::status
