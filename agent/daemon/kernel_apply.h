// Kernel apply: how the reconciler puts a ruleset in force and checks that it stays there.
//   ApplyRuleset  ONE netlink batch: only the set/map element changes when the structure is
//                 unchanged (the usual case for container churn), else the whole tables; a
//                 failed element batch falls back to the whole tables. A failed batch leaves
//                 the kernel as it was (batches are atomic).
//   ReadDrift     reads the owned tables back and lists how they differ from the ruleset
//                 applied (compile/drift.h); the read also carries every rule's counter.
//   RepairTables  re-applies the whole ruleset and reads it back to confirm.
//
// Thread safety: as the NftBackend given.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "nft/nft_backend.h"

namespace ipo::daemon {

// Applies `desired` over `applied` (null: nothing applied yet, so the whole tables); logs
// what changed, with `reason`. Returns the kind of batch: "elements", "full", or "" when
// nothing differs (no batch at all).
Result<std::string> ApplyRuleset(nft::NftBackend& nft, const nft::Ruleset* applied, const nft::Ruleset& desired,
                                 const std::string& reason);

// The differences between the owned tables in the kernel and `applied` (none: in force).
// `kernel`, when given, gets the tables as read (with the rules' counts).
Result<std::vector<std::string>> ReadDrift(nft::NftBackend& nft, const nft::Ruleset& applied,
                                           nft::Ruleset* kernel = nullptr);

// Replaces the owned tables with `applied` and reads them back: an error when the batch
// fails or the read-back still differs ("repair did not hold: ...").
Status RepairTables(nft::NftBackend& nft, const nft::Ruleset& applied);

}  // namespace ipo::daemon
