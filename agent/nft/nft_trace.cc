#include "nft/nft_trace.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libnftnl/trace.h>

namespace ipo::nft {
namespace {

struct TraceDeleter {
  void operator()(nftnl_trace* t) const { nftnl_trace_free(t); }
};

std::string VerdictName(uint32_t v) {
  switch (static_cast<int32_t>(v)) {
    case NF_ACCEPT: return "accept";
    case NF_DROP: return "drop";
    case NFT_CONTINUE: return "continue";
    case NFT_BREAK: return "break";
    case NFT_JUMP: return "jump";
    case NFT_GOTO: return "goto";
    case NFT_RETURN: return "return";
    default: return "verdict " + std::to_string(v);
  }
}

}  // namespace

std::string TraceEvent::ToString() const {
  std::string out = NfprotoName(family) + " " + table + " " + chain + " " + type;
  if (type == "rule") out += " " + std::to_string(handle);
  if (!verdict.empty()) out += ": " + verdict + (jump_target.empty() ? "" : " " + jump_target);
  return out;
}

std::optional<TraceEvent> ParseTrace(const struct nlmsghdr* nlh) {
  if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES || NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_TRACE)
    return std::nullopt;
  std::unique_ptr<nftnl_trace, TraceDeleter> t(nftnl_trace_alloc());
  if (!t || nftnl_trace_nlmsg_parse(nlh, t.get()) < 0) return std::nullopt;
  TraceEvent e;
  auto str = [&](uint16_t attr) -> std::string {
    if (!nftnl_trace_is_set(t.get(), attr)) return "";
    const char* s = nftnl_trace_get_str(t.get(), attr);
    return s != nullptr ? s : "";
  };
  e.id = nftnl_trace_is_set(t.get(), NFTNL_TRACE_ID) ? nftnl_trace_get_u32(t.get(), NFTNL_TRACE_ID) : 0;
  e.family = nftnl_trace_is_set(t.get(), NFTNL_TRACE_FAMILY)
                 ? static_cast<uint8_t>(nftnl_trace_get_u32(t.get(), NFTNL_TRACE_FAMILY))
                 : 0;
  e.table = str(NFTNL_TRACE_TABLE);
  e.chain = str(NFTNL_TRACE_CHAIN);
  uint32_t type = nftnl_trace_is_set(t.get(), NFTNL_TRACE_TYPE) ? nftnl_trace_get_u32(t.get(), NFTNL_TRACE_TYPE) : 0;
  e.type = type == NFT_TRACETYPE_RULE ? "rule" : type == NFT_TRACETYPE_RETURN ? "return"
         : type == NFT_TRACETYPE_POLICY ? "policy" : "other";
  if (nftnl_trace_is_set(t.get(), NFTNL_TRACE_RULE_HANDLE)) e.handle = nftnl_trace_get_u64(t.get(), NFTNL_TRACE_RULE_HANDLE);
  if (nftnl_trace_is_set(t.get(), NFTNL_TRACE_VERDICT)) e.verdict = VerdictName(nftnl_trace_get_u32(t.get(), NFTNL_TRACE_VERDICT));
  if (nftnl_trace_is_set(t.get(), NFTNL_TRACE_POLICY)) e.verdict = VerdictName(nftnl_trace_get_u32(t.get(), NFTNL_TRACE_POLICY));
  e.jump_target = str(NFTNL_TRACE_JUMP_TARGET);
  return e;
}

Result<std::unique_ptr<NftTrace>> NftTrace::Open() {
  auto group = NfnlGroup::Open(NFNLGRP_NFTRACE, "the nftables trace group");
  if (!group.ok()) return group.status();
  return std::unique_ptr<NftTrace>(new NftTrace(std::move(*group)));
}

Result<std::vector<TraceEvent>> NftTrace::Poll(std::chrono::milliseconds timeout) {
  std::vector<TraceEvent> out;
  bool overrun = false;
  Status st = group_->Poll(
      timeout,
      [&](const struct nlmsghdr* nlh) {
        if (auto e = ParseTrace(nlh)) out.push_back(std::move(*e));
      },
      overrun);
  if (!st.ok()) return st;
  return out;
}

}  // namespace ipo::nft
