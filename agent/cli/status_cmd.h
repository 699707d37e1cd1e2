// `ipo-netctl status`, `check`, `resync` and `reload`: the commands that show and drive the
// agent.
//
// status: gathers the report (status_collect.h: the agent's view over D-Bus, or the state file
// when it is down, and the drift the CLI finds itself) and prints it as text (status_text.h)
// or, with --json, as the document docs/status.md describes (status/status_report.h). Exit
// code: 0 healthy and no drift, 3 otherwise, 2 bad input.
// check: compiles the policy with the containers last applied and prints the ruleset; with
// --kernel the kernel validates it too (nothing applied).
// resync, reload: ask the agent (docs/dbus.md: the system bus name org.ipo.NetD1 when it has
// an owner, else <run-dir>/bus.sock); reload exits 2 when the agent refuses the policy.
//
// Thread safety: main thread only.
#pragma once

#include <CLI/CLI.hpp>

namespace ipo::cli {

void RegisterStatusCommands(CLI::App& app);

}  // namespace ipo::cli
