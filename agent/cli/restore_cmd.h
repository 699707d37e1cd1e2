// `ipo-netctl restore`: what ipo-netd-restore.service runs early at boot (before the network
// and before docker.service). Loads the persisted ruleset, or the policy's static rules, or
// the fail-closed baseline (restore/boot_restore.h) in one atomic batch and records the
// outcome in <run-dir>/boot-restore.json. Needs neither Docker nor the network.
// --dry-run prints the decision and the ruleset (nft syntax) and changes nothing.
// Exit code: 0 when a protective ruleset is in force, 1 when the kernel refused even the
// baseline.
//
// Thread safety: main thread only.
#pragma once

#include <CLI/CLI.hpp>

namespace ipo::cli {

void RegisterRestoreCommand(CLI::App& app);

}  // namespace ipo::cli
