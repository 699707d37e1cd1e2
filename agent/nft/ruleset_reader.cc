#include "nft/ruleset_reader.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include <libnftnl/common.h>

#include "nft/element_codec.h"
#include "nft/netlink_ids.h"
#include "nft/nftnl_handles.h"
#include "nft/rule_content.h"
#include "nft/table_ownership.h"

namespace ipo::nft {
namespace {

// How much of a changed rule's kernel expressions its read-back comment carries (for the log).
constexpr size_t kContentInComment = 240;
// Reads of a ruleset that keeps changing before Read gives up.
constexpr int kReadAttempts = 5;

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

// The libnftnl side of the three per-table object dumps: sets, chains and rules. Sets and
// rules are asked for by table (a filter object holding only the table name); the chain dump is
// not, so every dump is also filtered on reading.
template <typename Obj, typename Ptr>
struct TableDump {
  uint16_t msg;      // NFT_MSG_GET*
  const char* what;  // "sets", for errors
  uint16_t table_attr;
  Obj* (*alloc)();
  int (*parse)(const struct nlmsghdr*, Obj*);
  const char* (*get_str)(const Obj*, uint16_t);
  int (*set_str)(Obj*, uint16_t, const char*);  // null: no table filter in the request
  void (*build_payload)(struct nlmsghdr*, Obj*);
};

const TableDump<nftnl_set, SetPtr> kSetDump{
    NFT_MSG_GETSET, "sets", NFTNL_SET_TABLE, nftnl_set_alloc, nftnl_set_nlmsg_parse,
    nftnl_set_get_str, nftnl_set_set_str, nftnl_set_nlmsg_build_payload};
const TableDump<nftnl_chain, ChainPtr> kChainDump{
    NFT_MSG_GETCHAIN, "chains", NFTNL_CHAIN_TABLE, nftnl_chain_alloc, nftnl_chain_nlmsg_parse,
    nftnl_chain_get_str, nullptr, nullptr};
const TableDump<nftnl_rule, RulePtr> kRuleDump{
    NFT_MSG_GETRULE, "rules", NFTNL_RULE_TABLE, nftnl_rule_alloc, nftnl_rule_nlmsg_parse,
    nftnl_rule_get_str, nftnl_rule_set_str, nftnl_rule_nlmsg_build_payload};

// Dumps the objects of one kind and calls `on_object` with each one of table `ref`. An error
// from on_object stops the dump and comes back with the table named; a failed dump as
// "list <kind> of table <family> <name>: ...".
template <typename Obj, typename Ptr, typename OnObject>
Status DumpTableObjects(MnlSocket& sock, const TableDump<Obj, Ptr>& kind, const TableRef& ref,
                        OnObject on_object) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  struct nlmsghdr* nlh =
      nftnl_nlmsg_build_hdr(buf.data(), kind.msg, Nfproto(ref.family), NLM_F_DUMP, sock.NextSeq());
  if (kind.set_str != nullptr) {
    Ptr filter(kind.alloc());
    kind.set_str(filter.get(), kind.table_attr, ref.name.c_str());
    kind.build_payload(nlh, filter.get());
  }
  Status object_error;
  Status st = sock.Request(nlh, true, [&](const struct nlmsghdr* m) {
    Ptr o(kind.alloc());
    if (kind.parse(m, o.get()) < 0) return MNL_CB_ERROR;
    if (ref.name != kind.get_str(o.get(), kind.table_attr)) return MNL_CB_OK;
    object_error = on_object(o.get());
    return object_error.ok() ? MNL_CB_OK : MNL_CB_ERROR;
  });
  const std::string where = "table " + TableName(ref.family, ref.name);
  if (!object_error.ok()) return object_error.WithContext(where);
  return st.WithContext(std::string("list ") + kind.what + " of " + where);
}

// Appends the kernel elements of one NFT_MSG_NEWSETELEM to `raw`.
int CollectElement(struct nftnl_set_elem* e, void* raw) {
  RawElement r;
  uint32_t len = 0;
  if (const auto* k = static_cast<const uint8_t*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len))) {
    r.key.assign(k, k + len);
  }
  if (const auto* d = static_cast<const uint8_t*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len))) {
    r.data.assign(d, d + len);
  }
  if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS)) {
    r.interval_end = (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END) != 0;
  }
  static_cast<std::vector<RawElement>*>(raw)->push_back(std::move(r));
  return 0;
}

}  // namespace

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

// ---- SetDefinitions --------------------------------------------------------------------

Result<const Set*> SetDefinitions::Get(MnlSocket& sock, Family family, const std::string& table,
                                       const std::string& set) {
  SetKey key{family, table, set};
  if (auto it = defs_.find(key); it != defs_.end()) return &it->second;
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  SetPtr req(nftnl_set_alloc());
  nftnl_set_set_str(req.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(req.get(), NFTNL_SET_NAME, set.c_str());
  struct nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETSET, Nfproto(family), 0, sock.NextSeq());
  nftnl_set_nlmsg_build_payload(nlh, req.get());
  std::optional<Result<Set>> parsed;
  Status st = sock.Request(nlh, false, [&](const struct nlmsghdr* m) {
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
  return &defs_.insert_or_assign(key, std::move(parsed->value())).first->second;
}

void SetDefinitions::Remember(const Table& t) {
  ForgetTable(t.family, t.name);
  for (const Set& s : t.sets) {
    Set def = s;
    def.elements.clear();
    defs_.emplace(SetKey{t.family, t.name, s.name}, std::move(def));
  }
}

void SetDefinitions::ForgetTable(Family family, const std::string& table) {
  std::erase_if(defs_, [&](const auto& kv) {
    return std::get<0>(kv.first) == family && std::get<1>(kv.first) == table;
  });
}

// ---- RulesetReader ---------------------------------------------------------------------

void RulesetReader::ExpectContent(const Ruleset& rs) {
  content_by_tag_.clear();
  for (const Table& t : rs.tables)
    for (const Chain& c : t.chains)
      for (const Rule& r : c.rules)
        if (auto content = ExpectedRuleContent(t, r); content.ok()) content_by_tag_[r.Tag()] = *content;
}

Result<uint32_t> RulesetReader::Generation() {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  struct nlmsghdr* nlh =
      nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETGEN, NFPROTO_UNSPEC, 0, sock_->NextSeq());
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

Result<Ruleset> RulesetReader::Read(const std::vector<TableRef>& refs) {
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    auto before = Generation();
    if (!before.ok()) return before.status();
    auto rs = ReadOnce(refs);
    if (!rs.ok()) return rs;
    auto after = Generation();
    if (!after.ok()) return after.status();
    if (*before == *after) return rs;
  }
  return Status::Unavailable("the ruleset kept changing while it was read (" +
                             std::to_string(kReadAttempts) + " attempts)");
}

Result<Ruleset> RulesetReader::ReadOnce(const std::vector<TableRef>& refs) {
  // Which of the tables exist.
  auto present = ListTables(*sock_);
  if (!present.ok()) return present.status();

  Ruleset out;
  for (const TableRef& ref : refs) {
    if (present->count({Nfproto(ref.family), ref.name}) == 0) continue;
    Table table;
    table.family = ref.family;
    table.name = ref.name;
    IPO_RETURN_IF_ERROR(ReadSets(ref, table));
    for (Set& set : table.sets) IPO_RETURN_IF_ERROR(ReadElements(ref, set));
    IPO_RETURN_IF_ERROR(ReadChains(ref, table));
    IPO_RETURN_IF_ERROR(ReadRules(ref, table));
    out.tables.push_back(std::move(table));
  }
  return out;
}

Status RulesetReader::ReadSets(const TableRef& ref, Table& table) {
  return DumpTableObjects(*sock_, kSetDump, ref, [&](const nftnl_set* s) -> Status {
    auto set = ParseSetDefinition(s);
    if (!set.ok()) return set.status();
    table.sets.push_back(std::move(*set));
    return Status::Ok();
  });
}

Status RulesetReader::ReadElements(const TableRef& ref, Set& set) {
  const std::string where = "table " + TableName(ref.family, ref.name);
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  SetPtr s(nftnl_set_alloc());
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, ref.name.c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, set.name.c_str());
  struct nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETSETELEM, Nfproto(ref.family),
                                               NLM_F_DUMP, sock_->NextSeq());
  nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
  std::vector<RawElement> raw;
  Status st = sock_->Request(nlh, true, [&](const struct nlmsghdr* m) {
    SetPtr part(nftnl_set_alloc());
    if (nftnl_set_elems_nlmsg_parse(m, part.get()) < 0) return MNL_CB_ERROR;
    nftnl_set_elem_foreach(part.get(), CollectElement, &raw);
    return MNL_CB_OK;
  });
  IPO_RETURN_IF_ERROR(st.WithContext("list elements of set " + set.name + " in " + where));
  auto elems = DecodeElements(set, std::move(raw));
  if (!elems.ok()) return elems.status().WithContext(where);
  set.elements = std::move(*elems);
  return Status::Ok();
}

Status RulesetReader::ReadChains(const TableRef& ref, Table& table) {
  return DumpTableObjects(*sock_, kChainDump, ref, [&](const nftnl_chain* c) -> Status {
    Chain chain;
    chain.name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
    if (nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM)) {
      BaseChainSpec spec;
      auto hook = HookFromNum(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM));
      if (!hook) return Status::InvalidArgument("chain " + chain.name + " has an unknown hook");
      spec.hook = *hook;
      spec.priority = nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO);
      const char* type = nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE);
      spec.type = type != nullptr && std::string(type) == "nat" ? ChainType::kNat : ChainType::kFilter;
      spec.policy_drop = nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY) &&
                         nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) == NF_DROP;
      chain.base = spec;
    }
    table.chains.push_back(std::move(chain));
    return Status::Ok();
  });
}

Status RulesetReader::ReadRules(const TableRef& ref, Table& table) {
  return DumpTableObjects(*sock_, kRuleDump, ref, [&](const nftnl_rule* r) -> Status {
    std::string chain_name = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
    auto it = std::find_if(table.chains.begin(), table.chains.end(),
                           [&](const Chain& c) { return c.name == chain_name; });
    if (it == table.chains.end()) return Status::Ok();  // chain added after the chain dump
    Rule rule;
    if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) {
      uint32_t len = 0;
      const void* ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
      rule.comment = UdataString(ud, len, NFTNL_UDATA_RULE_COMMENT);
    }
    // The comment says which rule this claims to be; its expressions say what it does.
    if (auto want = content_by_tag_.find(rule.comment); want != content_by_tag_.end()) {
      std::string got = RuleContent(r);
      if (got != want->second) {
        if (got.size() > kContentInComment) got = got.substr(0, kContentInComment) + "…";
        rule.comment += " [content differs: " + got + "]";
      }
    }
    rule.counts = RuleCounts(r);
    if (nftnl_rule_is_set(r, NFTNL_RULE_HANDLE)) rule.handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
    it->rules.push_back(std::move(rule));
    return Status::Ok();
  });
}

}  // namespace ipo::nft
