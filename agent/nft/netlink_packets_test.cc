// NetlinkBackend's rulesets at the packet level, in a fresh network namespace (CTest runs it
// under `unshare --net`): the interval set matches exactly its ranges, and the DNAT maps rewrite
// ip and ip6 destinations.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <regex>
#include <string>

#include <catch2/catch.hpp>

#include "nft/netlink_backend.h"
#include "nft/netlink_testing.h"
#include "testing/netns_shell.h"

namespace ipo::nft {
namespace {

using namespace netlink_testing;  // NOLINT(google-build-using-namespace)
using ipo::testing::Sh;

uint64_t CounterOf(const std::string& listing, const std::string& comment) {
  std::smatch m;
  std::regex re("counter packets ([0-9]+) bytes [0-9]+ comment \"" + comment + " #");
  if (!std::regex_search(listing, m, re)) return UINT64_MAX;
  return std::stoull(m[1].str());
}

void SendUdp(const char* addr) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(9999);
  inet_pton(AF_INET, addr, &sa.sin_addr);
  CHECK(sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 1);
  close(fd);
}

TEST_CASE("packets: the interval set matches exactly its ranges") {
  auto backend = FreshBackend();
  // All traffic leaves through a veth pair of this namespace (it goes nowhere else).
  REQUIRE(Sh("ip link set lo up && ip link add ipo-nftt0 type veth peer name ipo-nftt1 && "
             "ip link set ipo-nftt0 up && ip link set ipo-nftt1 up && "
             "ip addr add 198.18.0.1/24 dev ipo-nftt0 && ip route add default dev ipo-nftt0") == "");
  REQUIRE(backend->ReplaceTables(AgentLikeRuleset(), false).ok());
  const char* inside[] = {"192.168.1.1", "192.168.1.17", "192.168.1.30", "10.0.0.5"};
  const char* outside[] = {"1.2.3.4", "10.0.0.4", "10.0.0.6", "192.168.1.0", "192.168.1.31",
                           "172.16.0.9", "255.255.255.254"};
  for (const char* a : inside) SendUdp(a);
  for (const char* a : outside) SendUdp(a);
  std::string listing = Sh("nft list chain inet ipo_netd filter-output");
  CHECK(CounterOf(listing, "probe inside") == 4);
  CHECK(CounterOf(listing, "probe outside") == 7);
  // ReadTables carries the same counts (what `ipo-netctl status --counters` shows).
  auto read = backend->ReadTables({{Family::kInet, "ipo_netd"}});
  REQUIRE(read.ok());
  std::map<std::string, Counts> counts;
  for (const auto& c : read->FindTable(Family::kInet, "ipo_netd")->chains)
    for (const auto& r : c.rules)
      if (r.counts) counts[r.comment.substr(0, r.comment.find(" #"))] = *r.counts;
  CHECK(counts["probe inside"] == Counts{4, 4 * 29});  // 20 (IPv4) + 8 (UDP) + 1 byte each
  CHECK(counts["probe outside"] == Counts{7, 7 * 29});
  Sh("ip link del ipo-nftt0");
}

// Connects to 8080 on `family`'s loopback; the nat-output DNAT map sends it to 9090.
bool DnatReachesListener(int family) {
  int srv = socket(family, SOCK_STREAM, 0);
  int cli = socket(family, SOCK_STREAM, 0);
  sockaddr_storage ss{};
  socklen_t len;
  auto set_port = [&](uint16_t port) {
    if (family == AF_INET) {
      auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
      sa->sin_family = AF_INET;
      sa->sin_port = htons(port);
      sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof(sockaddr_in);
    } else {
      auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
      sa->sin6_family = AF_INET6;
      sa->sin6_port = htons(port);
      sa->sin6_addr = in6addr_loopback;
      len = sizeof(sockaddr_in6);
    }
  };
  set_port(9090);
  int one = 1;
  setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  bool ok = bind(srv, reinterpret_cast<sockaddr*>(&ss), len) == 0 && listen(srv, 1) == 0;
  set_port(8080);
  ok = ok && connect(cli, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  close(cli);
  close(srv);
  return ok;
}

TEST_CASE("packets: the DNAT maps rewrite ip and ip6 destinations") {
  auto backend = FreshBackend();
  REQUIRE(Sh("ip link set lo up") == "");
  CHECK_FALSE(DnatReachesListener(AF_INET));  // nothing listens on 8080 itself
  REQUIRE(backend->ReplaceTables(AgentLikeRuleset(), false).ok());
  CHECK(DnatReachesListener(AF_INET));
  CHECK(DnatReachesListener(AF_INET6));
}

}  // namespace
}  // namespace ipo::nft
