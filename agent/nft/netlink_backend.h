// NetlinkBackend: the real NftBackend. Encodes a Ruleset into one nfnetlink batch with
// libnftnl and sends it over a libmnl socket; reads tables back with netlink dumps. No `nft`
// process is involved.
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

#include <map>
#include <optional>
#include <memory>
#include <string>
#include <tuple>

#include "nft/mnl_socket.h"
#include "nft/nft_backend.h"

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
  void ExpectContent(const Ruleset& rs);
  Status DeleteTables(const std::vector<TableRef>& tables) override;

 private:
  using SetKey = std::tuple<Family, std::string, std::string>;  // family, table, set

  // NFT_TABLE_F_OWNER (Linux 5.12) and NFT_TABLE_F_PERSIST (Linux 6.9); older uapi headers
  // lack the latter.
  static constexpr uint32_t kTableFlagOwner = 0x2;
  static constexpr uint32_t kTableFlagPersist = 0x4;
  struct TableInfo {
    uint32_t flags = 0;
    std::optional<uint32_t> owner;  // netlink port id of the owning socket
  };

  NetlinkBackend(std::unique_ptr<MnlSocket> sock, bool claim);
  // Every table in the kernel (all families) with its flags and owner.
  Result<std::map<std::pair<uint16_t, std::string>, TableInfo>> ListTables();
  Status ReplaceTablesOnce(const Ruleset& desired, bool check_only);
  uint32_t NextSeq() { return seq_++; }
  // The definition (no elements) of a set, from the cache or one NFT_MSG_GETSET.
  Result<const Set*> SetDefinition(Family family, const std::string& table, const std::string& set);
  void ForgetTable(Family family, const std::string& table);
  // The ruleset generation id (NFT_MSG_GETGEN); it changes with every committed batch.
  Result<uint32_t> Generation();
  // One pass of ReadTables, without the generation check.
  Result<Ruleset> ReadTablesOnce(const std::vector<TableRef>& tables);

  std::unique_ptr<MnlSocket> sock_;
  uint32_t seq_;
  // Set definitions this backend wrote or read, so an element update needs no round trip.
  std::map<SetKey, Set> set_defs_;
  std::map<std::string, std::string> content_by_tag_;  // Rule::Tag() -> RuleContent
  bool claim_;
};

}  // namespace ipo::nft
