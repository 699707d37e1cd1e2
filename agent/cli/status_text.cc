#include "cli/status_text.h"

#include <sstream>

#include "cli/columns.h"

namespace ipo::cli {
namespace {

// "-" for an empty cell.
std::string Cell(const std::string& s) { return s.empty() ? "-" : s; }

void Header(const status::StatusReport& s, std::ostringstream& o) {
  const status::AgentStatus& a = s.agent;
  o << Pad("agent", 10) << a.health;
  if (!a.health_reason.empty()) o << " (" << a.health_reason << ")";
  o << "\n" << Pad("policy", 10) << s.policy << ", generation " << a.generation << "\n";
  const status::DockerLink d = a.docker.value_or(status::DockerLink{});
  o << Pad("docker", 10) << (d.connected ? "connected" : "not connected");
  if (!d.detail.empty()) o << " (" << d.detail << ")";
  o << "\n" << Pad("event", 10) << (a.last_event ? a.last_event->event : "none") << "\n";
  if (const auto& r = a.last_full_resync) {
    o << Pad("resync", 10) << r->at << " (" << r->reason << "): " << r->containers << " containers listed in " << r->ms
      << " ms; " << a.full_resyncs << " full list(s), " << a.lookups << " Docker request(s) in all; "
      << (r->corrected.empty() ? "nothing corrected" : std::to_string(r->corrected.size()) + " corrected:") << "\n";
    for (const std::string& c : r->corrected) o << Pad("", 10) << "  " << c << "\n";
  }
  const nlohmann::json& b = a.boot_restore;
  o << Pad("boot", 10) << b.value("result", "none") << ": " << b.value("detail", "");
  if (!b.value("at", "").empty()) o << " (at " << b.value("at", "") << ")";
  o << "\n";
}

void Protection(const status::AgentStatus& a, std::ostringstream& o) {
  if (a.protection) {
    o << Pad("tables", 10) << "claim " << a.protection->claim << "; repair on notification "
      << (a.protection->monitor ? "on" : "off") << "\n";
  }
  o << Pad("repairs", 10) << a.drift_repairs << " (foreign changes seen: " << a.tamper_notices << ")";
  if (const auto& r = a.last_repair) {
    o << "; last " << r->at << " after \"" << r->trigger << "\", " << r->differences << " difference(s) repaired in "
      << r->ms << " ms";
  }
  o << "\n";
  if (const auto& ct = a.conntrack) {
    o << Pad("conntrack", 10);
    if (!ct->enabled) o << "OFF (" << ct->detail << "); ";
    o << ct->removed << " flow(s) removed in " << ct->flushes << " flush(es)";
    if (const auto& l = ct->last_flush) {
      o << "; last " << l->at << " after \"" << l->reason << "\": ";
      if (l->error) o << "FAILED: " << *l->error;
      else o << l->removed << " removed in " << l->ms << " ms";
    }
    o << "\n";
  }
}

void Tables(const status::StatusReport& s, std::ostringstream& o) {
  o << Pad("ruleset", 10) << (s.drift.empty() ? "in force, no drift" : "DRIFT: the kernel differs from the policy")
    << "\n";
  for (const status::TableSummary& t : s.tables) {
    o << "  " << Pad(t.family + " " + t.name, 20) << t.chains << " chains, " << t.rules << " rules; sets:";
    for (const auto& [name, elems] : t.sets) o << " " << name << "=" << elems.size();
    o << "\n";
  }
}

void Containers(const status::AgentStatus& a, std::ostringstream& o) {
  o << "\n" << Pad("CONTAINER", 14) << Pad("RUNNING", 9) << Pad("NETWORKS", 16) << Pad("IPV4", 14) << Pad("IPV6", 18)
    << "POLICY\n";
  for (const status::ContainerView& c : a.containers) {
    std::string nets;
    for (const std::string& n : c.networks) nets += (nets.empty() ? "" : ",") + n;
    o << Pad(c.name, 14) << Pad(c.running ? "yes" : "no", 9) << Pad(Cell(nets), 16) << Pad(Cell(c.ipv4), 14)
      << Pad(Cell(c.ipv6), 18) << (c.managed ? c.policy_network : "not in policy (left alone)") << "\n";
  }
}

void Publications(const status::AgentStatus& a, std::ostringstream& o) {
  if (a.observed && !a.observed->docker_published.empty()) {
    o << "\ndocker -p bindings the agent publishes (LAN allowlist only):\n";
    for (const model::DockerPublication& b : a.observed->docker_published) {
      o << "  " << b.container << ": " << model::ProtoName(b.proto) << " "
        << (b.host_ip.empty() ? (b.v6 ? "[::]" : "*") : b.host_ip) << ":" << b.host_port << " -> " << b.target << ":"
        << b.port << "\n";
    }
  }
  if (!a.publish_conflicts.empty()) {
    o << "\nnot published:\n";
    for (const std::string& c : a.publish_conflicts) o << "  - " << c << "\n";
  }
}

// One line per rule: packets, bytes, action, comment; a heading per table and chain.
void Counters(const std::vector<status::RuleCounter>& counters, std::ostringstream& o) {
  o << "\ncounters (read from the kernel now; they restart from 0 when the tables are replaced):\n";
  o << "  " << Pad("PACKETS", 12) << Pad("BYTES", 14) << Pad("ACTION", 22) << "RULE\n";
  std::string heading;
  for (const status::RuleCounter& c : counters) {
    std::string h = c.family + " " + c.table + " " + c.chain;
    if (h != heading) o << h << ":\n";
    heading = h;
    o << "  " << Pad(std::to_string(c.packets), 12) << Pad(std::to_string(c.bytes), 14) << Pad(c.action, 22) << c.rule
      << "\n";
  }
  if (counters.empty()) o << "  (none: the agent's tables could not be read)\n";
}

}  // namespace

std::string FormatStatus(const status::StatusReport& s, bool counters) {
  std::ostringstream o;
  if (!s.error.empty()) {
    o << "error: " << s.error << "\n";
    return o.str();
  }
  Header(s, o);
  Protection(s.agent, o);
  Tables(s, o);
  Containers(s.agent, o);
  Publications(s.agent, o);
  if (counters) Counters(s.counters, o);
  if (!s.drift.empty()) {
    o << "\ndrift:\n";
    for (const std::string& line : s.drift) o << "  - " << line << "\n";
  }
  return o.str();
}

}  // namespace ipo::cli
