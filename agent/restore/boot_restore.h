// Boot restore: what ipo-netd-restore.service (`ipo-netctl restore`) loads into the kernel
// early at boot, before the network and before docker.service, so no container is ever
// reachable unprotected. It needs neither Docker nor the network.
//
// The decision is a pure function of the policy, the saved state and the host ports Docker's
// containers publish with -p, read from Docker's own files (docker/disk_ports.h): dockerd
// starts right after the restore and brings every --restart container back, docker-proxy
// binding those ports on the host's input path before ipo-netd has asked Docker anything.
//   policy valid, state valid     -> "restored":    Compile(policy, saved containers); the
//                                                   docker-proxy ports guarded (allowlist only)
//   policy valid, no/bad state    -> "static":      Compile(policy, {}): every published
//                                                   port closed until the agent has synced;
//                                                   the docker-proxy ports guarded
//   policy unusable               -> "fail-closed": FailClosedBaseline(ports): nothing
//                                                   forwarded, the docker-proxy ports closed
// If the kernel refuses the chosen ruleset, RunRestore falls back to the fail-closed baseline;
// only when that is refused too the result is "failed". When a running ipo-netd holds the
// tables (claimed: the kernel answers EPERM) nothing is loaded and the result is "held": the
// agent's ruleset is newer than the disk's. `ipo-netctl restore` then exits 0 and keeps this
// boot's record.
//
// The outcome is recorded in <run-dir>/boot-restore.json (a tmpfs: one record per boot),
// which `ipo-netctl status` and the agent's status show:
//   {"result": "restored", "detail": "...", "at": "2026-11-25T03:00:00Z", "generation": 42,
//    "tables": ["inet ipo_netd", ...], "error": "", "docker_ports": ["tcp/3316"],
//    "docker_problems": [], "host_held_ports": ["tcp/22 (sshd)"]}
// A -p port a host process (not Docker's docker-proxy) already listens on is not guarded:
// it is the host's service (hostsock/sock_diag.h), listed in "host_held_ports".
//
// Thread safety: functions; RunRestore uses the backend it is given (one owner).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "compile/compiler.h"
#include "ruleset/ruleset.h"
#include "nft/nft_backend.h"
#include "policy/policy.h"
#include "state/state_store.h"

namespace ipo::restore {

enum class Outcome { kRestored, kStatic, kFailClosed, kFailed, kHeld };
// "restored", "static", "fail-closed", "failed", "held"
const char* OutcomeName(Outcome o);

struct Decision {
  Outcome outcome = Outcome::kFailClosed;
  std::string detail;       // one sentence: why this ruleset
  uint64_t generation = 0;  // of the saved state (0 when none)
  nft::Ruleset ruleset;
};

// Pure. `state_source` names the state file in `detail`. `docker_ports`: the host ports of
// Docker's containers (model::ProxyPortFor of their -p bindings), joined to the saved ones.
Decision DecideRestore(const Result<policy::Policy>& policy, const Result<state::AgentState>& saved,
                       const std::string& state_source, const std::vector<model::ProxyPort>& docker_ports = {});

struct Paths {
  std::string policy;
  std::string state_dir;
  std::string run_dir;
  std::string docker_root;  // Docker's data root; "" reads no container files
};

// The host ports published by the containers under `docker_root` (docker/disk_ports.h), and
// the problems met reading them (for the record).
std::vector<model::ProxyPort> DockerPorts(const std::string& docker_root, std::vector<std::string>* problems);

// Loads policy and state, decides, applies (one batch; falls back to the fail-closed
// baseline if the kernel refuses) and writes the record. Returns the record; its "result"
// is "failed" only when nothing could be applied.
nlohmann::json RunRestore(const Paths& paths, nft::NftBackend& nft);

// The record file and its I/O. Writing is atomic (temp file + rename).
std::string RecordPath(const std::string& run_dir);
Status WriteRecord(const std::string& run_dir, const nlohmann::json& record);
// NotFound when this boot has no record (the restore unit did not run).
Result<nlohmann::json> ReadRecord(const std::string& run_dir);

}  // namespace ipo::restore
