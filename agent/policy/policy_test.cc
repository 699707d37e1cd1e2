#include "policy/policy.h"

#include <catch2/catch.hpp>
#include <string>

using ipo::policy::ParsePolicy;

namespace {

// A valid policy in the shape of rules/policy.json; tests replace one line at a time.
std::string Base() {
  return R"({
  "version": 1,
  "lan": {
    "subnets": ["192.168.1.0/24", "fd00:192:168:1::/64"],
    "allow": ["192.168.1.1-192.168.1.30", "fd00:192:168:1::1-fd00:192:168:1::1e"]
  },
  "networks": [
    {"name": "ipo-shared", "bridge": "ipo-shared", "subnet_v4": "172.30.1.0/24", "subnet_v6": "fd00:ac1e:1::/64"},
    {"name": "ipo-isolated", "bridge": "ipo-isolated", "subnet_v4": "172.30.2.0/24"}
  ],
  "containers": [
    {"name": "docker_a", "network": "ipo-shared", "publish": [{"port": 8080, "from": "any"}]},
    {"name": "docker_b", "network": "ipo-shared", "publish": [{"port": 3316, "proto": "tcp", "from": "lan"}]},
    {"name": "docker_c", "network": "ipo-isolated", "publish": [{"port": 80}]}
  ]
})";
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

std::string ErrorOf(const std::string& text) {
  auto r = ParsePolicy(text, "p.json");
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

}  // namespace

TEST_CASE("the repository's policy file is valid") {
  auto r = ipo::policy::LoadPolicy(IPO_POLICY_FILE);
  INFO((r.ok() ? std::string() : r.status().message()));
  REQUIRE(r.ok());
  CHECK(r->containers.size() == 3);
  CHECK(r->lan.allow.at(0).ToString() == "192.168.1.1-192.168.1.30");
}

TEST_CASE("a valid policy parses with defaults filled in") {
  auto r = ParsePolicy(Base(), "p.json");
  REQUIRE(r.ok());
  const auto& p = *r;
  CHECK(p.networks.size() == 2);
  CHECK(p.networks[0].subnet_v6.has_value());
  CHECK_FALSE(p.networks[1].subnet_v6.has_value());
  const auto* c = p.FindContainer("docker_c");
  REQUIRE(c);
  CHECK(c->publish[0].host_port == 80);
  CHECK(c->publish[0].proto == 6);
  CHECK(c->publish[0].from == ipo::policy::From::kAny);
  CHECK(p.FindContainer("docker_b")->publish[0].from == ipo::policy::From::kLan);
  CHECK(p.lan.allow[1].ToString() == "fd00:192:168:1::1-fd00:192:168:1::1e");
}

TEST_CASE("bad policies are refused with file, line, key and reason") {
  CHECK(ErrorOf("{\n  \"version\": 1,\n  oops\n}") ==
        "p.json:3:3: invalid JSON: syntax error while parsing object key - invalid literal; last read: '1,<U+000A>  o'; expected string literal");
  CHECK(ErrorOf(Replace(Base(), "\"version\": 1", "\"version\": 2")) ==
        "p.json:2: version: unsupported policy version (this agent reads version 1)");
  CHECK(ErrorOf(Replace(Base(), "\"version\": 1,", "\"version\": 1, \"colour\": 1,")) ==
        "p.json:2: colour: unknown key (expected one of: containers, docker_publish, drop_log, lan, networks, version)");
  CHECK(ErrorOf(Replace(Base(), "192.168.1.1-192.168.1.30", "192.168.1.1-192.168.1.300")) ==
        "p.json:5: lan.allow[0]: \"192.168.1.300\" is not an IPv4 or IPv6 address");
  CHECK(ErrorOf(Replace(Base(), "192.168.1.1-192.168.1.30", "192.168.1.30-192.168.1.1")) ==
        "p.json:5: lan.allow[0]: \"192.168.1.30-192.168.1.1\" ends before it starts");
  CHECK(ErrorOf(Replace(Base(), "192.168.1.1-192.168.1.30", "10.0.0.1-10.0.0.5")) ==
        "p.json:5: lan.allow[0]: 10.0.0.1-10.0.0.5 is outside every lan subnet");
  CHECK(ErrorOf(Replace(Base(), "\"172.30.1.0/24\"", "\"172.30.1.1/24\"")) ==
        "p.json:8: networks[0].subnet_v4: \"172.30.1.1/24\" has host bits set");
  CHECK(ErrorOf(Replace(Base(), "\"172.30.2.0/24\"", "\"172.30.0.0/16\"")) ==
        "p.json:9: networks[1].subnet_v4: overlaps the subnet of network \"ipo-shared\"");
  CHECK(ErrorOf(Replace(Base(), "\"bridge\": \"ipo-isolated\"", "\"bridge\": \"a-very-long-bridge-name\"")) ==
        "p.json:9: networks[1].bridge: \"a-very-long-bridge-name\" is not a valid interface name (at most 15 characters)");
  CHECK(ErrorOf(Replace(Base(), "\"network\": \"ipo-isolated\"", "\"network\": \"nowhere\"")) ==
        "p.json:14: containers[2].network: unknown network \"nowhere\"");
  CHECK(ErrorOf(Replace(Base(), "{\"port\": 80}", "{\"port\": 8080}")) ==
        "p.json:14: containers[2].publish[0].port: host port tcp/8080 is published twice");
  CHECK(ErrorOf(Replace(Base(), "{\"port\": 80}", "{\"port\": 70000}")) ==
        "p.json:14: containers[2].publish[0].port: must be a port number from 1 to 65535");
  CHECK(ErrorOf(Replace(Base(), "\"version\": 1,", "\"version\": 1, \"docker_publish\": \"all\",")) ==
        "p.json:2: docker_publish: \"all\" is not \"lan\" or \"none\"");
  CHECK(ErrorOf(Replace(Base(), "\"from\": \"lan\"", "\"from\": \"wan\"")) ==
        "p.json:13: containers[1].publish[0].from: \"wan\" is not \"any\" or \"lan\"");
  CHECK(ErrorOf(Replace(Base(), "\"name\": \"docker_c\", ", "")) ==
        "p.json:14: containers[2]: missing required key \"name\"");
  // null is a value of the wrong type, not an absent key; a wrong type names what it got.
  CHECK(ErrorOf(Replace(Base(), "\"fd00:ac1e:1::/64\"", "null")) ==
        "p.json:8: networks[0].subnet_v6: must be a string, got null");
  CHECK(ErrorOf(Replace(Base(), "\"version\": 1,", "\"version\": 1, \"docker_publish\": 5,")) ==
        "p.json:2: docker_publish: must be a string, got number");
}

TEST_CASE("docker_publish: lan by default, none on request") {
  auto p = ParsePolicy(Base(), "p.json");
  REQUIRE(p.ok());
  CHECK(p->docker_publish == ipo::policy::DockerPublish::kLan);
  auto none = ParsePolicy(Replace(Base(), "\"version\": 1,", "\"version\": 1, \"docker_publish\": \"none\","), "p.json");
  REQUIRE(none.ok());
  CHECK(none->docker_publish == ipo::policy::DockerPublish::kNone);
}

TEST_CASE("a missing policy file is reported by path") {
  auto r = ipo::policy::LoadPolicy("/nonexistent/policy.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "/nonexistent/policy.json: cannot read the policy file");
}

TEST_CASE("hostile policies are refused quickly with the line, never parsed deep") {
  // A 100,000-character name crashed std::regex (stack overflow) before the linear checks.
  std::string long_name = Replace(Base(), "\"name\": \"docker_a\"", "\"name\": \"" + std::string(100000, 'a') + "\"");
  CHECK(ErrorOf(long_name) == "p.json:12: a string longer than 4096 bytes");
  std::string name_200 = Replace(Base(), "\"name\": \"docker_a\"", "\"name\": \"" + std::string(200, 'a') + "\"");
  CHECK(ErrorOf(name_200).find("p.json:12: containers[0].name: \"aaaa") == 0);
  CHECK(ErrorOf(name_200).find("is not a valid container name") != std::string::npos);
  // 150,000 nested brackets: quadratic in the path index before the depth bound.
  std::string deep = "{\"version\": 1, \"lan\": " + std::string(150000, '[') + std::string(150000, ']') + "}";
  CHECK(ErrorOf(deep) == "p.json:1: nesting deeper than 16 levels");
  CHECK(ErrorOf(std::string(9 << 20, ' ')) == "p.json: 9437184 bytes is more than the 8388608 this file may have");
  CHECK(ErrorOf("\x7f\x45\x4c\x46 not json").find("p.json:1:1: invalid JSON: ") == 0);
  // A number beyond a double is nlohmann's out_of_range, not parse_error (was: terminate).
  CHECK(ErrorOf(Replace(Base(), "\"version\": 1", "\"version\": 1e400")) ==
        "p.json: invalid JSON: a number is out of range");
  // Names: first character a letter or digit, then the Docker set.
  CHECK(ErrorOf(Replace(Base(), "\"name\": \"docker_a\"", "\"name\": \"-a\"")).find("containers[0].name") !=
        std::string::npos);
  CHECK(ErrorOf(Replace(Base(), "\"name\": \"docker_a\"", "\"name\": \"a b\"")).find("containers[0].name") !=
        std::string::npos);
  CHECK(ErrorOf(Replace(Base(), "\"bridge\": \"ipo-shared\"", "\"bridge\": \"ipo-shared-too-long\""))
            .find("networks[0].bridge") != std::string::npos);
}
