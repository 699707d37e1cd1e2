// RulesetReader: reads tables back from the kernel into a Ruleset with netlink dumps, and
// SetDefinitions: the definitions (no elements) of the sets an element update is for.
//
// Read returns, for each named table that exists (absent ones are left out, not an error):
// its sets with their definitions and elements (intervals joined into ranges again), its
// chains in the kernel's (creation) order with their base-chain spec, and its rules with only
// their comment. The comment is the Rule::Tag() the writer stored; a rule whose expressions
// differ from the ones expected under that tag (ExpectContent; nft/rule_content.h) comes back
// with "<tag> [content differs: <the kernel's expressions>]", so drift is found on what a rule
// does, not on its comment alone. Several dumps make one snapshot only if no batch was
// committed in between, so Read retries (a few times) while the ruleset generation moves.
//
// Thread safety: not thread-safe; one owner, sharing the socket with the backend that made it.
#pragma once

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <libnftnl/set.h>

#include "common/status.h"
#include "nft/mnl_socket.h"
#include "nft/nft_backend.h"
#include "ruleset/ruleset.h"

namespace ipo::nft {

// A set's definition (no elements) from a parsed NFT_MSG_NEWSET: name, key and data types,
// interval flag, comment. Error when a type id is unknown.
Result<Set> ParseSetDefinition(const nftnl_set* s);

// Set definitions this backend wrote or read, so an element update needs no round trip.
class SetDefinitions {
 public:
  // From the cache, else one NFT_MSG_GETSET (then cached). kNotFound when the kernel has no
  // such set: "set inet ipo_netd gone does not exist in the kernel".
  Result<const Set*> Get(MnlSocket& sock, Family family, const std::string& table,
                         const std::string& set);
  // Replaces what is cached for table `t` by its sets, as just written.
  void Remember(const Table& t);
  void ForgetTable(Family family, const std::string& table);
  void Clear() { defs_.clear(); }

 private:
  using SetKey = std::tuple<Family, std::string, std::string>;  // family, table, set
  std::map<SetKey, Set> defs_;
};

class RulesetReader {
 public:
  // `sock` must outlive the reader.
  explicit RulesetReader(MnlSocket& sock) : sock_(&sock) {}

  // Records what each rule of `rs` runs (nft/rule_content.h), replacing what was expected.
  void ExpectContent(const Ruleset& rs);

  // The named tables as the kernel holds them (see the top of this file).
  Result<Ruleset> Read(const std::vector<TableRef>& tables);

 private:
  // The ruleset generation id (NFT_MSG_GETGEN); it changes with every committed batch.
  Result<uint32_t> Generation();
  // One pass of Read, without the generation check.
  Result<Ruleset> ReadOnce(const std::vector<TableRef>& tables);
  Status ReadSets(const TableRef& ref, Table& table);
  Status ReadElements(const TableRef& ref, Set& set);
  Status ReadChains(const TableRef& ref, Table& table);
  Status ReadRules(const TableRef& ref, Table& table);

  MnlSocket* sock_;
  std::map<std::string, std::string> content_by_tag_;  // Rule::Tag() -> RuleContent
};

}  // namespace ipo::nft
