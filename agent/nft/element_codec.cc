#include "nft/element_codec.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <tuple>

namespace ipo::nft {
namespace {

constexpr uint32_t kTypeBits = 6;  // nft: TYPE_BITS
constexpr uint32_t kIfNameLen = 16;

uint32_t Pad4(uint32_t n) { return (n + 3) / 4 * 4; }

const char* AlternativeName(const Value& v) {
  static const char* const kNames[] = {"ipv4 address", "ipv6 address", "protocol", "port",
                                       "interface name", "interface name prefix"};
  return kNames[v.index()];
}

// Appends one value's bytes (unpadded). Error when `v` is not a value of `t`.
Status AppendValue(Type t, const Value& v, Bytes& out) {
  switch (t) {
    case Type::kIpv4Addr:
      if (const auto* a = std::get_if<Ipv4>(&v)) {
        for (int shift = 24; shift >= 0; shift -= 8) {
          out.push_back(static_cast<uint8_t>(a->addr >> shift));
        }
        return Status::Ok();
      }
      break;
    case Type::kIpv6Addr:
      if (const auto* a = std::get_if<Ipv6>(&v)) {
        out.insert(out.end(), a->addr.begin(), a->addr.end());
        return Status::Ok();
      }
      break;
    case Type::kInetProto:
      if (const auto* p = std::get_if<Proto>(&v)) {
        out.push_back(p->num);
        return Status::Ok();
      }
      break;
    case Type::kInetService:
      if (const auto* p = std::get_if<Port>(&v)) {
        out.push_back(static_cast<uint8_t>(p->num >> 8));
        out.push_back(static_cast<uint8_t>(p->num));
        return Status::Ok();
      }
      break;
    case Type::kIfName:
      if (const auto* n = std::get_if<IfName>(&v)) {
        if (n->name.empty() || n->name.size() >= kIfNameLen) {
          return Status::InvalidArgument("interface name \"" + n->name +
                                         "\" must have 1 to 15 bytes");
        }
        size_t start = out.size();
        out.resize(start + kIfNameLen, 0);
        std::memcpy(out.data() + start, n->name.data(), n->name.size());
        return Status::Ok();
      }
      break;
  }
  return Status::InvalidArgument(std::string("a ") + AlternativeName(v) + " is not a value of type " +
                                 TypeName(t));
}

Value ReadValue(Type t, const uint8_t* p) {
  switch (t) {
    case Type::kIpv4Addr:
      return Ipv4{(uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3]};
    case Type::kIpv6Addr: {
      Ipv6 a;
      std::memcpy(a.addr.data(), p, 16);
      return a;
    }
    case Type::kInetProto:
      return Proto{p[0]};
    case Type::kInetService:
      return Port{static_cast<uint16_t>((p[0] << 8) | p[1])};
    case Type::kIfName: {
      const char* c = reinterpret_cast<const char*>(p);
      return IfName{std::string(c, strnlen(c, kIfNameLen))};
    }
  }
  return Proto{};
}

// Big-endian increment. Returns false on overflow (the value was all ones).
bool Increment(Bytes& b) {
  for (size_t i = b.size(); i-- > 0;) {
    if (++b[i] != 0) return true;
  }
  return false;
}

// Big-endian decrement. REQUIRES: b is not all zero.
void Decrement(Bytes& b) {
  for (size_t i = b.size(); i-- > 0;) {
    if (b[i]-- != 0) return;
  }
}

std::string Describe(const Set& set) { return "set " + set.name; }

}  // namespace

uint32_t TypeId(Type t) {
  switch (t) {
    case Type::kIpv4Addr: return 7;
    case Type::kIpv6Addr: return 8;
    case Type::kInetProto: return 12;
    case Type::kInetService: return 13;
    case Type::kIfName: return 41;
  }
  return 0;
}

uint32_t TypeLen(Type t) {
  switch (t) {
    case Type::kIpv4Addr: return 4;
    case Type::kIpv6Addr: return 16;
    case Type::kInetProto: return 1;
    case Type::kInetService: return 2;
    case Type::kIfName: return kIfNameLen;
  }
  return 0;
}

uint32_t ConcatTypeId(const std::vector<Type>& types) {
  uint32_t id = 0;
  for (Type t : types) id = (id << kTypeBits) | TypeId(t);
  return id;
}

uint32_t ConcatLen(const std::vector<Type>& types) {
  if (types.size() == 1) return TypeLen(types[0]);
  uint32_t len = 0;
  for (Type t : types) len += Pad4(TypeLen(t));
  return len;
}

Result<std::vector<Type>> SplitConcatTypeId(uint32_t id, uint32_t len) {
  static constexpr Type kAll[] = {Type::kIpv4Addr, Type::kIpv6Addr, Type::kInetProto,
                                  Type::kInetService, Type::kIfName};
  std::vector<Type> types;
  for (uint32_t rest = id; rest != 0; rest >>= kTypeBits) {
    uint32_t one = rest & ((1u << kTypeBits) - 1);
    const Type* t = std::find_if(std::begin(kAll), std::end(kAll),
                                 [one](Type x) { return TypeId(x) == one; });
    if (t == std::end(kAll)) {
      return Status::InvalidArgument("unsupported nft datatype id " + std::to_string(one) +
                                     " in type " + std::to_string(id));
    }
    types.insert(types.begin(), *t);
  }
  if (types.empty() || ConcatLen(types) != len) {
    return Status::InvalidArgument("nft type " + std::to_string(id) + " does not have length " +
                                   std::to_string(len));
  }
  return types;
}

Result<Bytes> EncodeValues(const std::vector<Type>& types, const std::vector<Value>& values) {
  if (values.size() != types.size()) {
    return Status::InvalidArgument("expected " + std::to_string(types.size()) + " values, got " +
                                   std::to_string(values.size()));
  }
  Bytes out;
  out.reserve(ConcatLen(types));
  for (size_t i = 0; i < types.size(); ++i) {
    IPO_RETURN_IF_ERROR(AppendValue(types[i], values[i], out));
    if (types.size() > 1) out.resize(Pad4(static_cast<uint32_t>(out.size())), 0);
  }
  return out;
}

Result<std::vector<Value>> DecodeValues(const std::vector<Type>& types, const Bytes& bytes) {
  if (bytes.size() != ConcatLen(types)) {
    return Status::InvalidArgument("value of " + std::to_string(bytes.size()) +
                                   " bytes, expected " + std::to_string(ConcatLen(types)));
  }
  std::vector<Value> values;
  size_t off = 0;
  for (Type t : types) {
    values.push_back(ReadValue(t, bytes.data() + off));
    off += types.size() > 1 ? Pad4(TypeLen(t)) : TypeLen(t);
  }
  return values;
}

Result<std::vector<RawElement>> EncodeElement(const Set& set, const Element& e) {
  auto key = EncodeValues(set.key, e.key);
  if (!key.ok()) return key.status().WithContext(Describe(set) + ": key " + ElementToString(e));
  RawElement first{std::move(*key), {}, false};
  if (set.is_map()) {
    auto data = EncodeValues(set.data, e.data);
    if (!data.ok()) return data.status().WithContext(Describe(set) + ": data of " + ElementToString(e));
    first.data = std::move(*data);
  } else if (!e.data.empty()) {
    return Status::InvalidArgument(Describe(set) + ": element " + ElementToString(e) +
                                   " has data but the set is not a map");
  }
  if (!set.interval) {
    if (e.key_end) {
      return Status::InvalidArgument(Describe(set) + ": range " + ElementToString(e) +
                                     " in a set without flags interval");
    }
    return std::vector<RawElement>{std::move(first)};
  }
  Bytes end = first.key;
  if (e.key_end) {
    auto hi = EncodeValues(set.key, *e.key_end);
    if (!hi.ok()) return hi.status().WithContext(Describe(set) + ": range end of " + ElementToString(e));
    if (*hi < first.key) {
      return Status::InvalidArgument(Describe(set) + ": range " + ElementToString(e) +
                                     " ends before it starts");
    }
    end = std::move(*hi);
  }
  std::vector<RawElement> out{std::move(first)};
  if (Increment(end)) out.push_back(RawElement{std::move(end), {}, true});
  return out;
}

RawElement IntervalLeadingEnd(const Set& set) {
  return RawElement{Bytes(ConcatLen(set.key), 0), {}, true};
}

Result<std::vector<Element>> DecodeElements(const Set& set, std::vector<RawElement> raw) {
  std::vector<Element> out;
  auto decode = [&set](const Bytes& b) -> Result<std::vector<Value>> {
    auto v = DecodeValues(set.key, b);
    if (!v.ok()) return v.status().WithContext(Describe(set) + ": kernel element");
    return v;
  };
  if (!set.interval) {
    for (RawElement& r : raw) {
      auto key = decode(r.key);
      if (!key.ok()) return key.status();
      Element e{std::move(*key), std::nullopt, {}};
      if (set.is_map()) {
        auto data = DecodeValues(set.data, r.data);
        if (!data.ok()) return data.status().WithContext(Describe(set) + ": kernel element data");
        e.data = std::move(*data);
      }
      out.push_back(std::move(e));
    }
  } else {
    // Ascending by key; at equal keys the end of one range sorts before the start of the next.
    std::sort(raw.begin(), raw.end(), [](const RawElement& a, const RawElement& b) {
      return std::tie(a.key, b.interval_end) < std::tie(b.key, a.interval_end);
    });
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i].interval_end) continue;  // the leading 0 end, or an orphan end
      const Bytes lo = raw[i].key;
      Bytes hi;
      if (i + 1 < raw.size() && raw[i + 1].interval_end) {
        hi = raw[++i].key;
        Decrement(hi);
      } else {
        hi = Bytes(lo.size(), 0xff);  // open to the largest value
      }
      auto lo_v = decode(lo);
      if (!lo_v.ok()) return lo_v.status();
      Element e{std::move(*lo_v), std::nullopt, {}};
      if (hi != lo) {
        auto hi_v = decode(hi);
        if (!hi_v.ok()) return hi_v.status();
        e.key_end = std::move(*hi_v);
      }
      out.push_back(std::move(e));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ipo::nft
