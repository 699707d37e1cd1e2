#include "daemon/released_ports.h"

#include <catch2/catch.hpp>

using namespace ipo;
using namespace std::chrono_literals;
using Ports = std::vector<model::ProxyPort>;

TEST_CASE("a released port stays guarded for the grace period, then goes") {
  daemon::ReleasedPorts released;
  daemon::ReleasedPorts::Clock::time_point t0{1h};
  Ports ports = {{6, 80}};
  released.Keep(ports, {{6, 80}, {6, 8081}}, {}, t0);  // 8081's container is gone
  CHECK(ports == Ports{{6, 80}, {6, 8081}});
  ports = {};
  released.Keep(ports, {{6, 80}, {6, 8081}}, {}, t0 + 119s);  // and now 80's
  CHECK(ports == Ports{{6, 80}, {6, 8081}});
  ports = {};
  released.Keep(ports, {{6, 80}, {6, 8081}}, {}, t0 + 120s);  // 8081's grace is over
  CHECK(ports == Ports{{6, 80}});
  ports = {};
  released.Keep(ports, {{6, 80}}, {}, t0 + 119s + 120s);
  CHECK(ports.empty());
}

TEST_CASE("a released port that comes back or that a host process takes is not kept") {
  daemon::ReleasedPorts released;
  daemon::ReleasedPorts::Clock::time_point t0{1h};
  Ports ports;
  released.Keep(ports, {{6, 22}, {6, 80}}, {}, t0);
  CHECK(ports == Ports{{6, 22}, {6, 80}});
  ports = {{6, 80}};  // recreated: guarded again as its container's, its grace forgotten
  released.Keep(ports, {{6, 22}, {6, 80}}, {{6, "::", 22, 0, "sshd"}}, t0 + 1s);  // sshd took 22
  CHECK(ports == Ports{{6, 80}});
  ports = {};
  released.Keep(ports, {{6, 80}}, {}, t0 + 2s);  // 80 released again: a fresh grace
  ports = {};
  released.Keep(ports, {}, {}, t0 + 2s + 119s);
  CHECK(ports == Ports{{6, 80}});
}
