// The status document: what the agent reports of itself (docs/status.md), as ONE typed
// value with ONE JSON codec. The reconciler fills an AgentStatus (daemon/reconciler.h
// Publish); the D-Bus method Status() carries its JSON as a string (bus/bus_server.h, docs/dbus.md);
// `ipo-netctl status` decodes it (cli/status_cmd.h) and prints a StatusReport (status_report.h)
// built from it. The containers the agent compiled from ("observed") have the state file's
// form (model/observed_json.h), written by the same code.
//
// Decoding is lenient like the CLI always was, so a newer CLI reads an older agent: a member
// that is absent (or null) takes the default below; a section that is absent stays nullopt
// and the CLI shows it as absent ({} or null in its JSON, no line in its text), never as
// zeros it did not get. Unknown members are ignored. A member of the wrong type is an error
// naming its path ("status:1: conntrack.flushes: must be between 0 and ..., got -1").
//
// Drift: the CLI RECOMPUTES it, always; it does not trust "agent_drift". The two answer
// different questions. "agent_drift" is the agent's last periodic check of the kernel against
// the ruleset it applied, cleared as soon as it repairs it (D-Bus property Drift). The CLI
// compiles the policy FILE it is given (--policy) with the containers the agent observed and
// compares that with what the kernel holds now, with the same code (compile/drift.h): so it
// also reports an edited policy that was not reloaded (or was refused), a stuck agent that
// no longer checks, and works the same with the agent down (from the state file). It reads
// the kernel for "ruleset.tables" anyway, so the comparison costs no extra round trip.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "model/observed.h"

namespace ipo::status {

// A container Docker reports (policy or not), as status shows it.
struct ContainerView {
  std::string name;
  std::string id;
  bool running = false;
  std::vector<std::string> networks;
  // On its policy network for a policy container, else on its first network.
  std::string ipv4;
  std::string ipv6;
  bool managed = false;        // named by the policy
  std::string policy_network;  // "" when not managed
};

struct LastEvent {
  std::string event;  // "container start docker_a"; "" none yet
  int64_t time_nano = 0;
};

struct DockerLink {
  bool connected = false;
  std::string detail;  // API version, or why not
};

struct DriftRepair {
  std::string at;       // UTC, ISO 8601
  std::string trigger;  // "periodic drift check", "delete table inet ipo_netd (netlink port 42)"
  double ms = 0;        // from noticed to the confirmed read-back
  uint64_t differences = 0;
  std::string first_difference;
};

struct Protection {
  std::string claim;  // "owner+persist", or why not ("off")
  bool monitor = false;
  std::string monitor_error;  // why the notification monitor stopped
};

struct StateSave {
  bool ok = true;
  std::string error;
};

// The last re-list of the whole host (daemon/host_model.h): at start, on every reconnect,
// periodically, or after a failed look-up (the reason says which).
struct FullResync {
  std::string at;      // UTC, ISO 8601
  std::string reason;  // "docker connected", "periodic full resync", "event start web; a look-up failed: ..."
  double ms = 0;
  uint64_t containers = 0;
  // How the list differed from the model the events kept ("container web (3f2a9c1b0d4e):
  // changed"); empty when the events missed nothing (always empty for the first list).
  std::vector<std::string> corrected;
};

struct LastApply {
  std::string kind;  // "elements", "full"; "" none yet
  double ms = 0;
};

struct ConntrackFlush {
  std::string at;
  std::string reason;
  std::vector<std::string> targets;  // why each target lost its owner
  std::optional<std::string> error;  // set: the flush failed and the counts are absent
  uint64_t scanned = 0;
  uint64_t removed = 0;
  uint64_t vanished = 0;
  double ms = 0;
};

struct Conntrack {
  bool enabled = false;
  std::string detail;  // why not enabled
  uint64_t flushes = 0;
  uint64_t removed = 0;
  std::string error;  // why the last flush failed
  std::optional<ConntrackFlush> last_flush;
};

// The event -> rules-live latency of every batch of Docker events the agent synced, as a
// Prometheus histogram: counts[i] batches took <= bounds_ms[i] (not cumulative; the last
// count, one past the bounds, is everything slower).
struct LatencyHistogram {
  std::vector<double> bounds_ms;
  std::vector<uint64_t> counts;
  double sum_ms = 0;
  uint64_t count = 0;
  // The agent's buckets: 1 ms to 10 s.
  static LatencyHistogram Default();
  void Observe(double ms);
};

// The counter of one rule of the agent's tables, as the kernel reported it
// (status/rule_counters.h makes these from a read-back).
struct RuleCounter {
  std::string family;  // "inet", "ip", "ip6", "bridge"
  std::string table;
  std::string chain;
  std::string rule;    // the rule's comment: why it exists (unique within its chain)
  // What the rule does with a packet it counts: "accept", "drop", "return", "jump <chain>",
  // "dnat @<map>", "masquerade", "continue" (counted only); "?" for a rule the agent did not
  // write as the kernel has it (drift).
  std::string action;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  auto operator<=>(const RuleCounter&) const = default;
};

// JSON member names are the field names, except where noted.
struct AgentStatus {
  std::string health = "down";  // "ok", "degraded"; "down" when nobody said otherwise
  std::string health_reason;
  uint64_t generation = 0;
  std::string policy;  // the file in force
  std::string applied_at;
  std::vector<ContainerView> containers;
  std::optional<model::Observed> observed;
  std::vector<std::string> publish_conflicts;
  std::optional<LastEvent> last_event;
  std::optional<DockerLink> docker;
  std::vector<std::string> agent_drift;  // see "Drift" above
  uint64_t drift_repairs = 0;
  std::optional<DriftRepair> last_repair;
  uint64_t tamper_notices = 0;
  std::optional<Protection> protection;
  nlohmann::json boot_restore;  // restore/boot_restore.h's record, as written; null when none
  std::optional<StateSave> state_save;
  std::string reload_refused;
  uint64_t syncs = 0;
  uint64_t events = 0;
  uint64_t full_resyncs = 0;
  uint64_t lookups = 0;  // Docker requests made to keep the model of the host current
  std::optional<FullResync> last_full_resync;
  std::optional<LastApply> last_apply;
  std::vector<std::string> problems;
  std::optional<Conntrack> conntrack;
  // Repairs of the agent's tables by what noticed them: "notification" (the nftables
  // monitor saw a foreign change) or "periodic" (the drift check found it).
  std::map<std::string, uint64_t> repairs_by_cause;
  std::optional<LatencyHistogram> event_latency;
  // Elements of every set and map of the ruleset in force, by "family table set"
  // ("inet ipo_netd lan-allow-v4").
  std::map<std::string, uint64_t> set_elements;
  double last_sync_unix = 0;  // when a sync with Docker last went through (Unix seconds); 0 never
  // Every rule's counter as of the agent's last read of its tables (each drift check, every
  // --drift-interval seconds, and after a notification), read at `counters_read_unix`.
  std::vector<RuleCounter> counters;
  double counters_read_unix = 0;
};

// Every member; a nullopt section as null.
nlohmann::json ToJson(const AgentStatus& s);
// Reads the JSON text of ToJson (common/json_reader.h). InvalidArgument
// "status:<line>: <path>: <problem>" for a document that is not JSON, not an object or has a
// member of the wrong type.
Result<AgentStatus> FromJson(std::string_view text);

// The pieces status_report.h writes again in its own layout.
nlohmann::json ToJson(const ContainerView& c);
nlohmann::json ToJson(const LastEvent& e);
nlohmann::json ToJson(const DockerLink& d);
nlohmann::json ToJson(const DriftRepair& r);
nlohmann::json ToJson(const Protection& p);
nlohmann::json ToJson(const StateSave& s);
nlohmann::json ToJson(const FullResync& r);
nlohmann::json ToJson(const LastApply& a);
nlohmann::json ToJson(const ConntrackFlush& f);
nlohmann::json ToJson(const Conntrack& c);
nlohmann::json ToJson(const LatencyHistogram& h);
nlohmann::json ToJson(const RuleCounter& c);

}  // namespace ipo::status
