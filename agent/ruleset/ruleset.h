// Ruleset: an in-memory model of the nftables objects the agent owns (tables, chains, sets
// with their elements, rules), closed over exactly the expressions the agent uses.
//
// It is the contract between the pure compiler (compile/compiler.h builds one), the netlink
// writer (nft/netlink_backend.h encodes one into a batch, and reads the kernel's state back
// into one) and the tests: Ruleset::ToString() is an `nft -f` script, compared as golden text.
//
// Thread safety: plain values; no shared state.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ipo::nft {

// Table families the agent uses (values are NFPROTO_*).
enum class Family : uint8_t { kInet = 1, kIp = 2, kBridge = 7, kIp6 = 10 };
const char* FamilyName(Family f);  // "inet", "ip", "bridge", "ip6"

// ---- values -------------------------------------------------------------------------------
struct Ipv4 {  // address in host byte order
  uint32_t addr = 0;
  auto operator<=>(const Ipv4&) const = default;
};
struct Ipv6 {  // address in network byte order
  std::array<uint8_t, 16> addr{};
  auto operator<=>(const Ipv6&) const = default;
};
struct Proto {  // IPPROTO_* (6 tcp, 17 udp)
  uint8_t num = 0;
  auto operator<=>(const Proto&) const = default;
};
struct Port {  // host byte order
  uint16_t num = 0;
  auto operator<=>(const Port&) const = default;
};
struct IfName {  // up to 15 bytes; matched exactly (encoded NUL-padded to 16 bytes)
  std::string name;
  auto operator<=>(const IfName&) const = default;
};
// Every interface whose name starts with `prefix` (nft's `oifname "br-*"`): compared on the
// prefix's bytes alone, no NUL. Only in a Cmp on iifname/oifname, never a set element.
struct IfNamePrefix {
  std::string prefix;  // 1 to 15 bytes
  auto operator<=>(const IfNamePrefix&) const = default;
};
using Value = std::variant<Ipv4, Ipv6, Proto, Port, IfName, IfNamePrefix>;

std::string ValueToString(const Value& v);  // 192.168.1.1, fd00::1, tcp, 8080, "eth0", "br-*"
// Parses "a.b.c.d" / IPv6 text. nullopt when malformed.
std::optional<Ipv4> ParseIpv4(const std::string& s);
std::optional<Ipv6> ParseIpv6(const std::string& s);

// ---- sets ---------------------------------------------------------------------------------
// Key/data types of sets and maps; a vector of several is a concatenation (a . b . c).
enum class Type : uint8_t { kIpv4Addr, kIpv6Addr, kInetProto, kInetService, kIfName };
const char* TypeName(Type t);  // ipv4_addr, ipv6_addr, inet_proto, inet_service, ifname

// One element. For an interval set `key` is the first and `key_end` the last member
// (inclusive) of a range; a single address has key_end == nullopt. For a map, `data` is the
// value (same arity as the map's data types).
struct Element {
  std::vector<Value> key;
  std::optional<std::vector<Value>> key_end;
  std::vector<Value> data;
  auto operator<=>(const Element&) const = default;
};
std::string ElementToString(const Element& e);  // "192.168.1.1-192.168.1.30", "tcp . 80 : 1.2.3.4 . 80"

struct Set {
  std::string name;               // lower-case-hyphenated, e.g. "lan-allow-v4"
  std::vector<Type> key;          // one or more (concatenation)
  std::vector<Type> data;         // empty for a set, non-empty for a map
  bool interval = false;          // only for single-type keys (ranges and prefixes)
  std::vector<Element> elements;  // kept sorted by the compiler
  std::string comment;
  bool is_map() const { return !data.empty(); }
};

// ---- expressions --------------------------------------------------------------------------
// Packet fields a match or lookup can read.
enum class Field : uint8_t {
  kMetaNfproto,  // meta nfproto (value: Proto{2} ipv4 / Proto{10} ipv6)
  kMetaL4proto,  // meta l4proto            (Proto)
  kIifname,      // iifname                 (IfName)
  kOifname,      // oifname                 (IfName)
  kIpSaddr,      // ip saddr                (Ipv4)
  kIpDaddr,      // ip daddr                (Ipv4)
  kIp6Saddr,     // ip6 saddr               (Ipv6)
  kIp6Daddr,     // ip6 daddr               (Ipv6)
  kThDport,      // th dport: transport header offset 2, 2 bytes (Port)
  kMetaProtocol, // meta protocol: the frame's ethertype, 2 bytes network order (Port{0x0800}
                 // ipv4, Port{0x86dd} ipv6); in a bridge table before ip/ip6 fields
};
const char* FieldName(Field f);  // the nft text, e.g. "ip saddr", "th dport"

// <field> [!=] <value>              e.g. iifname "ipo-shared", meta l4proto tcp
struct Cmp {
  Field field;
  bool negate = false;
  Value value;
};
// <field> [!=] <addr>/<len>         e.g. ip saddr 172.30.1.0/24 (field is an address)
struct PrefixMatch {
  Field field;
  bool negate = false;
  Value addr;  // Ipv4 or Ipv6, host bits zero
  uint8_t len = 0;
};
// <f1> . <f2> ... [!=] @set         e.g. ip daddr . meta l4proto . th dport @published-v4
struct Lookup {
  std::vector<Field> fields;
  bool negate = false;
  std::string set;
};
// ct state { established, related } / ct state invalid: matches when (state & mask) != 0.
struct CtState {
  uint32_t mask = 0;  // bits below
  static constexpr uint32_t kInvalid = 1, kEstablished = 2, kRelated = 4, kNew = 8;
};
// ct status dnat: the connection was destination-NATed (IPS_DST_NAT, 1 << 5).
struct CtStatusDnat {};
// fib daddr type local: the destination address is one of this host's.
struct FibDaddrLocal {};
// counter: packets and bytes of every packet that reaches it (every agent rule has one;
// read back as Rule::counts).
struct Counter {};

enum class VerdictKind : uint8_t { kAccept, kDrop, kReturn, kJump };
struct Verdict {
  VerdictKind kind = VerdictKind::kAccept;
  std::string chain;  // kJump only
};
// dnat ip to <f1> . <f2> map @map    (family kIp or kIp6; the map's data is addr . port)
struct DnatMap {
  Family family = Family::kIp;
  std::vector<Field> fields;
  std::string map;
};
// masquerade
struct Masquerade {};
// meta nftrace set 1: the kernel reports this packet's way through every chain after it
// (NFNLGRP_NFTRACE; `ipo-netctl explain --trace` only, never in the agent's tables).
struct NftraceSet {};

// limit rate <per_second>/second burst <burst> packets: matches while the rule's token bucket
// (refilled at per_second, holding at most burst) has a token; caps what a log rule sends.
struct Limit {
  uint32_t per_second = 10;
  uint32_t burst = 20;
};
// log prefix "<prefix>" group <group>: hands a copy of the packet to nflog group `group`
// (nfnetlink_log) and lets evaluation go on. The prefix names the drop rule it logs for
// (at most kMaxLogPrefix bytes, no '"').
struct Log {
  static constexpr size_t kMaxLogPrefix = 127;
  std::string prefix;
  uint16_t group = 0;
};

using Expr = std::variant<Cmp, PrefixMatch, Lookup, CtState, CtStatusDnat, FibDaddrLocal, Counter,
                          Verdict, DnatMap, Masquerade, NftraceSet, Limit, Log>;
std::string ExprToString(const Expr& e);

// ---- rules, chains, tables ----------------------------------------------------------------
// Packets and bytes a rule's counter has seen, as the kernel dumped them.
struct Counts {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  auto operator<=>(const Counts&) const = default;
};

struct Rule {
  std::vector<Expr> exprs;  // in evaluation order: matches, then a counter, then at most one
                            // verdict or nat statement
  // Why the rule exists, e.g. "drop lan sources outside the allowlist". Stored in the kernel
  // as the rule's comment together with a hash of the rule text (see Rule::Tag()), which is
  // what drift detection compares; rules read back from the kernel carry only `comment`.
  std::string comment;
  // The counter's values: set only on rules read back from the kernel (NftBackend::
  // ReadTables), never part of a rule's identity (Tag, SameStructure, drift).
  std::optional<Counts> counts = std::nullopt;
  // The kernel's handle of a rule read back (0 otherwise): what trace events name a rule by.
  uint64_t handle = 0;
  // The policy entry a compiled rule was made from, as a JSON path into the policy
  // ("lan.subnets[0]", "networks[1]"); "" for the compiler's own rules. Not written to the
  // kernel and not part of a rule's identity (Tag, SameStructure, drift).
  std::string origin = std::string();
  // "<comment> #<8 hex digits of FNV-1a over the expressions' text>"
  std::string Tag() const;
  std::string ExprsToString() const;  // the expressions alone, space separated
};

enum class ChainType : uint8_t { kFilter, kNat };
enum class Hook : uint8_t { kPrerouting, kInput, kForward, kOutput, kPostrouting };
const char* ChainTypeName(ChainType t);  // "filter", "nat"
const char* HookName(Hook h);            // "prerouting", ...

struct BaseChainSpec {
  ChainType type = ChainType::kFilter;
  Hook hook = Hook::kForward;
  int32_t priority = 0;             // e.g. -100 dstnat, 0 filter, 100 srcnat
  bool policy_drop = false;         // the agent's base chains accept by default
};

struct Chain {
  std::string name;                    // base chains "<type>-<hook>", e.g. "filter-forward"
  std::optional<BaseChainSpec> base;   // nullopt for a regular chain (jump target)
  std::vector<Rule> rules;
};

struct Table {
  Family family = Family::kInet;
  std::string name;  // "ipo_netd"
  std::vector<Set> sets;
  std::vector<Chain> chains;  // regular chains before the base chains that jump to them
  const Set* FindSet(const std::string& set_name) const;
  Set* FindSet(const std::string& set_name);
};

// A table by family and name: what the agent owns (compile/compiler.h OwnedTables) and what
// the backend reads back or deletes (nft/nft_backend.h).
struct TableRef {
  Family family = Family::kInet;
  std::string name;
  auto operator<=>(const TableRef&) const = default;
};

struct Ruleset {
  std::vector<Table> tables;
  // An `nft -f` script that replaces every table atomically:
  //   table inet ipo_netd
  //   delete table inet ipo_netd
  //   table inet ipo_netd { ... }
  // Deterministic: equal rulesets give byte-identical text.
  std::string ToString() const;
  // The table bodies alone, as `nft list table` would group them (for humans and goldens).
  std::string TablesToString() const;
  const Table* FindTable(Family f, const std::string& name) const;
};

// ---- differences --------------------------------------------------------------------------
// A change of set/map elements only: what an event usually causes.
struct ElementChange {
  Family family = Family::kInet;
  std::string table;
  std::string set;
  bool add = true;  // false: delete
  Element element;
};

// True when `a` and `b` have identical tables, chains, set definitions and rules, so only
// elements (if anything) differ and an element-only batch can turn `a` into `b`.
bool SameStructure(const Ruleset& a, const Ruleset& b);
// The element adds and deletes that turn `from` into `to`.
// REQUIRES: SameStructure(from, to).
std::vector<ElementChange> DiffElements(const Ruleset& from, const Ruleset& to);

}  // namespace ipo::nft
