#include "nft/table_ownership.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <sys/utsname.h>

#include <cstdio>
#include <vector>

#include <libnftnl/common.h>

#include "nft/nftnl_handles.h"

namespace ipo::nft {

Result<TableList> ListTables(MnlSocket& sock) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  struct nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETTABLE, NFPROTO_UNSPEC,
                                               NLM_F_DUMP, sock.NextSeq());
  TableList out;
  IPO_RETURN_IF_ERROR(sock.Request(nlh, true, [&](const struct nlmsghdr* m) {
    TablePtr t(nftnl_table_alloc());
    if (nftnl_table_nlmsg_parse(m, t.get()) < 0) return MNL_CB_ERROR;
    TableInfo info;
    info.flags = nftnl_table_get_u32(t.get(), NFTNL_TABLE_FLAGS);
    if (nftnl_table_is_set(t.get(), NFTNL_TABLE_OWNER)) info.owner = nftnl_table_get_u32(t.get(), NFTNL_TABLE_OWNER);
    out.emplace(std::pair{static_cast<uint16_t>(nftnl_table_get_u32(t.get(), NFTNL_TABLE_FAMILY)),
                          std::string(nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME))},
                info);
    return MNL_CB_OK;
  }).WithContext("list tables"));
  return out;
}

bool KernelCanClaim() {
  struct utsname u{};
  if (uname(&u) != 0) return false;
  int major = 0, minor = 0;
  if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
  return major > 6 || (major == 6 && minor >= 9);
}

uint32_t NewTableFlags(bool claim) { return claim ? kTableFlagOwner | kTableFlagPersist : 0; }

bool OwnedByOther(const TableInfo& table, uint32_t portid) {
  return (table.flags & kTableFlagOwner) != 0 && table.owner && *table.owner != portid;
}

bool Orphaned(const TableInfo& table) {
  return (table.flags & kTableFlagPersist) != 0 && (table.flags & kTableFlagOwner) == 0;
}

}  // namespace ipo::nft
