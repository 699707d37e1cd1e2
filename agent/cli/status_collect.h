// CollectStatus: gathers what `ipo-netctl status` reports (status/status_report.h). Asks the
// agent for its status document over D-Bus (docs/dbus.md: the system bus, else its private
// socket); when it does not answer (or answers with a document it cannot decode), takes what
// the state file holds and reports health "down". Then compiles the expected ruleset from the
// policy file and the containers the agent last applied, reads the agent's tables back from
// the kernel and compares them: the CLI computes drift itself, always (why:
// status/status_doc.h, "Drift").
//
// Thread safety: main thread only (one D-Bus and one netlink connection).
#pragma once

#include <string>

#include "status/status_report.h"

namespace ipo::cli {

struct StatusPaths {
  std::string policy = "/etc/ipo-netd/policy.json";
  std::string run_dir = "/run/ipo-netd";
  std::string state_dir = "/var/lib/ipo-netd";
};

// `exit_code` gets 0 (healthy, no drift), 3 (not healthy, or drift) or 2 (bad input: the
// report holds only its error).
status::StatusReport CollectStatus(const StatusPaths& paths, int& exit_code);

}  // namespace ipo::cli
