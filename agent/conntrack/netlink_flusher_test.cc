// Real conntrack entries in a private network namespace: TCP connections over a veth
// interface, one through a DNAT (nat output hook, like the agent's nat-prerouting for the
// WAN), IPv4 and IPv6; the flusher must remove exactly the flows of its targets.
#include "conntrack/netlink_flusher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>

#include "testing/netns_shell.h"

using namespace ipo;
using conntrack::Entry;
using conntrack::Target;

namespace {

// Owns one socket.
class Sock {
 public:
  explicit Sock(int fd) : fd_(fd) {}
  Sock(Sock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Sock(const Sock&) = delete;
  Sock& operator=(const Sock&) = delete;
  Sock& operator=(Sock&&) = delete;
  ~Sock() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

sockaddr_storage Addr(const std::string& ip, uint16_t port, socklen_t* len) {
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *len = sizeof(sockaddr_in);
  } else {
    REQUIRE(inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    *len = sizeof(sockaddr_in6);
  }
  return ss;
}

Sock Listen(const std::string& ip, uint16_t port) {
  socklen_t len = 0;
  sockaddr_storage ss = Addr(ip, port, &len);
  Sock s(socket(ss.ss_family, SOCK_STREAM, 0));
  int on = 1;
  REQUIRE(setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == 0);
  REQUIRE(bind(s.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0);
  REQUIRE(listen(s.get(), 16) == 0);
  return s;
}

// A TCP connection from `from`:`sport` to `ip`:`port` (the listener's backlog completes it).
Sock Connect(const std::string& from, uint16_t sport, const std::string& ip, uint16_t port) {
  socklen_t len = 0;
  sockaddr_storage src = Addr(from, sport, &len);
  Sock s(socket(src.ss_family, SOCK_STREAM, 0));
  REQUIRE(bind(s.get(), reinterpret_cast<sockaddr*>(&src), len) == 0);
  sockaddr_storage dst = Addr(ip, port, &len);
  REQUIRE(connect(s.get(), reinterpret_cast<sockaddr*>(&dst), len) == 0);
  return s;
}

bool Has(const std::vector<Entry>& es, const std::string& src, uint16_t sport) {
  return std::any_of(es.begin(), es.end(),
                     [&](const Entry& e) { return e.orig.src == src && e.orig.sport == sport && e.orig.proto == 6; });
}

const Entry* Find(const std::vector<Entry>& es, uint16_t sport) {
  for (const auto& e : es)
    if (e.orig.sport == sport && e.orig.proto == 6) return &e;
  return nullptr;
}

}  // namespace

TEST_CASE("the flusher removes exactly the flows of its targets, IPv4 and IPv6") {
  REQUIRE(testing::EnterOwnNetns());
  int rc = 0;
  std::string out = testing::Sh(
      "ip link set lo up && ip link add d0 type veth peer name d1 && ip link set d0 up && ip link set d1 up && "
      "ip addr add 10.77.0.1/24 dev d0 && ip addr add 10.77.0.2/24 dev d0 && ip addr add 10.77.0.3/24 dev d0 && "
      "ip addr add 10.77.0.100/24 dev d0 && ip -6 addr add fd77::1/64 dev d0 nodad && "
      "ip -6 addr add fd77::2/64 dev d0 nodad && ip -6 addr add fd77::100/64 dev d0 nodad && "
      "printf 'table inet ipoct {\\n chain out {\\n type nat hook output priority -100\\n"
      " ip daddr 10.77.0.100 tcp dport 8080 dnat ip to 10.77.0.2:9090\\n"
      " ip6 daddr fd77::100 tcp dport 8080 dnat ip6 to [fd77::2]:9090\\n }\\n}\\n' | nft -f -",
      &rc);
  INFO(out);
  REQUIRE(rc == 0);
  Sock l2 = Listen("10.77.0.2", 9090), l3 = Listen("10.77.0.3", 9090), l6 = Listen("fd77::2", 9090);
  Sock dnat4 = Connect("10.77.0.1", 41001, "10.77.0.100", 8080);  // published: host 8080 -> .2:9090
  Sock direct4 = Connect("10.77.0.1", 41002, "10.77.0.2", 9090);  // the same container, directly
  Sock other4 = Connect("10.77.0.1", 41003, "10.77.0.3", 9090);   // another container
  Sock dnat6 = Connect("fd77::1", 41004, "fd77::100", 8080);      // published over IPv6
  Sock other6 = Connect("fd77::1", 41005, "fd77::2", 9090);       // directly over IPv6

  auto flusher = conntrack::NetlinkFlusher::Open();
  REQUIRE(flusher.ok());
  auto& f = **flusher;
  auto before = f.Dump();
  REQUIRE(before.ok());
  const Entry* e = Find(*before, 41001);
  REQUIRE(e != nullptr);
  CHECK(conntrack::EntryToString(*e) == "tcp 10.77.0.1:41001 -> 10.77.0.100:8080 (reply 10.77.0.2:9090 -> "
                                        "10.77.0.1:41001)");
  e = Find(*before, 41004);
  REQUIRE(e != nullptr);
  CHECK(conntrack::EntryToString(*e) == "tcp [fd77::1]:41004 -> [fd77::100]:8080 (reply [fd77::2]:9090 -> "
                                        "[fd77::1]:41004)");
  for (uint16_t port = 41001; port <= 41005; ++port) CHECK(Find(*before, port) != nullptr);

  {  // No target, or targets no flow belongs to: nothing removed.
    auto r = f.Flush({});
    REQUIRE(r.ok());
    CHECK(r->scanned == 0);
    r = f.Flush({Target{Target::Kind::kAddress, "10.77.0.9", 0, 0, 0, "test"}});
    REQUIRE(r.ok());
    CHECK(r->scanned >= 5);
    CHECK(r->removed == 0);
    auto after = f.Dump();
    REQUIRE(after.ok());
    CHECK(after->size() == before->size());
  }

  {  // A revoked publication (v4) and a lost address (v6).
    std::vector<Target> targets{Target{Target::Kind::kPublication, "10.77.0.2", 6, 9090, 8080, "revoked"},
                                Target{Target::Kind::kAddress, "fd77::2", 0, 0, 0, "lost"}};
    auto r = f.Flush(targets);
    REQUIRE(r.ok());
    CHECK(r->matched == 3);
    CHECK(r->removed == 3);
    CHECK(r->vanished == 0);
    auto after = f.Dump();
    REQUIRE(after.ok());
    CHECK_FALSE(Has(*after, "10.77.0.1", 41001));  // DNATed to the revoked publication
    CHECK(Has(*after, "10.77.0.1", 41002));        // the same container reached directly
    CHECK(Has(*after, "10.77.0.1", 41003));        // another container
    CHECK_FALSE(Has(*after, "fd77::1", 41004));    // to fd77::2 through the DNAT
    CHECK_FALSE(Has(*after, "fd77::1", 41005));    // to fd77::2 directly
    CHECK(after->size() == before->size() - 3);

    // The same targets again: their flows are gone, nothing else is touched.
    r = f.Flush(targets);
    REQUIRE(r.ok());
    CHECK(r->removed == 0);
    // The address itself: its direct flow goes too, the other container's stays.
    r = f.Flush({Target{Target::Kind::kAddress, "10.77.0.2", 0, 0, 0, "lost"}});
    REQUIRE(r.ok());
    CHECK(r->removed == 1);
    after = f.Dump();
    REQUIRE(after.ok());
    CHECK_FALSE(Has(*after, "10.77.0.1", 41002));
    CHECK(Has(*after, "10.77.0.1", 41003));
  }
  testing::Sh("nft delete table inet ipoct; ip link del d0");
}
