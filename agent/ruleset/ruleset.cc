#include "ruleset/ruleset.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

namespace ipo::nft {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::string ProtoName(uint8_t num) {
  switch (num) {
    case 6: return "tcp";
    case 17: return "udp";
    case 132: return "sctp";
    case 1: return "icmp";
    case 58: return "icmpv6";
    default: return std::to_string(num);
  }
}

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// The items of a concatenation as nft writes them: "a . b . c".
template <typename T, typename Name>
std::string JoinConcat(const std::vector<T>& items, Name name) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += " . ";
    out += name(items[i]);
  }
  return out;
}

std::string JoinFields(const std::vector<Field>& fields) {
  return JoinConcat(fields, [](Field f) { return std::string(FieldName(f)); });
}
std::string JoinValues(const std::vector<Value>& values) { return JoinConcat(values, ValueToString); }
std::string JoinTypes(const std::vector<Type>& types) {
  return JoinConcat(types, [](Type t) { return std::string(TypeName(t)); });
}

// The text of a compared value: meta nfproto takes family names, not protocol names.
std::string CmpValueToString(Field field, const Value& v) {
  if (field == Field::kMetaNfproto) {
    if (const auto* p = std::get_if<Proto>(&v)) {
      if (p->num == 2) return "ipv4";
      if (p->num == 10) return "ipv6";
    }
  }
  if (field == Field::kMetaProtocol) {
    if (const auto* p = std::get_if<Port>(&v)) {
      if (p->num == 0x0800) return "ip";
      if (p->num == 0x86dd) return "ip6";
    }
  }
  return ValueToString(v);
}

uint32_t Fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

void AppendTable(std::ostringstream& out, const Table& t) {
  out << "table " << FamilyName(t.family) << " " << t.name << " {\n";
  for (const Set& s : t.sets) {
    out << "\t" << (s.is_map() ? "map " : "set ") << s.name << " {\n";
    out << "\t\ttype " << JoinTypes(s.key);
    if (s.is_map()) out << " : " << JoinTypes(s.data);
    out << "\n";
    if (s.interval) out << "\t\tflags interval\n";
    if (!s.comment.empty()) out << "\t\tcomment " << Quote(s.comment) << "\n";
    if (!s.elements.empty()) {
      out << "\t\telements = { ";
      for (size_t i = 0; i < s.elements.size(); ++i) {
        if (i) out << ",\n\t\t\t     ";
        out << ElementToString(s.elements[i]);
      }
      out << " }\n";
    }
    out << "\t}\n";
  }
  for (const Chain& c : t.chains) {
    out << "\tchain " << c.name << " {\n";
    if (c.base) {
      out << "\t\ttype " << ChainTypeName(c.base->type) << " hook " << HookName(c.base->hook)
          << " priority " << c.base->priority << "; policy "
          << (c.base->policy_drop ? "drop" : "accept") << ";\n";
    }
    for (const Rule& r : c.rules) {
      out << "\t\t" << r.ExprsToString();
      out << " comment " << Quote(r.Tag());  // the backend always writes the tag
      out << "\n";
    }
    out << "\t}\n";
  }
  out << "}\n";
}

}  // namespace

const char* FamilyName(Family f) {
  switch (f) {
    case Family::kInet: return "inet";
    case Family::kIp: return "ip";
    case Family::kIp6: return "ip6";
    case Family::kBridge: return "bridge";
  }
  return "?";
}

const char* TypeName(Type t) {
  switch (t) {
    case Type::kIpv4Addr: return "ipv4_addr";
    case Type::kIpv6Addr: return "ipv6_addr";
    case Type::kInetProto: return "inet_proto";
    case Type::kInetService: return "inet_service";
    case Type::kIfName: return "ifname";
  }
  return "?";
}

const char* FieldName(Field f) {
  switch (f) {
    case Field::kMetaNfproto: return "meta nfproto";
    case Field::kMetaL4proto: return "meta l4proto";
    case Field::kIifname: return "iifname";
    case Field::kOifname: return "oifname";
    case Field::kIpSaddr: return "ip saddr";
    case Field::kIpDaddr: return "ip daddr";
    case Field::kIp6Saddr: return "ip6 saddr";
    case Field::kIp6Daddr: return "ip6 daddr";
    case Field::kThDport: return "th dport";
    case Field::kMetaProtocol: return "meta protocol";
  }
  return "?";
}

const char* ChainTypeName(ChainType t) { return t == ChainType::kNat ? "nat" : "filter"; }

const char* HookName(Hook h) {
  switch (h) {
    case Hook::kPrerouting: return "prerouting";
    case Hook::kInput: return "input";
    case Hook::kForward: return "forward";
    case Hook::kOutput: return "output";
    case Hook::kPostrouting: return "postrouting";
  }
  return "?";
}

std::string ValueToString(const Value& v) {
  return std::visit(
      Overloaded{
          [](const Ipv4& a) {
            char buf[INET_ADDRSTRLEN];
            uint32_t n = htonl(a.addr);
            inet_ntop(AF_INET, &n, buf, sizeof buf);
            return std::string(buf);
          },
          [](const Ipv6& a) {
            char buf[INET6_ADDRSTRLEN];
            inet_ntop(AF_INET6, a.addr.data(), buf, sizeof buf);
            return std::string(buf);
          },
          [](const Proto& p) { return ProtoName(p.num); },
          [](const Port& p) { return std::to_string(p.num); },
          [](const IfName& n) { return Quote(n.name); },
          [](const IfNamePrefix& n) { return Quote(n.prefix + "*"); },
      },
      v);
}

std::optional<Ipv4> ParseIpv4(const std::string& s) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return Ipv4{ntohl(a.s_addr)};
}

std::optional<Ipv6> ParseIpv6(const std::string& s) {
  Ipv6 out;
  if (inet_pton(AF_INET6, s.c_str(), out.addr.data()) != 1) return std::nullopt;
  return out;
}

std::string ElementToString(const Element& e) {
  std::string out = JoinValues(e.key);
  if (e.key_end) out += "-" + JoinValues(*e.key_end);
  if (!e.data.empty()) out += " : " + JoinValues(e.data);
  return out;
}

std::string ExprToString(const Expr& e) {
  return std::visit(
      Overloaded{
          [](const Cmp& c) {
            return std::string(FieldName(c.field)) + (c.negate ? " != " : " ") +
                   CmpValueToString(c.field, c.value);
          },
          [](const PrefixMatch& p) {
            return std::string(FieldName(p.field)) + (p.negate ? " != " : " ") +
                   ValueToString(p.addr) + "/" + std::to_string(p.len);
          },
          [](const Lookup& l) {
            return JoinFields(l.fields) + (l.negate ? " != @" : " @") + l.set;
          },
          [](const CtState& s) {
            std::vector<std::string> names;
            if (s.mask & CtState::kInvalid) names.emplace_back("invalid");
            if (s.mask & CtState::kEstablished) names.emplace_back("established");
            if (s.mask & CtState::kRelated) names.emplace_back("related");
            if (s.mask & CtState::kNew) names.emplace_back("new");
            std::string out = "ct state ";
            for (size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + names[i];
            return out;
          },
          [](const CtStatusDnat&) { return std::string("ct status dnat"); },
          [](const FibDaddrLocal&) { return std::string("fib daddr type local"); },
          [](const Counter&) { return std::string("counter"); },
          [](const Verdict& v) {
            switch (v.kind) {
              case VerdictKind::kAccept: return std::string("accept");
              case VerdictKind::kDrop: return std::string("drop");
              case VerdictKind::kReturn: return std::string("return");
              case VerdictKind::kJump: return "jump " + v.chain;
            }
            return std::string("?");
          },
          [](const DnatMap& d) {
            return std::string("dnat ") + FamilyName(d.family) + " to " + JoinFields(d.fields) +
                   " map @" + d.map;
          },
          [](const Masquerade&) { return std::string("masquerade"); },
          [](const NftraceSet&) { return std::string("meta nftrace set 1"); },
          [](const Limit& l) {
            return "limit rate " + std::to_string(l.per_second) + "/second burst " + std::to_string(l.burst) +
                   " packets";
          },
          [](const Log& l) { return "log prefix \"" + l.prefix + "\" group " + std::to_string(l.group); },
      },
      e);
}

std::string Rule::ExprsToString() const {
  std::string out;
  for (size_t i = 0; i < exprs.size(); ++i) {
    if (i) out += " ";
    out += ExprToString(exprs[i]);
  }
  return out;
}

std::string Rule::Tag() const {
  char hash[9];
  std::snprintf(hash, sizeof hash, "%08x", Fnv1a(ExprsToString()));
  return comment + " #" + hash;
}

const Set* Table::FindSet(const std::string& set_name) const {
  for (const Set& s : sets)
    if (s.name == set_name) return &s;
  return nullptr;
}

Set* Table::FindSet(const std::string& set_name) {
  for (Set& s : sets)
    if (s.name == set_name) return &s;
  return nullptr;
}

const Table* Ruleset::FindTable(Family f, const std::string& name) const {
  for (const Table& t : tables)
    if (t.family == f && t.name == name) return &t;
  return nullptr;
}

std::string Ruleset::TablesToString() const {
  std::ostringstream out;
  for (const Table& t : tables) AppendTable(out, t);
  return out.str();
}

std::string Ruleset::ToString() const {
  std::ostringstream out;
  for (const Table& t : tables) {
    out << "table " << FamilyName(t.family) << " " << t.name << "\n";
    out << "delete table " << FamilyName(t.family) << " " << t.name << "\n";
  }
  for (const Table& t : tables) AppendTable(out, t);
  return out.str();
}

bool SameStructure(const Ruleset& a, const Ruleset& b) {
  if (a.tables.size() != b.tables.size()) return false;
  for (size_t i = 0; i < a.tables.size(); ++i) {
    const Table& ta = a.tables[i];
    const Table& tb = b.tables[i];
    if (ta.family != tb.family || ta.name != tb.name) return false;
    if (ta.sets.size() != tb.sets.size() || ta.chains.size() != tb.chains.size()) return false;
    for (size_t j = 0; j < ta.sets.size(); ++j) {
      const Set& sa = ta.sets[j];
      const Set& sb = tb.sets[j];
      if (sa.name != sb.name || sa.key != sb.key || sa.data != sb.data ||
          sa.interval != sb.interval || sa.comment != sb.comment)
        return false;
    }
    for (size_t j = 0; j < ta.chains.size(); ++j) {
      const Chain& ca = ta.chains[j];
      const Chain& cb = tb.chains[j];
      if (ca.name != cb.name || ca.rules.size() != cb.rules.size()) return false;
      if (ca.base.has_value() != cb.base.has_value()) return false;
      if (ca.base && (ca.base->type != cb.base->type || ca.base->hook != cb.base->hook ||
                      ca.base->priority != cb.base->priority ||
                      ca.base->policy_drop != cb.base->policy_drop))
        return false;
      for (size_t k = 0; k < ca.rules.size(); ++k) {
        if (ca.rules[k].Tag() != cb.rules[k].Tag() ||
            ca.rules[k].ExprsToString() != cb.rules[k].ExprsToString())
          return false;
      }
    }
  }
  return true;
}

std::vector<ElementChange> DiffElements(const Ruleset& from, const Ruleset& to) {
  std::vector<ElementChange> deletes;
  std::vector<ElementChange> adds;
  for (size_t i = 0; i < to.tables.size() && i < from.tables.size(); ++i) {
    const Table& tf = from.tables[i];
    const Table& tt = to.tables[i];
    for (size_t j = 0; j < tt.sets.size() && j < tf.sets.size(); ++j) {
      std::set<Element> before(tf.sets[j].elements.begin(), tf.sets[j].elements.end());
      std::set<Element> after(tt.sets[j].elements.begin(), tt.sets[j].elements.end());
      for (const Element& e : before)
        if (!after.count(e)) deletes.push_back({tt.family, tt.name, tt.sets[j].name, false, e});
      for (const Element& e : after)
        if (!before.count(e)) adds.push_back({tt.family, tt.name, tt.sets[j].name, true, e});
    }
  }
  // Deletes first: a map key whose value changed is removed before it is added again.
  deletes.insert(deletes.end(), adds.begin(), adds.end());
  return deletes;
}

}  // namespace ipo::nft
