// FormatStatus: the human text of `ipo-netctl status` for a report (status/status_report.h):
// one line each for the agent's health, the policy and generation, Docker, the last event,
// this boot's restore, the tables' protection, repairs, conntrack and the ruleset, the tables
// read back, the containers, the -p bindings the agent publishes, the publications it refused
// and the drift found. A section the agent did not report is left out. With `counters`, a
// table of every rule's packets and bytes, by table and chain, follows.
//
// Thread safety: pure function.
#pragma once

#include <string>

#include "status/status_report.h"

namespace ipo::cli {

std::string FormatStatus(const status::StatusReport& report, bool counters = false);

}  // namespace ipo::cli
