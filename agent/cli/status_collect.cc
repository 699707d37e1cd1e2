#include "cli/status_collect.h"

#include "bus/bus_client.h"
#include "compile/compiler.h"
#include "compile/drift.h"
#include "nft/netlink_backend.h"
#include "policy/policy.h"
#include "restore/boot_restore.h"
#include "state/state_store.h"
#include "status/rule_counters.h"

namespace ipo::cli {
namespace {

// The agent's status document over D-Bus: the system bus name when it has an owner, else the
// private socket in run_dir (bus::AgentClient). `via` gets "system-bus" or "socket".
Result<status::AgentStatus> AskAgent(const std::string& run_dir, std::string& via) {
  auto client = bus::AgentClient::Connect(run_dir + "/bus.sock");
  if (!client.ok()) return client.status();
  auto reply = client->StatusJson();
  if (!reply.ok()) return reply.status();
  auto doc = status::FromJson(*reply);
  if (!doc.ok()) return Status::Internal(client->where() + ": Status: " + doc.status().message());
  via = client->transport();
  return doc;
}

// Without an agent: what the state file says it last applied, health "down" with `why`.
// `observed` gets the containers it was compiled from.
status::AgentStatus FromStateFile(const std::string& state_dir, const std::string& why, model::Observed& observed) {
  status::AgentStatus a;
  a.health = "down";
  a.health_reason = why;
  state::StateStore store(state_dir);
  auto saved = store.Load();
  if (saved.ok()) {
    observed = saved->observed;
    a.generation = saved->generation;
    a.last_event = status::LastEvent{saved->last_event, saved->last_event_nano};
    a.applied_at = saved->applied_at;
  }
  return a;
}

std::vector<status::TableSummary> Summarize(const nft::Ruleset& rs) {
  std::vector<status::TableSummary> out;
  for (const auto& t : rs.tables) {
    status::TableSummary& s = out.emplace_back();
    s.family = nft::FamilyName(t.family);
    s.name = t.name;
    s.chains = t.chains.size();
    for (const auto& c : t.chains) s.rules += c.rules.size();
    for (const auto& set : t.sets) {
      std::vector<std::string>& elems = s.sets[set.name];
      for (const auto& e : set.elements) elems.push_back(nft::ElementToString(e));
    }
  }
  return out;
}

// Compares the kernel's owned tables with `expected`; fills the report's drift, tables and
// counters.
void CompareWithKernel(const nft::Ruleset& expected, status::StatusReport& out) {
  auto nl = nft::NetlinkBackend::Create();
  if (!nl.ok()) {
    out.drift.push_back("cannot read the kernel ruleset: " + nl.status().message());
    return;
  }
  (*nl)->ExpectContent(expected);  // compare the kernel's rules on what they do, too
  auto kernel = (*nl)->ReadTables(compile::OwnedTables());
  if (!kernel.ok()) {
    out.drift.push_back("cannot read the kernel ruleset: " + kernel.status().message());
    return;
  }
  out.drift = compile::FindDrift(expected, *kernel);
  out.tables = Summarize(*kernel);
  out.counters = status::RuleCounters(expected, *kernel);
}

// The policy's containers as the state file knows them (when the agent lists none).
std::vector<status::ContainerView> ContainersFrom(const model::Observed& observed, const policy::Policy& policy) {
  std::vector<status::ContainerView> out;
  for (const auto& c : observed.containers) {
    const policy::Container* pc = policy.FindContainer(c.name);
    std::string network = pc ? pc->network : "";
    out.push_back({c.name, c.id, c.running, c.ipv4.empty() ? std::vector<std::string>{} : std::vector{network},
                   c.ipv4, c.ipv6, pc != nullptr, network});
  }
  return out;
}

}  // namespace

status::StatusReport CollectStatus(const StatusPaths& paths, int& exit_code) {
  exit_code = 0;
  status::StatusReport out;
  auto policy = policy::LoadPolicy(paths.policy);
  if (!policy.ok()) {
    out.error = policy.status().message();
    exit_code = 2;
    return out;
  }
  out.policy = paths.policy;
  model::Observed observed;
  auto agent = AskAgent(paths.run_dir, out.via);
  if (agent.ok()) {
    out.agent = std::move(*agent);
    if (out.agent.observed) observed = *out.agent.observed;
  } else {
    out.via = "state-file";
    out.agent = FromStateFile(paths.state_dir, agent.status().message(), observed);
  }
  CompareWithKernel(compile::Compile(*policy, observed), out);
  if (out.agent.containers.empty()) out.agent.containers = ContainersFrom(observed, *policy);
  // This boot's restore record: the agent's copy, or the file when the agent is down.
  if (out.agent.boot_restore.is_null()) {
    auto rec = restore::ReadRecord(paths.run_dir);
    out.agent.boot_restore = rec.ok() ? *rec : nlohmann::json{{"result", "none"}, {"detail", rec.status().message()}};
  }
  if (out.agent.health != "ok" || !out.drift.empty()) exit_code = 3;
  return out;
}

}  // namespace ipo::cli
