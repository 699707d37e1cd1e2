#include "state/state_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using ipo::state::AgentState;
using ipo::state::StateStore;

namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/ipo-state-test.XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

AgentState Sample() {
  AgentState s;
  s.generation = 7;
  s.policy_path = "/etc/ipo/policy.json";
  s.applied_at = "2026-11-24T00:00:00Z";
  s.observed.containers = {{"docker_a", "abc", true, "172.30.1.2", "fd00:ac1e:1::2"}};
  s.observed.proxy_ports = {{6, 9999}};
  s.observed.docker_published = {{6, 9999, false, "", "172.30.1.3", 3316, "docker_b"},
                                  {17, 5353, true, "fd00::1", "fd00:ac1e:1::2", 53, "docker_a"}};
  s.last_event_nano = 1764000000123456789;
  s.last_event = "start docker_a";
  return s;
}

}  // namespace

TEST_CASE("state round-trips through the file, which starts with its version line") {
  std::string dir = TempDir();
  StateStore store(dir);
  CHECK(store.Load().status().code() == ipo::Status::Code::kNotFound);
  REQUIRE(store.Save(Sample()).ok());
  auto loaded = store.Load();
  REQUIRE(loaded.ok());
  CHECK(*loaded == Sample());
  std::ifstream in(store.path());
  std::string first;
  std::getline(in, first);
  CHECK(first == "ipo-netd-state 1");
  CHECK_FALSE(std::filesystem::exists(store.path() + ".tmp"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a state file of another version or corrupt JSON is refused with its path") {
  auto r = ipo::state::Deserialize("ipo-netd-state 9\n{}", "s.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "s.json:1: expected \"ipo-netd-state 1\", found \"ipo-netd-state 9\"");
  auto c = ipo::state::Deserialize("ipo-netd-state 1\n{\"generation\": 1}", "s.json");
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message() == "corrupt state: s.json:1: missing required key \"containers\"");
}

TEST_CASE("the state file is written as before: members sorted, two-space indent") {
  AgentState s = Sample();
  s.observed.bridges = {"br-1a2b3c4d5e6f"};
  s.observed.default_bridge_v4 = "172.17.0.0/16";
  // Written by the code before model/observed_json.h (2df0bcc).
  CHECK(ipo::state::Serialize(s) == R"(ipo-netd-state 1
{
  "applied_at": "2026-11-24T00:00:00Z",
  "bridges": [
    "br-1a2b3c4d5e6f"
  ],
  "containers": [
    {
      "id": "abc",
      "ipv4": "172.30.1.2",
      "ipv6": "fd00:ac1e:1::2",
      "name": "docker_a",
      "running": true
    }
  ],
  "default_bridge_v4": "172.17.0.0/16",
  "docker_published": [
    {
      "container": "docker_b",
      "host_ip": "",
      "host_port": 9999,
      "port": 3316,
      "proto": 6,
      "target": "172.30.1.3",
      "v6": false
    },
    {
      "container": "docker_a",
      "host_ip": "fd00::1",
      "host_port": 5353,
      "port": 53,
      "proto": 17,
      "target": "fd00:ac1e:1::2",
      "v6": true
    }
  ],
  "generation": 7,
  "last_event": "start docker_a",
  "last_event_nano": 1764000000123456789,
  "policy": "/etc/ipo/policy.json",
  "proxy_ports": [
    {
      "port": 9999,
      "proto": 6
    }
  ]
}
)");
}

TEST_CASE("a state file written before -p publications and bridges were saved still loads") {
  auto r = ipo::state::Deserialize(R"(ipo-netd-state 1
{"generation": 41, "policy": "/etc/ipo-netd/policy.json", "applied_at": "2026-11-24T00:00:00Z",
 "containers": [{"name": "docker_a", "id": "a", "running": true, "ipv4": "172.30.1.2", "ipv6": "fd00:ac1e:1::2"}],
 "proxy_ports": [{"proto": 6, "port": 9999}], "last_event_nano": 0, "last_event": "container start docker_c"}
)", "old.json");
  REQUIRE(r.ok());
  CHECK(r->generation == 41);
  CHECK(r->observed.containers.size() == 1);
  CHECK(r->observed.docker_published.empty());
  CHECK(r->observed.bridges.empty());
  auto bad = ipo::state::Deserialize("ipo-netd-state 1\n{\"generation\": 1, \"containers\": [{}], \"proxy_ports\": []}",
                                     "s.json");
  CHECK(bad.status().message() == "corrupt state: s.json:2: containers[0]: missing required key \"name\"");
  auto typo = ipo::state::Deserialize(R"(ipo-netd-state 1
{"generation": 1, "containers": [],
 "proxy_ports": [{"proto": "tcp", "port": 1}]})", "s.json");
  CHECK(typo.status().message() == "corrupt state: s.json:3: proxy_ports[0].proto: must be an integer, got string");
}

TEST_CASE("a failed save keeps the previous file and leaves no temp file") {
  if (geteuid() == 0) {
    // root ignores directory permissions; make the temp path a directory instead
    std::string dir = TempDir();
    StateStore store(dir);
    REQUIRE(store.Save(Sample()).ok());
    std::filesystem::create_directory(store.path() + ".tmp");
    AgentState next = Sample();
    next.generation = 8;
    ipo::Status st = store.Save(next);
    CHECK_FALSE(st.ok());
    CHECK(st.message().find("state.json.tmp") != std::string::npos);
    CHECK(store.Load()->generation == 7);
    std::filesystem::remove_all(dir);
  }
}
