#include "policy/policy.h"

#include <arpa/inet.h>

#include <nlohmann/json.hpp>
#include <set>

#include "common/json_limits.h"
#include "common/json_lines.h"

namespace ipo::policy {
namespace {

using nlohmann::json;

// Thrown inside this file only; ParsePolicy turns it into a Status.
struct PolicyError {
  std::string path;
  std::string what;
};

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw PolicyError{path, what};
}

std::string Idx(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }
std::string Key(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

void OnlyKeys(const json& obj, const std::string& path, const std::set<std::string>& allowed) {
  if (!obj.is_object()) Fail(path, "must be an object");
  for (const auto& [k, v] : obj.items()) {
    if (!allowed.count(k)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      Fail(Key(path, k), "unknown key (expected one of: " + list + ")");
    }
  }
}

const json& Required(const json& obj, const std::string& path, const std::string& key) {
  if (!obj.contains(key)) Fail(path, "missing required key \"" + key + "\"");
  return obj.at(key);
}

std::string String(const json& v, const std::string& path) {
  if (!v.is_string()) Fail(path, "must be a string");
  std::string s = v.get<std::string>();
  if (s.empty()) Fail(path, "must not be empty");
  return s;
}

const json& Array(const json& v, const std::string& path) {
  if (!v.is_array()) Fail(path, "must be an array");
  return v;
}

uint16_t PortNumber(const json& v, const std::string& path) {
  if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 65535)
    Fail(path, "must be a port number from 1 to 65535");
  return static_cast<uint16_t>(v.get<int64_t>());
}

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

Prefix ParsePrefix(const std::string& text, const std::string& path) {
  size_t slash = text.find('/');
  if (slash == std::string::npos) Fail(path, "\"" + text + "\" is not a prefix (address/length)");
  std::string addr = text.substr(0, slash);
  std::string len_text = text.substr(slash + 1);
  if (len_text.empty() || len_text.size() > 3 ||
      len_text.find_first_not_of("0123456789") != std::string::npos)
    Fail(path, "\"" + text + "\" has a bad prefix length");
  int len = std::stoi(len_text);
  Prefix p;
  if (auto v4 = nft::ParseIpv4(addr)) {
    if (len > 32) Fail(path, "\"" + text + "\": an IPv4 prefix length is at most 32");
    uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
    if (v4->addr & ~mask) Fail(path, "\"" + text + "\" has host bits set");
    p.v4 = v4;
  } else if (auto v6 = nft::ParseIpv6(addr)) {
    if (len > 128) Fail(path, "\"" + text + "\": an IPv6 prefix length is at most 128");
    for (int bit = len; bit < 128; ++bit) {
      if (v6->addr[static_cast<size_t>(bit / 8)] & (0x80 >> (bit % 8)))
        Fail(path, "\"" + text + "\" has host bits set");
    }
    p.v6 = v6;
  } else {
    Fail(path, "\"" + text + "\" is not an IPv4 or IPv6 address");
  }
  p.len = static_cast<uint8_t>(len);
  return p;
}

nft::Value ParseAddr(const std::string& text, const std::string& path) {
  if (auto v4 = nft::ParseIpv4(text)) return *v4;
  if (auto v6 = nft::ParseIpv6(text)) return *v6;
  Fail(path, "\"" + text + "\" is not an IPv4 or IPv6 address");
}

// "a-b", "a" or "a/len".
Range ParseRange(const std::string& text, const std::string& path) {
  if (text.find('/') != std::string::npos) return PrefixRange(ParsePrefix(text, path));
  size_t dash = text.find('-');
  if (dash == std::string::npos) {
    nft::Value a = ParseAddr(text, path);
    return Range{a, a};
  }
  nft::Value lo = ParseAddr(text.substr(0, dash), path);
  nft::Value hi = ParseAddr(text.substr(dash + 1), path);
  if (lo.index() != hi.index()) Fail(path, "\"" + text + "\" mixes IPv4 and IPv6");
  if (hi < lo) Fail(path, "\"" + text + "\" ends before it starts");
  return Range{lo, hi};
}

bool Contains(const Range& outer, const Range& inner) {
  return outer.lo.index() == inner.lo.index() && !(inner.lo < outer.lo) && !(outer.hi < inner.hi);
}

bool Overlaps(const Range& a, const Range& b) {
  return a.lo.index() == b.lo.index() && !(a.hi < b.lo) && !(b.hi < a.lo);
}

Policy Build(const json& root, const std::string& source) {
  Policy p;
  p.source = source;
  OnlyKeys(root, "", {"version", "lan", "networks", "containers", "docker_publish"});
  const json& version = Required(root, "", "version");
  if (!version.is_number_integer() || version.get<int64_t>() != 1)
    Fail("version", "unsupported policy version (this agent reads version 1)");
  if (root.contains("docker_publish")) {
    std::string dp = String(root.at("docker_publish"), "docker_publish");
    if (dp == "lan") p.docker_publish = DockerPublish::kLan;
    else if (dp == "none") p.docker_publish = DockerPublish::kNone;
    else Fail("docker_publish", "\"" + dp + "\" is not \"lan\" or \"none\"");
  }

  // lan
  const json& lan = Required(root, "", "lan");
  OnlyKeys(lan, "lan", {"subnets", "allow"});
  const json& subnets = Array(Required(lan, "lan", "subnets"), "lan.subnets");
  for (size_t i = 0; i < subnets.size(); ++i) {
    std::string path = Idx("lan.subnets", i);
    p.lan.subnets.push_back(ParsePrefix(String(subnets[i], path), path));
  }
  const json& allow = Array(Required(lan, "lan", "allow"), "lan.allow");
  for (size_t i = 0; i < allow.size(); ++i) {
    std::string path = Idx("lan.allow", i);
    Range r = ParseRange(String(allow[i], path), path);
    bool inside = false;
    for (const Prefix& s : p.lan.subnets) inside = inside || Contains(PrefixRange(s), r);
    if (!inside) Fail(path, r.ToString() + " is outside every lan subnet");
    for (const Range& other : p.lan.allow) {
      if (Overlaps(other, r)) Fail(path, r.ToString() + " overlaps " + other.ToString());
    }
    p.lan.allow.push_back(r);
  }

  // networks
  const json& networks = Array(Required(root, "", "networks"), "networks");
  if (networks.empty()) Fail("networks", "must name at least one network");
  std::set<std::string> names;
  std::set<std::string> bridges;
  for (size_t i = 0; i < networks.size(); ++i) {
    std::string path = Idx("networks", i);
    const json& n = networks[i];
    OnlyKeys(n, path, {"name", "bridge", "subnet_v4", "subnet_v6"});
    Network net;
    net.name = String(Required(n, path, "name"), Key(path, "name"));
    if (!ValidName(net.name))
      Fail(Key(path, "name"), "\"" + net.name + "\" is not a valid network name (a letter or digit, then letters, "
                              "digits, '_', '.', '-'; at most 128)");
    if (!names.insert(net.name).second) Fail(Key(path, "name"), "network \"" + net.name + "\" is defined twice");
    net.bridge = String(Required(n, path, "bridge"), Key(path, "bridge"));
    if (!ValidIfName(net.bridge))
      Fail(Key(path, "bridge"), "\"" + net.bridge + "\" is not a valid interface name (at most 15 characters)");
    if (net.bridge == "docker0" || net.bridge == "lo")
      Fail(Key(path, "bridge"), "\"" + net.bridge + "\" is reserved");
    if (!bridges.insert(net.bridge).second) Fail(Key(path, "bridge"), "bridge \"" + net.bridge + "\" is used twice");
    std::string p4 = Key(path, "subnet_v4");
    net.subnet_v4 = ParsePrefix(String(Required(n, path, "subnet_v4"), p4), p4);
    if (!IsV4(net.subnet_v4)) Fail(p4, "must be an IPv4 prefix");
    if (net.subnet_v4.len > 30) Fail(p4, "is too small for containers (at most /30)");
    if (n.contains("subnet_v6")) {
      std::string p6 = Key(path, "subnet_v6");
      net.subnet_v6 = ParsePrefix(String(n.at("subnet_v6"), p6), p6);
      if (IsV4(*net.subnet_v6)) Fail(p6, "must be an IPv6 prefix");
    }
    for (const Network& other : p.networks) {
      if (Overlaps(PrefixRange(other.subnet_v4), PrefixRange(net.subnet_v4)))
        Fail(p4, "overlaps the subnet of network \"" + other.name + "\"");
      if (net.subnet_v6 && other.subnet_v6 &&
          Overlaps(PrefixRange(*other.subnet_v6), PrefixRange(*net.subnet_v6)))
        Fail(Key(path, "subnet_v6"), "overlaps the subnet of network \"" + other.name + "\"");
    }
    p.networks.push_back(net);
  }

  // containers
  const json& containers = Array(Required(root, "", "containers"), "containers");
  std::set<std::string> cnames;
  std::set<std::pair<uint8_t, uint16_t>> host_ports;
  for (size_t i = 0; i < containers.size(); ++i) {
    std::string path = Idx("containers", i);
    const json& c = containers[i];
    OnlyKeys(c, path, {"name", "network", "publish"});
    Container ct;
    ct.name = String(Required(c, path, "name"), Key(path, "name"));
    if (!ValidName(ct.name))
      Fail(Key(path, "name"), "\"" + ct.name + "\" is not a valid container name (a letter or digit, then letters, "
                              "digits, '_', '.', '-'; at most 128)");
    if (!cnames.insert(ct.name).second) Fail(Key(path, "name"), "container \"" + ct.name + "\" is listed twice");
    ct.network = String(Required(c, path, "network"), Key(path, "network"));
    if (!p.FindNetwork(ct.network)) Fail(Key(path, "network"), "unknown network \"" + ct.network + "\"");
    if (c.contains("publish")) {
      const json& pubs = Array(c.at("publish"), Key(path, "publish"));
      for (size_t j = 0; j < pubs.size(); ++j) {
        std::string pp = Idx(Key(path, "publish"), j);
        const json& pj = pubs[j];
        OnlyKeys(pj, pp, {"port", "host_port", "proto", "from"});
        Publish pub;
        pub.port = PortNumber(Required(pj, pp, "port"), Key(pp, "port"));
        pub.host_port = pj.contains("host_port") ? PortNumber(pj.at("host_port"), Key(pp, "host_port")) : pub.port;
        std::string proto = pj.contains("proto") ? String(pj.at("proto"), Key(pp, "proto")) : "tcp";
        if (proto == "tcp") pub.proto = 6;
        else if (proto == "udp") pub.proto = 17;
        else Fail(Key(pp, "proto"), "\"" + proto + "\" is not \"tcp\" or \"udp\"");
        std::string from = pj.contains("from") ? String(pj.at("from"), Key(pp, "from")) : "any";
        if (from == "any") pub.from = From::kAny;
        else if (from == "lan") pub.from = From::kLan;
        else Fail(Key(pp, "from"), "\"" + from + "\" is not \"any\" or \"lan\"");
        if (!host_ports.insert({pub.proto, pub.host_port}).second)
          Fail(Key(pp, pj.contains("host_port") ? "host_port" : "port"),
               "host port " + proto + "/" + std::to_string(pub.host_port) + " is published twice");
        ct.publish.push_back(pub);
      }
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
  // Bounded before anything else looks at the text (common/json_limits.h): a policy is a few
  // KB; the bounds leave room for a LAN allowlist of tens of thousands of ranges.
  IPO_RETURN_IF_ERROR(CheckJsonLimits(text, source, kPolicyLimits));
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    // e.byte is 1-based; count the lines before it.
    size_t upto = std::min(text.size(), e.byte > 0 ? e.byte - 1 : 0);
    int line = 1;
    for (size_t i = 0; i < upto; ++i) line += text[i] == '\n';
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 3, column 3: <reason>"
    size_t colon = what.find(": ", what.find("column"));
    return Status::InvalidArgument(source + ":" + std::to_string(line) + ": not valid JSON: " +
                                   (colon == std::string::npos ? what : what.substr(colon + 2)));
  } catch (const json::out_of_range&) {
    // nlohmann throws out_of_range 406, not parse_error, for a number beyond a double (1e400).
    return Status::InvalidArgument(source + ": not valid JSON: a number is out of range");
  }
  JsonLines lines(text);
  try {
    return Build(root, source);
  } catch (const PolicyError& e) {
    return Status::InvalidArgument(JsonError(source, lines, e.path, e.what));
  }
}

Result<Policy> LoadPolicy(const std::string& path) {
  std::string text;
  if (!ReadBounded(path, kPolicyLimits, text)) return Status::NotFound(path + ": cannot read the policy file");
  return ParsePolicy(text, path);
}

}  // namespace ipo::policy
