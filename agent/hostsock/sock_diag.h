// Host sockets: which ports processes of this network namespace hold, read from the kernel
// through sock_diag netlink (NETLINK_SOCK_DIAG, inet_diag_req_v2), so the agent never
// publishes or guards a port a host service listens on (docs/ruleset.md, "Docker's -p").
//   tcp  sockets in state LISTEN
//   udp  bound sockets with no peer (a server's socket; a connected client's is left out)
// for IPv4 and IPv6. DecodeSockDiag is the pure part (a dump's bytes -> sockets);
// ListHostSockets does the I/O.
//
// Thread safety: pure functions; ListHostSockets opens its own socket per call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace ipo::hostsock {

struct HostSocket {
  uint8_t proto = 6;  // 6 tcp, 17 udp
  std::string addr;   // inet_ntop text: "0.0.0.0", "::", "192.168.1.100", "fd00::1"
  uint16_t port = 0;
  uint64_t inode = 0;  // the socket's inode (0 unknown); not compared
  std::string owner;   // the owning process's comm, when FillOwners found it ("" otherwise)
  bool operator==(const HostSocket& o) const { return proto == o.proto && addr == o.addr && port == o.port; }
  auto operator<=>(const HostSocket& o) const {
    if (auto c = proto <=> o.proto; c != 0) return c;
    if (auto c = addr <=> o.addr; c != 0) return c;
    return port <=> o.port;
  }
};

// The comm of Docker's own userland proxy: its listeners are a container's, not the host's.
inline constexpr const char* kDockerProxyComm = "docker-proxy";

// Decodes one recv() of a sock_diag dump for `proto` (6 or 17), appending the sockets to
// `out`. Returns true once the dump's NLMSG_DONE is in `data`; an NLMSG_ERROR or a truncated
// message is an error.
Result<bool> DecodeSockDiag(const uint8_t* data, size_t len, uint8_t proto, std::vector<HostSocket>& out);

// Every TCP listener and unconnected UDP socket of the calling thread's network namespace,
// sorted.
Result<std::vector<HostSocket>> ListHostSockets();

// Sets `owner` of each socket from /proc/<pid>/fd and /proc/<pid>/comm (`proc`: "/proc";
// a socket no process shows, or one of another mount of /proc, keeps ""). Best effort:
// processes that vanish meanwhile are skipped.
void FillOwners(std::vector<HostSocket>& sockets, const std::string& proc = "/proc");

}  // namespace ipo::hostsock
