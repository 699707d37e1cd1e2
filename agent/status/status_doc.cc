#include "status/status_doc.h"

#include "common/json_field.h"
#include "model/observed_json.h"

namespace ipo::status {
namespace {

using nlohmann::json;

template <typename T>
json OrNull(const std::optional<T>& v) {
  return v ? ToJson(*v) : json();
}

// Decodes the object j[key] with `read(object, its path)`; nullopt when absent or null.
template <typename T, typename F>
std::optional<T> Section(const json& j, const char* key, F&& read) {
  const json* v = FindMember(j, key);
  if (v == nullptr) return std::nullopt;
  ExpectJsonObject(*v, key);
  return read(*v, std::string(key));
}

ContainerView ContainerFrom(const json& c, const std::string& at) {
  ExpectJsonObject(c, at);
  return {FieldOr<std::string>(c, at, "name", ""),
          FieldOr<std::string>(c, at, "id", ""),
          FieldOr<bool>(c, at, "running", false),
          FieldOr<std::vector<std::string>>(c, at, "networks", {}),
          FieldOr<std::string>(c, at, "ipv4", ""),
          FieldOr<std::string>(c, at, "ipv6", ""),
          FieldOr<bool>(c, at, "managed", false),
          FieldOr<std::string>(c, at, "policy_network", "")};
}

ConntrackFlush FlushFrom(const json& f, const std::string& at) {
  ConntrackFlush out;
  out.at = FieldOr<std::string>(f, at, "at", "");
  out.reason = FieldOr<std::string>(f, at, "reason", "");
  out.targets = FieldOr<std::vector<std::string>>(f, at, "targets", {});
  if (FindMember(f, "error") != nullptr) out.error = Field<std::string>(f, at, "error");
  out.scanned = FieldOr<uint64_t>(f, at, "scanned", 0);
  out.removed = FieldOr<uint64_t>(f, at, "removed", 0);
  out.vanished = FieldOr<uint64_t>(f, at, "vanished", 0);
  out.ms = FieldOr<double>(f, at, "ms", 0);
  return out;
}

Conntrack ConntrackFrom(const json& c, const std::string& at) {
  Conntrack out{FieldOr<bool>(c, at, "enabled", false), FieldOr<std::string>(c, at, "detail", ""),
                FieldOr<uint64_t>(c, at, "flushes", 0),  FieldOr<uint64_t>(c, at, "removed", 0),
                FieldOr<std::string>(c, at, "error", ""), std::nullopt};
  if (const json* f = FindMember(c, "last_flush")) {
    ExpectJsonObject(*f, JsonPath(at, "last_flush"));
    out.last_flush = FlushFrom(*f, JsonPath(at, "last_flush"));
  }
  return out;
}

AgentStatus Decode(const json& j) {
  ExpectJsonObject(j, "");
  AgentStatus s;
  s.health = FieldOr<std::string>(j, "", "health", s.health);
  s.health_reason = FieldOr<std::string>(j, "", "health_reason", "");
  s.generation = FieldOr<uint64_t>(j, "", "generation", 0);
  s.policy = FieldOr<std::string>(j, "", "policy", "");
  s.applied_at = FieldOr<std::string>(j, "", "applied_at", "");
  if (const json* containers = FindMember(j, "containers")) {
    ExpectJsonArray(*containers, "containers");
    for (size_t i = 0; i < containers->size(); ++i)
      s.containers.push_back(ContainerFrom((*containers)[i], JsonIndex("containers", i)));
  }
  s.observed = Section<model::Observed>(j, "observed", [](const json& o, const std::string& at) {
    auto observed = model::ObservedFromJson(o, at);
    if (!observed.ok()) throw JsonFieldError(observed.status().message());
    return *observed;
  });
  s.publish_conflicts = FieldOr<std::vector<std::string>>(j, "", "publish_conflicts", {});
  s.last_event = Section<LastEvent>(j, "last_event", [](const json& e, const std::string& at) {
    return LastEvent{FieldOr<std::string>(e, at, "event", ""), FieldOr<int64_t>(e, at, "time_nano", 0)};
  });
  s.docker = Section<DockerLink>(j, "docker", [](const json& d, const std::string& at) {
    return DockerLink{FieldOr<bool>(d, at, "connected", false), FieldOr<std::string>(d, at, "detail", "")};
  });
  s.agent_drift = FieldOr<std::vector<std::string>>(j, "", "agent_drift", {});
  s.drift_repairs = FieldOr<uint64_t>(j, "", "drift_repairs", 0);
  s.last_repair = Section<DriftRepair>(j, "last_repair", [](const json& r, const std::string& at) {
    return DriftRepair{FieldOr<std::string>(r, at, "at", ""), FieldOr<std::string>(r, at, "trigger", ""),
                       FieldOr<double>(r, at, "ms", 0), FieldOr<uint64_t>(r, at, "differences", 0),
                       FieldOr<std::string>(r, at, "first_difference", "")};
  });
  s.tamper_notices = FieldOr<uint64_t>(j, "", "tamper_notices", 0);
  s.protection = Section<Protection>(j, "protection", [](const json& p, const std::string& at) {
    return Protection{FieldOr<std::string>(p, at, "claim", ""), FieldOr<bool>(p, at, "monitor", false),
                      FieldOr<std::string>(p, at, "monitor_error", "")};
  });
  if (const json* boot = FindMember(j, "boot_restore")) s.boot_restore = *boot;
  s.state_save = Section<StateSave>(j, "state_save", [](const json& v, const std::string& at) {
    return StateSave{FieldOr<bool>(v, at, "ok", true), FieldOr<std::string>(v, at, "error", "")};
  });
  s.reload_refused = FieldOr<std::string>(j, "", "reload_refused", "");
  s.syncs = FieldOr<uint64_t>(j, "", "syncs", 0);
  s.events = FieldOr<uint64_t>(j, "", "events", 0);
  s.last_apply = Section<LastApply>(j, "last_apply", [](const json& a, const std::string& at) {
    return LastApply{FieldOr<std::string>(a, at, "kind", ""), FieldOr<double>(a, at, "ms", 0)};
  });
  s.problems = FieldOr<std::vector<std::string>>(j, "", "problems", {});
  s.conntrack = Section<Conntrack>(j, "conntrack", ConntrackFrom);
  return s;
}

}  // namespace

json ToJson(const ContainerView& c) {
  return {{"name", c.name}, {"id", c.id}, {"running", c.running}, {"networks", c.networks},
          {"ipv4", c.ipv4}, {"ipv6", c.ipv6}, {"managed", c.managed}, {"policy_network", c.policy_network}};
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

json ToJson(const AgentStatus& s) {
  json containers = json::array();
  for (const ContainerView& c : s.containers) containers.push_back(ToJson(c));
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
          {"last_apply", OrNull(s.last_apply)},
          {"problems", s.problems},
          {"conntrack", OrNull(s.conntrack)}};
}

Result<AgentStatus> FromJson(const json& j) {
  try {
    return Decode(j);
  } catch (const JsonFieldError& e) {
    return Status::InvalidArgument(std::string("status: ") + e.what());
  }
}

}  // namespace ipo::status
