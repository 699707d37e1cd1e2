// Conntrack follows the ruleset: the Reconciler removes the flows of every target that lost
// its owner after the apply (daemon/flow_flush.h), and status says how that went.
#include "daemon/reconciler.h"

#include "daemon/test_fixture.h"
#include "testing/fake_conntrack.h"

using namespace ipo;
using namespace ipo::daemon::testfix;

namespace {

// A WAN client's flow to host:host_port, DNATed to addr:port.
conntrack::Entry WanFlow(const std::string& addr, uint16_t host_port, uint16_t port) {
  return {{"203.0.113.9", "198.51.100.1", 6, 40000, host_port}, {addr, "203.0.113.9", 6, port, 40000}};
}

}  // namespace

TEST_CASE("conntrack follows the ruleset: a dead container's flows end, its address's next holder gets none") {
  Fixture f;
  testing::FakeFlusher ct;
  f.docker.Run("docker_a");
  f.docker.Run("docker_b");
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store, &ct);
  REQUIRE(r.Sync("start").ok());
  r.SetDocker(true, "connected");
  std::string a4 = f.docker.Find("docker_a")->endpoints.at(0).ipv4;
  std::string b4 = f.docker.Find("docker_b")->endpoints.at(0).ipv4;
  REQUIRE(a4 != b4);
  CHECK(ct.calls.empty());  // the first sync took nothing from anybody
  ct.entries = {WanFlow(a4, 8080, 8080), WanFlow(b4, 3316, 3316)};

  REQUIRE(r.Sync("nothing changed").ok());
  CHECK(ct.calls.empty());

  f.docker.Find("docker_a")->running = false;  // docker_a died
  REQUIRE(r.Sync("die docker_a").ok());
  REQUIRE(ct.calls.size() == 1);
  CHECK(ct.calls[0].size() == 2);  // IPv4 and IPv6
  CHECK(ct.calls[0][0].why == a4 + " no longer belongs to docker_a (id id-docker_a): stopped");
  // docker_a's flow is gone before its address can be handed out; docker_b keeps its flow.
  CHECK(ct.entries == std::vector<conntrack::Entry>{WanFlow(b4, 3316, 3316)});
  auto st = r.StatusJson();
  CHECK(st["health"] == "ok");
  CHECK(st["conntrack"]["flushes"] == 1);
  CHECK(st["conntrack"]["removed"] == 1);
  CHECK(st["conntrack"]["last_flush"]["reason"] == "die docker_a");
  CHECK(st["conntrack"]["last_flush"]["targets"][0] == a4 + " no longer belongs to docker_a (id id-docker_a): stopped");

  // The intruder takes the address: no owner changed among the policy's containers.
  docker::ContainerInfo intruder{"id-intruder", "intruder", true, "running", 1, {{"ipo-shared", "x", a4, ""}}, {}, {}};
  f.docker.containers.push_back(intruder);
  REQUIRE(r.Sync("start intruder").ok());
  CHECK(ct.calls.size() == 1);
}

TEST_CASE("conntrack follows the ruleset: a publication revoked by a reload ends its flows") {
  testing::FakeFlusher ct;
  Started f(&ct);
  daemon::Reconciler& r = *f.r;
  r.SetDocker(true, "connected");
  std::string a4 = f.docker.Find("docker_a")->endpoints.at(0).ipv4;
  conntrack::Entry lan{{"192.168.1.5", a4, 6, 40001, 8080}, {a4, "192.168.1.5", 6, 8080, 40001}};
  ct.entries = {WanFlow(a4, 8080, 8080), lan};
  policy::Policy p = LabPolicy();
  for (auto& c : p.containers)
    if (c.name == "docker_a") c.publish.clear();
  REQUIRE(r.ReplacePolicy(p).ok());
  REQUIRE(ct.calls.size() == 1);
  CHECK(ct.calls[0].at(0).why == "publication tcp 8080 -> " + a4 + ":8080 (publish-any) revoked");
  CHECK(ct.entries == std::vector<conntrack::Entry>{lan});  // the allowlist reaches it directly still
}

TEST_CASE("a failed conntrack flush degrades health until one works") {
  testing::FakeFlusher ct;
  Started f(&ct);
  daemon::Reconciler& r = *f.r;
  r.SetDocker(true, "connected");
  ct.fail = true;
  f.docker.Find("docker_a")->running = false;
  REQUIRE(r.Sync("die docker_a").ok());  // the ruleset is in force; only the flows may linger
  auto st = r.StatusJson();
  CHECK(st["health"] == "degraded");
  CHECK(st["health_reason"] == "conntrack flush failed (established flows to a lost target may still pass): "
                               "conntrack dump failed: injected failure");
  ct.fail = false;
  f.docker.Find("docker_a")->running = true;
  REQUIRE(r.Sync("start docker_a").ok());
  f.docker.Find("docker_a")->running = false;
  REQUIRE(r.Sync("die docker_a").ok());
  CHECK(r.StatusJson()["health"] == "ok");
}

TEST_CASE("without a flusher the daemon says why and health is degraded") {
  Fixture f;
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  REQUIRE(r.Sync("start").ok());
  r.SetDocker(true, "connected");
  r.SetConntrackOff("conntrack socket: netlink socket(NETLINK_NETFILTER) failed");
  CHECK(r.StatusJson()["health_reason"] == "conntrack flows are not removed when a target loses its owner: "
                                           "conntrack socket: netlink socket(NETLINK_NETFILTER) failed");
  CHECK(r.StatusJson()["conntrack"]["enabled"] == false);
}
