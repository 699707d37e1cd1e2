// StatusReport: what `ipo-netctl status` reports (docs/status.md): the agent's status document
// (status_doc.h), or what the state file holds when the agent does not answer, with the
// drift the CLI found itself and the tables it read back from the kernel. Filled by
// cli/status_cmd.h CollectStatus; printed as JSON by ToJson here and as text by
// cli/status_text.h.
//
// The JSON layout (stable; monitoring reads it):
//   {"health", "health_reason", "drift", "drift_details", "generation", "policy",
//    "containers": [...], "last_event", "docker", "ruleset": {"tables": [...]},
//    "counters": [{"family", "table", "chain", "rule", "action", "packets", "bytes"}],
//    "agent": {"drift_repairs", "syncs", "events", "last_apply", "applied_at", "problems",
//              "last_repair", "tamper_notices", "protection", "state_save", "conntrack",
//              "observed", "publish_conflicts", "via"},
//    "boot_restore"}
// A section the agent did not report is {} ("last_event", "docker", "last_apply",
// "protection", "state_save", "observed") or null ("last_repair", "conntrack"). A report with
// an error (bad input) is {"error": "..."} alone.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "status/status_doc.h"

namespace ipo::status {

// A table read back from the kernel, counted.
struct TableSummary {
  std::string family;  // "inet", "ip", "ip6", "bridge"
  std::string name;
  size_t chains = 0;
  size_t rules = 0;
  std::map<std::string, std::vector<std::string>> sets;  // name -> elements as nft writes them
};

struct StatusReport {
  std::string error;   // bad input (exit 2): nothing else is reported
  AgentStatus agent;   // its "boot_restore" is this boot's record from the file when it has none
  std::string via;     // where `agent` came from: "system-bus", "socket" or "state-file"
  std::string policy;  // the policy file the drift was computed from
  std::vector<std::string> drift;  // the CLI's own comparison (status_doc.h: "Drift")
  std::vector<TableSummary> tables;
  std::vector<RuleCounter> counters;  // every rule's counter, read from the kernel by the CLI
};

nlohmann::json ToJson(const StatusReport& r);

}  // namespace ipo::status
