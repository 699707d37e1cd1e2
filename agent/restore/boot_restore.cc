#include "restore/boot_restore.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/clock_text.h"
#include "compile/baseline.h"
#include "compile/compiler.h"
#include "docker/disk_ports.h"
#include "hostsock/host_held.h"
#include "hostsock/sock_diag.h"

namespace ipo::restore {
namespace {

std::vector<std::string> TableNames(const nft::Ruleset& rs) {
  std::vector<std::string> out;
  for (const nft::Table& t : rs.tables) out.push_back(std::string(nft::FamilyName(t.family)) + " " + t.name);
  return out;
}

}  // namespace

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kRestored: return "restored";
    case Outcome::kStatic: return "static";
    case Outcome::kFailClosed: return "fail-closed";
    case Outcome::kFailed: return "failed";
    case Outcome::kHeld: return "held";
  }
  return "failed";
}

Decision DecideRestore(const Result<policy::Policy>& policy, const Result<state::AgentState>& saved,
                       const std::string& state_source, const std::vector<model::ProxyPort>& docker_ports) {
  Decision d;
  if (saved.ok()) d.generation = saved->generation;
  std::string guarded;
  if (!docker_ports.empty())
    guarded = "; " + std::to_string(docker_ports.size()) + " docker-proxy port(s) from Docker's containers guarded";
  if (!policy.ok()) {
    std::vector<model::ProxyPort> ports = docker_ports;
    if (saved.ok()) model::MergeProxyPorts(ports, saved->observed.proxy_ports);
    d.outcome = Outcome::kFailClosed;
    d.detail = "policy unusable (" + policy.status().message() + "): nothing is forwarded until it is fixed" + guarded;
    d.ruleset = compile::FailClosedBaseline(ports);
    return d;
  }
  model::Observed observed;  // the saved containers (none without a state) and every known port
  if (saved.ok()) observed = saved->observed;
  model::MergeProxyPorts(observed.proxy_ports, docker_ports);
  if (saved.ok()) {
    d.outcome = Outcome::kRestored;
    d.detail = "generation " + std::to_string(saved->generation) + " from " + state_source + " (" +
               std::to_string(saved->observed.containers.size()) + " containers)" + guarded;
    d.ruleset = compile::Compile(*policy, observed);
    return d;
  }
  d.outcome = Outcome::kStatic;
  d.detail = (saved.status().code() == Status::Code::kNotFound
                  ? "no saved state in " + state_source + ": the policy's static rules, no port published"
                  : "state unusable (" + saved.status().message() + "): the policy's static rules, no port published") +
             guarded;
  d.ruleset = compile::Compile(*policy, observed);
  return d;
}

std::vector<model::ProxyPort> DockerPorts(const std::string& docker_root, std::vector<std::string>* problems) {
  std::vector<model::ProxyPort> out;
  if (docker_root.empty()) return out;
  docker::DiskPorts disk = docker::ReadDiskPortBindings(docker_root);
  std::vector<model::ProxyPort> found;
  for (const docker::PortBinding& b : disk.bindings) found.push_back(model::ProxyPortFor(b.proto, b.host_port));
  model::MergeProxyPorts(out, found);
  if (problems) *problems = std::move(disk.problems);
  return out;
}

nlohmann::json RunRestore(const Paths& paths, nft::NftBackend& nft) {
  state::StateStore store(paths.state_dir);
  std::vector<std::string> problems;
  std::vector<model::ProxyPort> ports = DockerPorts(paths.docker_root, &problems);
  // A port a host process already holds (`docker create -p 22:22` while sshd listens) is the
  // host's: guarding it would cut the operator off until the agent's first sync, or for as
  // long as Docker is down. Only Docker's own docker-proxy (a migration from Docker's own
  // publishing runs this restore while it still serves) listens for a container.
  nlohmann::json host_held = nlohmann::json::array();
  if (auto sockets = hostsock::ListHostSockets(); sockets.ok()) {
    hostsock::FillOwners(*sockets);
    for (const hostsock::HeldPort& h : hostsock::DropHostHeld(ports, *sockets)) host_held.push_back(h.ToString());
  } else {
    problems.push_back("host sockets unknown (" + sockets.status().message() + "): every -p port is guarded");
  }
  Decision d = DecideRestore(policy::LoadPolicy(paths.policy), store.Load(), store.path(), ports);
  nlohmann::json port_names = nlohmann::json::array();
  for (const model::ProxyPort& p : ports)
    port_names.push_back(std::string(model::ProtoName(p.proto)) + "/" + std::to_string(p.port));
  nlohmann::json rec = {{"result", OutcomeName(d.outcome)}, {"detail", d.detail},
                        {"at", NowIso()},                   {"generation", d.generation},
                        {"tables", TableNames(d.ruleset)},  {"error", ""},
                        {"docker_ports", port_names},       {"docker_problems", problems},
                        {"host_held_ports", host_held}};
  Status st = nft.ReplaceTables(d.ruleset, /*check_only=*/false);
  if (st.code() == Status::Code::kPermission) {
    // A running ipo-netd owns the tables (claimed, owner+persist): it keeps them in force
    // and they are newer than anything on disk. Leave them; nothing was loaded.
    rec["result"] = OutcomeName(Outcome::kHeld);
    rec["detail"] = "the tables are held by a running ipo-netd; left as they are";
    rec["error"] = st.message();
    return rec;
  }
  if (!st.ok() && d.outcome != Outcome::kFailClosed) {
    nft::Ruleset baseline = compile::FailClosedBaseline(ports);
    Status fallback = nft.ReplaceTables(baseline, false);
    rec["error"] = st.message();
    rec["detail"] = std::string("the kernel refused the ") + OutcomeName(d.outcome) + " ruleset; loaded the fail-closed baseline";
    rec["result"] = OutcomeName(fallback.ok() ? Outcome::kFailClosed : Outcome::kFailed);
    rec["tables"] = TableNames(baseline);
    if (!fallback.ok()) rec["error"] = st.message() + "; baseline: " + fallback.message();
  } else if (!st.ok()) {
    rec["result"] = OutcomeName(Outcome::kFailed);
    rec["error"] = st.message();
  }
  return rec;
}

std::string RecordPath(const std::string& run_dir) { return run_dir + "/boot-restore.json"; }

Status WriteRecord(const std::string& run_dir, const nlohmann::json& record) {
  ::mkdir(run_dir.c_str(), 0755);
  std::string path = RecordPath(run_dir);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << record.dump(2) << "\n";
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      return Status::Internal("writing " + tmp + ": " + std::strerror(errno));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = std::strerror(errno);
    std::remove(tmp.c_str());
    return Status::Internal("renaming " + tmp + " to " + path + ": " + err);
  }
  return Status::Ok();
}

Result<nlohmann::json> ReadRecord(const std::string& run_dir) {
  std::string path = RecordPath(run_dir);
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": no boot restore record (the restore unit has not run this boot)");
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument(path + ": not a JSON object");
  return j;
}

}  // namespace ipo::restore
