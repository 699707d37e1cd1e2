// FailClosedBaseline: the ruleset loaded at boot when there is no usable policy. Nothing is
// known about the containers, so nothing is forwarded at all: table inet ipo_netd holds one
// base chain on the forward hook with policy drop, and the NAT tables are emptied so no stale
// DNAT points anywhere; table bridge ipo_netd drops frames between containers on docker0
// (compile/compiler.h DefaultBridgeGuard, Docker's default subnet). The host ports docker-proxy will bind for containers (`proxy_ports`,
// from Docker's files and the saved state) are closed on the input hook to everything but the
// host itself and replies: with no policy there is no allowlist. Every other host port
// (sshd, ...) is left alone, so an operator can still log in and fix the policy.
//
// It uses the same table names as Compile() (compile/compiler.h), so applying the compiled
// ruleset later replaces it atomically, and the drift check reads the same tables.
//
// Thread safety: pure function.
#pragma once

#include <vector>

#include "compile/compiler.h"
#include "ruleset/ruleset.h"

namespace ipo::compile {

nft::Ruleset FailClosedBaseline(const std::vector<ProxyPort>& proxy_ports = {});

}  // namespace ipo::compile
