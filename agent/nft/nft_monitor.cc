#include "nft/nft_monitor.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

namespace ipo::nft {
namespace {

// The verb and object of an NFT_MSG_* notification, e.g. "delete table".
std::string Describe(uint16_t msg) {
  switch (msg) {
    case NFT_MSG_NEWTABLE: return "add table";
    case NFT_MSG_DELTABLE: return "delete table";
    case NFT_MSG_NEWCHAIN: return "add chain in";
    case NFT_MSG_DELCHAIN: return "delete chain in";
    case NFT_MSG_NEWRULE: return "add rule in";
    case NFT_MSG_DELRULE: return "delete rule in";
    case NFT_MSG_NEWSET: return "add set in";
    case NFT_MSG_DELSET: return "delete set in";
    case NFT_MSG_NEWSETELEM: return "add element in";
    case NFT_MSG_DELSETELEM: return "delete element in";
    default: return "change (message " + std::to_string(msg) + ") in";
  }
}

}  // namespace

std::string TableChange::ToString() const {
  if (overrun) return "notifications lost (socket buffer overrun)";
  return Describe(msg) + " " + NfprotoName(family) + " " + table + " (netlink port " + std::to_string(portid) + ")";
}

std::optional<TableChange> ParseNotification(const struct nlmsghdr* nlh) {
  if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES) return std::nullopt;
  auto msg = static_cast<uint16_t>(NFNL_MSG_TYPE(nlh->nlmsg_type));
  if (msg == NFT_MSG_NEWGEN) return std::nullopt;
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nfgenmsg)) return std::nullopt;
  const auto* gen = static_cast<const struct nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
  // Attribute 1 is the table name in every object message: NFTA_TABLE_NAME,
  // NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE, NFTA_SET_ELEM_LIST_TABLE, NFTA_OBJ_TABLE.
  std::optional<std::string> table;
  const auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  for (const auto* attr = static_cast<const struct nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(struct nfgenmsg)));
       mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr))); attr = mnl_attr_next(attr)) {
    if (mnl_attr_get_type(attr) == 1 && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
      table = mnl_attr_get_str(attr);
      break;
    }
  }
  if (!table) return std::nullopt;
  return TableChange{gen->nfgen_family, *table, msg, nlh->nlmsg_pid, false};
}

Result<std::unique_ptr<NftMonitor>> NftMonitor::Open() {
  // Room for the notifications of a large batch; the agent's own 10k-element applies are
  // read and skipped, and an overflow only costs one extra drift check.
  auto group = NfnlGroup::Open(NFNLGRP_NFTABLES, "the nftables notification group", 4 * 1024 * 1024);
  if (!group.ok()) return group.status();
  return std::unique_ptr<NftMonitor>(new NftMonitor(std::move(*group)));
}

Result<std::vector<TableChange>> NftMonitor::Poll(std::chrono::milliseconds timeout) {
  std::vector<TableChange> out;
  bool overrun = false;
  Status st = group_->Poll(
      timeout,
      [&](const struct nlmsghdr* nlh) {
        if (auto c = ParseNotification(nlh)) out.push_back(std::move(*c));
      },
      overrun);
  if (!st.ok()) return st;
  if (overrun) out.push_back(TableChange{0, "", 0, 0, true});
  return out;
}

}  // namespace ipo::nft
