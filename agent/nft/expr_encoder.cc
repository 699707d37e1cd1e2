#include "nft/expr_encoder.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <optional>
#include <variant>

#include <libnftnl/expr.h>

#include "nft/element_codec.h"
#include "nft/nftnl_handles.h"

namespace ipo::nft {
namespace {

constexpr uint32_t kRegsPerReg128 = 4;   // NFT_REG_SIZE / NFT_REG32_SIZE
constexpr uint32_t kReg32Count = 16;     // NFT_REG32_00 .. NFT_REG32_15
constexpr uint32_t kIpsDstNat = 1u << 5;  // IPS_DST_NAT
constexpr size_t kIfNameSize = 16;        // IFNAMSIZ

// Where a field's value comes from.
struct FieldSource {
  bool meta = false;
  uint32_t meta_key = 0;
  uint32_t base = 0;  // NFT_PAYLOAD_*
  uint32_t offset = 0;
  uint32_t len = 0;
};

FieldSource SourceOf(Field f) {
  switch (f) {
    case Field::kMetaNfproto: return {true, NFT_META_NFPROTO, 0, 0, 1};
    case Field::kMetaL4proto: return {true, NFT_META_L4PROTO, 0, 0, 1};
    case Field::kIifname: return {true, NFT_META_IIFNAME, 0, 0, 16};
    case Field::kOifname: return {true, NFT_META_OIFNAME, 0, 0, 16};
    case Field::kIpSaddr: return {false, 0, NFT_PAYLOAD_NETWORK_HEADER, 12, 4};
    case Field::kIpDaddr: return {false, 0, NFT_PAYLOAD_NETWORK_HEADER, 16, 4};
    case Field::kIp6Saddr: return {false, 0, NFT_PAYLOAD_NETWORK_HEADER, 8, 16};
    case Field::kIp6Daddr: return {false, 0, NFT_PAYLOAD_NETWORK_HEADER, 24, 16};
    case Field::kThDport: return {false, 0, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2};
    case Field::kMetaProtocol: return {true, NFT_META_PROTOCOL, 0, 0, 2};
  }
  return {};
}

// nft's register numbering: a 16-byte-aligned start is named by its 128-bit register
// (NFT_REG_1..4), any other by its 32-bit one (NFT_REG32_xx). `slot` counts 32-bit registers.
uint32_t Reg(uint32_t slot) {
  if (slot % kRegsPerReg128 == 0) return NFT_REG_1 + slot / kRegsPerReg128;
  return NFT_REG32_00 + slot;
}

class RuleWriter {
 public:
  RuleWriter(const EncodeContext& ctx, nftnl_rule* rule) : ctx_(ctx), rule_(rule) {}

  Status Encode(const Expr& e) {
    return std::visit([this](const auto& x) { return Do(x); }, e);
  }

 private:
  nftnl_expr* New(const char* name) {
    ExprPtr e(nftnl_expr_alloc(name));
    nftnl_expr* raw = e.get();
    nftnl_rule_add_expr(rule_, e.release());  // the rule owns it from here on
    return raw;
  }

  void Load(Field f, uint32_t dreg, uint32_t len_override = 0) {
    FieldSource s = SourceOf(f);
    if (s.meta) {
      nftnl_expr* e = New("meta");
      nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, s.meta_key);
      nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
      return;
    }
    nftnl_expr* e = New("payload");
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, s.base);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, s.offset);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len_override != 0 ? len_override : s.len);
  }

  void CmpBytes(uint32_t sreg, nft_cmp_ops op, const Bytes& data) {
    nftnl_expr* e = New("cmp");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
    nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data.data(), static_cast<uint32_t>(data.size()));
  }

  void Mask(uint32_t reg, const Bytes& mask) {
    Bytes zero(mask.size(), 0);
    nftnl_expr* e = New("bitwise");
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_OP, NFT_BITWISE_BOOL);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, static_cast<uint32_t>(mask.size()));
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask.data(), static_cast<uint32_t>(mask.size()));
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero.data(), static_cast<uint32_t>(zero.size()));
  }

  // Host-order u32 (ct state/status, fib result) as the kernel's register bytes.
  static Bytes U32Bytes(uint32_t v) {
    Bytes b(4);
    std::memcpy(b.data(), &v, 4);
    return b;
  }

  // Loads `fields` into consecutive registers from NFT_REG_1, each padded to 4 bytes;
  // checks them against `types` (the set's key). Returns the number of 32-bit slots used.
  Result<uint32_t> LoadConcat(const std::vector<Field>& fields, const std::vector<Type>& types,
                              const std::string& what) {
    if (fields.size() != types.size()) {
      return Status::InvalidArgument(what + ": " + std::to_string(fields.size()) +
                                     " fields for a key of " + std::to_string(types.size()) +
                                     " types");
    }
    uint32_t slot = 0;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (FieldType(fields[i]) != types[i]) {
        return Status::InvalidArgument(what + ": field " + FieldName(fields[i]) +
                                       " does not match key type " + TypeName(types[i]));
      }
      uint32_t len = SourceOf(fields[i]).len;
      uint32_t slots = (len + 3) / 4;
      if (slot + slots > kReg32Count) {
        return Status::InvalidArgument(what + ": key longer than the 64 bytes of registers");
      }
      Load(fields[i], Reg(slot));
      slot += slots;
    }
    return slot;
  }

  Result<const Set*> FindSet(const std::string& name, const std::string& what) {
    const Set* s = ctx_.table != nullptr ? ctx_.table->FindSet(name) : nullptr;
    if (s == nullptr) return Status::InvalidArgument(what + ": no set @" + name + " in the table");
    return s;
  }

  void LookupExpr(const std::string& set, uint32_t sreg, std::optional<uint32_t> dreg, bool inv) {
    nftnl_expr* e = New("lookup");
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
    if (dreg) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, *dreg);
    nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set.c_str());
    if (auto it = ctx_.set_ids.find(set); it != ctx_.set_ids.end()) {
      nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, it->second);
    }
    if (inv) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
  }

  Status Do(const Cmp& c) {
    if (const auto* p = std::get_if<IfNamePrefix>(&c.value)) {
      // As nft for `oifname "br-*"`: the whole name is loaded, the prefix's bytes compared.
      if (FieldType(c.field) != Type::kIfName || p->prefix.empty() || p->prefix.size() >= kIfNameSize) {
        return Status::InvalidArgument(ExprToString(c) +
                                       ": an interface name prefix needs iifname/oifname and 1 to 15 bytes");
      }
      Load(c.field, NFT_REG_1);
      CmpBytes(NFT_REG_1, c.negate ? NFT_CMP_NEQ : NFT_CMP_EQ, Bytes(p->prefix.begin(), p->prefix.end()));
      return Status::Ok();
    }
    auto data = EncodeValues({FieldType(c.field)}, {c.value});
    if (!data.ok()) return data.status().WithContext(ExprToString(c));
    Load(c.field, NFT_REG_1);
    CmpBytes(NFT_REG_1, c.negate ? NFT_CMP_NEQ : NFT_CMP_EQ, *data);
    return Status::Ok();
  }

  Status Do(const PrefixMatch& p) {
    Type t = FieldType(p.field);
    auto addr = EncodeValues({t}, {p.addr});
    if (!addr.ok()) return addr.status().WithContext(ExprToString(p));
    uint32_t bits = TypeLen(t) * 8;
    if ((t != Type::kIpv4Addr && t != Type::kIpv6Addr) || p.len == 0 || p.len > bits) {
      return Status::InvalidArgument(ExprToString(p) + ": prefix length must be 1.." +
                                     std::to_string(bits) + " on an address field");
    }
    // As nft: a byte-aligned prefix loads only its bytes; any other loads the whole address
    // and masks it.
    uint32_t bytes = p.len % 8 == 0 ? p.len / 8u : TypeLen(t);
    Load(p.field, NFT_REG_1, bytes);
    Bytes want(addr->begin(), addr->begin() + bytes);
    if (p.len % 8 != 0) {
      Bytes mask(bytes, 0);
      for (uint32_t bit = 0; bit < p.len; ++bit) mask[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
      Mask(NFT_REG_1, mask);
      for (size_t i = 0; i < bytes; ++i) want[i] &= mask[i];
    }
    CmpBytes(NFT_REG_1, p.negate ? NFT_CMP_NEQ : NFT_CMP_EQ, want);
    return Status::Ok();
  }

  Status Do(const Lookup& l) {
    auto set = FindSet(l.set, ExprToString(l));
    if (!set.ok()) return set.status();
    if ((*set)->is_map()) {
      return Status::InvalidArgument(ExprToString(l) + ": @" + l.set + " is a map, not a set");
    }
    auto slots = LoadConcat(l.fields, (*set)->key, ExprToString(l));
    if (!slots.ok()) return slots.status();
    LookupExpr(l.set, NFT_REG_1, std::nullopt, l.negate);
    return Status::Ok();
  }

  Status Do(const CtState& c) {
    nftnl_expr* e = New("ct");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
    Mask(NFT_REG_1, U32Bytes(c.mask));
    CmpBytes(NFT_REG_1, NFT_CMP_NEQ, U32Bytes(0));
    return Status::Ok();
  }

  Status Do(const CtStatusDnat&) {
    nftnl_expr* e = New("ct");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATUS);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
    Mask(NFT_REG_1, U32Bytes(kIpsDstNat));
    CmpBytes(NFT_REG_1, NFT_CMP_NEQ, U32Bytes(0));
    return Status::Ok();
  }

  Status Do(const FibDaddrLocal&) {
    nftnl_expr* e = New("fib");
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
    CmpBytes(NFT_REG_1, NFT_CMP_EQ, U32Bytes(RTN_LOCAL));
    return Status::Ok();
  }

  Status Do(const Counter&) {
    New("counter");
    return Status::Ok();
  }

  Status Do(const Verdict& v) {
    nftnl_expr* e = New("immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    switch (v.kind) {
      case VerdictKind::kAccept: nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT); break;
      case VerdictKind::kDrop: nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP); break;
      case VerdictKind::kReturn:
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(NFT_RETURN));
        break;
      case VerdictKind::kJump:
        if (v.chain.empty()) return Status::InvalidArgument("jump without a chain name");
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(NFT_JUMP));
        nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, v.chain.c_str());
        break;
    }
    return Status::Ok();
  }

  Status Do(const DnatMap& d) {
    std::string what = ExprToString(d);
    auto map = FindSet(d.map, what);
    if (!map.ok()) return map.status();
    Type addr = d.family == Family::kIp6 ? Type::kIpv6Addr : Type::kIpv4Addr;
    if (d.family == Family::kInet || (*map)->data != std::vector<Type>{addr, Type::kInetService}) {
      return Status::InvalidArgument(what + ": @" + d.map + " must map to " + TypeName(addr) +
                                     " . inet_service");
    }
    auto slots = LoadConcat(d.fields, (*map)->key, what);
    if (!slots.ok()) return slots.status();
    LookupExpr(d.map, NFT_REG_1, NFT_REG_1, false);
    nftnl_expr* e = New("nat");
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, static_cast<uint32_t>(d.family));
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
    // The port follows the address in the data: 1 register for ipv4, 4 for ipv6.
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, Reg(TypeLen(addr) / 4));
    // nft 1.0.6 sends no NFTA_NAT_FLAGS here: the kernel derives NF_NAT_RANGE_MAP_IPS and
    // NF_NAT_RANGE_PROTO_SPECIFIED from the registers given.
    return Status::Ok();
  }

  Status Do(const Masquerade&) {
    New("masq");
    return Status::Ok();
  }

  Status Do(const NftraceSet&) {  // as nft encodes it: 1 into a register, then meta set
    nftnl_expr* imm = New("immediate");
    uint8_t one = 1;
    nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
    nftnl_expr_set(imm, NFTNL_EXPR_IMM_DATA, &one, sizeof one);
    nftnl_expr* meta = New("meta");
    nftnl_expr_set_u32(meta, NFTNL_EXPR_META_KEY, NFT_META_NFTRACE);
    nftnl_expr_set_u32(meta, NFTNL_EXPR_META_SREG, NFT_REG_1);
    return Status::Ok();
  }

  Status Do(const Limit& l) {  // as nft encodes `limit rate N/second burst B packets`
    if (l.per_second == 0 || l.burst == 0) return Status::InvalidArgument(ExprToString(l) + ": a limit needs a rate and a burst");
    nftnl_expr* e = New("limit");
    nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, l.per_second);
    nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, 1);  // seconds
    nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, l.burst);
    nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
    nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_FLAGS, 0);
    return Status::Ok();
  }

  Status Do(const Log& l) {  // nflog: the prefix and the group, nothing else (as nft sends it)
    if (l.prefix.size() > Log::kMaxLogPrefix || l.prefix.find('"') != std::string::npos ||
        l.prefix.find('\0') != std::string::npos)
      return Status::InvalidArgument(ExprToString(l) + ": a log prefix is at most 127 bytes, without '\"'");
    nftnl_expr* e = New("log");
    if (!l.prefix.empty()) nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, l.prefix.c_str());
    nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, l.group);
    return Status::Ok();
  }

  const EncodeContext& ctx_;
  nftnl_rule* rule_;
};

}  // namespace

Type FieldType(Field f) {
  switch (f) {
    case Field::kMetaNfproto:
    case Field::kMetaL4proto: return Type::kInetProto;
    case Field::kIifname:
    case Field::kOifname: return Type::kIfName;
    case Field::kIpSaddr:
    case Field::kIpDaddr: return Type::kIpv4Addr;
    case Field::kIp6Saddr:
    case Field::kIp6Daddr: return Type::kIpv6Addr;
    case Field::kThDport:
    case Field::kMetaProtocol: return Type::kInetService;
  }
  return Type::kInetProto;
}

Status EncodeRuleExprs(const Rule& rule, const EncodeContext& ctx, nftnl_rule* out) {
  RuleWriter w(ctx, out);
  for (const Expr& e : rule.exprs) IPO_RETURN_IF_ERROR(w.Encode(e));
  return Status::Ok();
}

}  // namespace ipo::nft
