// `ipo-netctl explain SRC DST:PORT[/tcp|/udp]`: why SRC can or cannot reach DST, from the
// agent's compiled model (explain/explain.h). SRC and DST are a container name (its address
// as the agent last saw it; -6 for its IPv6 one) or an address ("[fd00::1]:80" for IPv6 with a
// port). It prints the verdict, what the packet reaches (a container, the host's own service,
// whether anything listens there), and the path: every rule evaluated, by hook, table and
// chain, with what the matched ones did, the policy entry that made them (file:line and its
// JSON path) and their counters as the kernel has them now. --json for machines.
// --trace confirms it with a real packet: a table of its own (inet and bridge
// ipo_netctl_trace, hook prerouting, priority -350) marks that one flow with
// `meta nftrace set 1`; it waits up to --trace-seconds for a packet of the flow (which the
// operator sends), reads the kernel's trace events (nft/nft_trace.h), deletes the table and
// prints the kernel's path (rules named by their comments) beside the model's, and whether
// the kernel's verdict agrees. Exit 1 when no packet came.
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
  // --trace: the kernel's events of the first traced packet, as text lines, its verdict by
  // the agent's tables (as Explanation::verdict) and whether it is the model's.
  bool traced = false;
  std::vector<std::string> trace_path;
  std::string trace_verdict;
  std::string trace_reason;
};

std::string FormatExplain(const ExplainReport& r);
nlohmann::json ExplainJson(const ExplainReport& r);

void RegisterExplainCommand(CLI::App& app);

}  // namespace ipo::cli
