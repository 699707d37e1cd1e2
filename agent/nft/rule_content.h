// RuleContent: what a rule does, as text, so the rule the kernel runs can be compared with the
// rule the agent wrote. Drift used to be found on rule comments alone, and
// `nft replace rule ... accept comment "<the same tag>"` went unnoticed: on kernels without
// the table owner flag (Rocky 8's 4.18, Debian 11's 5.10) nothing else stops such an edit.
//
// The text is libnftnl's own rendering of each expression (what `nft --debug=netlink` prints,
// "[ payload load 4b @ network header + 12 => reg 1 ]"), joined in order; a counter is
// rendered without its packet and byte values, which change with traffic. The agent's rules
// are rendered from the nftnl_rule the encoder builds (expr_encoder.h), the kernel's from the
// dump, so both sides go through the same code.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>

#include <libnftnl/rule.h>

#include "common/status.h"
#include "ruleset/ruleset.h"

namespace ipo::nft {

// The content of a libnftnl rule.
std::string RuleContent(const nftnl_rule* rule);

// The values of a libnftnl rule's counter expression (the first one); nullopt when it has none.
std::optional<Counts> RuleCounts(const nftnl_rule* rule);

// The content of `rule` of `table` as the kernel will show it once written (encoded like
// NetlinkBackend writes it). InvalidArgument when the rule cannot be encoded.
Result<std::string> ExpectedRuleContent(const Table& table, const Rule& rule);

}  // namespace ipo::nft
