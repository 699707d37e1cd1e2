// RuleCounters: the counter of every rule of the agent's tables, as rows a person or a
// monitoring system reads (status_doc.h RuleCounter), from the tables read back from the
// kernel (NftBackend::ReadTables: rules with their tag and counts) and the ruleset the agent
// applied (which says what each tagged rule does).
//
// Rows come in the kernel's order (table, chain, rule). A kernel rule whose tag is none of the
// applied ruleset's, or whose content differs from it, is listed with action "?" and its
// comment as the kernel has it: drift shows in the counters too.
//
// Thread safety: pure function.
#pragma once

#include <string>
#include <vector>

#include "ruleset/ruleset.h"
#include "status/status_doc.h"

namespace ipo::status {

std::vector<RuleCounter> RuleCounters(const nft::Ruleset& applied, const nft::Ruleset& kernel);

// What `rule` does with a packet it counts: RuleCounter::action.
std::string RuleAction(const nft::Rule& rule);

}  // namespace ipo::status
