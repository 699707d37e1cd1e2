#include "hostsock/sock_diag.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <limits>

namespace ipo::hostsock {
namespace {

// Appends one SOCK_DIAG_BY_FAMILY message to `buf`.
void AddMsg(std::vector<uint8_t>& buf, uint8_t family, uint8_t state, const char* addr, uint16_t sport,
            uint16_t dport) {
  nlmsghdr h{};
  h.nlmsg_len = NLMSG_LENGTH(sizeof(inet_diag_msg));
  h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  inet_diag_msg m{};
  m.idiag_family = family;
  m.idiag_state = state;
  m.id.idiag_sport = htons(sport);
  m.id.idiag_dport = htons(dport);
  REQUIRE(::inet_pton(family, addr, m.id.idiag_src) == 1);
  size_t at = buf.size();
  buf.resize(at + NLMSG_ALIGN(h.nlmsg_len));
  std::memcpy(buf.data() + at, &h, sizeof(h));
  std::memcpy(buf.data() + at + NLMSG_HDRLEN, &m, sizeof(m));
}

void AddDone(std::vector<uint8_t>& buf) {
  nlmsghdr h{};
  h.nlmsg_len = NLMSG_LENGTH(sizeof(int));
  h.nlmsg_type = NLMSG_DONE;
  size_t at = buf.size();
  buf.resize(at + NLMSG_ALIGN(h.nlmsg_len));
  std::memcpy(buf.data() + at, &h, sizeof(h));
}

TEST_CASE("a TCP dump decodes to its listeners, IPv4 and IPv6") {
  std::vector<uint8_t> buf;
  AddMsg(buf, AF_INET, 10, "0.0.0.0", 22, 0);
  AddMsg(buf, AF_INET6, 10, "fd00::1", 8443, 0);
  AddMsg(buf, AF_INET, 1, "192.168.1.100", 40000, 22);  // established: not a listener
  std::vector<HostSocket> out;
  auto done = DecodeSockDiag(buf.data(), buf.size(), 6, out);
  REQUIRE(done.ok());
  CHECK_FALSE(*done);
  CHECK(out == std::vector<HostSocket>{{6, "0.0.0.0", 22, 0, ""}, {6, "fd00::1", 8443, 0, ""}});
  AddDone(buf);
  out.clear();
  CHECK(*DecodeSockDiag(buf.data(), buf.size(), 6, out));
  CHECK(out.size() == 2);
}

TEST_CASE("a UDP dump keeps unconnected sockets only") {
  std::vector<uint8_t> buf;
  AddMsg(buf, AF_INET, 7, "0.0.0.0", 53, 0);
  AddMsg(buf, AF_INET, 1, "10.0.0.1", 51000, 53);  // a connected client
  AddMsg(buf, AF_INET6, 7, "::", 5353, 0);
  AddDone(buf);
  std::vector<HostSocket> out;
  REQUIRE(*DecodeSockDiag(buf.data(), buf.size(), 17, out));
  CHECK(out == std::vector<HostSocket>{{17, "0.0.0.0", 53, 0, ""}, {17, "::", 5353, 0, ""}});
}

TEST_CASE("errors and truncation are reported") {
  std::vector<uint8_t> buf;
  AddMsg(buf, AF_INET, 10, "0.0.0.0", 22, 0);
  std::vector<HostSocket> out;
  auto cut = DecodeSockDiag(buf.data(), buf.size() - 8, 6, out);
  REQUIRE_FALSE(cut.ok());
  CHECK(cut.status().message() == "truncated netlink message at byte 0");

  std::vector<uint8_t> err(NLMSG_ALIGN(NLMSG_LENGTH(sizeof(nlmsgerr))));
  nlmsghdr h{};
  h.nlmsg_len = NLMSG_LENGTH(sizeof(nlmsgerr));
  h.nlmsg_type = NLMSG_ERROR;
  nlmsgerr e{};
  e.error = -EPERM;
  std::memcpy(err.data(), &h, sizeof(h));
  std::memcpy(err.data() + NLMSG_HDRLEN, &e, sizeof(e));
  auto r = DecodeSockDiag(err.data(), err.size(), 6, out);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "kernel error: Operation not permitted");

  // Found by sock_diag_fuzz: an error of INT_MIN was negated (undefined behaviour).
  e.error = std::numeric_limits<int>::min();
  std::memcpy(err.data() + NLMSG_HDRLEN, &e, sizeof(e));
  auto odd = DecodeSockDiag(err.data(), err.size(), 6, out);
  REQUIRE_FALSE(odd.ok());
  CHECK(odd.status().message() == "kernel error: Protocol error");
}

TEST_CASE("the kernel's dump shows a listener of this process, not a bound-only socket") {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  int bound = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  REQUIRE(::bind(bound, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  sockaddr_in la{};
  sockaddr_in ba{};
  socklen_t len = sizeof(la);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&la), &len);
  len = sizeof(ba);
  ::getsockname(bound, reinterpret_cast<sockaddr*>(&ba), &len);
  auto all = ListHostSockets();
  REQUIRE(all.ok());
  auto has = [&](uint16_t port) {
    return std::find(all->begin(), all->end(), HostSocket{6, "127.0.0.1", port, 0, ""}) != all->end();
  };
  CHECK(has(ntohs(la.sin_port)));
  CHECK_FALSE(has(ntohs(ba.sin_port)));
  ::close(listener);
  ::close(bound);
}

}  // namespace
}  // namespace ipo::hostsock

namespace ipo::hostsock {
namespace {

TEST_CASE("a listener's owner is found in /proc") {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  socklen_t len = sizeof(a);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
  auto all = ListHostSockets();
  REQUIRE(all.ok());
  FillOwners(*all);
  auto it = std::find(all->begin(), all->end(), HostSocket{6, "127.0.0.1", ntohs(a.sin_port), 0, ""});
  REQUIRE(it != all->end());
  CHECK(it->inode != 0);
  CHECK(it->owner == "hostsock_test");
  ::close(listener);
}

}  // namespace
}  // namespace ipo::hostsock
