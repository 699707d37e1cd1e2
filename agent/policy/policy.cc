#include "policy/policy.h"

#include <arpa/inet.h>

#include <optional>
#include <set>
#include <utility>

#include "common/json_reader.h"

namespace ipo::policy {
namespace {

bool IsV4(const Prefix& p) { return p.v4.has_value(); }

// Docker-style names: a letter or digit, then letters, digits, '_', '.', '-'; at most
// kMaxName bytes. Checked by a loop, not std::regex, whose matcher recurses once per
// character (a 100,000-character name overflowed the stack).
constexpr size_t kMaxName = 128;
bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}
bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > kMaxName || !NameChar(s[0]) || s[0] == '_' || s[0] == '.' || s[0] == '-') return false;
  for (char c : s)
    if (!NameChar(c)) return false;
  return true;
}
// A Linux interface name: 1 to 15 of the same characters.
bool ValidIfName(const std::string& s) {
  if (s.empty() || s.size() > 15) return false;
  for (char c : s)
    if (!NameChar(c)) return false;
  return true;
}

// obj.key: a valid Docker-style name not yet in `seen`, which it joins. `kind` ("network")
// and `twice` ("defined twice") word the errors.
std::string UniqueName(const JsonValue& obj, const std::string& kind, const std::string& twice,
                       std::set<std::string>& seen) {
  JsonValue v = obj.Get("name");
  std::string name = v.NonEmptyString();
  if (!ValidName(name))
    v.Fail("\"" + name + "\" is not a valid " + kind + " name (a letter or digit, then letters, digits, '_', '.', "
           "'-'; at most 128)");
  if (!seen.insert(name).second) v.Fail(kind + " \"" + name + "\" is " + twice);
  return name;
}

Prefix ParsePrefix(const std::string& text, const JsonValue& at) {
  size_t slash = text.find('/');
  if (slash == std::string::npos) at.Fail("\"" + text + "\" is not a prefix (address/length)");
  std::string addr = text.substr(0, slash);
  std::string len_text = text.substr(slash + 1);
  if (len_text.empty() || len_text.size() > 3 ||
      len_text.find_first_not_of("0123456789") != std::string::npos)
    at.Fail("\"" + text + "\" has a bad prefix length");
  int len = std::stoi(len_text);
  Prefix p;
  if (auto v4 = nft::ParseIpv4(addr)) {
    if (len > 32) at.Fail("\"" + text + "\": an IPv4 prefix length is at most 32");
    uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
    if (v4->addr & ~mask) at.Fail("\"" + text + "\" has host bits set");
    p.v4 = v4;
  } else if (auto v6 = nft::ParseIpv6(addr)) {
    if (len > 128) at.Fail("\"" + text + "\": an IPv6 prefix length is at most 128");
    for (int bit = len; bit < 128; ++bit) {
      if (v6->addr[static_cast<size_t>(bit / 8)] & (0x80 >> (bit % 8)))
        at.Fail("\"" + text + "\" has host bits set");
    }
    p.v6 = v6;
  } else {
    at.Fail("\"" + text + "\" is not an IPv4 or IPv6 address");
  }
  p.len = static_cast<uint8_t>(len);
  return p;
}

// The value `v` (a string) as a prefix.
Prefix PrefixOf(const JsonValue& v) { return ParsePrefix(v.NonEmptyString(), v); }

nft::Value ParseAddr(const std::string& text, const JsonValue& at) {
  if (auto v4 = nft::ParseIpv4(text)) return *v4;
  if (auto v6 = nft::ParseIpv6(text)) return *v6;
  at.Fail("\"" + text + "\" is not an IPv4 or IPv6 address");
}

// "a-b", "a" or "a/len".
Range ParseRange(const JsonValue& v) {
  std::string text = v.NonEmptyString();
  if (text.find('/') != std::string::npos) return PrefixRange(ParsePrefix(text, v));
  size_t dash = text.find('-');
  if (dash == std::string::npos) {
    nft::Value a = ParseAddr(text, v);
    return Range{a, a};
  }
  nft::Value lo = ParseAddr(text.substr(0, dash), v);
  nft::Value hi = ParseAddr(text.substr(dash + 1), v);
  if (lo.index() != hi.index()) v.Fail("\"" + text + "\" mixes IPv4 and IPv6");
  if (hi < lo) v.Fail("\"" + text + "\" ends before it starts");
  return Range{lo, hi};
}

bool Contains(const Range& outer, const Range& inner) {
  return outer.lo.index() == inner.lo.index() && !(inner.lo < outer.lo) && !(outer.hi < inner.hi);
}

bool Overlaps(const Range& a, const Range& b) {
  return a.lo.index() == b.lo.index() && !(a.hi < b.lo) && !(b.hi < a.lo);
}

uint16_t PortNumber(const JsonValue& v) {
  if (!v.is_integer() || v.Int() < 1 || v.Int() > 65535) v.Fail("must be a port number from 1 to 65535");
  return static_cast<uint16_t>(v.Int());
}

// obj.key as a non-empty string; `fallback` when absent.
std::string NonEmptyOr(const JsonValue& obj, std::string_view key, const std::string& fallback) {
  std::optional<JsonValue> v = obj.Find(key);
  return v ? v->NonEmptyString() : fallback;
}

Lan BuildLan(const JsonValue& lan) {
  Lan out;
  lan.OnlyKeys({"subnets", "allow"});
  JsonValue subnets = lan.Get("subnets");
  for (size_t i = 0; i < subnets.size(); ++i) out.subnets.push_back(PrefixOf(subnets.At(i)));
  JsonValue allow = lan.Get("allow");
  for (size_t i = 0; i < allow.size(); ++i) {
    JsonValue item = allow.At(i);
    Range r = ParseRange(item);
    bool inside = false;
    for (const Prefix& s : out.subnets) inside = inside || Contains(PrefixRange(s), r);
    if (!inside) item.Fail(r.ToString() + " is outside every lan subnet");
    for (const Range& other : out.allow) {
      if (Overlaps(other, r)) item.Fail(r.ToString() + " overlaps " + other.ToString());
    }
    out.allow.push_back(r);
  }
  return out;
}

Network BuildNetwork(const JsonValue& n, const std::vector<Network>& before, std::set<std::string>& names,
                     std::set<std::string>& bridges) {
  n.OnlyKeys({"name", "bridge", "subnet_v4", "subnet_v6"});
  Network net;
  net.name = UniqueName(n, "network", "defined twice", names);
  JsonValue bridge = n.Get("bridge");
  net.bridge = bridge.NonEmptyString();
  if (!ValidIfName(net.bridge))
    bridge.Fail("\"" + net.bridge + "\" is not a valid interface name (at most 15 characters)");
  if (net.bridge == "docker0" || net.bridge == "lo") bridge.Fail("\"" + net.bridge + "\" is reserved");
  if (!bridges.insert(net.bridge).second) bridge.Fail("bridge \"" + net.bridge + "\" is used twice");
  JsonValue v4 = n.Get("subnet_v4");
  net.subnet_v4 = PrefixOf(v4);
  if (!IsV4(net.subnet_v4)) v4.Fail("must be an IPv4 prefix");
  if (net.subnet_v4.len > 30) v4.Fail("is too small for containers (at most /30)");
  std::optional<JsonValue> v6 = n.Find("subnet_v6");
  if (v6) {
    net.subnet_v6 = PrefixOf(*v6);
    if (IsV4(*net.subnet_v6)) v6->Fail("must be an IPv6 prefix");
  }
  for (const Network& other : before) {
    if (Overlaps(PrefixRange(other.subnet_v4), PrefixRange(net.subnet_v4)))
      v4.Fail("overlaps the subnet of network \"" + other.name + "\"");
    if (net.subnet_v6 && other.subnet_v6 && Overlaps(PrefixRange(*other.subnet_v6), PrefixRange(*net.subnet_v6)))
      v6->Fail("overlaps the subnet of network \"" + other.name + "\"");
  }
  return net;
}

// One entry of a container's "publish"; `host_ports` holds the (proto, host port) pairs so far.
Publish BuildPublish(const JsonValue& pj, std::set<std::pair<uint8_t, uint16_t>>& host_ports) {
  pj.OnlyKeys({"port", "host_port", "proto", "from"});
  Publish pub;
  pub.port = PortNumber(pj.Get("port"));
  std::optional<JsonValue> host_port = pj.Find("host_port");
  pub.host_port = host_port ? PortNumber(*host_port) : pub.port;
  std::string proto = NonEmptyOr(pj, "proto", "tcp");
  if (proto == "tcp") pub.proto = 6;
  else if (proto == "udp") pub.proto = 17;
  else pj.Get("proto").Fail("\"" + proto + "\" is not \"tcp\" or \"udp\"");
  std::string from = NonEmptyOr(pj, "from", "any");
  if (from == "any") pub.from = From::kAny;
  else if (from == "lan") pub.from = From::kLan;
  else pj.Get("from").Fail("\"" + from + "\" is not \"any\" or \"lan\"");
  if (!host_ports.insert({pub.proto, pub.host_port}).second)
    (host_port ? *host_port : pj.Get("port"))
        .Fail("host port " + proto + "/" + std::to_string(pub.host_port) + " is published twice");
  return pub;
}

// obj.key as an integer from lo to hi; `fallback` when absent.
int64_t IntIn(const JsonValue& obj, std::string_view key, int64_t lo, int64_t hi, int64_t fallback) {
  std::optional<JsonValue> v = obj.Find(key);
  if (!v) return fallback;
  if (!v->is_integer() || v->Int() < lo || v->Int() > hi)
    v->Fail("must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  return v->Int();
}

DropLog BuildDropLog(const JsonValue& dl) {
  dl.OnlyKeys({"enabled", "group", "per_second", "burst"});
  DropLog d;
  d.enabled = dl.BoolOr("enabled", d.enabled);
  d.group = static_cast<uint16_t>(IntIn(dl, "group", 0, 65535, d.group));
  d.per_second = static_cast<uint32_t>(IntIn(dl, "per_second", 1, 10000, d.per_second));
  d.burst = static_cast<uint32_t>(IntIn(dl, "burst", 1, 10000, d.burst));
  return d;
}

Policy Build(const JsonValue& root, const std::string& source) {
  Policy p;
  p.source = source;
  root.OnlyKeys({"version", "lan", "networks", "containers", "docker_publish", "drop_log"});
  JsonValue version = root.Get("version");
  if (!version.is_integer() || version.Int() != 1)
    version.Fail("unsupported policy version (this agent reads version 1)");
  if (std::optional<JsonValue> dp = root.Find("docker_publish")) {
    std::string v = dp->NonEmptyString();
    if (v == "lan") p.docker_publish = DockerPublish::kLan;
    else if (v == "none") p.docker_publish = DockerPublish::kNone;
    else dp->Fail("\"" + v + "\" is not \"lan\" or \"none\"");
  }
  if (std::optional<JsonValue> dl = root.Find("drop_log")) p.drop_log = BuildDropLog(*dl);
  p.lan = BuildLan(root.Get("lan"));

  JsonValue networks = root.Get("networks");
  networks.ExpectArray();
  if (networks.empty()) networks.Fail("must name at least one network");
  std::set<std::string> names;
  std::set<std::string> bridges;
  for (size_t i = 0; i < networks.size(); ++i) p.networks.push_back(BuildNetwork(networks.At(i), p.networks, names, bridges));

  JsonValue containers = root.Get("containers");
  std::set<std::string> cnames;
  std::set<std::pair<uint8_t, uint16_t>> host_ports;
  for (size_t i = 0; i < containers.size(); ++i) {
    JsonValue c = containers.At(i);
    c.OnlyKeys({"name", "network", "publish"});
    Container ct;
    ct.name = UniqueName(c, "container", "listed twice", cnames);
    JsonValue network = c.Get("network");
    ct.network = network.NonEmptyString();
    if (!p.FindNetwork(ct.network)) network.Fail("unknown network \"" + ct.network + "\"");
    if (std::optional<JsonValue> pubs = c.Find("publish")) {
      for (size_t j = 0; j < pubs->size(); ++j) ct.publish.push_back(BuildPublish(pubs->At(j), host_ports));
    }
    p.containers.push_back(ct);
  }
  return p;
}

}  // namespace

Range PrefixRange(const Prefix& p) {
  if (p.v4) {
    uint32_t mask = p.len == 0 ? 0 : ~uint32_t{0} << (32 - p.len);
    return Range{nft::Ipv4{p.v4->addr & mask}, nft::Ipv4{p.v4->addr | ~mask}};
  }
  nft::Ipv6 lo = *p.v6;
  nft::Ipv6 hi = *p.v6;
  for (int bit = p.len; bit < 128; ++bit) {
    auto byte = static_cast<size_t>(bit / 8);
    auto m = static_cast<uint8_t>(0x80 >> (bit % 8));
    lo.addr[byte] = static_cast<uint8_t>(lo.addr[byte] & ~m);
    hi.addr[byte] = static_cast<uint8_t>(hi.addr[byte] | m);
  }
  return Range{lo, hi};
}

std::string Prefix::ToString() const {
  return (v4 ? nft::ValueToString(*v4) : nft::ValueToString(*v6)) + "/" + std::to_string(len);
}

std::string Range::ToString() const {
  if (lo == hi) return nft::ValueToString(lo);
  return nft::ValueToString(lo) + "-" + nft::ValueToString(hi);
}

const Network* Policy::FindNetwork(const std::string& name) const {
  for (const Network& n : networks)
    if (n.name == name) return &n;
  return nullptr;
}

const Container* Policy::FindContainer(const std::string& name) const {
  for (const Container& c : containers)
    if (c.name == name) return &c;
  return nullptr;
}

Result<Policy> ParsePolicy(std::string_view text, const std::string& source) {
  // A policy is a few KB; kPolicyLimits leave room for a LAN allowlist of tens of thousands
  // of ranges, and bound the text before anything parses it (common/json_reader.h).
  JsonReadOptions options;
  options.limits = kPolicyLimits;
  return ReadJsonAs<Policy>(text, source, options, [&](const JsonValue& root) { return Build(root, source); });
}

Result<Policy> LoadPolicy(const std::string& path) {
  std::string text;
  if (!ReadBounded(path, kPolicyLimits, text)) return Status::NotFound(path + ": cannot read the policy file");
  return ParsePolicy(text, path);
}

}  // namespace ipo::policy
