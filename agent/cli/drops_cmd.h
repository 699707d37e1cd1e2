// `ipo-netctl drops [--follow] [--json] [--after SEQ]`: the packets the agent's drop rules
// dropped, as their log twins sent them to the policy's nflog group (rate-limited per rule,
// policy key drop_log): time, source, destination, protocol, the rule that dropped each and the
// policy entry that made the rule (file:line path). Read from the agent over D-Bus
// (Drops(after), docs/dbus.md), which keeps the last 4096; --follow keeps asking every 0.5 s
// and prints new ones until interrupted. --json prints the agent's document, or with
// --follow one record per line (JSON lines).
// Exit code: 0; 1 when the agent does not answer or its reply is malformed.
//
// Thread safety: main thread only.
#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace ipo::cli {

// The header line: which group, whether the agent reads it, and the totals.
std::string FormatDropsHeader(const nlohmann::json& page);
// One line per record of `page` ("records"), aligned under FormatDropsColumns().
std::string FormatDropRecords(const nlohmann::json& page);
std::string FormatDropsColumns();

void RegisterDropsCommand(CLI::App& app);

}  // namespace ipo::cli
