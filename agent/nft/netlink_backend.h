// NetlinkBackend: the real NftBackend. Encodes a Ruleset into one nfnetlink batch with
// libnftnl and sends it over a libmnl socket; reads tables back with netlink dumps. No `nft`
// process is involved. It composes the pieces, one per direction: ruleset_writer.h builds the
// batches, ruleset_reader.h reads tables and set definitions back, table_ownership.h decides
// what may be done with a table that already exists.
//
// Each batch message carries NLM_F_ACK and is recorded with a description of its object, so
// an error reads `kernel rejected "add rule inet ipo_netd filter-forward #3 (drop …)": No such
// file or directory (errno 2)`; the kernel's extended-ACK text is appended when it sends one.
// Rules carry their Rule::Tag() as the nft comment (user data NFTNL_UDATA_RULE_COMMENT), so
// `nft list ruleset` shows `comment "<tag>"` and ReadTables returns it as Rule::comment.
//
// Thread safety: not thread-safe; one owner.
// REQUIRES: CAP_NET_ADMIN in the current network namespace (to change anything).
#pragma once

#include <memory>
#include <vector>

#include "nft/mnl_socket.h"
#include "nft/netlink_batch.h"
#include "nft/nft_backend.h"
#include "nft/ruleset_reader.h"

namespace ipo::nft {

class NetlinkBackend final : public NftBackend {
 public:
  // Opens the netlink socket. Error when netfilter netlink is not available.
  // With claim_tables, every table it creates carries the owner and persist flags
  // (kernel >= 6.9): only this socket may change them, `nft flush ruleset` skips them, and
  // when the socket closes (the agent stops or dies) they stay in force, orphaned, until the
  // next agent claims them again. Without it, tables are created plain (and an orphaned
  // persistent one is replaced by a plain one).
  static Result<std::unique_ptr<NetlinkBackend>> Create(bool claim_tables = false);
  // True when the running kernel has NFT_TABLE_F_PERSIST (Linux 6.9), without which an
  // owned table would vanish with its owner: claiming is only safe with it.
  static bool KernelCanClaim();

  // The netlink port id of this backend's socket: the nlmsg_pid of the notifications its
  // batches cause (see nft/nft_monitor.h).
  uint32_t portid() const { return sock_->portid(); }
  bool claims_tables() const { return claim_; }

  Status ReplaceTables(const Ruleset& desired, bool check_only) override;
  Status UpdateElements(const std::vector<ElementChange>& changes) override;
  // A rule whose expressions differ from those this backend wrote (or was told to expect,
  // ExpectContent) under the same tag comes back with the comment
  // "<tag> [content differs: <the kernel's expressions>]", so drift.h sees it as changed.
  Result<Ruleset> ReadTables(const std::vector<TableRef>& tables) override;
  // Records what each rule of `rs` runs (nft/rule_content.h), for ReadTables to compare the
  // kernel's rules with. ReplaceTables does this itself for what it writes; a reader that
  // did not write (ipo-netctl status) calls it with the ruleset it expects.
  void ExpectContent(const Ruleset& rs) { reader_.ExpectContent(rs); }
  Status DeleteTables(const std::vector<TableRef>& tables) override;

 private:
  NetlinkBackend(std::unique_ptr<MnlSocket> sock, bool claim);
  Status ReplaceTablesOnce(const Ruleset& desired, bool check_only);
  // Sends `b`; the socket's next request is numbered after it.
  Status Send(NetlinkBatch& b, bool check_only);

  std::unique_ptr<MnlSocket> sock_;
  SetDefinitions set_defs_;
  RulesetReader reader_;
  bool claim_;
};

}  // namespace ipo::nft
