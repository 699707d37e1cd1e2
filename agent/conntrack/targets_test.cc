#include "conntrack/targets.h"

#include <catch2/catch.hpp>

using namespace ipo;
using conntrack::Entry;
using conntrack::LostTargets;
using conntrack::Matches;
using conntrack::Target;

namespace {

policy::Policy LabPolicy() {
  auto p = policy::LoadPolicy(IPO_POLICY_FILE);
  REQUIRE(p.ok());
  return *p;
}

model::Observed Lab() {
  model::Observed o;
  o.containers = {{"docker_a", "a1aaaaaaaaaaaaaa", true, "172.30.1.2", "fd00:ac1e:1::2"},
                  {"docker_b", "b1bbbbbbbbbbbbbb", true, "172.30.1.3", "fd00:ac1e:1::3"},
                  {"docker_c", "c1cccccccccccccc", true, "172.30.2.2", "fd00:ac1e:2::2"}};
  return o;
}

model::ObservedContainer* Find(model::Observed& o, const std::string& name) {
  for (auto& c : o.containers)
    if (c.name == name) return &c;
  return nullptr;
}

std::vector<std::string> Whys(const std::vector<Target>& ts) {
  std::vector<std::string> out;
  for (const auto& t : ts) out.push_back(t.why);
  return out;
}

// A flow from `client` to host:host_port DNATed to addr:port (tcp).
Entry Dnat(const std::string& client, const std::string& host, uint16_t host_port, const std::string& addr,
           uint16_t port) {
  return Entry{{client, host, 6, 40000, host_port}, {addr, client, 6, port, 40000}};
}
// A flow from `client` straight to addr:port (tcp).
Entry Direct(const std::string& client, const std::string& addr, uint16_t port) {
  return Entry{{client, addr, 6, 40001, port}, {addr, client, 6, port, 40001}};
}

}  // namespace

TEST_CASE("nothing changed: nothing is flushed") {
  auto p = LabPolicy();
  auto rs = compile::Compile(p, Lab());
  CHECK(LostTargets(Lab(), &rs, Lab(), rs).empty());
  CHECK(LostTargets(Lab(), nullptr, Lab(), rs).empty());
}

TEST_CASE("a container recreated under the same name loses its old flows, the unchanged ones keep theirs") {
  auto p = LabPolicy();
  model::Observed before = Lab(), after = Lab();
  Find(after, "docker_a")->id = "a2aaaaaaaaaaaaaa";  // docker rm -f + docker run, same address
  auto lost = LostTargets(before, nullptr, after, compile::Compile(p, after));
  CHECK(Whys(lost) == std::vector<std::string>{
                          "172.30.1.2 no longer belongs to docker_a (id a1aaaaaaaaaa): now held by docker_a (id "
                          "a2aaaaaaaaaa)",
                          "fd00:ac1e:1::2 no longer belongs to docker_a (id a1aaaaaaaaaa): now held by docker_a (id "
                          "a2aaaaaaaaaa)"});
  REQUIRE(lost.size() == 2);
  CHECK(lost[0].kind == Target::Kind::kAddress);
  CHECK(lost[0].addr == "172.30.1.2");
  CHECK(lost[1].addr == "fd00:ac1e:1::2");
  // docker_b's and docker_c's flows are untouched.
  for (const auto& t : lost) {
    CHECK_FALSE(Matches(Direct("192.168.1.5", "172.30.1.3", 3316), t));
    CHECK_FALSE(Matches(Dnat("203.0.113.9", "198.51.100.1", 80, "172.30.2.2", 80), t));
  }
}

TEST_CASE("a renamed container that keeps its id and address keeps its flows") {
  model::Observed before = Lab(), after = Lab();
  Find(after, "docker_b")->name = "docker_b_renamed";
  auto p = LabPolicy();
  // docker_b's publication goes (the policy does not name the new name): only that.
  auto rs_before = compile::Compile(p, before);
  auto lost = LostTargets(before, &rs_before, after, compile::Compile(p, after));
  CHECK(Whys(lost) == std::vector<std::string>{"publication tcp 3316 -> 172.30.1.3:3316 (publish-lan) revoked",
                                               "publication tcp 3316 -> [fd00:ac1e:1::3]:3316 (publish-lan) revoked"});
}

TEST_CASE("address reuse: the address of a stopped container taken by another loses its flows") {
  auto p = LabPolicy();
  model::Observed before = Lab(), after = Lab();
  auto* a = Find(after, "docker_a");
  a->running = false;
  a->ipv4.clear();
  a->ipv6.clear();
  // Another container (the policy does not care which) is handed docker_a's addresses.
  after.containers.push_back({"intruder", "d1dddddddddddddd", true, "172.30.1.2", "fd00:ac1e:1::2"});
  auto rs_before = compile::Compile(p, before);
  auto rs_after = compile::Compile(p, after);
  auto lost = LostTargets(before, &rs_before, after, rs_after);
  CHECK(Whys(lost) == std::vector<std::string>{
                          "172.30.1.2 no longer belongs to docker_a (id a1aaaaaaaaaa): now held by intruder (id "
                          "d1dddddddddd)",
                          "fd00:ac1e:1::2 no longer belongs to docker_a (id a1aaaaaaaaaa): now held by intruder (id "
                          "d1dddddddddd)"});
  // The WAN's flow to docker_a through host:8080 and the LAN's direct one both end.
  const Target& t = lost[0];
  CHECK(Matches(Dnat("203.0.113.9", "198.51.100.1", 8080, "172.30.1.2", 8080), t));
  CHECK(Matches(Direct("192.168.1.5", "172.30.1.2", 8080), t));
  // docker_a's own outgoing flow (masqueraded) ends too: its replies would reach the new holder.
  CHECK(Matches(Entry{{"172.30.1.2", "203.0.113.9", 6, 50000, 443}, {"203.0.113.9", "198.51.100.1", 6, 443, 50000}},
                t));
  CHECK_FALSE(Matches(Dnat("203.0.113.9", "198.51.100.1", 80, "172.30.2.2", 80), t));
}

TEST_CASE("a stopped container loses its flows; one that merely left its network too") {
  model::Observed before = Lab(), after = Lab();
  Find(after, "docker_c")->running = false;
  Find(after, "docker_a")->ipv6.clear();
  auto p = LabPolicy();
  auto lost = LostTargets(before, nullptr, after, compile::Compile(p, after));
  CHECK(Whys(lost) == std::vector<std::string>{"172.30.2.2 no longer belongs to docker_c (id c1cccccccccc): stopped",
                                               "fd00:ac1e:1::2 no longer belongs to docker_a (id a1aaaaaaaaaa): left "
                                               "its network",
                                               "fd00:ac1e:2::2 no longer belongs to docker_c (id c1cccccccccc): stopped"});
}

TEST_CASE("a removed container loses its flows") {
  model::Observed before = Lab(), after = Lab();
  after.containers.erase(after.containers.begin());  // docker_a
  auto p = LabPolicy();
  auto lost = LostTargets(before, nullptr, after, compile::Compile(p, after));
  CHECK(Whys(lost) == std::vector<std::string>{"172.30.1.2 no longer belongs to docker_a (id a1aaaaaaaaaa): gone",
                                               "fd00:ac1e:1::2 no longer belongs to docker_a (id a1aaaaaaaaaa): gone"});
}

TEST_CASE("a revoked publication ends its DNATed flows only; the container keeps the others") {
  auto p = LabPolicy();
  auto rs_before = compile::Compile(p, Lab());
  policy::Policy q = p;
  for (auto& c : q.containers)
    if (c.name == "docker_a") c.publish.clear();  // policy reload: 8080 no longer published
  auto lost = LostTargets(Lab(), &rs_before, Lab(), compile::Compile(q, Lab()));
  CHECK(Whys(lost) == std::vector<std::string>{"publication tcp 8080 -> 172.30.1.2:8080 (publish-any) revoked",
                                               "publication tcp 8080 -> [fd00:ac1e:1::2]:8080 (publish-any) revoked"});
  REQUIRE(lost.size() == 2);
  const Target& t = lost[0];
  CHECK(t.kind == Target::Kind::kPublication);
  CHECK(Matches(Dnat("203.0.113.9", "198.51.100.1", 8080, "172.30.1.2", 8080), t));
  CHECK_FALSE(Matches(Direct("192.168.1.5", "172.30.1.2", 8080), t));  // the allowlist reaches it directly
  CHECK_FALSE(Matches(Dnat("203.0.113.9", "198.51.100.1", 8081, "172.30.1.2", 8080), t));
  CHECK_FALSE(Matches(Dnat("203.0.113.9", "198.51.100.1", 8080, "172.30.1.9", 8080), t));
  Entry udp = Dnat("203.0.113.9", "198.51.100.1", 8080, "172.30.1.2", 8080);
  udp.orig.proto = udp.reply.proto = 17;
  CHECK_FALSE(Matches(udp, t));
  CHECK(Matches(Dnat("2001:db8::9", "2001:db8::1", 8080, "fd00:ac1e:1::2", 8080), lost[1]));
}

TEST_CASE("a publication moved from everyone to the LAN ends the flows made under the old one") {
  auto p = LabPolicy();
  auto rs_before = compile::Compile(p, Lab());
  policy::Policy q = p;
  for (auto& c : q.containers)
    if (c.name == "docker_a") c.publish[0].from = policy::From::kLan;
  auto lost = LostTargets(Lab(), &rs_before, Lab(), compile::Compile(q, Lab()));
  CHECK(Whys(lost) == std::vector<std::string>{"publication tcp 8080 -> 172.30.1.2:8080 (publish-any) revoked",
                                               "publication tcp 8080 -> [fd00:ac1e:1::2]:8080 (publish-any) revoked"});
}

TEST_CASE("addresses are compared in canonical form") {
  model::Observed before = Lab(), after = Lab();
  Find(after, "docker_a")->ipv6 = "fd00:ac1e:1:0:0:0:0:2";
  auto p = LabPolicy();
  CHECK(LostTargets(before, nullptr, after, compile::Compile(p, after)).empty());
  CHECK(conntrack::CanonicalAddress("fd00:ac1e:1:0:0:0:0:2") == "fd00:ac1e:1::2");
  CHECK(conntrack::CanonicalAddress("") == "");
}

TEST_CASE("entries print as one line") {
  CHECK(conntrack::EntryToString(Dnat("2001:db8::9", "2001:db8::1", 8080, "fd00:ac1e:1::2", 8080)) ==
        "tcp [2001:db8::9]:40000 -> [2001:db8::1]:8080 (reply [fd00:ac1e:1::2]:8080 -> [2001:db8::9]:40000)");
}

TEST_CASE("a -p binding the agent stops publishing ends its DNATed flows, HostIp-keyed ones too") {
  auto p = LabPolicy();
  model::Observed before = Lab();
  // A stranger's `-p 9000:80` and `-p 192.168.1.100:9001:80`, published for the LAN allowlist.
  before.docker_published = {{6, 9000, false, "", "172.17.0.5", 80, "stranger"},
                             {6, 9001, false, "192.168.1.100", "172.17.0.5", 80, "stranger"}};
  auto rs_before = compile::Compile(p, before);
  model::Observed after = Lab();  // the stranger stopped: neither binding is published now
  auto lost = LostTargets(before, &rs_before, after, compile::Compile(p, after));
  CHECK(Whys(lost) == std::vector<std::string>{"publication tcp 9000 -> 172.17.0.5:80 (docker-lan) revoked",
                                               "publication tcp 9001 -> 172.17.0.5:80 (docker-lan-at) revoked"});
  REQUIRE(lost.size() == 2);
  CHECK(Matches(Dnat("192.168.1.5", "192.168.1.100", 9000, "172.17.0.5", 80), lost[0]));
  CHECK(Matches(Dnat("192.168.1.5", "192.168.1.100", 9001, "172.17.0.5", 80), lost[1]));
  CHECK_FALSE(Matches(Dnat("192.168.1.5", "192.168.1.100", 9000, "172.17.0.5", 80), lost[1]));
  // Unchanged bindings keep their flows.
  CHECK(LostTargets(before, &rs_before, before, rs_before).empty());
}
