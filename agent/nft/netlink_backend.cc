#include "nft/netlink_backend.h"

#include <linux/netfilter/nf_tables.h>

#include "nft/netlink_ids.h"
#include "nft/ruleset_writer.h"
#include "nft/table_ownership.h"

namespace ipo::nft {

NetlinkBackend::NetlinkBackend(std::unique_ptr<MnlSocket> sock, bool claim)
    : sock_(std::move(sock)), reader_(*sock_), claim_(claim) {}

Result<std::unique_ptr<NetlinkBackend>> NetlinkBackend::Create(bool claim_tables) {
  auto sock = MnlSocket::Open();
  if (!sock.ok()) return sock.status();
  return std::unique_ptr<NetlinkBackend>(new NetlinkBackend(std::move(*sock), claim_tables));
}

bool NetlinkBackend::KernelCanClaim() { return nft::KernelCanClaim(); }

Status NetlinkBackend::Send(NetlinkBatch& b, bool check_only) {
  sock_->set_seq(b.next_seq());
  return b.Send(*sock_, check_only);
}

Status NetlinkBackend::ReplaceTables(const Ruleset& desired, bool check_only) {
  Status st = ReplaceTablesOnce(desired, check_only);
  // A table that appeared or vanished between the listing and the batch: list again.
  if (st.code() == Status::Code::kNotFound || st.message().find("File exists") != std::string::npos)
    st = ReplaceTablesOnce(desired, check_only);
  return st;
}

Status NetlinkBackend::ReplaceTablesOnce(const Ruleset& given, bool check_only) {
  auto existing = ListTables(*sock_);
  if (!existing.ok()) return existing.status();
  const uint32_t new_flags = NewTableFlags(claim_);
  Ruleset renamed;  // check_only copies of tables another socket owns
  const Ruleset* desired = &given;
  NetlinkBatch b(sock_->seq());
  // Tables and how they are (re)created: delete the current one (whatever its flags; a
  // table this socket owns, an orphaned persistent one or an unowned one), then add it.
  for (const Table& t : given.tables) {
    auto it = existing->find({Nfproto(t.family), t.name});
    if (it == existing->end()) continue;
    const TableInfo& info = it->second;
    bool foreign_owner = OwnedByOther(info, sock_->portid());
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
    if (Orphaned(info) && claim_) {
      // An orphaned persistent table (the previous agent died): claim it, then replace it.
      AddTableMessage(b, NFT_MSG_NEWTABLE, t.family, t.name, "claim", new_flags);
    }
    AddTableMessage(b, NFT_MSG_DELTABLE, t.family, t.name, "delete");
  }
  uint32_t set_id = 1;
  for (const Table& t : desired->tables) {
    AddTableMessage(b, NFT_MSG_NEWTABLE, t.family, t.name, "add", new_flags);
    IPO_RETURN_IF_ERROR(AddTableContents(b, t, set_id));
  }
  IPO_RETURN_IF_ERROR(Send(b, check_only));
  if (!check_only) {
    ExpectContent(given);
    for (const Table& t : given.tables) set_defs_.Remember(t);
  }
  return Status::Ok();
}

Status NetlinkBackend::UpdateElements(const std::vector<ElementChange>& changes) {
  NetlinkBatch b(sock_->seq());
  IPO_RETURN_IF_ERROR(AddElementChanges(b, changes, [&](const ElementChange& c) {
    return set_defs_.Get(*sock_, c.family, c.table, c.set);
  }));
  if (b.message_count() == 0) return Status::Ok();
  Status st = Send(b, false);
  // ENOENT for a whole set means the cached definition is stale: forget it for next time.
  if (!st.ok()) set_defs_.Clear();
  return st;
}

Result<Ruleset> NetlinkBackend::ReadTables(const std::vector<TableRef>& tables) {
  return reader_.Read(tables);
}

Status NetlinkBackend::DeleteTables(const std::vector<TableRef>& tables) {
  if (tables.empty()) return Status::Ok();
  auto existing = ListTables(*sock_);
  if (!existing.ok()) return existing.status();
  NetlinkBatch b(sock_->seq());
  for (const TableRef& t : tables) {
    set_defs_.ForgetTable(t.family, t.name);
    if (existing->count({Nfproto(t.family), t.name}) == 0) continue;  // absent: nothing to do
    AddTableMessage(b, NFT_MSG_DELTABLE, t.family, t.name, "delete");
  }
  if (b.message_count() == 0) return Status::Ok();
  return Send(b, false);
}

}  // namespace ipo::nft
