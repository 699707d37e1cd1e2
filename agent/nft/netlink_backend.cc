#include "nft/netlink_backend.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <set>
#include <tuple>

#include <libnftnl/common.h>

#include "nft/element_codec.h"
#include "nft/expr_encoder.h"
#include "nft/netlink_batch.h"
#include "nft/nftnl_handles.h"
#include "nft/rule_content.h"

namespace ipo::nft {
namespace {

// Keeps each element message's nested list well under its 16-bit attribute length.
constexpr size_t kMaxElementBytesPerMessage = size_t{32} * 1024;
constexpr size_t kElementsNamedInDescription = 3;
constexpr size_t kRuleTextInDescription = 60;
// How much of a changed rule's kernel expressions its read-back comment carries (for the log).
constexpr size_t kContentInComment = 240;

uint16_t Nfproto(Family f) { return static_cast<uint16_t>(f); }

std::string TableName(Family f, const std::string& name) {
  return std::string(FamilyName(f)) + " " + name;
}

uint32_t HookNum(Hook h) {
  switch (h) {
    case Hook::kPrerouting: return NF_INET_PRE_ROUTING;
    case Hook::kInput: return NF_INET_LOCAL_IN;
    case Hook::kForward: return NF_INET_FORWARD;
    case Hook::kOutput: return NF_INET_LOCAL_OUT;
    case Hook::kPostrouting: return NF_INET_POST_ROUTING;
  }
  return NF_INET_FORWARD;
}

std::optional<Hook> HookFromNum(uint32_t n) {
  switch (n) {
    case NF_INET_PRE_ROUTING: return Hook::kPrerouting;
    case NF_INET_LOCAL_IN: return Hook::kInput;
    case NF_INET_FORWARD: return Hook::kForward;
    case NF_INET_LOCAL_OUT: return Hook::kOutput;
    case NF_INET_POST_ROUTING: return Hook::kPostrouting;
    default: return std::nullopt;
  }
}

// nft's enum byteorder for a set's key or data: the type's own for a single type
// (BYTEORDER_HOST_ENDIAN 1 for inet_proto and ifname, BYTEORDER_BIG_ENDIAN 2 otherwise),
// BYTEORDER_INVALID 0 for a concatenation.
uint32_t NftByteOrder(const std::vector<Type>& types) {
  if (types.size() != 1) return 0;
  return types[0] == Type::kInetProto || types[0] == Type::kIfName ? 1 : 2;
}

// ---- batch building --------------------------------------------------------------------

void AddTableMessage(NetlinkBatch& b, uint16_t msg, Family f, const std::string& name,
                     const char* verb, uint32_t table_flags = 0) {
  TablePtr t(nftnl_table_alloc());
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, Nfproto(f));
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, name.c_str());
  if (msg == NFT_MSG_NEWTABLE) nftnl_table_set_u32(t.get(), NFTNL_TABLE_FLAGS, table_flags);
  uint16_t flags = msg == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0;
  b.Add(msg, Nfproto(f), flags, std::string(verb) + " table " + TableName(f, name),
        [&t](struct nlmsghdr* nlh) { nftnl_table_nlmsg_build_payload(nlh, t.get()); });
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

// ---- reading ---------------------------------------------------------------------------

std::string UdataString(const void* data, uint32_t len, uint8_t type) {
  struct Found {
    uint8_t type;
    std::string value;
  } found{type, {}};
  nftnl_udata_parse(
      data, len,
      [](const struct nftnl_udata* attr, void* arg) -> int {
        auto* f = static_cast<Found*>(arg);
        if (nftnl_udata_type(attr) == f->type && nftnl_udata_len(attr) > 0) {
          const char* s = static_cast<const char*>(nftnl_udata_get(attr));
          f->value.assign(s, strnlen(s, nftnl_udata_len(attr)));
        }
        return MNL_CB_OK;
      },
      &found);
  return found.value;
}

// A set's definition (no elements) from a parsed NFT_MSG_NEWSET.
Result<Set> ParseSetDefinition(const nftnl_set* s) {
  Set set;
  set.name = nftnl_set_get_str(s, NFTNL_SET_NAME);
  uint32_t flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
  set.interval = (flags & NFT_SET_INTERVAL) != 0;
  auto key = SplitConcatTypeId(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE),
                               nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN));
  if (!key.ok()) return key.status().WithContext("set " + set.name + " key");
  set.key = std::move(*key);
  if ((flags & NFT_SET_MAP) != 0) {
    auto data = SplitConcatTypeId(nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE),
                                  nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN));
    if (!data.ok()) return data.status().WithContext("map " + set.name + " data");
    set.data = std::move(*data);
  }
  if (nftnl_set_is_set(s, NFTNL_SET_USERDATA)) {
    uint32_t len = 0;
    const void* ud = nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len);
    set.comment = UdataString(ud, len, NFTNL_UDATA_SET_COMMENT);
  }
  return set;
}

}  // namespace

NetlinkBackend::NetlinkBackend(std::unique_ptr<MnlSocket> sock, bool claim)
    : sock_(std::move(sock)), seq_(static_cast<uint32_t>(time(nullptr))), claim_(claim) {}

Result<std::unique_ptr<NetlinkBackend>> NetlinkBackend::Create(bool claim_tables) {
  auto sock = MnlSocket::Open();
  if (!sock.ok()) return sock.status();
  return std::unique_ptr<NetlinkBackend>(new NetlinkBackend(std::move(*sock), claim_tables));
}

bool NetlinkBackend::KernelCanClaim() {
  struct utsname u{};
  if (uname(&u) != 0) return false;
  int major = 0, minor = 0;
  if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
  return major > 6 || (major == 6 && minor >= 9);
}

Result<std::map<std::pair<uint16_t, std::string>, NetlinkBackend::TableInfo>> NetlinkBackend::ListTables() {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  struct nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETTABLE, NFPROTO_UNSPEC, NLM_F_DUMP, NextSeq());
  std::map<std::pair<uint16_t, std::string>, TableInfo> out;
  IPO_RETURN_IF_ERROR(sock_->Request(nlh, true, [&](const struct nlmsghdr* m) {
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

Status NetlinkBackend::ReplaceTables(const Ruleset& desired, bool check_only) {
  Status st = ReplaceTablesOnce(desired, check_only);
  // A table that appeared or vanished between the listing and the batch: list again.
  if (st.code() == Status::Code::kNotFound || st.message().find("File exists") != std::string::npos)
    st = ReplaceTablesOnce(desired, check_only);
  return st;
}

Status NetlinkBackend::ReplaceTablesOnce(const Ruleset& given, bool check_only) {
  auto existing = ListTables();
  if (!existing.ok()) return existing.status();
  const uint32_t new_flags = claim_ ? kTableFlagOwner | kTableFlagPersist : 0;
  Ruleset renamed;  // check_only copies of tables another socket owns
  const Ruleset* desired = &given;
  NetlinkBatch b(seq_);
  // Tables and how they are (re)created: delete the current one (whatever its flags; a
  // table this socket owns, an orphaned persistent one or an unowned one), then add it.
  for (const Table& t : given.tables) {
    auto it = existing->find({Nfproto(t.family), t.name});
    if (it == existing->end()) continue;
    const TableInfo& info = it->second;
    bool foreign_owner = (info.flags & kTableFlagOwner) && info.owner && *info.owner != sock_->portid();
    if (foreign_owner && !check_only) {
      return Status::Permission("table " + TableName(t.family, t.name) + " is owned by netlink port " +
                                std::to_string(*info.owner) + " (another ipo-netd?); it cannot be replaced");
    }
    if (foreign_owner) {  // validate a renamed copy instead; never committed
      if (desired == &given) renamed = given;
      desired = &renamed;
      for (Table& r : renamed.tables)
        if (r.family == t.family && r.name == t.name) r.name += "_check";
      continue;
    }
    if ((info.flags & kTableFlagPersist) && !(info.flags & kTableFlagOwner) && claim_) {
      // An orphaned persistent table (the previous agent died): claim it, then replace it.
      AddTableMessage(b, NFT_MSG_NEWTABLE, t.family, t.name, "claim", new_flags);
    }
    AddTableMessage(b, NFT_MSG_DELTABLE, t.family, t.name, "delete");
  }
  uint32_t set_id = 1;
  for (const Table& t : desired->tables) {
    AddTableMessage(b, NFT_MSG_NEWTABLE, t.family, t.name, "add", new_flags);
    EncodeContext ctx{&t, {}};
    for (const Set& s : t.sets) {
      ctx.set_ids[s.name] = set_id;
      IPO_RETURN_IF_ERROR(AddSetMessages(b, t, s, set_id++));
    }
    for (const Chain& c : t.chains) AddChainMessage(b, t, c);
    for (const Chain& c : t.chains) {
      for (size_t i = 0; i < c.rules.size(); ++i) {
        IPO_RETURN_IF_ERROR(AddRuleMessage(b, t, c, i, c.rules[i], ctx));
      }
    }
  }
  seq_ = b.next_seq();
  IPO_RETURN_IF_ERROR(b.Send(*sock_, check_only));
  if (!check_only) {
    ExpectContent(given);
    for (const Table& t : given.tables) {
      ForgetTable(t.family, t.name);
      for (const Set& s : t.sets) {
        Set def = s;
        def.elements.clear();
        set_defs_.emplace(SetKey{t.family, t.name, s.name}, std::move(def));
      }
    }
  }
  return Status::Ok();
}

void NetlinkBackend::ExpectContent(const Ruleset& rs) {
  content_by_tag_.clear();
  for (const Table& t : rs.tables)
    for (const Chain& c : t.chains)
      for (const Rule& r : c.rules)
        if (auto content = ExpectedRuleContent(t, r); content.ok()) content_by_tag_[r.Tag()] = *content;
}

Result<const Set*> NetlinkBackend::SetDefinition(Family family, const std::string& table,
                                                 const std::string& set) {
  SetKey key{family, table, set};
  if (auto it = set_defs_.find(key); it != set_defs_.end()) return &it->second;
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  SetPtr req(nftnl_set_alloc());
  nftnl_set_set_str(req.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(req.get(), NFTNL_SET_NAME, set.c_str());
  struct nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETSET, Nfproto(family), 0, NextSeq());
  nftnl_set_nlmsg_build_payload(nlh, req.get());
  std::optional<Result<Set>> parsed;
  Status st = sock_->Request(nlh, false, [&](const struct nlmsghdr* m) {
    SetPtr s(nftnl_set_alloc());
    if (nftnl_set_nlmsg_parse(m, s.get()) < 0) return MNL_CB_ERROR;
    parsed.emplace(ParseSetDefinition(s.get()));
    return MNL_CB_OK;
  });
  std::string where = "set " + TableName(family, table) + " " + set;
  if (st.code() == Status::Code::kNotFound) {
    return Status::NotFound(where + " does not exist in the kernel");
  }
  IPO_RETURN_IF_ERROR(st.WithContext("get " + where));
  if (!parsed) return Status::Internal("get " + where + ": no answer");
  if (!parsed->ok()) return parsed->status().WithContext(where);
  return &set_defs_.insert_or_assign(key, std::move(parsed->value())).first->second;
}

void NetlinkBackend::ForgetTable(Family family, const std::string& table) {
  std::erase_if(set_defs_, [&](const auto& kv) {
    return std::get<0>(kv.first) == family && std::get<1>(kv.first) == table;
  });
}

Status NetlinkBackend::UpdateElements(const std::vector<ElementChange>& changes) {
  NetlinkBatch b(seq_);
  size_t i = 0;
  // Runs of changes to the same set in the same direction share messages.
  while (i < changes.size()) {
    const ElementChange& c = changes[i];
    auto set = SetDefinition(c.family, c.table, c.set);
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
  if (b.message_count() == 0) return Status::Ok();
  seq_ = b.next_seq();
  Status st = b.Send(*sock_, false);
  // ENOENT for a whole set means the cached definition is stale: forget it for next time.
  if (!st.ok()) set_defs_.clear();
  return st;
}

Status NetlinkBackend::DeleteTables(const std::vector<TableRef>& tables) {
  if (tables.empty()) return Status::Ok();
  auto existing = ListTables();
  if (!existing.ok()) return existing.status();
  NetlinkBatch b(seq_);
  for (const TableRef& t : tables) {
    ForgetTable(t.family, t.name);
    if (existing->count({Nfproto(t.family), t.name}) == 0) continue;  // absent: nothing to do
    AddTableMessage(b, NFT_MSG_DELTABLE, t.family, t.name, "delete");
  }
  if (b.message_count() == 0) return Status::Ok();
  seq_ = b.next_seq();
  return b.Send(*sock_, false);
}

Result<uint32_t> NetlinkBackend::Generation() {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  struct nlmsghdr* nlh =
      nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETGEN, NFPROTO_UNSPEC, 0, NextSeq());
  std::optional<uint32_t> id;
  IPO_RETURN_IF_ERROR(sock_->Request(nlh, false, [&](const struct nlmsghdr* m) {
    GenPtr g(nftnl_gen_alloc());
    if (nftnl_gen_nlmsg_parse(m, g.get()) < 0) return MNL_CB_ERROR;
    id = nftnl_gen_get_u32(g.get(), NFTNL_GEN_ID);
    return MNL_CB_OK;
  }).WithContext("get ruleset generation"));
  if (!id) return Status::Internal("get ruleset generation: no answer");
  return *id;
}

Result<Ruleset> NetlinkBackend::ReadTables(const std::vector<TableRef>& refs) {
  // Several dumps make one snapshot only if no batch was committed in between: retry if the
  // generation moved.
  constexpr int kAttempts = 5;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto before = Generation();
    if (!before.ok()) return before.status();
    auto rs = ReadTablesOnce(refs);
    if (!rs.ok()) return rs;
    auto after = Generation();
    if (!after.ok()) return after.status();
    if (*before == *after) return rs;
  }
  return Status::Unavailable("the ruleset kept changing while it was read (" +
                             std::to_string(kAttempts) + " attempts)");
}

Result<Ruleset> NetlinkBackend::ReadTablesOnce(const std::vector<TableRef>& refs) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  auto header = [&](uint16_t type, uint16_t family, uint16_t flags) {
    return nftnl_nlmsg_build_hdr(buf.data(), type, family, flags, NextSeq());
  };

  // Which of the tables exist.
  auto present = ListTables();
  if (!present.ok()) return present.status();

  Ruleset out;
  for (const TableRef& ref : refs) {
    if (present->count({Nfproto(ref.family), ref.name}) == 0) continue;
    const std::string where = "table " + TableName(ref.family, ref.name);
    Table table;
    table.family = ref.family;
    table.name = ref.name;

    // Sets and maps.
    Status parse_error;
    {
      SetPtr filter(nftnl_set_alloc());
      nftnl_set_set_str(filter.get(), NFTNL_SET_TABLE, ref.name.c_str());
      struct nlmsghdr* nlh = header(NFT_MSG_GETSET, Nfproto(ref.family), NLM_F_DUMP);
      nftnl_set_nlmsg_build_payload(nlh, filter.get());
      Status st = sock_->Request(nlh, true, [&](const struct nlmsghdr* m) {
        SetPtr s(nftnl_set_alloc());
        if (nftnl_set_nlmsg_parse(m, s.get()) < 0) return MNL_CB_ERROR;
        if (ref.name != nftnl_set_get_str(s.get(), NFTNL_SET_TABLE)) return MNL_CB_OK;
        auto set = ParseSetDefinition(s.get());
        if (!set.ok()) {
          parse_error = set.status();
          return MNL_CB_ERROR;
        }
        table.sets.push_back(std::move(*set));
        return MNL_CB_OK;
      });
      if (!parse_error.ok()) return parse_error.WithContext(where);
      IPO_RETURN_IF_ERROR(st.WithContext("list sets of " + where));
    }
    for (Set& set : table.sets) {
      SetPtr s(nftnl_set_alloc());
      nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, ref.name.c_str());
      nftnl_set_set_str(s.get(), NFTNL_SET_NAME, set.name.c_str());
      struct nlmsghdr* nlh = header(NFT_MSG_GETSETELEM, Nfproto(ref.family), NLM_F_DUMP);
      nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
      std::vector<RawElement> raw;
      Status st = sock_->Request(nlh, true, [&](const struct nlmsghdr* m) {
        SetPtr part(nftnl_set_alloc());
        if (nftnl_set_elems_nlmsg_parse(m, part.get()) < 0) return MNL_CB_ERROR;
        nftnl_set_elem_foreach(
            part.get(),
            [](struct nftnl_set_elem* e, void* arg) -> int {
              RawElement r;
              uint32_t len = 0;
              if (const auto* k = static_cast<const uint8_t*>(
                      nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len))) {
                r.key.assign(k, k + len);
              }
              if (const auto* d = static_cast<const uint8_t*>(
                      nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len))) {
                r.data.assign(d, d + len);
              }
              if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS)) {
                r.interval_end =
                    (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END) != 0;
              }
              static_cast<std::vector<RawElement>*>(arg)->push_back(std::move(r));
              return 0;
            },
            &raw);
        return MNL_CB_OK;
      });
      IPO_RETURN_IF_ERROR(st.WithContext("list elements of set " + set.name + " in " + where));
      auto elems = DecodeElements(set, std::move(raw));
      if (!elems.ok()) return elems.status().WithContext(where);
      set.elements = std::move(*elems);
    }

    // Chains, in the kernel's (creation) order.
    {
      struct nlmsghdr* nlh = header(NFT_MSG_GETCHAIN, Nfproto(ref.family), NLM_F_DUMP);
      Status st = sock_->Request(nlh, true, [&](const struct nlmsghdr* m) {
        ChainPtr c(nftnl_chain_alloc());
        if (nftnl_chain_nlmsg_parse(m, c.get()) < 0) return MNL_CB_ERROR;
        if (ref.name != nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE)) return MNL_CB_OK;
        Chain chain;
        chain.name = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME);
        if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM)) {
          BaseChainSpec spec;
          auto hook = HookFromNum(nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_HOOKNUM));
          if (!hook) {
            parse_error = Status::InvalidArgument("chain " + chain.name + " has an unknown hook");
            return MNL_CB_ERROR;
          }
          spec.hook = *hook;
          spec.priority = nftnl_chain_get_s32(c.get(), NFTNL_CHAIN_PRIO);
          const char* type = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TYPE);
          spec.type = type != nullptr && std::string(type) == "nat" ? ChainType::kNat
                                                                    : ChainType::kFilter;
          spec.policy_drop = nftnl_chain_is_set(c.get(), NFTNL_CHAIN_POLICY) &&
                             nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY) == NF_DROP;
          chain.base = spec;
        }
        table.chains.push_back(std::move(chain));
        return MNL_CB_OK;
      });
      if (!parse_error.ok()) return parse_error.WithContext(where);
      IPO_RETURN_IF_ERROR(st.WithContext("list chains of " + where));
    }

    // Rules: only their comments.
    {
      RulePtr filter(nftnl_rule_alloc());
      nftnl_rule_set_str(filter.get(), NFTNL_RULE_TABLE, ref.name.c_str());
      struct nlmsghdr* nlh = header(NFT_MSG_GETRULE, Nfproto(ref.family), NLM_F_DUMP);
      nftnl_rule_nlmsg_build_payload(nlh, filter.get());
      Status st = sock_->Request(nlh, true, [&](const struct nlmsghdr* m) {
        RulePtr r(nftnl_rule_alloc());
        if (nftnl_rule_nlmsg_parse(m, r.get()) < 0) return MNL_CB_ERROR;
        if (ref.name != nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE)) return MNL_CB_OK;
        std::string chain_name = nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN);
        auto it = std::find_if(table.chains.begin(), table.chains.end(),
                               [&](const Chain& c) { return c.name == chain_name; });
        if (it == table.chains.end()) return MNL_CB_OK;  // chain added after the chain dump
        Rule rule;
        if (nftnl_rule_is_set(r.get(), NFTNL_RULE_USERDATA)) {
          uint32_t len = 0;
          const void* ud = nftnl_rule_get_data(r.get(), NFTNL_RULE_USERDATA, &len);
          rule.comment = UdataString(ud, len, NFTNL_UDATA_RULE_COMMENT);
        }
        // The comment says which rule this claims to be; its expressions say what it does.
        if (auto want = content_by_tag_.find(rule.comment); want != content_by_tag_.end()) {
          std::string got = RuleContent(r.get());
          if (got != want->second) {
            if (got.size() > kContentInComment) got = got.substr(0, kContentInComment) + "…";
            rule.comment += " [content differs: " + got + "]";
          }
        }
        it->rules.push_back(std::move(rule));
        return MNL_CB_OK;
      });
      IPO_RETURN_IF_ERROR(st.WithContext("list rules of " + where));
    }
    out.tables.push_back(std::move(table));
  }
  return out;
}

}  // namespace ipo::nft
