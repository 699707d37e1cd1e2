// DropIndex: which drop rule, and which policy entry, an nflog prefix names. The compiler puts
// a rate-limited log twin before every drop rule (compile/compiler.h: `... limit ... counter
// log prefix "ipo <family>/<chain>: <comment>" group <N>`); the index, built from the ruleset
// the agent applied, maps each twin's prefix to the drop rule right after it and to the policy
// entry that rule came from ("rules/policy.json:8 lan.subnets[0]").
//
// Thread safety: immutable after Build(); share it read-only (the agent swaps a shared_ptr).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "ruleset/ruleset.h"

namespace ipo::droplog {

struct DroppingRule {
  std::string family;  // "inet", "bridge"
  std::string table;   // "ipo_netd"
  std::string chain;   // "to-containers"
  std::string rule;    // the drop rule's comment
  std::string origin;  // the policy entry's JSON path ("lan.subnets[0]"), "" for the compiler's own
  std::string policy;  // "<file>:<line> <entry>", "" for the compiler's own rules
  uint16_t group = 0;  // the nflog group its log rule sends to
};

class DropIndex {
 public:
  DropIndex() = default;
  // `policy_file` and its text turn a rule's origin into "<file>:<line> <entry>" (line 1
  // when the text is empty or does not have the entry).
  static DropIndex Build(const nft::Ruleset& applied, const std::string& policy_file, std::string_view policy_text);

  // True when `applied` has exactly the log rules this index was built from (prefixes, their
  // drop rules, origins and group): a new generation that only changed set elements needs no
  // new index, nor a new read of the policy file.
  bool Describes(const nft::Ruleset& applied) const;

  // The drop rule a logged packet's prefix names; nullptr for a prefix no log rule has.
  const DroppingRule* Find(const std::string& prefix) const;
  // The nflog group of the log rules; nullopt when the ruleset logs nothing (drop_log off).
  std::optional<uint16_t> group() const { return group_; }
  size_t size() const { return by_prefix_.size(); }

 private:
  // The log rules of `applied` as Build indexes them, `policy` left empty.
  static DropIndex Walk(const nft::Ruleset& applied);

  std::map<std::string, DroppingRule, std::less<>> by_prefix_;
  std::optional<uint16_t> group_;
};

}  // namespace ipo::droplog
