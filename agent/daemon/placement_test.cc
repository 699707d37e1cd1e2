// Observe (daemon/placement.h): which docker-proxy ports are guarded and which -p bindings
// published, given Docker's containers and the host's own sockets.
#include "daemon/placement.h"

#include "daemon/test_fixture.h"

using namespace ipo;
using namespace ipo::daemon::testfix;

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

TEST_CASE("a container sharing another's network stack is never connected, created or running") {
  auto p = LabPolicy();
  for (bool running : {false, true}) {
    docker::ContainerInfo c;
    c.id = "a1";
    c.name = "docker_a";
    c.running = running;
    c.network_mode = "container:0123456789abcdef0123456789abcdef";
    // A connect Docker recorded while it was only created: still not on the network.
    if (running) c.endpoints = {{"ipo-shared", "", "", ""}};
    auto plan = daemon::PlanPlacement(p, {}, {c});
    CHECK(plan.connect.empty());
    CHECK(plan.disconnect.empty());
    REQUIRE(plan.problems.size() == 1);
    CHECK(plan.problems[0] ==
          "container docker_a cannot be connected to ipo-shared: it runs with --network container:0123456789ab "
          "(another container's network stack); left unpublished");
  }
}
