// ExprEncoder: turns ruleset.h expressions into libnftnl expressions the way nft 1.0.6 does
// (same registers, lengths and operators, so `nft --debug=netlink` shows identical bytecode).
//
//   Cmp           meta/payload load -> cmp eq|neq; an IfNamePrefix compares only its bytes
//                 (`oifname "br-*"`: 16-byte load, 3-byte cmp, no NUL)
//   PrefixMatch   payload load of the prefix's whole bytes [-> bitwise mask] -> cmp
//   Lookup        each field loaded into the next 4-byte-aligned register -> lookup [inv]
//   CtState       ct state -> bitwise & mask -> cmp neq 0;  CtStatusDnat likewise with 0x20
//   FibDaddrLocal fib daddr type -> cmp eq RTN_LOCAL
//   DnatMap       fields -> lookup map dreg 1 -> nat dnat addr reg 1, proto reg after address
//   Counter, Verdict (immediate), Masquerade, NftraceSet (immediate + meta set),
//   Limit (packets per second, burst), Log (nflog group and prefix)
//
// Implicit dependencies (meta nfproto before ip saddr in an inet table, meta l4proto before
// th dport, meta protocol before ip daddr in a bridge table) are not added here: the compiler emits them as Cmp.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <libnftnl/rule.h>

#include "common/status.h"
#include "ruleset/ruleset.h"

namespace ipo::nft {

struct EncodeContext {
  const Table* table = nullptr;             // for the sets lookups name
  std::map<std::string, uint32_t> set_ids;  // NFTA_SET_ID of sets created in the same batch
};

// The type a field's value has (Cmp values and set key components must match it).
Type FieldType(Field f);

// Appends the expressions of `rule` to `out`. Error (InvalidArgument) names the expression
// when it cannot be encoded: unknown set, field/set type mismatch, value of the wrong type.
Status EncodeRuleExprs(const Rule& rule, const EncodeContext& ctx, nftnl_rule* out);

}  // namespace ipo::nft
