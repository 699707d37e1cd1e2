// `ipo-netctl explain SRC DST:PORT[/tcp|/udp]`: why SRC can or cannot reach DST, from the
// agent's compiled model (explain/explain.h). SRC and DST are a container name (its address
// as the agent last saw it; -6 for its IPv6 one) or an address ("[fd00::1]:80" for IPv6 with a
// port). It prints the verdict, what the packet reaches (a container, the host's own service,
// whether anything listens there), and the path: every rule evaluated, by hook, table and
// chain, with what the matched ones did, the policy entry that made them (file:line and its
// JSON path) and their counters as the kernel has them now. --json for machines.
// Exit code: 0 when explained, 2 on bad input (an unknown name, a malformed address or port,
// a policy that does not parse).
//
// Thread safety: main thread only.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "explain/explain.h"
#include "status/status_doc.h"

namespace ipo::cli {

// What `explain` reports: the question, the model's answer, and the host facts that finish it.
struct ExplainReport {
  std::string src;       // as given
  std::string dst;       // as given, with its port and protocol
  explain::Packet packet;
  explain::Explanation result;
  std::string outcome;   // "container", "host-service", "closed", "elsewhere"
  std::string reaches;   // "docker_a (172.30.1.2:8080)", "the host's tcp/22 (sshd)", ...
  // Per step: the policy entry as "file:line path" ("" when built in), and its counters.
  std::vector<std::string> origins;
  std::vector<std::optional<status::RuleCounter>> counters;
};

std::string FormatExplain(const ExplainReport& r);
nlohmann::json ExplainJson(const ExplainReport& r);

void RegisterExplainCommand(CLI::App& app);

}  // namespace ipo::cli
