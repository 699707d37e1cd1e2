#include "daemon/reconciler.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <spdlog/spdlog.h>

#include "compile/drift.h"
#include "daemon/placement.h"
#include "testing/fake_conntrack.h"
#include "testing/fake_docker_api.h"
#include "testing/fake_nft_backend.h"

using namespace ipo;

namespace {

const bool kQuiet = [] {
  spdlog::set_level(spdlog::level::off);
  return true;
}();

policy::Policy LabPolicy() {
  auto p = policy::LoadPolicy(IPO_POLICY_FILE);
  REQUIRE(p.ok());
  return *p;
}

std::string TempDir() {
  char tmpl[] = "/tmp/ipo-reconciler-test.XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

std::vector<std::string> Elements(const nft::Ruleset& rs, nft::Family f, const std::string& table,
                                  const std::string& set) {
  std::vector<std::string> out;
  for (const auto& e : rs.FindTable(f, table)->FindSet(set)->elements) out.push_back(nft::ElementToString(e));
  return out;
}

struct Fixture {
  std::string dir = TempDir();
  testing::FakeDockerApi docker;
  testing::FakeNftBackend nft;
  state::StateStore store{dir};
  ~Fixture() { std::filesystem::remove_all(dir); }
};

}  // namespace

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
  Fixture f;
  f.docker.Run("docker_a");
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  REQUIRE(r.Sync("start").ok());
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
  Fixture f;
  f.docker.Run("docker_a");
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  REQUIRE(r.Sync("start").ok());
  r.SetDocker(true, "connected");
  nft::Ruleset before = f.nft.kernel;
  f.docker.down = true;
  CHECK_FALSE(r.Sync("reconnect").ok());
  r.SetDocker(false, "connection refused");
  CHECK(f.nft.kernel.ToString() == before.ToString());
  CHECK(r.StatusJson()["health"] == "degraded");
}

TEST_CASE("restart restores the saved ruleset before docker answers") {
  Fixture f;
  f.docker.Run("docker_a");
  {
    daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
    REQUIRE(r.Sync("start").ok());
  }
  nft::Ruleset before = f.nft.kernel;
  testing::FakeNftBackend fresh;  // the kernel after a reboot: empty
  f.docker.down = true;
  daemon::Reconciler again(LabPolicy(), f.docker, fresh, f.store);
  REQUIRE(again.Restore().ok());
  CHECK(fresh.kernel.ToString() == before.ToString());
}

TEST_CASE("drift is detected and repaired with a full replace") {
  Fixture f;
  f.docker.Run("docker_a");
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  REQUIRE(r.Sync("start").ok());
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

TEST_CASE("a repair that does not hold is an error, not a success") {
  Fixture f;
  f.docker.Run("docker_a");
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  REQUIRE(r.Sync("start").ok());
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
  std::string dir = TempDir();
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
  Fixture f;
  f.docker.Run("docker_a");
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  REQUIRE(r.Sync("start").ok());
  nft::Ruleset before = f.nft.kernel;
  f.docker.Find("docker_a")->running = false;
  f.nft.fail_next = 2;  // the element batch and the fallback replace both fail
  CHECK_FALSE(r.Sync("die").ok());
  CHECK(f.nft.kernel.ToString() == before.ToString());
  CHECK(r.StatusJson()["health"] == "degraded");
  REQUIRE(r.Sync("retry").ok());
  CHECK(Elements(f.nft.kernel, nft::Family::kIp, "ipo_netd_nat", "publish-any").empty());
}

TEST_CASE("docker-proxy ports are guarded for as long as their container exists") {
  auto p = LabPolicy();
  std::vector<docker::ContainerInfo> cs = {
      {"1", "docker_b", true, "running", 1, {}, {{"tcp", 3316, "0.0.0.0", 9999}, {"tcp", 3316, "::", 9999}}, {}},
      {"2", "other", true, "running", 1, {}, {{"udp", 53, "", 5353}}, {{"udp", 53, "", 5353}}},
      // stopped (restart policy, dockerd restart): docker-proxy comes back the moment it starts
      {"3", "stopped", false, "exited", 0, {}, {}, {{"tcp", 1, "", 7777}}},
      // just created (`docker run -p` between create and start)
      {"4", "created", false, "created", 0, {}, {}, {{"tcp", 80, "", 8888}, {"tcp", 81, "", 0}}},
  };
  auto o = daemon::Observe(p, {}, cs);
  REQUIRE(o.proxy_ports.size() == 4);
  CHECK(o.proxy_ports[0] == model::ProxyPort{6, 7777});
  CHECK(o.proxy_ports[1] == model::ProxyPort{6, 8888});
  CHECK(o.proxy_ports[2] == model::ProxyPort{6, 9999});
  CHECK(o.proxy_ports[3] == model::ProxyPort{17, 5353});
  cs.pop_back();  // `docker rm`: only then does the port leave the set
  CHECK(daemon::Observe(p, {}, cs).proxy_ports.size() == 3);
}

TEST_CASE("a removed container's docker-proxy port stays guarded for a grace period") {
  Fixture f;
  f.docker.Run("web", {{"tcp", 80, "", 8081}});
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  REQUIRE(r.Sync("start web").ok());
  CHECK(Elements(f.nft.kernel, nft::Family::kInet, "ipo_netd", "proxy-ports") == std::vector<std::string>{"tcp . 8081"});
  f.docker.containers.clear();  // docker rm -f web; docker run -p 8081:80 ... comes next
  REQUIRE(r.Sync("destroy web").ok());
  CHECK(Elements(f.nft.kernel, nft::Family::kInet, "ipo_netd", "proxy-ports") == std::vector<std::string>{"tcp . 8081"});
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
  Fixture f;
  testing::FakeFlusher ct;
  f.docker.Run("docker_a");
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store, &ct);
  REQUIRE(r.Sync("start").ok());
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
  Fixture f;
  testing::FakeFlusher ct;
  f.docker.Run("docker_a");
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store, &ct);
  REQUIRE(r.Sync("start").ok());
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

TEST_CASE("a port a host process listens on is neither guarded nor published") {
  auto p = LabPolicy();
  std::vector<hostsock::HostSocket> host = {{6, "::", 22, 0, ""}, {6, "0.0.0.0", 8081, 0, ""}, {17, "0.0.0.0", 5353, 0, ""}};
  std::vector<docker::ContainerInfo> cs = {
      // docker create -p 22:22 (never started): the host's sshd holds 22
      {"1", "sneaky", false, "created", 0, {}, {}, {{"tcp", 22, "", 22}}},
      // running with Docker's own docker-proxy on 0.0.0.0:8081: its listener explains the socket
      {"2", "web", true, "running", 1, {{"bridge", "n", "172.17.0.2", ""}}, {{"tcp", 80, "0.0.0.0", 8081}},
       {{"tcp", 80, "", 8081}}},
      // created -p 5353:53/udp while a host resolver serves 5353
      {"3", "dns", false, "created", 0, {}, {}, {{"udp", 53, "", 5353}}},
  };
  std::vector<std::string> conflicts;
  auto o = daemon::Observe(p, {}, cs, host, &conflicts);
  CHECK(o.proxy_ports == std::vector<model::ProxyPort>{{6, 8081}});
  REQUIRE(o.docker_published.size() == 1);
  CHECK(o.docker_published[0] == model::DockerPublication{6, 8081, false, "", "172.17.0.2", 80, "web"});
  CHECK(conflicts == std::vector<std::string>{
                         "container dns: -p 5353/udp: a host process listens on host port 5353; neither published "
                         "nor guarded",
                         "container sneaky: -p 22/tcp: a host process listens on host port 22; neither published nor "
                         "guarded"});
}

TEST_CASE("docker -p bindings target the policy network, HostIp kept, the policy's own ports win") {
  auto p = LabPolicy();
  std::vector<docker::ContainerInfo> cs = {
      {"1", "docker_b", true, "running", 1,
       {{"bridge", "n0", "172.17.0.3", ""}, {"ipo-shared", "n1", "172.30.1.3", "fd00:ac1e:1::3"}},
       {{"tcp", 3316, "0.0.0.0", 9999}, {"tcp", 3316, "::", 9999}, {"tcp", 3316, "192.168.1.100", 3316}},
       {}},
      {"2", "stranger", true, "running", 1, {{"bridge", "n0", "172.17.0.5", ""}}, {{"udp", 53, "", 5353}, {"tcp", 1, "::", 7000}}, {}},
      {"3", "stopped", false, "exited", 0, {{"bridge", "n0", "", ""}}, {}, {{"tcp", 80, "", 8888}}},
  };
  std::vector<std::string> conflicts;
  auto o = daemon::Observe(p, {}, cs, {}, &conflicts);
  std::vector<model::DockerPublication> want = {
      {6, 9999, false, "", "172.30.1.3", 3316, "docker_b"},
      {6, 9999, true, "", "fd00:ac1e:1::3", 3316, "docker_b"},
      {17, 5353, false, "", "172.17.0.5", 53, "stranger"},
  };
  CHECK(o.docker_published == want);
  CHECK(conflicts == std::vector<std::string>{
                         "container docker_b: -p 3316/tcp: the policy publishes host port 3316 itself; the policy's "
                         "publication wins"});
}

TEST_CASE("docker create -p 22:22 while the host listens on 22: status names the conflict, 22 stays open") {
  Fixture f;
  f.docker.Run("web", {{"tcp", 80, "", 8081}});
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  r.SetHostSocketSource([] { return Result<std::vector<hostsock::HostSocket>>(std::vector<hostsock::HostSocket>{{6, "::", 22, 0, ""}}); });
  docker::ContainerInfo sneaky;
  sneaky.id = "s1";
  sneaky.name = "sneaky";
  sneaky.state = "created";
  sneaky.configured_ports = {{"tcp", 22, "", 22}};
  f.docker.containers.push_back(sneaky);
  REQUIRE(r.Sync("create sneaky").ok());
  CHECK(Elements(f.nft.kernel, nft::Family::kInet, "ipo_netd", "proxy-ports") == std::vector<std::string>{"tcp . 8081"});
  auto st = r.StatusJson();
  REQUIRE(st["publish_conflicts"].size() == 1);
  CHECK(st["publish_conflicts"][0] ==
        "container sneaky: -p 22/tcp: a host process listens on host port 22; neither published nor guarded");
}

TEST_CASE("Docker's own docker-proxy is a container's listener, not the host's") {
  std::vector<hostsock::HostSocket> host = {{6, "0.0.0.0", 7777, 42, "docker-proxy"}, {6, "0.0.0.0", 22, 43, "sshd"}};
  std::vector<docker::ContainerInfo> cs = {
      {"1", "restarting", false, "exited", 0, {}, {}, {{"tcp", 80, "", 7777}, {"tcp", 22, "", 22}}},
  };
  std::vector<std::string> conflicts;
  auto o = daemon::Observe(LabPolicy(), {}, cs, host, &conflicts);
  CHECK(o.proxy_ports == std::vector<model::ProxyPort>{{6, 7777}});
  CHECK(conflicts.size() == 1);
}

TEST_CASE("policy docker_publish none: -p bindings are reserved by Docker but never published") {
  auto p = LabPolicy();
  p.docker_publish = policy::DockerPublish::kNone;
  std::vector<docker::ContainerInfo> cs = {
      {"2", "stranger", true, "running", 1, {{"bridge", "n0", "172.17.0.5", ""}}, {{"tcp", 80, "", 7000}}, {}},
  };
  auto o = daemon::Observe(p, {}, cs);
  CHECK(o.docker_published.empty());
  CHECK(o.proxy_ports == std::vector<model::ProxyPort>{{6, 7000}});
}

TEST_CASE("a host service that starts later on a created container's -p port is noticed") {
  Fixture f;
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  std::vector<hostsock::HostSocket> host;
  r.SetHostSocketSource([&] { return Result<std::vector<hostsock::HostSocket>>(host); });
  docker::ContainerInfo sneaky;
  sneaky.id = "s1";
  sneaky.name = "sneaky";
  sneaky.state = "created";
  sneaky.configured_ports = {{"tcp", 22, "", 22}};
  f.docker.containers.push_back(sneaky);
  REQUIRE(r.Sync("create sneaky").ok());
  CHECK(Elements(f.nft.kernel, nft::Family::kInet, "ipo_netd", "proxy-ports") == std::vector<std::string>{"tcp . 22"});
  CHECK_FALSE(r.HostSocketsChanged());
  host = {{17, "0.0.0.0", 53, 0, ""}};  // not a -p port: no reason to sync
  CHECK_FALSE(r.HostSocketsChanged());
  host.push_back({6, "::", 22, 0, ""});  // sshd starts
  REQUIRE(r.HostSocketsChanged());
  REQUIRE(r.Sync("host sockets").ok());
  CHECK(Elements(f.nft.kernel, nft::Family::kInet, "ipo_netd", "proxy-ports").empty());
  CHECK_FALSE(r.HostSocketsChanged());
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
