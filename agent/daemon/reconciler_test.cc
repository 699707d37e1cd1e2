// The Reconciler on fakes: placement, element and full applies, restore, drift repair,
// state saving, health. Its parts have their own tests (kernel_apply_test.cc, ...); the ports
// it guards are in reconciler_ports_test.cc, conntrack in reconciler_conntrack_test.cc.
#include "daemon/reconciler.h"

#include <algorithm>
#include <fstream>

#include "compile/drift.h"
#include "daemon/test_fixture.h"

using namespace ipo;
using namespace ipo::daemon::testfix;

TEST_CASE("plain containers are moved to their policy networks and their ports published") {
  Fixture f;
  f.docker.Run("docker_a");
  f.docker.Run("docker_b");
  f.docker.Run("docker_c");
  f.docker.Run("stranger");
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  REQUIRE(r.Sync("test").ok());
  std::vector<std::string> want_log = {
      "create ipo-shared",         "create ipo-isolated",      "connect docker_a ipo-shared",
      "connect docker_b ipo-shared", "connect docker_c ipo-isolated", "disconnect docker_a bridge",
      "disconnect docker_b bridge",  "disconnect docker_c bridge",
  };
  CHECK(f.docker.log == want_log);
  CHECK(f.docker.Find("stranger")->endpoints.at(0).network == "bridge");  // left alone
  CHECK(Elements(f.nft.kernel, nft::Family::kIp, "ipo_netd_nat", "publish-any") ==
        std::vector<std::string>{"tcp . 80 : 172.30.2.2 . 80", "tcp . 8080 : 172.30.1.2 . 8080"});
  CHECK(Elements(f.nft.kernel, nft::Family::kIp, "ipo_netd_nat", "publish-lan") ==
        std::vector<std::string>{"tcp . 3316 : 172.30.1.3 . 3316"});
  CHECK(r.StatusJson()["health"] == "degraded");  // docker never reported connected in this test
  r.SetDocker(true, "connected");
  CHECK(r.StatusJson()["health"] == "ok");
  CHECK(r.StatusJson()["generation"] == 1);
}

TEST_CASE("a container Docker refuses to connect is skipped; the rest of the host is still published") {
  Fixture f;
  f.docker.Run("docker_a");
  f.docker.Run("docker_b");
  f.docker.Run("docker_c");
  f.docker.refuse_connect.insert("docker_a");  // e.g. docker_a runs with --network container:X
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  r.SetDocker(true, "connected");
  REQUIRE(r.Sync("test").ok());
  // docker_b and docker_c are placed and published; docker_a is left where it is, unpublished.
  CHECK(Elements(f.nft.kernel, nft::Family::kIp, "ipo_netd_nat", "publish-any") ==
        std::vector<std::string>{"tcp . 80 : 172.30.2.2 . 80"});
  CHECK(Elements(f.nft.kernel, nft::Family::kIp, "ipo_netd_nat", "publish-lan") ==
        std::vector<std::string>{"tcp . 3316 : 172.30.1.2 . 3316"});
  auto st = r.StatusJson();
  CHECK(st["health"] == "degraded");
  CHECK(st["health_reason"].get<std::string>().find("container docker_a cannot be connected to ipo-shared") == 0);
  // Removals still apply while the bad container stays: docker_c dies, its port goes.
  f.docker.Find("docker_c")->running = false;
  REQUIRE(r.Sync("die docker_c").ok());
  CHECK(Elements(f.nft.kernel, nft::Family::kIp, "ipo_netd_nat", "publish-any").empty());
  // Once Docker accepts it, the problem clears.
  f.docker.refuse_connect.clear();
  REQUIRE(r.Sync("retry").ok());
  CHECK(r.StatusJson()["health"] == "ok");
  CHECK(Elements(f.nft.kernel, nft::Family::kIp, "ipo_netd_nat", "publish-any") ==
        std::vector<std::string>{"tcp . 8080 : 172.30.1.3 . 8080"});
}

TEST_CASE("container churn is applied as one element batch, and the state is saved") {
  Fixture f;
  f.docker.Run("docker_a");
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  REQUIRE(r.Sync("first").ok());
  REQUIRE(f.nft.calls == std::vector<std::string>{"replace"});
  f.docker.Find("docker_a")->running = false;  // docker_a died
  REQUIRE(r.Sync("die").ok());
  CHECK(f.nft.calls.back() == "elements 4");  // v4 and v6, filter set and DNAT map
  CHECK(Elements(f.nft.kernel, nft::Family::kIp, "ipo_netd_nat", "publish-any").empty());
  REQUIRE(r.Sync("nothing changed").ok());
  CHECK(f.nft.calls.size() == 2);  // no batch at all
  auto saved = f.store.Load();
  REQUIRE(saved.ok());
  CHECK(saved->generation == 2);
  CHECK_FALSE(saved->observed.containers.at(0).running);
}

TEST_CASE("an address taken over by another container is never published for it") {
  Started f;
  daemon::Reconciler& r = *f.r;
  std::string old_ip = f.docker.Find("docker_a")->endpoints.at(0).ipv4;
  f.docker.Find("docker_a")->running = false;
  REQUIRE(r.Sync("die docker_a").ok());
  // intruder takes docker_a's old address on the shared network
  docker::ContainerInfo intruder{"id-intruder", "intruder", true, "running", 1, {{"ipo-shared", "x", old_ip, ""}}, {}, {}};
  f.docker.containers.push_back(intruder);
  REQUIRE(r.Sync("start intruder").ok());
  CHECK(Elements(f.nft.kernel, nft::Family::kIp, "ipo_netd_nat", "publish-any").empty());
  CHECK(Elements(f.nft.kernel, nft::Family::kInet, "ipo_netd", "published-v4").empty());
}

TEST_CASE("docker down keeps the ruleset in force and reports degraded") {
  Started f;
  daemon::Reconciler& r = *f.r;
  r.SetDocker(true, "connected");
  f.docker.down = true;
  CHECK_FALSE(r.Sync("reconnect").ok());
  r.SetDocker(false, "connection refused");
  CHECK(f.nft.kernel.ToString() == f.before.ToString());
  CHECK(r.StatusJson()["health"] == "degraded");
}

TEST_CASE("restart restores the saved ruleset before docker answers") {
  Started f;
  f.r.reset();
  testing::FakeNftBackend fresh;  // the kernel after a reboot: empty
  f.docker.down = true;
  daemon::Reconciler again(LabPolicy(), f.docker, fresh, f.store);
  REQUIRE(again.Restore().ok());
  CHECK(fresh.kernel.ToString() == f.before.ToString());
}

TEST_CASE("drift is detected and repaired with a full replace") {
  Started f;
  daemon::Reconciler& r = *f.r;
  auto found = r.CheckDrift(true);
  REQUIRE(found.ok());
  CHECK(found->empty());
  f.nft.kernel.tables[0].FindSet("lan-allow-v4")->elements.clear();  // someone flushed the allowlist
  found = r.CheckDrift(true);
  REQUIRE(found.ok());
  REQUIRE(found->size() == 1);
  CHECK(found->at(0) == "inet ipo_netd: set lan-allow-v4: missing element 192.168.1.1-192.168.1.30");
  CHECK(compile::FindDrift(*r.applied(), *f.nft.ReadTables({})).empty());
  CHECK(r.StatusJson()["drift_repairs"] == 1);
  // The repair was confirmed by a second read-back, and recorded with its trigger.
  // (sync, check, check + repair + confirming read, and this test's own read above)
  CHECK(f.nft.calls == std::vector<std::string>{"replace", "read", "read", "replace", "read", "read"});
  const auto last = r.StatusJson()["last_repair"];
  CHECK(last["trigger"] == "periodic drift check");
  CHECK(last["differences"] == 1);
  CHECK(last["first_difference"] == "inet ipo_netd: set lan-allow-v4: missing element 192.168.1.1-192.168.1.30");
}

TEST_CASE("each drift check publishes every rule's counter as the kernel counts it") {
  Started f;
  daemon::Reconciler& r = *f.r;
  CHECK(r.StatusDoc().counters.empty());  // nothing read yet
  for (auto& c : f.nft.kernel.tables[0].chains)
    for (auto& rule : c.rules)
      if (rule.comment == "nothing else reaches a container") rule.counts = nft::Counts{42, 2520};
  REQUIRE(r.CheckDrift(true).ok());
  status::AgentStatus s = r.StatusDoc();
  CHECK(s.counters_read_unix > 0);
  size_t rules = 0;
  for (const auto& t : r.applied()->tables)
    for (const auto& c : t.chains) rules += c.rules.size();
  CHECK(s.counters.size() == rules);  // every rule has a counter
  auto drop = std::find_if(s.counters.begin(), s.counters.end(),
                           [](const status::RuleCounter& c) { return c.rule == "nothing else reaches a container"; });
  REQUIRE(drop != s.counters.end());
  CHECK(*drop == status::RuleCounter{"inet", "ipo_netd", "to-containers", "nothing else reaches a container", "drop",
                                     42, 2520});
}

TEST_CASE("a repair that does not hold is an error, not a success") {
  Started f;
  daemon::Reconciler& r = *f.r;
  f.nft.kernel.tables.pop_back();  // someone deleted ip6 ipo_netd_nat
  f.nft.fail_next = 1;             // and the kernel refuses the repair batch
  auto found = r.CheckDrift(true, "delete table ip6 ipo_netd_nat (netlink port 7)");
  REQUIRE_FALSE(found.ok());
  CHECK(r.StatusJson()["drift_repairs"] == 0);
  CHECK(r.StatusJson()["last_repair"].is_null());
  CHECK(r.StatusJson()["health"] == "degraded");
  // The next attempt repairs it.
  found = r.CheckDrift(true, "periodic drift check");
  REQUIRE(found.ok());
  CHECK(found->size() == 1);
  CHECK(r.StatusJson()["drift_repairs"] == 1);
}

TEST_CASE("a state directory that cannot be written degrades health but keeps the ruleset") {
  std::string dir = daemon::testfix::TempDir();
  testing::FakeDockerApi docker;
  testing::FakeNftBackend nft;
  state::StateStore store(dir + "/not-a-dir/state");  // its parent is a file: every save fails
  { std::ofstream(dir + "/not-a-dir") << "x"; }
  docker.Run("docker_a");
  daemon::Reconciler r(LabPolicy(), docker, nft, store);
  r.SetDocker(true, "connected");
  REQUIRE(r.Sync("start").ok());
  CHECK(nft.kernel.tables.size() == 4);  // in force
  auto s = r.StatusJson();
  CHECK(s["state_save"]["ok"] == false);
  CHECK(s["health"] == "degraded");
  CHECK(s["health_reason"].get<std::string>().rfind("state not saved", 0) == 0);
  // Room again (here: the parent becomes a directory): the next retry saves, health recovers.
  std::filesystem::remove(dir + "/not-a-dir");
  std::filesystem::create_directories(dir + "/not-a-dir/state");
  r.RetrySave();
  CHECK(r.StatusJson()["state_save"]["ok"] == true);
  CHECK(r.StatusJson()["health"] == "ok");
  CHECK(store.Load().ok());
  r.NoteReloadRefused("/etc/ipo-netd/policy.json:3: lan: missing");
  CHECK(r.StatusJson()["health_reason"] ==
        "policy reload refused, the previous policy stays in force: /etc/ipo-netd/policy.json:3: lan: missing");
  std::filesystem::remove_all(dir);
}

TEST_CASE("a failed apply leaves the previous ruleset and the next sync replaces the tables") {
  Started f;
  daemon::Reconciler& r = *f.r;
  f.docker.Find("docker_a")->running = false;
  f.nft.fail_next = 2;  // the element batch and the fallback replace both fail
  CHECK_FALSE(r.Sync("die").ok());
  CHECK(f.nft.kernel.ToString() == f.before.ToString());
  CHECK(r.StatusJson()["health"] == "degraded");
  REQUIRE(r.Sync("retry").ok());
  CHECK(Elements(f.nft.kernel, nft::Family::kIp, "ipo_netd_nat", "publish-any").empty());
}

TEST_CASE("a lost notification monitor is shown as off and degrades health") {
  Fixture f;
  f.docker.Run("docker_a");
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  r.SetDocker(true, "connected");
  r.SetProtection("off (--claim-tables off)", true);
  REQUIRE(r.Sync("start").ok());
  CHECK(r.StatusJson()["health"] == "ok");
  CHECK(r.StatusJson()["protection"]["monitor"] == true);
  r.NoteMonitorLost("recv: No buffer space available");
  auto st = r.StatusJson();
  CHECK(st["protection"]["monitor"] == false);
  CHECK(st["protection"]["monitor_error"] == "recv: No buffer space available");
  CHECK(st["health"] == "degraded");
  CHECK(st["health_reason"] ==
        "nftables notifications lost (recv: No buffer space available): foreign changes are repaired at the periodic "
        "drift check only");
}

TEST_CASE("a policy network that exists with another bridge and subnet is refused; the rest still applies") {
  Fixture f;
  // Created by someone before the agent: `docker network create --subnet 10.99.0.0/24 ipo-shared`.
  f.docker.networks.push_back({"net-impostor", "ipo-shared", "bridge", "br-0a1b2c3d4e5f", {"10.99.0.0/24"}, false});
  f.docker.Run("docker_a");
  f.docker.Run("docker_c");
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  r.SetDocker(true, "connected");
  REQUIRE(r.Sync("test").ok());
  // Never connected to it; taken off docker0 too. docker_c's network is fine.
  CHECK(f.docker.log == std::vector<std::string>{"create ipo-isolated", "connect docker_c ipo-isolated",
                                                 "disconnect docker_a bridge", "disconnect docker_c bridge"});
  CHECK(f.docker.Find("docker_a")->endpoints.empty());
  CHECK(Elements(f.nft.kernel, nft::Family::kIp, "ipo_netd_nat", "publish-any") ==
        std::vector<std::string>{"tcp . 80 : 172.30.2.2 . 80"});
  auto s = r.StatusJson();
  CHECK(s["health"] == "degraded");
  CHECK(s["problems"].size() == 1);
  CHECK(s["health_reason"] ==
        "network ipo-shared is refused: it exists with bridge br-0a1b2c3d4e5f, the policy says ipo-shared; subnet "
        "10.99.0.0/24, the policy says 172.30.1.0/24 and fd00:ac1e:1::/64; no container is connected to it (remove "
        "the network or change the policy)");
  // Its bridge is still guarded (it is a Docker bridge like any other).
  auto bridges = Elements(f.nft.kernel, nft::Family::kInet, "ipo_netd", "bridges");
  CHECK(std::find(bridges.begin(), bridges.end(), "\"br-0a1b2c3d4e5f\"") != bridges.end());
}

TEST_CASE("a refused network is refused for its driver alone; a container put on it by hand is taken off") {
  Fixture f;
  f.docker.networks.push_back({"net-impostor", "ipo-shared", "macvlan", "", {"172.30.1.0/24", "fd00:ac1e:1::/64"}, true});
  f.docker.Run("docker_b");
  f.docker.Find("docker_b")->endpoints.push_back({"ipo-shared", "net-impostor", "172.30.1.3", ""});
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  REQUIRE(r.Sync("test").ok());
  CHECK(f.docker.Find("docker_b")->endpoints.empty());
  CHECK(Elements(f.nft.kernel, nft::Family::kIp, "ipo_netd_nat", "publish-lan").empty());
  auto why = r.StatusJson()["problems"][0].get<std::string>();
  CHECK(why == "network ipo-shared is refused: it exists with driver macvlan, the policy needs bridge; bridge "
               "(none), the policy says ipo-shared; no container is connected to it (remove the network or change "
               "the policy)");
}

TEST_CASE("every bridge network Docker reports is an element of set bridges, and docker0's subnet is kept") {
  Fixture f;
  f.docker.networks.push_back({"net-shop", "shop", "bridge", "shopnet0", {"10.50.0.0/24"}, false});
  f.docker.networks.push_back({"net-ov", "ov", "overlay", "", {"10.60.0.0/24"}, false});
  f.docker.networks[0].subnets = {"10.200.0.0/16"};  // docker0 with "bip"
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  REQUIRE(r.Sync("test").ok());
  CHECK(Elements(f.nft.kernel, nft::Family::kInet, "ipo_netd", "bridges") ==
        std::vector<std::string>{"\"docker0\"", "\"ipo-isolated\"", "\"ipo-shared\"", "\"shopnet0\""});
  auto saved = f.store.Load();
  REQUIRE(saved.ok());
  CHECK(saved->observed.bridges == std::vector<std::string>{"docker0", "ipo-isolated", "ipo-shared", "shopnet0"});
  CHECK(saved->observed.default_bridge_v4 == "10.200.0.0/16");
  CHECK(f.nft.kernel.ToString().find("ip daddr 10.200.0.0/16 counter drop") != std::string::npos);
  // A later network is an element change, no rule change.
  f.docker.networks.push_back({"net-late", "late", "bridge", "late0", {"10.51.0.0/24"}, false});
  REQUIRE(r.Sync("event network create late").ok());
  CHECK(r.StatusJson()["last_apply"]["kind"] == "elements");
}

using testing::ContainerEvent;

TEST_CASE("events are applied from look-ups: the host is listed only by a full sync") {
  Started t;
  t.docker.list_calls = t.docker.inspect_calls = 0;
  t.docker.Find("docker_a")->running = false;
  REQUIRE(t.r->Update({ContainerEvent("die", "docker_a")}, "event die docker_a").ok());
  CHECK(t.docker.list_calls == 0);
  CHECK(t.docker.inspect_calls == 1);
  CHECK(Elements(t.nft.kernel, nft::Family::kIp, "ipo_netd_nat", "publish-any").empty());
  // A container created later is placed from its events alone.
  t.docker.Run("docker_c");
  REQUIRE(t.r->Update({ContainerEvent("create", "docker_c"), ContainerEvent("start", "docker_c")}, "event start docker_c")
              .ok());
  CHECK(t.docker.list_calls == 0);
  CHECK(t.docker.log.back() == "disconnect docker_c bridge");
  CHECK(Elements(t.nft.kernel, nft::Family::kIp, "ipo_netd_nat", "publish-any") ==
        std::vector<std::string>{"tcp . 80 : 172.30.2.2 . 80"});
  auto st = t.r->StatusJson();
  CHECK(st["full_resyncs"] == 1);
  CHECK(st["syncs"] == 3);
  CHECK(st["lookups"].get<uint64_t>() >= 3);
  CHECK(st["last_full_resync"]["reason"] == "start");
  CHECK(st["last_full_resync"]["corrected"].empty());
}

TEST_CASE("a failed look-up falls back to a full list, and status says why") {
  Started t;
  t.docker.inspect_fails = true;
  t.docker.Find("docker_a")->running = false;
  REQUIRE(t.r->Update({ContainerEvent("die", "docker_a")}, "event die docker_a").ok());
  CHECK(Elements(t.nft.kernel, nft::Family::kIp, "ipo_netd_nat", "publish-any").empty());
  auto st = t.r->StatusJson();
  CHECK(st["full_resyncs"] == 2);
  CHECK(st["last_full_resync"]["reason"] == "event die docker_a; a look-up failed: docker is down");
  // The list found what the events had not told yet: the model had docker_a running.
  CHECK(st["last_full_resync"]["corrected"] == nlohmann::json::array({"container docker_a (id-docker_a): changed"}));
}

TEST_CASE("an update before any full list lists the host first") {
  Fixture f;
  f.docker.Run("docker_a");
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  REQUIRE(r.Update({ContainerEvent("start", "docker_a")}, "event start docker_a").ok());
  CHECK(f.docker.list_calls == 1);
  CHECK(r.StatusJson()["last_full_resync"]["reason"] == "event start docker_a; no full list yet");
  CHECK(Elements(f.nft.kernel, nft::Family::kIp, "ipo_netd_nat", "publish-any") ==
        std::vector<std::string>{"tcp . 8080 : 172.30.1.2 . 8080"});
}

TEST_CASE("a full resync corrects what the events missed and says what") {
  Started t;
  t.docker.Remove("docker_a");  // its die and destroy events never came
  REQUIRE(t.r->Sync("periodic full resync").ok());
  CHECK(Elements(t.nft.kernel, nft::Family::kIp, "ipo_netd_nat", "publish-any").empty());
  auto st = t.r->StatusJson();
  CHECK(st["last_full_resync"]["reason"] == "periodic full resync");
  CHECK(st["last_full_resync"]["containers"] == 0);
  CHECK(st["last_full_resync"]["corrected"] ==
        nlohmann::json::array({"container docker_a (id-docker_a): gone from Docker, still in the model"}));
}

TEST_CASE("a sync that goes through clears an earlier Docker error, even with nothing to apply") {
  Started t;
  t.r->SetDocker(true, "connected");
  t.docker.down = true;
  REQUIRE_FALSE(t.r->Sync("docker timed out").ok());
  CHECK(t.r->StatusJson()["health"] == "degraded");
  t.docker.down = false;
  REQUIRE(t.r->Sync("retry after a failed sync").ok());  // the same ruleset: no batch
  CHECK(t.r->StatusJson()["health"] == "ok");
}
