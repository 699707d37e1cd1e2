// Explain on the lab's policy, compiled for the lab's three containers: every kind of row of
// the lab's connectivity matrix (scripts/lib/ipo_lab_matrix.sh) gets the verdict the probe
// observes there, with the path and the policy entries that decide it.
#include "explain/explain.h"

#include <catch2/catch.hpp>

#include "compile/compiler.h"

namespace {

using ipo::explain::Explain;
using ipo::explain::Explanation;
using ipo::explain::Packet;
using ipo::nft::Value;

ipo::policy::Policy LabPolicy() {
  auto p = ipo::policy::LoadPolicy(IPO_SRC_DIR "/rules/policy.json");
  REQUIRE(p.ok());
  return *p;
}

ipo::model::Observed LabObserved() {
  ipo::model::Observed o;
  o.containers = {{"docker_a", "a", true, "172.30.1.2", "fd00:ac1e:1::2"},
                  {"docker_b", "b", true, "172.30.1.3", "fd00:ac1e:1::3"},
                  {"docker_c", "c", true, "172.30.2.2", "fd00:ac1e:2::2"}};
  o.bridges = {"docker0", "ipo-isolated", "ipo-shared"};
  o.default_bridge_v4 = "172.17.0.0/16";
  return o;
}

Value Addr(const std::string& text) {
  if (auto v4 = ipo::nft::ParseIpv4(text)) return *v4;
  auto v6 = ipo::nft::ParseIpv6(text);
  REQUIRE(v6);
  return *v6;
}

ipo::explain::Host LabHost(const ipo::policy::Policy& policy) {
  ipo::explain::Host h;
  for (const char* a : {"203.0.113.1", "192.168.1.100", "2001:db8:1::1", "fd00:192:168:1::100"})
    h.local.push_back(Addr(a));
  h.routes = ipo::explain::PolicyRoutes(policy, "172.17.0.0/16");
  for (const auto& c : LabObserved().containers) {
    h.names[c.ipv4] = c.name;
    h.names[c.ipv6] = c.name;
  }
  return h;
}

Explanation Run(const std::string& src, const std::string& dst, uint16_t port, const std::string& iif = "") {
  auto policy = LabPolicy();
  auto rs = ipo::compile::Compile(policy, LabObserved());
  return Explain(rs, policy, LabHost(policy), Packet{Addr(src), Addr(dst), 6, port, iif});
}

// The matched rules, one "chain: rule [origin]" a line.
std::string Matched(const Explanation& e) {
  std::string out;
  for (const auto& s : e.steps)
    if (s.matched) out += s.chain + ": " + (s.rule.empty() ? "policy" : s.rule) + (s.origin.empty() ? "" : " [" + s.origin + "]") + "\n";
  return out;
}

}  // namespace

TEST_CASE("explain: the WAN reaches A:8080 through the host's port, published to everyone") {
  for (auto [client, host] : {std::pair{"203.0.113.10", "203.0.113.1"}, std::pair{"2001:db8:1::10", "2001:db8:1::1"}}) {
    Explanation e = Run(client, host, 8080);
    INFO(Matched(e));
    CHECK(e.verdict == "allowed");
    CHECK(e.container == "docker_a");
    CHECK_FALSE(e.to_host);
    CHECK(e.dport == 8080);
    CHECK(Matched(e) ==
          "nat-prerouting: ports published to everyone [containers[0].publish[0]]\n"
          "filter-forward: into a container network\n"
          "into-bridge: into containers\n"
          "to-containers: published ports (" + std::string(e.daddr.index() == 0 ? "IPv4" : "IPv6") +
              ") [containers[0].publish[0]]\n");
    CHECK(e.reason == std::string("inet ipo_netd to-containers: published ports (") +
                          (e.daddr.index() == 0 ? "IPv4" : "IPv6") + ")");
  }
}

TEST_CASE("explain: B:3316 is for the LAN allowlist only") {
  Explanation ok = Run("192.168.1.10", "192.168.1.100", 3316);
  CHECK(ok.verdict == "allowed");
  CHECK(ok.container == "docker_b");
  CHECK(Matched(ok).find("nat-prerouting: ports published to the LAN allowlist [containers[1].publish[0]]") !=
        std::string::npos);
  CHECK(Matched(ok).find("to-containers: the LAN allowlist reaches every container (IPv4) [lan.allow[0]]") !=
        std::string::npos);
  // From the WAN nothing maps 3316: the packet is the host's, and nothing of the agent's
  // decides (nothing listens there: the probe sees it closed).
  Explanation wan = Run("203.0.113.10", "203.0.113.1", 3316);
  CHECK(wan.verdict == "not handled");
  CHECK(wan.to_host);
  // Straight to B's address: no DNAT, so not a published port.
  Explanation direct = Run("203.0.113.10", "172.30.1.3", 3316);
  CHECK(direct.verdict == "dropped");
  CHECK(direct.reason == "inet ipo_netd to-containers: nothing else reaches a container");
}

TEST_CASE("explain: a LAN source outside the allowlist is dropped by its subnet's rule") {
  for (auto [client, host] : {std::pair{"192.168.1.50", "192.168.1.100"}, std::pair{"fd00:192:168:1::50", "fd00:192:168:1::100"}}) {
    Explanation e = Run(client, host, 8080);
    INFO(Matched(e));
    CHECK(e.verdict == "dropped");
    bool v6 = std::string(client).find(':') != std::string::npos;
    CHECK(e.reason == std::string("inet ipo_netd to-containers: LAN sources outside the allowlist (") +
                          (v6 ? "fd00:192:168:1::/64" : "192.168.1.0/24") + ")");
    CHECK(Matched(e).find(v6 ? "[lan.subnets[1]]" : "[lan.subnets[0]]") != std::string::npos);
  }
  // Its ssh to the host is not the agent's business.
  Explanation ssh = Run("192.168.1.50", "192.168.1.100", 22);
  CHECK(ssh.verdict == "not handled");
  CHECK(ssh.to_host);
}

TEST_CASE("explain: containers talk inside their network, never across") {
  Explanation ab = Run("172.30.1.2", "172.30.1.3", 3316, "ipo-shared");
  CHECK(ab.verdict == "not handled");  // switched inside ipo-shared: only the bridge hook sees it
  CHECK(ab.container == "docker_b");
  REQUIRE_FALSE(ab.steps.empty());
  CHECK(ab.steps[ab.steps.size() - 1].hook == "bridge forward");
  Explanation ca = Run("172.30.2.2", "172.30.1.2", 8080, "ipo-isolated");
  CHECK(ca.verdict == "dropped");
  CHECK(ca.reason == "inet ipo_netd between-bridges: containers on different networks never talk");
  Explanation ac = Run("fd00:ac1e:1::2", "fd00:ac1e:2::2", 80, "ipo-shared");
  CHECK(ac.verdict == "dropped");
  // On Docker's default bridge, neighbours are dropped on layer 2.
  Explanation d0 = Run("172.17.0.2", "172.17.0.3", 80, "docker0");
  CHECK(d0.verdict == "dropped");
  CHECK(d0.reason == "bridge ipo_netd filter-forward: containers on Docker's default bridge never talk to each other");
}

TEST_CASE("explain: every evaluated rule is a step, matched or not, in the kernel's order") {
  Explanation e = Run("203.0.113.10", "172.30.1.3", 3316);
  std::vector<std::string> chains;
  for (const auto& s : e.steps)
    if (chains.empty() || chains.back() != s.chain) chains.push_back(s.chain);
  CHECK(chains == std::vector<std::string>{"nat-prerouting", "filter-forward", "into-bridge", "to-containers"});
  size_t unmatched = std::count_if(e.steps.begin(), e.steps.end(), [](const auto& s) { return !s.matched; });
  CHECK(unmatched >= 8);  // the nat rules, the br-* rule, the allowlist, the LAN drops, ...
}

TEST_CASE("explain: the destination argument, and what is refused") {
  using ipo::explain::ParseDestination;
  auto d = ParseDestination("docker_a:8080");
  REQUIRE(d.ok());
  CHECK((d->host == "docker_a" && d->port == 8080 && d->proto == 6));
  d = ParseDestination("[fd00:ac1e:1::3]:53/udp");
  REQUIRE(d.ok());
  CHECK((d->host == "fd00:ac1e:1::3" && d->port == 53 && d->proto == 17));
  d = ParseDestination("203.0.113.1:65535/tcp");
  REQUIRE(d.ok());
  CHECK(d->port == 65535);
  for (const char* bad : {"", ":80", "a", "a:", "a:0", "a:65536", "a:99999999999999999999", "a:+80", "a: 80",
                          "a:80/", "a:80/sctp", "fd00::1:80", "[]:80", "[not-v6]:80", "[::1:80", "a/tcp",
                          "a:8o", "/tcp", "[::1]]:80"}) {
    INFO(bad);
    auto r = ParseDestination(bad);
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK(r.status().message().rfind("DST: ", 0) == 0);
  }
}
