#include "proxy/proxy_args.h"

#include <catch2/catch.hpp>

#include "proxy/reservation.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace ipo::proxy {
namespace {

TEST_CASE("dockerd's command line is parsed, in Go flag syntax") {
  auto a = ParseProxyArgs({"-proto", "tcp", "-host-ip", "0.0.0.0", "-host-port", "8080", "-container-ip",
                           "172.17.0.2", "-container-port", "80"});
  REQUIRE(a.ok());
  CHECK(a->proto == "tcp");
  CHECK(a->host_ip == "0.0.0.0");
  CHECK(a->host_port == 8080);
  CHECK(a->container_ip == "172.17.0.2");
  CHECK(a->container_port == 80);
  CHECK_FALSE(a->help);

  auto b = ParseProxyArgs({"--proto=udp", "-host-ip=::", "--host-port", "53", "-container-ip", "fd00::2",
                           "-container-port=5353"});
  REQUIRE(b.ok());
  CHECK(b->proto == "udp");
  CHECK(b->host_ip == "::");
  CHECK(b->host_port == 53);
  CHECK(b->container_port == 5353);
}

TEST_CASE("--help wins over everything") {
  auto a = ParseProxyArgs({"-proto", "tcp", "--help"});
  REQUIRE(a.ok());
  CHECK(a->help);
  CHECK(ParseProxyArgs({"-h"})->help);
}

TEST_CASE("bad command lines are refused with the flag named") {
  CHECK(ParseProxyArgs({}).status().message() == "-proto is required");
  CHECK(ParseProxyArgs({"-proto", "tcp", "-host-ip", "0.0.0.0", "-host-port", "8080", "-container-ip", "1.2.3.4"})
            .status()
            .message() == "-container-port is required");
  CHECK(ParseProxyArgs({"-bogus", "1"}).status().message() == "unknown flag -bogus");
  CHECK(ParseProxyArgs({"-proto"}).status().message() == "-proto needs a value");
  CHECK(ParseProxyArgs({"tcp"}).status().message() == "unexpected argument \"tcp\"");
  CHECK(ParseProxyArgs({"-proto", "icmp", "-host-ip", "0.0.0.0", "-host-port", "1", "-container-ip", "x",
                        "-container-port", "1"})
            .status()
            .message() == "-proto: \"icmp\" is not tcp, udp or sctp");
  CHECK(ParseProxyArgs({"-proto", "tcp", "-host-ip", "0.0.0.0", "-host-port", "65536", "-container-ip", "x",
                        "-container-port", "1"})
            .status()
            .message() == "-host-port: \"65536\" is not a port number (0-65535)");
  CHECK(ParseProxyArgs({"-proto", "tcp", "-host-ip", "0.0.0.0", "-host-port", "80", "-container-ip", "x",
                        "-container-port", "8x"})
            .status()
            .message() == "-container-port: \"8x\" is not a port number (0-65535)");
}

// Connects to 127.0.0.1:port; returns errno (0 when the connection was accepted).
int ConnectErrno(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  int err = rc == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

TEST_CASE("a TCP reservation holds the port and accepts nothing") {
  auto r = Reservation::Make("tcp", "127.0.0.1", 0);
  REQUIRE(r.ok());
  uint16_t port = r->port();
  REQUIRE(port != 0);
  CHECK(ConnectErrno(port) == ECONNREFUSED);
  auto again = Reservation::Make("tcp", "127.0.0.1", port);
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().message() ==
        "cannot reserve tcp 127.0.0.1:" + std::to_string(port) + ": Address already in use");
  // Not even a SO_REUSEADDR listener (what most daemons set) can take it.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  CHECK(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0);
  ::close(fd);
}

TEST_CASE("a port a host process listens on cannot be reserved") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  auto r = Reservation::Make("tcp", "0.0.0.0", ntohs(a.sin_port));
  CHECK_FALSE(r.ok());
  ::close(fd);
}

TEST_CASE("UDP reservations and bad addresses") {
  auto u = Reservation::Make("udp", "127.0.0.1", 0);
  REQUIRE(u.ok());
  CHECK_FALSE(Reservation::Make("udp", "127.0.0.1", u->port()).ok());
  CHECK(Reservation::Make("tcp", "not-an-ip", 80).status().message() ==
        "cannot reserve tcp not-an-ip:80: not an address");
}

}  // namespace
}  // namespace ipo::proxy
