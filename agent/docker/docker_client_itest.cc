// Integration tests of DockerClient's requests against a real dockerd (docker_itest_lab.h
// describes the lab): host parsing, version negotiation, networks, containers, endpoints.
#include "docker/docker_client.h"

#include <net/if.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "docker/docker_itest_lab.h"

namespace ipo::docker::itest {
namespace {

TEST_CASE("Create rejects hosts that are not unix sockets", "[docker][client]") {
  auto tcp = DockerClient::Create("tcp://127.0.0.1:2375", 1s);
  REQUIRE_FALSE(tcp.ok());
  CHECK(tcp.status().message() ==
        "Docker host 'tcp://127.0.0.1:2375': only unix:///path/to/docker.sock is supported");
}

TEST_CASE("Negotiate picks API 1.41", "[docker][client]") {
  auto client = DockerClient::Create(Env("IPO_DOCKER_HOST"), 10s);
  REQUIRE(client.ok());
  auto version = (*client)->Negotiate();
  REQUIRE(version.ok());
  CHECK(*version == "1.41");
  CHECK((*client)->api_version() == "1.41");
}

TEST_CASE("A missing socket is kUnavailable", "[docker][client]") {
  auto client = DockerClient::Create("unix:///nonexistent/docker.sock", 1s);
  REQUIRE(client.ok());
  auto version = (*client)->Negotiate();
  REQUIRE_FALSE(version.ok());
  CHECK(version.status().code() == Status::Code::kUnavailable);
  CHECK(version.status().message().rfind("GET /_ping: ", 0) == 0);
  CHECK(version.status().message().find("(socket /nonexistent/docker.sock)") != std::string::npos);
}

TEST_CASE("CreateNetwork with v4+v6 and a bridge name; ListNetworks shows it", "[docker][client]") {
  auto client = NewClient();
  EnsureNetwork(*client);
  auto nets = client->ListNetworks();
  REQUIRE(nets.ok());
  auto it = std::find_if(nets->begin(), nets->end(), [](const auto& n) { return n.name == kNet; });
  REQUIRE(it != nets->end());
  CHECK(it->driver == "bridge");
  CHECK(it->bridge_name == kBridge);
  CHECK(it->ipv6);
  CHECK(it->subnets == std::vector<std::string>{"10.91.0.0/24", "fd91::/64"});
  CHECK(if_nametoindex(kBridge) != 0);  // this test runs in dockerd's network namespace

  NetworkSpec again;
  again.name = kNet;
  again.subnet_v4 = "10.92.0.0/24";
  Status dup = client->CreateNetwork(again);
  CHECK(dup.code() == Status::Code::kInvalidArgument);
  CHECK(dup.message() ==
        "POST /v1.41/networks/create: HTTP 409: network with name ipo-dkt-net already exists");
}

TEST_CASE("InspectContainer and ListContainers show endpoints and ports", "[docker][client]") {
  auto client = NewClient();
  EnsureNetwork(*client);
  RemoveContainer("ipo-dkt-web");
  const std::string id =
      RunContainer("ipo-dkt-web", kNet,
                   {{"PortBindings", {{"80/tcp", {{{"HostIp", ""}, {"HostPort", "18080"}}}}}}});

  auto c = client->InspectContainer("ipo-dkt-web");
  REQUIRE(c.ok());
  CHECK(c->id == id);
  CHECK(c->name == "ipo-dkt-web");
  CHECK(c->running);
  CHECK(c->state == "running");
  CHECK(c->pid > 0);
  REQUIRE(c->endpoints.size() == 1);
  CHECK(c->endpoints[0].network == kNet);
  CHECK(c->endpoints[0].ipv4.rfind("10.91.0.", 0) == 0);
  CHECK(c->endpoints[0].ipv6.rfind("fd91::", 0) == 0);
  CHECK(c->ports == std::vector<PortBinding>{{"tcp", 80, "0.0.0.0", 18080}, {"tcp", 80, "::", 18080}});

  auto all = client->ListContainers();
  REQUIRE(all.ok());
  auto found = std::find_if(all->begin(), all->end(), [&](const auto& x) { return x.id == id; });
  REQUIRE(found != all->end());
  CHECK(*found == *c);

  auto missing = client->InspectContainer("ipo-dkt-nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Status::Code::kNotFound);
  CHECK(missing.status().message() ==
        "GET /v1.41/containers/ipo-dkt-nope/json: HTTP 404: No such container: ipo-dkt-nope");
  RemoveContainer("ipo-dkt-web");
}

TEST_CASE("ConnectNetwork and DisconnectNetwork change endpoints", "[docker][client]") {
  auto client = NewClient();
  EnsureNetwork(*client);
  RemoveContainer("ipo-dkt-cd");
  RunContainer("ipo-dkt-cd", kNet);

  REQUIRE(client->ConnectNetwork("bridge", "ipo-dkt-cd").ok());
  auto both = client->InspectContainer("ipo-dkt-cd");
  REQUIRE(both.ok());
  REQUIRE(both->endpoints.size() == 2);
  const Endpoint* bridge = FindEndpoint(*both, "bridge");
  REQUIRE(bridge != nullptr);
  CHECK(bridge->ipv4.rfind("172.17.", 0) == 0);
  CHECK_FALSE(bridge->network_id.empty());

  REQUIRE(client->DisconnectNetwork("bridge", "ipo-dkt-cd").ok());
  auto one = client->InspectContainer("ipo-dkt-cd");
  REQUIRE(one.ok());
  REQUIRE(one->endpoints.size() == 1);
  CHECK(one->endpoints[0].network == kNet);

  Status again = client->DisconnectNetwork("bridge", "ipo-dkt-cd");
  CHECK_FALSE(again.ok());
  CHECK(again.message().rfind("POST /v1.41/networks/bridge/disconnect: HTTP ", 0) == 0);
  Status no_net = client->ConnectNetwork("ipo-dkt-nonet", "ipo-dkt-cd");
  CHECK(no_net.code() == Status::Code::kNotFound);
  CHECK(no_net.message() ==
        "POST /v1.41/networks/ipo-dkt-nonet/connect: HTTP 404: network ipo-dkt-nonet not found");
  RemoveContainer("ipo-dkt-cd");
}

}  // namespace
}  // namespace ipo::docker::itest
