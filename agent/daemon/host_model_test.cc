// HostModel on the fake Docker: what each event costs (look-ups counted by the fake), what a
// full list corrects, and when the model falls back to a full list.
#include "daemon/host_model.h"

#include <catch2/catch.hpp>

#include "testing/fake_docker_api.h"

using namespace ipo;

namespace {

using testing::ContainerEvent;

docker::Event NetworkEvent(const std::string& action, const std::string& container = "") {
  docker::Event e{"network", action, "net-bridge", {{"name", "bridge"}}, 1};
  if (!container.empty()) e.attributes["container"] = "id-" + container;
  return e;
}

std::vector<std::string> Names(const daemon::HostModel& m) {
  std::vector<std::string> out;
  for (const auto& c : m.containers()) out.push_back(c.name);
  return out;
}

// A host with `n` plain containers c0 .. c<n-1>, listed once.
struct Host {
  testing::FakeDockerApi docker;
  daemon::HostModel model;
  explicit Host(int n) {
    for (int i = 0; i < n; ++i) docker.Run("c" + std::to_string(i));
    auto first = model.Resync(docker);
    REQUIRE(first.ok());
    REQUIRE(first->added.size() == static_cast<size_t>(n));
    docker.list_calls = docker.inspect_calls = 0;
  }
};

}  // namespace

TEST_CASE("an event costs one look-up of its subject, whatever the number of containers") {
  for (int n : {3, 1000}) {
    Host h(n);
    h.docker.Find("c1")->running = false;
    auto changes = h.model.Update(h.docker, {ContainerEvent("die", "c1")});
    REQUIRE(changes.ok());
    CHECK(changes->lookups == 1);
    CHECK(h.docker.inspect_calls == 1);
    CHECK(h.docker.list_calls == 0);
    CHECK_FALSE(h.model.containers().at(1).running);
  }
}

TEST_CASE("a batch looks each subject up once, after its last event") {
  Host h(3);
  h.docker.Find("c0")->running = false;
  auto changes = h.model.Update(h.docker, {ContainerEvent("die", "c0"), ContainerEvent("start", "c0"),
                                           ContainerEvent("die", "c0"), ContainerEvent("start", "c2")});
  REQUIRE(changes.ok());
  CHECK(changes->lookups == 2);
  CHECK_FALSE(h.model.containers().at(0).running);
  CHECK(changes->added.empty());
}

TEST_CASE("new containers are appended; destroy and a vanished subject remove them") {
  Host h(2);
  h.docker.Run("fresh");
  auto added = h.model.Update(h.docker, {ContainerEvent("create", "fresh"), ContainerEvent("start", "fresh")});
  REQUIRE(added.ok());
  CHECK(added->added == std::vector<std::string>{"fresh"});
  CHECK(Names(h.model) == std::vector<std::string>{"c0", "c1", "fresh"});
  // destroy: no look-up needed.
  h.docker.Remove("fresh");
  auto destroyed = h.model.Update(h.docker, {ContainerEvent("die", "fresh"), ContainerEvent("destroy", "fresh")});
  REQUIRE(destroyed.ok());
  CHECK(destroyed->lookups == 0);
  CHECK(Names(h.model) == std::vector<std::string>{"c0", "c1"});
  // Gone before its look-up (its destroy event still on the way): removed too.
  h.docker.Remove("c0");
  REQUIRE(h.model.Update(h.docker, {ContainerEvent("die", "c0")}).ok());
  CHECK(Names(h.model) == std::vector<std::string>{"c1"});
  // A create followed by destroy in one batch never enters the model.
  REQUIRE(h.model.Update(h.docker, {ContainerEvent("create", "brief"), ContainerEvent("destroy", "brief")}).ok());
  CHECK(Names(h.model) == std::vector<std::string>{"c1"});
}

TEST_CASE("network events look up the container they name; a new network re-reads the networks") {
  Host h(2);
  h.docker.Find("c1")->endpoints.clear();
  auto disconnected = h.model.Update(h.docker, {NetworkEvent("disconnect", "c1")});
  REQUIRE(disconnected.ok());
  CHECK(h.docker.inspect_calls == 1);
  CHECK(h.model.containers().at(1).endpoints.empty());
  REQUIRE(h.docker.CreateNetwork({"ipo-shared", "ipo-shared", "172.30.1.0/24", "", true, {}}).ok());
  auto created = h.model.Update(h.docker, {NetworkEvent("create")});
  REQUIRE(created.ok());
  CHECK(created->lookups == 1);
  CHECK(h.model.networks().size() == 2);
  CHECK(h.docker.list_calls == 0);  // the containers were not listed
}

TEST_CASE("a container holding an address someone else now has is looked up too") {
  Host h(2);  // c0 172.17.0.2, c1 172.17.0.3
  // c0 went away and its address went to `thief`, but c0's events were lost: the model still
  // has c0 on 172.17.0.2.
  h.docker.Remove("c0");
  h.docker.Run("thief");
  h.docker.Find("thief")->endpoints.at(0).ipv4 = "172.17.0.2";
  auto changes = h.model.Update(h.docker, {ContainerEvent("start", "thief")});
  REQUIRE(changes.ok());
  CHECK(changes->lookups == 2);  // thief, then c0 (gone)
  CHECK(Names(h.model) == std::vector<std::string>{"c1", "thief"});
}

TEST_CASE("a failed look-up or an event naming nothing unprimes the model until a full list") {
  Host h(2);
  h.docker.inspect_fails = true;
  auto failed = h.model.Update(h.docker, {ContainerEvent("start", "c0")});
  REQUIRE_FALSE(failed.ok());
  CHECK_FALSE(h.model.primed());
  h.docker.inspect_fails = false;
  CHECK(h.model.Update(h.docker, {ContainerEvent("start", "c0")}).status().code() == Status::Code::kUnavailable);
  REQUIRE(h.model.Resync(h.docker).ok());
  CHECK(h.model.primed());
  docker::Event nameless{"container", "start", "", {}, 1};
  CHECK_FALSE(h.model.Update(h.docker, {nameless}).ok());
  CHECK_FALSE(h.model.primed());
  REQUIRE(h.model.Resync(h.docker).ok());
  CHECK_FALSE(h.model.Update(h.docker, {NetworkEvent("connect")}).ok());  // no container named
}

TEST_CASE("a full list reports what the events missed, and nothing when they missed nothing") {
  Host h(3);
  auto same = h.model.Resync(h.docker);
  REQUIRE(same.ok());
  CHECK(same->corrected.empty());
  CHECK(same->added.empty());
  h.docker.Find("c0")->running = false;  // events lost
  h.docker.Remove("c2");
  h.docker.Run("late");
  auto fixed = h.model.Resync(h.docker);
  REQUIRE(fixed.ok());
  CHECK(fixed->corrected == std::vector<std::string>{"container c0 (id-c0): changed",
                                                     "container late (id-late): missing from the model",
                                                     "container c2 (id-c2): gone from Docker, still in the model"});
  CHECK(fixed->added == std::vector<std::string>{"late"});
}

TEST_CASE("ModelDifferences stops at its limit and says how many more") {
  std::vector<docker::ContainerInfo> after(5);
  for (size_t i = 0; i < after.size(); ++i) after[i].id = after[i].name = "x" + std::to_string(i);
  auto lines = daemon::ModelDifferences({}, after, {}, {{"n1", "net", "bridge", "br-n1", {}, false}}, 2);
  CHECK(lines == std::vector<std::string>{"container x0 (x0): missing from the model",
                                          "container x1 (x1): missing from the model", "... and 4 more"});
}

TEST_CASE("Refresh re-reads what a placement moved") {
  Host h(2);
  REQUIRE(h.docker.CreateNetwork({"ipo-shared", "ipo-shared", "172.30.1.0/24", "", true, {}}).ok());
  REQUIRE(h.docker.ConnectNetwork("ipo-shared", "c1").ok());
  auto changes = h.model.Refresh(h.docker, {"c1", "c1"}, /*networks=*/true);
  REQUIRE(changes.ok());
  CHECK(changes->lookups == 2);
  CHECK(h.model.containers().at(1).endpoints.size() == 2);
  CHECK(h.model.networks().size() == 2);
}
