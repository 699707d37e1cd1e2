// NetlinkIds: how ruleset.h's families and hooks are numbered in nf_tables netlink messages,
// and how a table is named in the descriptions and errors of the nft backend
// ("inet ipo_netd"). Shared by the writer (ruleset_writer.h), the reader (ruleset_reader.h)
// and table ownership (table_ownership.h), so all three number things alike.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ruleset/ruleset.h"

namespace ipo::nft {

// The NFPROTO_* of a family (the nfgen_family of every message).
uint16_t Nfproto(Family f);

// "<family> <name>", e.g. "inet ipo_netd".
std::string TableName(Family f, const std::string& name);

// NF_INET_* of a base chain's hook, and back (nullopt for a hook the model does not know).
uint32_t HookNum(Hook h);
std::optional<Hook> HookFromNum(uint32_t n);

}  // namespace ipo::nft
