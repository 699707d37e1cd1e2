#include "daemon/reconcile_loop.h"

#include "daemon/test_fixture.h"

using namespace ipo;
using namespace std::chrono_literals;
using daemon::WorkItem;
using namespace ipo::daemon::testfix;

namespace {

// A Reconciler on fakes and a loop on a clock that moves only when the test says so: a turn
// whose deadline has come never waits, and one with an item queued returns at once.
struct Loop : daemon::testfix::Fixture {
  explicit Loop(std::chrono::milliseconds drift = 10s, bool full_per_event = false)
      : drift_interval(drift), full_sync_per_event(full_per_event) {}
  std::chrono::milliseconds drift_interval;
  bool full_sync_per_event;
  daemon::ReconcileLoop::Clock::time_point now{std::chrono::hours(1)};
  std::vector<std::string> notified;
  int turns = 0;
  Result<policy::Policy> next_policy = LabPolicy();
  daemon::Reconciler r{LabPolicy(), docker, nft, store};
  daemon::WorkQueue queue;
  daemon::ReconcileLoop loop{r, queue, MakeOptions()};

  daemon::ReconcileLoop::Options MakeOptions() {
    daemon::ReconcileLoop::Options o;
    o.drift_interval = drift_interval;
    o.full_sync_per_event = full_sync_per_event;
    o.now = [this] { return now; };
    o.load_policy = [this] { return next_policy; };
    o.notify = [this](const std::string& s) { notified.push_back(s); };
    o.watchdog = true;
    o.after_turn = [this] { ++turns; };
    return o;
  }
  void Push(WorkItem::Kind kind, const std::string& detail = "") { queue.Push({kind, {}, detail}); }
  void Event(const std::string& action, const std::string& name) {
    queue.Push({WorkItem::Kind::kEvent, {"container", action, "id-" + name, {{"name", name}}, 1}, ""});
  }
  uint64_t Syncs() { return r.StatusJson()["syncs"].get<uint64_t>(); }
};

}  // namespace

TEST_CASE("a burst of events is one sync") {
  Loop t;
  t.docker.Run("docker_a");
  t.Push(WorkItem::Kind::kConnected, "1.41");
  for (int i = 0; i < 50; ++i) t.Event(i % 2 ? "start" : "die", "docker_a");
  t.Event("exec_start", "docker_a");  // not relevant, still counted
  REQUIRE(t.loop.RunOnce());
  CHECK(t.Syncs() == 1);
  CHECK(t.r.StatusJson()["events"] == 51);
  CHECK(t.loop.ready());
  CHECK(t.notified == std::vector<std::string>{"READY=1\nSTATUS=in sync with Docker; ruleset in force", "WATCHDOG=1"});
  CHECK(t.turns == 1);
  // An irrelevant event alone syncs nothing; READY is said once.
  t.Event("exec_start", "docker_a");
  REQUIRE(t.loop.RunOnce());
  CHECK(t.Syncs() == 1);
  t.Push(WorkItem::Kind::kResync);
  REQUIRE(t.loop.RunOnce());
  CHECK(t.Syncs() == 2);
  CHECK(t.notified.back() == "WATCHDOG=1");
  CHECK(std::count(t.notified.begin(), t.notified.end(), "READY=1\nSTATUS=in sync with Docker; ruleset in force") ==
        1);
}

TEST_CASE("a failed sync is retried with a backoff doubling to the cap, then reset") {
  Loop t(std::chrono::hours(1));  // no drift check in between
  t.docker.Run("docker_a");
  t.docker.down = true;
  t.Push(WorkItem::Kind::kResync);
  REQUIRE(t.loop.RunOnce());
  CHECK(t.Syncs() == 1);
  REQUIRE(t.loop.retry_pending());
  CHECK(t.loop.next_wake() == t.now + 500ms);
  CHECK_FALSE(t.loop.ready());
  // An item before the retry is due: no retry in that turn.
  t.Push(WorkItem::Kind::kDisconnected, "connection refused");
  REQUIRE(t.loop.RunOnce());
  CHECK(t.Syncs() == 1);
  for (auto backoff : {500ms, 1000ms, 2000ms, 4000ms, 5000ms, 5000ms}) {
    REQUIRE(t.loop.next_wake() - t.now == backoff);
    t.now += backoff;
    REQUIRE(t.loop.RunOnce());  // due: no wait
  }
  CHECK(t.Syncs() == 7);
  t.docker.down = false;
  t.now += 5s;
  REQUIRE(t.loop.RunOnce());
  CHECK(t.Syncs() == 8);
  CHECK_FALSE(t.loop.retry_pending());
  CHECK(t.loop.ready());
  // The next failure starts again from the first backoff.
  t.docker.down = true;
  t.Push(WorkItem::Kind::kResync);
  REQUIRE(t.loop.RunOnce());
  CHECK(t.loop.next_wake() == t.now + 500ms);
}

TEST_CASE("the drift timer repairs the tables, retries the save and follows host sockets") {
  Loop t;
  t.docker.Run("docker_a");
  t.Push(WorkItem::Kind::kResync);
  REQUIRE(t.loop.RunOnce());
  CHECK(t.loop.next_wake() == t.now + 10s);
  t.nft.kernel.tables[0].FindSet("lan-allow-v4")->elements.clear();  // someone flushed the allowlist
  t.now += 9s;
  t.Event("exec_start", "docker_a");  // a turn before the check is due
  REQUIRE(t.loop.RunOnce());
  CHECK(t.r.StatusJson()["drift_repairs"] == 0);
  t.now += 1s;
  REQUIRE(t.loop.RunOnce());
  CHECK(t.r.StatusJson()["drift_repairs"] == 1);
  CHECK(t.r.StatusJson()["last_repair"]["trigger"] == "periodic drift check");
  CHECK(t.loop.next_wake() == t.now + 10s);
  // A host service starts on a created container's -p port: the check syncs again.
  std::vector<hostsock::HostSocket> host;
  t.r.SetHostSocketSource([&] { return Result<std::vector<hostsock::HostSocket>>(host); });
  t.docker.Run("sneaky", {{"tcp", 22, "", 22}});
  t.Push(WorkItem::Kind::kResync);
  REQUIRE(t.loop.RunOnce());
  uint64_t syncs = t.Syncs();
  host = {{6, "::", 22, 0, "sshd"}};
  t.now += 10s;
  REQUIRE(t.loop.RunOnce());
  CHECK(t.Syncs() == syncs + 1);
}

TEST_CASE("foreign changes queued together are one repair, named by the first") {
  Loop t;
  t.docker.Run("docker_a");
  t.Push(WorkItem::Kind::kResync);
  REQUIRE(t.loop.RunOnce());
  t.nft.kernel.tables.pop_back();
  t.queue.Push({WorkItem::Kind::kTamper, {}, "delete table ip6 ipo_netd_nat (netlink port 7)", t.now});
  t.queue.Push({WorkItem::Kind::kTamper, {}, "delete chain (netlink port 7)", t.now});
  REQUIRE(t.loop.RunOnce());
  auto st = t.r.StatusJson();
  CHECK(st["tamper_notices"] == 2);
  CHECK(st["drift_repairs"] == 1);
  CHECK(st["last_repair"]["trigger"] == "delete table ip6 ipo_netd_nat (netlink port 7)");
  CHECK(t.nft.kernel.ToString() == t.r.applied()->ToString());
}

TEST_CASE("a reload swaps the policy, or keeps it and says why") {
  Loop t;
  t.docker.Run("docker_a");
  t.Push(WorkItem::Kind::kConnected, "1.41");
  REQUIRE(t.loop.RunOnce());
  t.next_policy = Status::InvalidArgument("/etc/ipo-netd/policy.json:3: lan: missing");
  t.Push(WorkItem::Kind::kReload);
  REQUIRE(t.loop.RunOnce());
  CHECK(t.r.StatusJson()["reload_refused"] == "/etc/ipo-netd/policy.json:3: lan: missing");
  t.next_policy = LabPolicy();
  t.Push(WorkItem::Kind::kReload);
  REQUIRE(t.loop.RunOnce());
  CHECK(t.r.StatusJson()["reload_refused"] == "");
  CHECK(t.Syncs() == 2);  // the reload synced
}

TEST_CASE("stop ends the loop: the items queued with it are noted, nothing is synced") {
  Loop t;
  t.docker.Run("docker_a");
  t.Event("start", "docker_a");
  t.Push(WorkItem::Kind::kStop);
  t.Push(WorkItem::Kind::kMonitorLost, "recv: No buffer space available");
  t.loop.Run();
  CHECK(t.Syncs() == 0);
  CHECK(t.r.StatusJson()["events"] == 1);
  CHECK(t.r.StatusJson()["protection"]["monitor_error"] == "recv: No buffer space available");
  CHECK(t.turns == 0);
  CHECK(t.notified == std::vector<std::string>{"STOPPING=1"});
}

TEST_CASE("events sync from the model; a reconnect, a resync request and the resync timer re-list the host") {
  Loop t(std::chrono::hours(1));
  t.docker.Run("docker_a");
  t.Push(WorkItem::Kind::kConnected, "1.41");
  REQUIRE(t.loop.RunOnce());
  CHECK(t.docker.list_calls == 1);
  CHECK(t.loop.next_wake() == t.now + 5min);  // the periodic full resync comes first
  t.Event("die", "docker_a");
  t.Event("start", "docker_a");
  REQUIRE(t.loop.RunOnce());
  CHECK(t.Syncs() == 2);
  CHECK(t.docker.list_calls == 1);  // one look-up, no list
  t.now += 5min;
  REQUIRE(t.loop.RunOnce());
  CHECK(t.docker.list_calls == 2);
  CHECK(t.r.StatusJson()["last_full_resync"]["reason"] == "periodic full resync");
  CHECK(t.loop.next_wake() == t.now + 5min);
  t.Push(WorkItem::Kind::kResync);
  REQUIRE(t.loop.RunOnce());
  CHECK(t.docker.list_calls == 3);
}

TEST_CASE("with full_sync_per_event every batch of events re-lists the host") {
  Loop t(std::chrono::hours(1), /*full_per_event=*/true);
  t.docker.Run("docker_a");
  t.Push(WorkItem::Kind::kConnected, "1.41");
  REQUIRE(t.loop.RunOnce());
  t.Event("die", "docker_a");
  REQUIRE(t.loop.RunOnce());
  CHECK(t.docker.list_calls == 2);
  CHECK(t.r.StatusJson()["last_full_resync"]["reason"] == "event die docker_a");
}
