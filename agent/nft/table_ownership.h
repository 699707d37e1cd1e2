// TableOwnership: which nf_tables tables exist, with the flags that say who may change them,
// and the rules NetlinkBackend follows before it replaces one.
//
// NFT_TABLE_F_OWNER (Linux 5.12) ties a table to the netlink socket that created it: only that
// socket may change it, `nft flush ruleset` skips it, and it goes away with the socket.
// NFT_TABLE_F_PERSIST (Linux 6.9) keeps it when the socket closes: the table stays in force,
// orphaned (owner flag cleared), until a socket claims it again by re-adding it with the
// owner flag. So a table found before a replace is one of:
//   - owned by another socket (another ipo-netd): it cannot be replaced, only validated under
//     another name (check_only);
//   - orphaned and persistent while this backend claims tables: claimed, then replaced;
//   - anything else (owned by this socket, or plain): deleted and added again.
//
// Thread safety: ListTables uses the socket (one owner); the rest are pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "common/status.h"
#include "nft/mnl_socket.h"

namespace ipo::nft {

// NFT_TABLE_F_OWNER and NFT_TABLE_F_PERSIST; older uapi headers lack the latter.
inline constexpr uint32_t kTableFlagOwner = 0x2;
inline constexpr uint32_t kTableFlagPersist = 0x4;

struct TableInfo {
  uint32_t flags = 0;
  std::optional<uint32_t> owner;  // netlink port id of the owning socket
};

// Tables by (NFPROTO_*, name).
using TableList = std::map<std::pair<uint16_t, std::string>, TableInfo>;

// Every table in the kernel (all families) with its flags and owner: one NFT_MSG_GETTABLE dump.
Result<TableList> ListTables(MnlSocket& sock);

// True when the running kernel has NFT_TABLE_F_PERSIST (Linux 6.9), without which an owned
// table would vanish with its owner: claiming is only safe with it.
bool KernelCanClaim();

// The flags of a table this backend creates: owner and persist when it claims tables, else none.
uint32_t NewTableFlags(bool claim);

// True when a socket other than `portid` owns the table.
bool OwnedByOther(const TableInfo& table, uint32_t portid);

// True when the table is persistent and has no owner: the agent that owned it is gone.
bool Orphaned(const TableInfo& table);

}  // namespace ipo::nft
