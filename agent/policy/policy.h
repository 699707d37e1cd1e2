// Policy: the declarative isolation policy (rules/policy.json), parsed and validated.
// Which networks exist, which containers belong where, which ports are published to whom,
// and which LAN sources are allowed. The file format is documented in docs/policy.md.
//
// A policy that does not validate is refused as a whole with a message naming the file,
// the line and the key ("rules/policy.json:14: networks[1].subnet_v4: ..."); nothing in force
// changes because of it.
//
// Thread safety: Policy is a value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_limits.h"
#include "common/status.h"
#include "ruleset/ruleset.h"

namespace ipo::policy {

// An address prefix, IPv4 or IPv6 (exactly one of v4/v6 is set).
struct Prefix {
  std::optional<nft::Ipv4> v4;
  std::optional<nft::Ipv6> v6;
  uint8_t len = 0;
  bool is_v4() const { return v4.has_value(); }
  std::string ToString() const;
};

// An inclusive address range, IPv4 or IPv6 (lo and hi of the same family).
struct Range {
  nft::Value lo;  // Ipv4 or Ipv6
  nft::Value hi;
  bool is_v4() const { return std::holds_alternative<nft::Ipv4>(lo); }
  std::string ToString() const;
};

// The first and last address of a prefix.
Range PrefixRange(const Prefix& p);

struct Lan {
  std::vector<Prefix> subnets;  // what counts as "the LAN"
  std::vector<Range> allow;     // LAN sources that may reach every container
};

struct Network {
  std::string name;    // docker network name
  std::string bridge;  // Linux bridge name (<= 15 bytes)
  Prefix subnet_v4;
  std::optional<Prefix> subnet_v6;
};

enum class From { kAny, kLan };  // who may use a published port: everybody, or the allowlist

struct Publish {
  uint16_t port = 0;       // container port
  uint16_t host_port = 0;  // host port (defaults to port)
  uint8_t proto = 6;       // IPPROTO_TCP or IPPROTO_UDP
  From from = From::kAny;
};

struct Container {
  std::string name;
  std::string network;  // one of Policy::networks
  std::vector<Publish> publish;
};

// What the agent does with `docker run -p` bindings of running containers (key
// "docker_publish"): kLan DNATs them for the LAN allowlist (the default); kNone publishes
// none (Docker only reserves the host ports, through ipo-netd-proxy).
enum class DockerPublish : uint8_t { kLan, kNone };

// The log of dropped packets (key "drop_log"): before every drop rule the compiler puts a
// twin that hands at most `per_second` of the packets it matches a second (bursts of
// `burst`) to nflog group `group`, prefixed with the drop rule's name; ipo-netd reads the
// group (`ipo-netctl drops`). Off: no log rules at all.
struct DropLog {
  bool enabled = true;
  uint16_t group = 20;
  uint32_t per_second = 10;
  uint32_t burst = 20;
};

struct Policy {
  int version = 1;
  Lan lan;
  DockerPublish docker_publish = DockerPublish::kLan;
  DropLog drop_log;
  std::vector<Network> networks;
  std::vector<Container> containers;
  std::string source;  // the file it came from (for messages)

  const Network* FindNetwork(const std::string& name) const;
  const Container* FindContainer(const std::string& name) const;
};

// The bounds every policy text is checked against before it is parsed: a policy is a few KB,
// the bounds leave room for a LAN allowlist of tens of thousands of ranges. Any input is
// refused or accepted in time linear in its size (tests/fuzz runs the parser on hostile input).
inline constexpr JsonLimits kPolicyLimits{/*max_bytes=*/8 << 20, /*max_depth=*/16, /*max_string=*/4096};

// Parses and validates policy text; `source` names it in messages.
Result<Policy> ParsePolicy(std::string_view text, const std::string& source);
// Reads and parses a policy file (at most kPolicyLimits.max_bytes are read).
Result<Policy> LoadPolicy(const std::string& path);

}  // namespace ipo::policy
