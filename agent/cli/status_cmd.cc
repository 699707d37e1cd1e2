#include "cli/status_cmd.h"

#include <cstdio>
#include <iostream>
#include <sstream>

#include "bus/bus.h"
#include "compile/compiler.h"
#include "compile/drift.h"
#include "nft/netlink_backend.h"
#include "policy/policy.h"
#include "restore/boot_restore.h"
#include "state/state_store.h"

namespace ipo::cli {
namespace {

using nlohmann::json;

model::Observed ObservedFromJson(const json& j) {
  model::Observed o;
  for (const auto& c : j.value("containers", json::array()))
    o.containers.push_back({c.value("name", ""), c.value("id", ""), c.value("running", false), c.value("ipv4", ""),
                            c.value("ipv6", "")});
  for (const auto& p : j.value("proxy_ports", json::array()))
    o.proxy_ports.push_back({p.value<uint8_t>("proto", 6), p.value<uint16_t>("port", 0)});
  for (const auto& d : j.value("docker_published", json::array()))
    o.docker_published.push_back({d.value<uint8_t>("proto", 6), d.value<uint16_t>("host_port", 0), d.value("v6", false),
                                  d.value("host_ip", ""), d.value("target", ""), d.value<uint16_t>("port", 0),
                                  d.value("container", "")});
  o.bridges = j.value("bridges", std::vector<std::string>{});
  o.default_bridge_v4 = j.value("default_bridge_v4", std::string{});
  return o;
}

json TablesJson(const nft::Ruleset& rs) {
  json tables = json::array();
  for (const auto& t : rs.tables) {
    size_t rules = 0;
    for (const auto& c : t.chains) rules += c.rules.size();
    json sets = json::object();
    for (const auto& s : t.sets) {
      json elems = json::array();
      for (const auto& e : s.elements) elems.push_back(nft::ElementToString(e));
      sets[s.name] = elems;
    }
    tables.push_back({{"family", nft::FamilyName(t.family)}, {"name", t.name}, {"chains", t.chains.size()},
                      {"rules", rules}, {"sets", sets}});
  }
  return tables;
}

// The agent's status JSON over D-Bus: the system bus name when it has an owner, else the
// private socket in run_dir (bus::AgentClient). `via` gets "system-bus" or "socket".
Result<std::string> AskAgent(const std::string& run_dir, std::string& via) {
  auto client = bus::AgentClient::Connect(run_dir + "/bus.sock");
  if (!client.ok()) return client.status();
  via = client->transport();
  return client->StatusJson();
}

// Connects for a method call; prints the error and exits 1 when the agent is unreachable.
bus::AgentClient ConnectOrExit(const std::string& run_dir) {
  auto client = bus::AgentClient::Connect(run_dir + "/bus.sock");
  if (!client.ok()) {
    std::cerr << "error: " << client.status().message() << "\n";
    throw CLI::RuntimeError(1);
  }
  return std::move(*client);
}

std::string Pad(const std::string& s, size_t w) { return s.size() >= w ? s + " " : s + std::string(w - s.size(), ' '); }

}  // namespace

json CollectStatus(const StatusPaths& paths, int& exit_code) {
  exit_code = 0;
  std::string via;
  json out;
  auto policy = policy::LoadPolicy(paths.policy);
  if (!policy.ok()) {
    out["error"] = policy.status().message();
    exit_code = 2;
    return out;
  }
  json agent;
  auto reply = AskAgent(paths.run_dir, via);
  model::Observed observed;
  if (reply.ok()) {
    agent = json::parse(*reply, nullptr, false);
    observed = ObservedFromJson(agent.value("observed", json::object()));
  } else {
    via = "state-file";
    state::StateStore store(paths.state_dir);
    auto saved = store.Load();
    if (saved.ok()) {
      observed = saved->observed;
      agent["generation"] = saved->generation;
      agent["last_event"] = {{"event", saved->last_event}, {"time_nano", saved->last_event_nano}};
      agent["applied_at"] = saved->applied_at;
    }
    agent["health"] = "down";
    agent["health_reason"] = reply.status().message();
  }
  nft::Ruleset expected = compile::Compile(*policy, observed);
  std::vector<std::string> drift;
  json kernel_tables = json::array();
  auto nl = nft::NetlinkBackend::Create();
  if (!nl.ok()) {
    drift.push_back("cannot read the kernel ruleset: " + nl.status().message());
  } else {
    std::vector<nft::TableRef> owned;
    for (const auto& [f, n] : compile::OwnedTables()) owned.push_back({f, n});
    (*nl)->ExpectContent(expected);  // compare the kernel's rules on what they do, too
    auto kernel = (*nl)->ReadTables(owned);
    if (!kernel.ok()) {
      drift.push_back("cannot read the kernel ruleset: " + kernel.status().message());
    } else {
      drift = compile::FindDrift(expected, *kernel);
      kernel_tables = TablesJson(*kernel);
    }
  }
  json containers = agent.value("containers", json::array());
  if (containers.empty()) {
    for (const auto& c : observed.containers) {
      const auto* pc = policy->FindContainer(c.name);
      containers.push_back({{"name", c.name}, {"id", c.id}, {"running", c.running},
                            {"networks", c.ipv4.empty() ? json::array() : json::array({pc->network})},
                            {"ipv4", c.ipv4}, {"ipv6", c.ipv6}, {"managed", true}, {"policy_network", pc->network}});
    }
  }
  out["health"] = agent.value("health", "down");
  out["health_reason"] = agent.value("health_reason", "");
  out["drift"] = !drift.empty();
  out["drift_details"] = drift;
  out["generation"] = agent.value("generation", 0);
  out["policy"] = paths.policy;
  out["containers"] = containers;
  out["last_event"] = agent.value("last_event", json::object());
  out["docker"] = agent.value("docker", json::object());
  out["ruleset"] = {{"tables", kernel_tables}};
  out["agent"] = {{"drift_repairs", agent.value("drift_repairs", 0)}, {"syncs", agent.value("syncs", 0)},
                  {"events", agent.value("events", 0)}, {"last_apply", agent.value("last_apply", json::object())},
                  {"applied_at", agent.value("applied_at", "")}, {"problems", agent.value("problems", json::array())},
                  {"last_repair", agent.value("last_repair", json())},
                  {"tamper_notices", agent.value("tamper_notices", 0)},
                  {"protection", agent.value("protection", json::object())},
                  {"state_save", agent.value("state_save", json::object())},
                  {"conntrack", agent.value("conntrack", json())},
                  {"observed", agent.value("observed", json::object())},
                  {"publish_conflicts", agent.value("publish_conflicts", json::array())},
                  {"via", via}};
  // This boot's restore record: the agent's copy, or the file when the agent is down.
  json boot = agent.value("boot_restore", json());
  if (boot.is_null()) {
    auto rec = restore::ReadRecord(paths.run_dir);
    boot = rec.ok() ? *rec : json{{"result", "none"}, {"detail", rec.status().message()}};
  }
  out["boot_restore"] = boot;
  if (out["health"] != "ok" || !drift.empty()) exit_code = 3;
  return out;
}

std::string FormatStatus(const json& s) {
  std::ostringstream o;
  if (s.contains("error")) {
    o << "error: " << s["error"].get<std::string>() << "\n";
    return o.str();
  }
  o << Pad("agent", 10) << s["health"].get<std::string>();
  if (!s["health_reason"].get<std::string>().empty()) o << " (" << s["health_reason"].get<std::string>() << ")";
  o << "\n" << Pad("policy", 10) << s["policy"].get<std::string>() << ", generation " << s["generation"] << "\n";
  const json& d = s["docker"];
  o << Pad("docker", 10) << (d.value("connected", false) ? "connected" : "not connected");
  if (!d.value("detail", "").empty()) o << " (" << d.value("detail", "") << ")";
  o << "\n" << Pad("event", 10) << s["last_event"].value("event", std::string("none")) << "\n";
  if (s.contains("boot_restore")) {
    const json& b = s["boot_restore"];
    o << Pad("boot", 10) << b.value("result", "none") << ": " << b.value("detail", "");
    if (!b.value("at", "").empty()) o << " (at " << b.value("at", "") << ")";
    o << "\n";
  }
  if (s.contains("agent")) {
    const json& a = s["agent"];
    const json& p = a.value("protection", json::object());
    if (!p.empty()) {
      o << Pad("tables", 10) << "claim " << p.value("claim", "?") << "; repair on notification "
        << (p.value("monitor", false) ? "on" : "off") << "\n";
    }
    o << Pad("repairs", 10) << a.value("drift_repairs", 0) << " (foreign changes seen: " << a.value("tamper_notices", 0)
      << ")";
    const json& r = a.value("last_repair", json());
    if (r.is_object()) {
      o << "; last " << r.value("at", "") << " after \"" << r.value("trigger", "") << "\", " << r.value("differences", 0)
        << " difference(s) repaired in " << r.value("ms", 0.0) << " ms";
    }
    o << "\n";
    const json& ct = a.value("conntrack", json());
    if (ct.is_object()) {
      o << Pad("conntrack", 10);
      if (!ct.value("enabled", false)) o << "OFF (" << ct.value("detail", "") << "); ";
      o << ct.value("removed", 0) << " flow(s) removed in " << ct.value("flushes", 0) << " flush(es)";
      const json& l = ct.value("last_flush", json());
      if (l.is_object()) {
        o << "; last " << l.value("at", "") << " after \"" << l.value("reason", "") << "\": ";
        if (l.contains("error")) o << "FAILED: " << l.value("error", "");
        else o << l.value("removed", 0) << " removed in " << l.value("ms", 0.0) << " ms";
      }
      o << "\n";
    }
  }
  o << Pad("ruleset", 10) << (s["drift"].get<bool>() ? "DRIFT: the kernel differs from the policy" : "in force, no drift")
    << "\n";
  for (const auto& t : s["ruleset"]["tables"]) {
    o << "  " << Pad(t["family"].get<std::string>() + " " + t["name"].get<std::string>(), 20) << t["chains"]
      << " chains, " << t["rules"] << " rules; sets:";
    for (const auto& [name, elems] : t["sets"].items()) o << " " << name << "=" << elems.size();
    o << "\n";
  }
  o << "\n" << Pad("CONTAINER", 14) << Pad("RUNNING", 9) << Pad("NETWORKS", 16) << Pad("IPV4", 14) << Pad("IPV6", 18)
    << "POLICY\n";
  for (const auto& c : s["containers"]) {
    std::string nets;
    for (const auto& n : c["networks"]) nets += (nets.empty() ? "" : ",") + n.get<std::string>();
    o << Pad(c["name"].get<std::string>(), 14) << Pad(c["running"].get<bool>() ? "yes" : "no", 9)
      << Pad(nets.empty() ? "-" : nets, 16) << Pad(c.value("ipv4", "").empty() ? "-" : c.value("ipv4", ""), 14)
      << Pad(c.value("ipv6", "").empty() ? "-" : c.value("ipv6", ""), 18)
      << (c.value("managed", false) ? c.value("policy_network", "") : "not in policy (left alone)") << "\n";
  }
  if (s.contains("agent")) {
    const json& a = s["agent"];
    const json& pub = a.value("observed", json::object()).value("docker_published", json::array());
    if (!pub.empty()) {
      o << "\ndocker -p bindings the agent publishes (LAN allowlist only):\n";
      for (const auto& b : pub) {
        std::string host_ip = b.value("host_ip", "");
        o << "  " << b.value("container", "") << ": " << (b.value<int>("proto", 6) == 17 ? "udp" : "tcp") << " "
          << (host_ip.empty() ? (b.value("v6", false) ? "[::]" : "*") : host_ip) << ":" << b.value<int>("host_port", 0)
          << " -> " << b.value("target", "") << ":" << b.value<int>("port", 0) << "\n";
      }
    }
    const json& conflicts = a.value("publish_conflicts", json::array());
    if (!conflicts.empty()) {
      o << "\nnot published:\n";
      for (const auto& c : conflicts) o << "  - " << c.get<std::string>() << "\n";
    }
  }
  if (s["drift"].get<bool>()) {
    o << "\ndrift:\n";
    for (const auto& line : s["drift_details"]) o << "  - " << line.get<std::string>() << "\n";
  }
  return o.str();
}

void RegisterStatusCommands(CLI::App& app) {
  auto paths = std::make_shared<StatusPaths>();
  auto json_out = std::make_shared<bool>(false);
  auto add_paths = [paths](CLI::App* cmd) {
    cmd->add_option("--policy", paths->policy, "policy file")->capture_default_str();
    cmd->add_option("--run-dir", paths->run_dir, "the agent's runtime directory")->capture_default_str();
    cmd->add_option("--state-dir", paths->state_dir, "the agent's state directory")->capture_default_str();
  };

  CLI::App* status = app.add_subcommand("status", "show what the agent enforces and whether the kernel matches it");
  add_paths(status);
  status->add_flag("--json", *json_out, "print the status document as JSON");
  status->callback([paths, json_out] {
    int code = 0;
    json s = CollectStatus(*paths, code);
    if (*json_out) std::cout << s.dump(2) << "\n";
    else std::cout << FormatStatus(s);
    if (code != 0) throw CLI::RuntimeError(code);
  });

  auto kernel = std::make_shared<bool>(false);
  CLI::App* check = app.add_subcommand("check", "validate a policy and print the ruleset it compiles to");
  add_paths(check);
  check->add_flag("--kernel", *kernel, "also let the kernel validate the ruleset (nothing is applied)");
  check->callback([paths, kernel] {
    auto policy = policy::LoadPolicy(paths->policy);
    if (!policy.ok()) {
      std::cerr << "error: " << policy.status().message() << "\n";
      throw CLI::RuntimeError(2);
    }
    state::StateStore store(paths->state_dir);
    auto saved = store.Load();
    nft::Ruleset rs = compile::Compile(*policy, saved.ok() ? saved->observed : model::Observed{});
    std::cout << rs.ToString();
    if (*kernel) {
      auto nl = nft::NetlinkBackend::Create();
      Status st = nl.ok() ? (*nl)->ReplaceTables(rs, /*check_only=*/true) : nl.status();
      if (!st.ok()) {
        std::cerr << "error: the kernel refuses the ruleset: " << st.message() << "\n";
        throw CLI::RuntimeError(1);
      }
      std::cerr << "the kernel accepts the ruleset (nothing was applied)\n";
    }
  });

  CLI::App* resync = app.add_subcommand("resync", "ask the agent for a full sync with Docker and the kernel now");
  add_paths(resync);
  resync->callback([paths] {
    Status st = ConnectOrExit(paths->run_dir).Resync();
    if (!st.ok()) {
      std::cerr << "error: " << st.message() << "\n";
      throw CLI::RuntimeError(1);
    }
  });

  CLI::App* reload = app.add_subcommand(
      "reload", "ask the agent to re-read its policy file: a bad one is refused (exit 2), the old rules stay");
  reload->add_option("--run-dir", paths->run_dir, "the agent's runtime directory")->capture_default_str();
  reload->callback([paths] {
    bus::AgentClient client = ConnectOrExit(paths->run_dir);
    Status st = client.Reload();
    if (st.code() == Status::Code::kInvalidArgument) {
      std::cerr << "error: the agent refused the policy, the rules in force stay: " << st.message() << "\n";
      throw CLI::RuntimeError(2);
    }
    if (!st.ok()) {
      std::cerr << "error: " << st.message() << "\n";
      throw CLI::RuntimeError(1);
    }
    std::cout << "policy accepted by the agent (" << client.where() << "); the reconcile loop applies it\n";
  });
}

}  // namespace ipo::cli
