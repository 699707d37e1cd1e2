// `ipo-netctl status`, `check`, `resync` and `reload`: what the operator sees of the agent.
//
// status: asks the agent for its view over D-Bus (docs/dbus.md: the system bus, else its
// private socket), compiles the expected ruleset from the policy and the containers the
// agent last applied, reads the agent's tables back from the kernel and reports any drift.
// Works with the agent down too (then from the state file). Exit code: 0 healthy and no
// drift, 3 otherwise, 2 bad input.
//
// Thread safety: main thread only.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace ipo::cli {

struct StatusPaths {
  std::string policy = "/etc/ipo-netd/policy.json";
  std::string run_dir = "/run/ipo-netd";
  std::string state_dir = "/var/lib/ipo-netd";
};

// Adds `status`, `check`, `resync` and `reload` (docs/dbus.md: the agent is reached on the
// system bus name org.ipo.NetD1 when it has an owner, else on <run-dir>/bus.sock).
void RegisterStatusCommands(CLI::App& app);

// The status document (docs/status.md); `exit_code` gets 0 or 3.
nlohmann::json CollectStatus(const StatusPaths& paths, int& exit_code);
// The human table for a status document.
std::string FormatStatus(const nlohmann::json& status);

}  // namespace ipo::cli
