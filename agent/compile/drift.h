// Drift: where the ruleset in the kernel differs from the one the agent expects.
//
// Compares tables, chains (base-chain hook, priority, policy), the sequence of rules in each
// chain (by Rule::Tag(), which the kernel keeps as the rule's comment) and set definitions
// and elements. Tables the agent does not own are never looked at.
//
// Thread safety: pure function.
#pragma once

#include <string>
#include <vector>

#include "ruleset/ruleset.h"

namespace ipo::compile {

// One line per difference, e.g.
//   "inet ipo_netd: chain to-containers: rule 3 is \"x #1234abcd\", expected \"y #...\""
//   "ip ipo_netd_nat: set publish-any: missing element tcp . 8080 : 172.30.1.2 . 8080"
// Empty when the kernel matches.
std::vector<std::string> FindDrift(const nft::Ruleset& expected, const nft::Ruleset& kernel);

}  // namespace ipo::compile
