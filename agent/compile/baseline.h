// FailClosedBaseline: the ruleset loaded at boot when there is no usable policy. Nothing is
// known about the containers, so nothing is forwarded at all: table inet ipo_netd holds one
// base chain on the forward hook with policy drop, and the NAT tables are emptied so no stale
// DNAT points anywhere. The host itself (input, output) is left alone, so an operator can
// still log in and fix the policy.
//
// It uses the same table names as Compile() (compile/compiler.h), so applying the compiled
// ruleset later replaces it atomically, and the drift check reads the same tables.
//
// Thread safety: pure function.
#pragma once

#include "compile/ruleset.h"

namespace ipo::compile {

nft::Ruleset FailClosedBaseline();

}  // namespace ipo::compile
