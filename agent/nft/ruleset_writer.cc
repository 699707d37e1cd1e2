#include "nft/ruleset_writer.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>

#include "nft/element_codec.h"
#include "nft/expr_encoder.h"
#include "nft/netlink_ids.h"
#include "nft/nftnl_handles.h"

namespace ipo::nft {
namespace {

// Keeps each element message's nested list well under its 16-bit attribute length.
constexpr size_t kMaxElementBytesPerMessage = size_t{32} * 1024;
constexpr size_t kElementsNamedInDescription = 3;
constexpr size_t kRuleTextInDescription = 60;

// nft's enum byteorder for a set's key or data: the type's own for a single type
// (BYTEORDER_HOST_ENDIAN 1 for inet_proto and ifname, BYTEORDER_BIG_ENDIAN 2 otherwise),
// BYTEORDER_INVALID 0 for a concatenation.
uint32_t NftByteOrder(const std::vector<Type>& types) {
  if (types.size() != 1) return 0;
  return types[0] == Type::kInetProto || types[0] == Type::kIfName ? 1 : 2;
}

std::string ElementsSummary(const std::vector<const Element*>& elems, size_t first, size_t total) {
  std::string s;
  for (size_t i = 0; i < elems.size() && i < kElementsNamedInDescription; ++i) {
    s += (i == 0 ? "" : ", ") + ElementToString(*elems[i]);
  }
  if (elems.size() > kElementsNamedInDescription) s += ", …";
  if (total > elems.size()) {
    s += " (elements " + std::to_string(first + 1) + "-" + std::to_string(first + elems.size()) +
         " of " + std::to_string(total) + ")";
  }
  return s;
}

// Adds (or deletes) `elems` of `set` in messages of bounded size. `leading_end` adds nft's
// all-zero interval end first (new interval sets only).
Status AddElementMessages(NetlinkBatch& b, Family f, const std::string& table, const Set& set,
                          std::optional<uint32_t> set_id,
                          const std::vector<const Element*>& elems, bool add, bool leading_end) {
  const std::string verb = add ? "add" : "delete";
  std::vector<RawElement> raw;
  std::vector<size_t> owner;  // raw[i] comes from elems[owner[i]]; SIZE_MAX for leading end
  if (leading_end) {
    raw.push_back(IntervalLeadingEnd(set));
    owner.push_back(SIZE_MAX);
  }
  for (size_t i = 0; i < elems.size(); ++i) {
    auto r = EncodeElement(set, *elems[i]);
    if (!r.ok()) return r.status().WithContext(verb + " element " + TableName(f, table));
    for (RawElement& x : *r) {
      raw.push_back(std::move(x));
      owner.push_back(i);
    }
  }
  size_t start = 0;
  while (start < raw.size()) {
    SetPtr s(nftnl_set_alloc());
    nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, Nfproto(f));
    nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
    nftnl_set_set_str(s.get(), NFTNL_SET_NAME, set.name.c_str());
    if (set_id) nftnl_set_set_u32(s.get(), NFTNL_SET_ID, *set_id);
    size_t bytes = 0;
    size_t end = start;
    // Never split the two boundaries of one range across messages.
    while (end < raw.size() && (bytes < kMaxElementBytesPerMessage ||
                                (end > start && owner[end] == owner[end - 1]))) {
      const RawElement& r = raw[end];
      SetElemPtr e(nftnl_set_elem_alloc());
      nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY, r.key.data(),
                         static_cast<uint32_t>(r.key.size()));
      if (!r.data.empty()) {
        nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_DATA, r.data.data(),
                           static_cast<uint32_t>(r.data.size()));
      }
      if (r.interval_end) nftnl_set_elem_set_u32(e.get(), NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
      nftnl_set_elem_add(s.get(), e.release());
      bytes += 32 + r.key.size() + r.data.size();
      ++end;
    }
    std::vector<const Element*> named;
    size_t first_owner = SIZE_MAX;
    for (size_t i = start; i < end; ++i) {
      if (owner[i] == SIZE_MAX || (!named.empty() && elems[owner[i]] == named.back())) continue;
      if (first_owner == SIZE_MAX) first_owner = owner[i];
      named.push_back(elems[owner[i]]);
    }
    std::string desc = verb + " element " + TableName(f, table) + " " + set.name + " { " +
                       ElementsSummary(named, first_owner == SIZE_MAX ? 0 : first_owner,
                                       elems.size()) + " }";
    uint16_t msg = add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM;
    b.Add(msg, Nfproto(f), add ? NLM_F_CREATE : 0, std::move(desc),
          [&s](struct nlmsghdr* nlh) { nftnl_set_elems_nlmsg_build_payload(nlh, s.get()); });
    start = end;
  }
  return Status::Ok();
}

Status AddSetMessages(NetlinkBatch& b, const Table& t, const Set& set, uint32_t set_id) {
  std::string where = "set " + TableName(t.family, t.name) + " " + set.name;
  if (set.key.empty()) return Status::InvalidArgument(where + " has no key type");
  if (set.interval && set.key.size() > 1) {
    return Status::InvalidArgument(where + ": flags interval is supported on single-type keys only");
  }
  SetPtr s(nftnl_set_alloc());
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, Nfproto(t.family));
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, t.name.c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, set.name.c_str());
  nftnl_set_set_u32(s.get(), NFTNL_SET_ID, set_id);
  uint32_t flags = 0;
  if (set.interval) flags |= NFT_SET_INTERVAL;
  if (set.is_map()) flags |= NFT_SET_MAP;
  nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, flags);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, ConcatTypeId(set.key));
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, ConcatLen(set.key));
  if (set.is_map()) {
    nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_TYPE, ConcatTypeId(set.data));
    nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_LEN, ConcatLen(set.data));
  }
  // User data as nft writes it: the byte order nft must assume to print keys and data
  // (without it, nft prints ifname keys byte-swapped), and the comment.
  UdataPtr ud(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
  bool fits = nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_KEYBYTEORDER, NftByteOrder(set.key));
  if (set.is_map()) {
    fits = fits && nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_DATABYTEORDER, NftByteOrder(set.data));
  }
  if (!set.comment.empty()) {
    fits = fits && nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_SET_COMMENT, set.comment.c_str());
  }
  if (!fits) return Status::InvalidArgument(where + ": comment is too long");
  nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud.get()),
                     nftnl_udata_buf_len(ud.get()));
  b.Add(NFT_MSG_NEWSET, Nfproto(t.family), NLM_F_CREATE, "add " + where,
        [&s](struct nlmsghdr* nlh) { nftnl_set_nlmsg_build_payload(nlh, s.get()); });

  if (set.elements.empty()) return Status::Ok();
  std::vector<const Element*> elems;
  bool starts_at_zero = false;
  for (const Element& e : set.elements) {
    elems.push_back(&e);
    auto key = EncodeValues(set.key, e.key);
    if (key.ok() && std::all_of(key->begin(), key->end(), [](uint8_t x) { return x == 0; })) {
      starts_at_zero = true;
    }
  }
  return AddElementMessages(b, t.family, t.name, set, set_id, elems, true,
                            set.interval && !starts_at_zero);
}

void AddChainMessage(NetlinkBatch& b, const Table& t, const Chain& c) {
  ChainPtr ch(nftnl_chain_alloc());
  nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_FAMILY, Nfproto(t.family));
  nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TABLE, t.name.c_str());
  nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_NAME, c.name.c_str());
  if (c.base) {
    nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_HOOKNUM, HookNum(c.base->hook));
    nftnl_chain_set_s32(ch.get(), NFTNL_CHAIN_PRIO, c.base->priority);
    nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TYPE, ChainTypeName(c.base->type));
    nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_POLICY, c.base->policy_drop ? NF_DROP : NF_ACCEPT);
  }
  b.Add(NFT_MSG_NEWCHAIN, Nfproto(t.family), NLM_F_CREATE,
        "add chain " + TableName(t.family, t.name) + " " + c.name,
        [&ch](struct nlmsghdr* nlh) { nftnl_chain_nlmsg_build_payload(nlh, ch.get()); });
}

Status AddRuleMessage(NetlinkBatch& b, const Table& t, const Chain& c, size_t index,
                      const Rule& r, const EncodeContext& ctx) {
  std::string about = r.comment;
  if (about.empty()) {
    about = r.ExprsToString();
    if (about.size() > kRuleTextInDescription) about = about.substr(0, kRuleTextInDescription) + "…";
  }
  std::string desc = "add rule " + TableName(t.family, t.name) + " " + c.name + " #" +
                     std::to_string(index + 1) + " (" + about + ")";
  RulePtr rule(nftnl_rule_alloc());
  nftnl_rule_set_u32(rule.get(), NFTNL_RULE_FAMILY, Nfproto(t.family));
  nftnl_rule_set_str(rule.get(), NFTNL_RULE_TABLE, t.name.c_str());
  nftnl_rule_set_str(rule.get(), NFTNL_RULE_CHAIN, c.name.c_str());
  IPO_RETURN_IF_ERROR(EncodeRuleExprs(r, ctx, rule.get()).WithContext(desc));
  std::string tag = r.Tag();
  UdataPtr ud(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
  if (!nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_RULE_COMMENT, tag.c_str())) {
    return Status::InvalidArgument(desc + ": comment is too long");
  }
  nftnl_rule_set_data(rule.get(), NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud.get()),
                      nftnl_udata_buf_len(ud.get()));
  b.Add(NFT_MSG_NEWRULE, Nfproto(t.family), NLM_F_CREATE | NLM_F_APPEND, std::move(desc),
        [&rule](struct nlmsghdr* nlh) { nftnl_rule_nlmsg_build_payload(nlh, rule.get()); });
  return Status::Ok();
}

}  // namespace

void AddTableMessage(NetlinkBatch& b, uint16_t msg, Family f, const std::string& name,
                     const char* verb, uint32_t table_flags) {
  TablePtr t(nftnl_table_alloc());
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, Nfproto(f));
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, name.c_str());
  if (msg == NFT_MSG_NEWTABLE) nftnl_table_set_u32(t.get(), NFTNL_TABLE_FLAGS, table_flags);
  uint16_t flags = msg == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0;
  b.Add(msg, Nfproto(f), flags, std::string(verb) + " table " + TableName(f, name),
        [&t](struct nlmsghdr* nlh) { nftnl_table_nlmsg_build_payload(nlh, t.get()); });
}

Status AddTableContents(NetlinkBatch& b, const Table& t, uint32_t& next_set_id) {
  EncodeContext ctx{&t, {}};
  for (const Set& s : t.sets) {
    ctx.set_ids[s.name] = next_set_id;
    IPO_RETURN_IF_ERROR(AddSetMessages(b, t, s, next_set_id++));
  }
  for (const Chain& c : t.chains) AddChainMessage(b, t, c);
  for (const Chain& c : t.chains) {
    for (size_t i = 0; i < c.rules.size(); ++i) {
      IPO_RETURN_IF_ERROR(AddRuleMessage(b, t, c, i, c.rules[i], ctx));
    }
  }
  return Status::Ok();
}

Status AddElementChanges(
    NetlinkBatch& b, const std::vector<ElementChange>& changes,
    const std::function<Result<const Set*>(const ElementChange&)>& definition) {
  size_t i = 0;
  while (i < changes.size()) {
    const ElementChange& c = changes[i];
    auto set = definition(c);
    if (!set.ok()) return set.status();
    std::vector<const Element*> elems;
    size_t j = i;
    for (; j < changes.size() && changes[j].family == c.family && changes[j].table == c.table &&
           changes[j].set == c.set && changes[j].add == c.add;
         ++j) {
      elems.push_back(&changes[j].element);
    }
    IPO_RETURN_IF_ERROR(
        AddElementMessages(b, c.family, c.table, **set, std::nullopt, elems, c.add, false));
    i = j;
  }
  return Status::Ok();
}

}  // namespace ipo::nft
