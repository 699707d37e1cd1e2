#include "hostsock/host_held.h"

#include <catch2/catch.hpp>

using namespace ipo;

TEST_CASE("a port is the host's unless docker-proxy or the caller explains its listener") {
  std::vector<hostsock::HostSocket> sockets = {{6, "0.0.0.0", 22, 1, "sshd"},
                                               {6, "::", 22, 2, "other"},
                                               {6, "0.0.0.0", 7777, 3, "docker-proxy"},
                                               {17, "0.0.0.0", 53, 4, ""},
                                               {6, "192.168.1.100", 8081, 5, "nginx"}};
  auto held = hostsock::HostHeld(sockets);
  CHECK(held == hostsock::HeldPorts{{{6, 22}, "sshd"}, {{6, 8081}, "nginx"}, {{17, 53}, ""}});
  held = hostsock::HostHeld(sockets, [](const hostsock::HostSocket& s) { return s.addr == "192.168.1.100"; });
  CHECK(held.count({6, 8081}) == 0);
  CHECK(held.size() == 2);
}

TEST_CASE("the ports a host process holds are dropped from a port list, with their holder") {
  std::vector<model::ProxyPort> ports = {{6, 22}, {6, 80}, {6, 7777}, {17, 53}, {132, 22}};
  std::vector<hostsock::HostSocket> sockets = {
      {6, "::", 22, 1, "sshd"}, {6, "0.0.0.0", 7777, 2, "docker-proxy"}, {17, "0.0.0.0", 53, 3, ""}};
  auto dropped = hostsock::DropHostHeld(ports, sockets);
  CHECK(ports == std::vector<model::ProxyPort>{{6, 80}, {6, 7777}, {132, 22}});
  REQUIRE(dropped.size() == 2);
  CHECK(dropped[0].ToString() == "tcp/22 (sshd)");
  CHECK(dropped[1].ToString() == "udp/53 (a host process)");
  CHECK(hostsock::DropHostHeld(ports, {}).empty());
}
