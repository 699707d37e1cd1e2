// RulesetWriter: the nf_tables messages that write a Ruleset into a NetlinkBatch, encoded with
// libnftnl: tables, sets with their elements, chains, rules, and element updates.
//
// Every message is added with a description of its object ("add rule inet ipo_netd
// filter-forward #3 (drop …)", "delete element inet ipo_netd lan-allow-v4 { 10.9.9.9 }"), which
// NetlinkBatch puts in the error when the kernel refuses it. Rules carry their Rule::Tag() as
// the nft comment (user data NFTNL_UDATA_RULE_COMMENT); sets carry their comment and the key
// and data byte order nft needs to print them. Element messages are kept well under the
// 16-bit attribute length, never splitting the two boundaries of one range. A new interval set
// gets nft's all-zero leading interval end unless a range starts at zero.
//
// Errors found before sending (a set without key type, an expression that cannot be encoded,
// a comment too long) are InvalidArgument and name the object.
//
// Thread safety: pure functions over the batch they are given.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "nft/netlink_batch.h"
#include "ruleset/ruleset.h"

namespace ipo::nft {

// Adds NFT_MSG_NEWTABLE (with `table_flags`) or NFT_MSG_DELTABLE for table `name`; `verb` is
// the description's ("add", "claim", "delete").
void AddTableMessage(NetlinkBatch& b, uint16_t msg, Family f, const std::string& name,
                     const char* verb, uint32_t table_flags = 0);

// Adds what table `t` holds, after its NEWTABLE: its sets with their elements, then its chains,
// then its rules in order. Sets are numbered (NFTA_SET_ID, for the rules' lookups in the same
// batch) from `next_set_id` on, which is advanced past them.
Status AddTableContents(NetlinkBatch& b, const Table& t, uint32_t& next_set_id);

// Adds the element additions and deletions `changes`, in order; a run of changes to the same
// set in the same direction shares messages. `definition` gives the set each change is for
// (its key and data types); its error is returned as is.
Status AddElementChanges(
    NetlinkBatch& b, const std::vector<ElementChange>& changes,
    const std::function<Result<const Set*>(const ElementChange&)>& definition);

}  // namespace ipo::nft
